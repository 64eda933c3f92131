"""Library staff: create, edit, clone, publish and cancel events; hosts; readings; the audit log."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.services import audit, events
from booking.web.access import roles_required
from booking.domain.commands import Cancellation, CloneEvent, Confirmation, EventDetails, Hosts
from booking.domain.timezones import to_local
from ..extensions import db
from booking.web.forms import CancelForm, CloneEventForm, ConfirmForm, EventForm, hosts_form
from booking.domain.models import Event, EventStatus, Partner, Role, utcnow
from .actions import submit
from .converters import MAX_ID
from .errors import error_response

bp = Blueprint("staff_events", __name__, url_prefix="/staff/events")


@bp.before_request
@roles_required(Role.STAFF)
def staff_only():
    return None


def _event(slug: str) -> Event:
    event = db.session.scalar(sa.select(Event).where(Event.slug == slug[:200]))
    if event is None:
        abort(404, "There is no event at this address.")
    return event


def _overview(event: Event):
    return redirect(url_for("staff_events.overview", slug=event.slug), 303)


@bp.get("/")
def index():
    return render_template("staff_events/list.html", groups=events.events_by_state(utcnow()))


def _form_page(form: EventForm, event: Event | None):
    """The event form's page, for `submit`."""

    def render(status: int, problem: str | None):
        return render_template("staff_events/form.html", form=form, event=event,
                               problem=problem), status

    return render


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = EventForm()

    def created(event: Event):
        flash(f"“{event.title}” is saved as a draft. Add its hosts, then publish it.",
              "success")
        return _overview(event)

    return submit(form, EventDetails,
                  lambda details: events.create_event(current_user, details, utcnow()),
                  done=created, render=_form_page(form, None))


@bp.route("/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    event = _event(slug)
    form = EventForm() if request.method == "POST" else _filled_in(event)

    def saved(event: Event):
        flash(f"“{event.title}” is saved.", "success")
        return _overview(event)

    return submit(form, EventDetails,
                  lambda details: events.update_event(current_user, event, details, utcnow()),
                  done=saved, render=_form_page(form, event))


def _filled_in(event: Event) -> EventForm:
    """The form as the event stands, its times on the wall clock of its zone."""
    form = EventForm(obj=event)
    form.kind.data = event.kind.value
    form.starts.data = to_local(event.starts_at, event.timezone)
    form.ends.data = to_local(event.ends_at, event.timezone)
    for name in ("registration_opens", "registration_closes"):
        instant = getattr(event, f"{name}_at")
        form[name].data = instant and to_local(instant, event.timezone)
    return form


@bp.get("/<slug>")
def overview(slug: str):
    event = _event(slug)
    now = utcnow()
    return render_template(
        "staff_events/overview.html", event=event, books=events.event_books(event),
        slots=[s for s in event.slots if s.status.value != "cancelled"],
        bookings=events.active_booking_count(event), now=now,
        schedule_open=event.status in (EventStatus.DRAFT, EventStatus.PUBLISHED)
        and event.ends_at > now,
    )


@bp.route("/<slug>/clone", methods=["GET", "POST"])
def clone(slug: str):
    event = _event(slug)
    form = CloneEventForm()

    def cloned(result):
        copy, problems = result
        flash(f"A draft copy of “{event.title}” is ready. Check it, then publish it.", "success")
        for message in problems:
            flash(message, "warning")
        return _overview(copy)

    def render(status: int, problem: str | None):
        return render_template("staff_events/clone.html", event=event, form=form,
                               problem=problem), status

    # The copy's other times move with its start: a refusal of one of them is told on it.
    return submit(form, CloneEvent,
                  lambda clone: events.clone_event(current_user, event, clone, utcnow()),
                  done=cloned, render=render, fallback="starts")


@bp.route("/<slug>/publish", methods=["GET", "POST"])
def publish(slug: str):
    event = _event(slug)
    form = ConfirmForm()

    def published(_event: Event):
        flash(f"“{event.title}” is published and open for booking.", "success")
        return _overview(event)

    def render(status: int, problem: str | None):
        if problem is not None:
            return error_response(status, problem)
        # The form is the button alone: a post without its CSRF token never gets here (CSRFProtect
        # refuses it first), so this is the page to confirm on.
        return render_template("staff_events/publish.html", event=event, form=form), status

    return submit(form, Confirmation,
                  lambda _: events.publish_event(current_user, event, utcnow()),
                  done=published, render=render)


@bp.route("/<slug>/cancel", methods=["GET", "POST"])
def cancel(slug: str):
    event = _event(slug)
    return _cancel_page(event, None, lambda cancellation: events.cancel_event(
        current_user, event, cancellation, utcnow()), f"“{event.title}” is cancelled")


@bp.route("/<slug>/cancel-reading", methods=["GET", "POST"])
def cancel_reading(slug: str):
    """Cancel one reading; the slot is named by `?slot=<id>`."""
    event = _event(slug)
    slot_id = request.args.get("slot", type=int)
    if slot_id is None:
        abort(400, "Choose a reading to cancel from the event's page.")
    slot = events.find_slot(event, slot_id)
    return _cancel_page(event, slot, lambda cancellation: events.cancel_slot(
        current_user, slot, cancellation, utcnow()), "The reading is cancelled")


def _cancel_page(event: Event, slot, cancel_with, done: str):
    """The confirmation page (how many bookings, a reason), then the cancellation."""
    form = CancelForm()

    def cancelled(count: int):
        flash(f"{done}; {count} booking{'s' if count != 1 else ''} cancelled and every "
              "patron notified.", "success")
        return _overview(event)

    def render(status: int, problem: str | None):
        return render_template("staff_events/cancel.html", event=event, form=form, slot=slot,
                               bookings=events.active_booking_count(
                                   event, slot, starting_after=None if slot else utcnow()),
                               problem=problem), status

    return submit(form, Cancellation, cancel_with, done=cancelled, render=render)


@bp.route("/<slug>/hosts", methods=["GET", "POST"])
def hosts(slug: str):
    event = _event(slug)
    partners = db.session.scalars(sa.select(Partner).order_by(Partner.name, Partner.id)).all()
    form = hosts_form(partners, {h.partner_id: h.role.value for h in event.hosts})

    def saved(_event: Event):
        flash("The event's partners are saved.", "success")
        return _overview(event)

    def render(status: int, problem: str | None):
        return render_template("staff_events/hosts.html", event=event, form=form,
                               problem=problem), status

    return submit(form, Hosts, lambda chosen: events.set_hosts(current_user, event, chosen,
                                                               utcnow()),
                  done=saved, render=render,
                  fields={"hosts": form.chosen()} if form.is_submitted() else None)


@bp.get("/audit")
def audit_log():
    page = request.args.get("page", 1, type=int)
    page = page if page and 1 <= page <= 100000 else 1
    event_id = request.args.get("event", type=int)
    event = db.session.get(Event, event_id) if event_id and 0 < event_id <= MAX_ID else None
    rows, more = audit.entries(event_id=event.id if event else None, page=page)
    return render_template("staff_events/audit.html", entries=rows, page=page, more=more,
                           event=event,
                           events=db.session.scalars(sa.select(Event).order_by(Event.starts_at.desc())).all())
