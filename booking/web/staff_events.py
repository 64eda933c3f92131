"""Library staff: create, edit, clone, publish and cancel events; hosts; readings; the audit log."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.services import audit, events
from booking.web.access import roles_required
from booking.domain.errors import DomainError, ValidationFailed
from ..extensions import db
from booking.web.forms import CancelForm, CloneEventForm, ConfirmForm, EventForm, hosts_form
from booking.domain.models import Event, EventStatus, Partner, Role, utcnow
from .converters import MAX_ID
from .errors import add_field_errors, status_for

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


def _fields(form: EventForm) -> events.EventFields:
    return events.EventFields(**{name: form[name].data for name in (
        "title", "slug", "kind", "description", "venue", "accessibility_notes", "timezone",
        "starts", "ends", "registration_opens", "registration_closes",
        "max_bookings_per_patron", "max_seats_per_booking", "agreement_text")})


def _event_form(form: EventForm, event: Event | None):
    """Show the form; on a valid POST create or update, and go to the overview."""
    form.timezone.choices = events.TIMEZONES
    status, problem = 200, None
    if form.validate_on_submit():
        try:
            if event is None:
                event = events.create_event(current_user, _fields(form), utcnow())
                flash(f"“{event.title}” is saved as a draft. Add its hosts, then publish it.",
                      "success")
            else:
                events.update_event(current_user, event, _fields(form), utcnow())
                flash(f"“{event.title}” is saved.", "success")
            return _overview(event)
        except ValidationFailed as exc:
            problem, status = add_field_errors(form, exc.errors), 422
        except DomainError as exc:
            problem, status = exc.message, status_for(exc)
    elif form.is_submitted():
        status = 422
    return render_template("staff_events/form.html", form=form, event=event,
                           problem=problem), status


@bp.route("/new", methods=["GET", "POST"])
def new():
    return _event_form(EventForm(), None)


@bp.route("/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    event = _event(slug)
    if request.method == "POST":
        return _event_form(EventForm(), event)
    form = EventForm(obj=event)
    form.kind.data = event.kind.value
    form.starts.data = events.to_local(event.starts_at, event.timezone)
    form.ends.data = events.to_local(event.ends_at, event.timezone)
    for name in ("registration_opens", "registration_closes"):
        instant = getattr(event, f"{name}_at")
        form[name].data = instant and events.to_local(instant, event.timezone)
    return _event_form(form, event)


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
    status, problem = 200, None
    if form.validate_on_submit():
        try:
            copy, problems = events.clone_event(current_user, event, form.starts.data, utcnow())
        except ValidationFailed as exc:
            problem, status = add_field_errors(form, exc.errors), 422
        except DomainError as exc:
            problem, status = exc.message, status_for(exc)
        else:
            flash(f"A draft copy of “{event.title}” is ready. Check it, then publish it.",
                  "success")
            for message in problems:
                flash(message, "warning")
            return _overview(copy)
    elif form.is_submitted():
        status = 422
    return render_template("staff_events/clone.html", event=event, form=form,
                           problem=problem), status


@bp.route("/<slug>/publish", methods=["GET", "POST"])
def publish(slug: str):
    event = _event(slug)
    form = ConfirmForm()
    if form.validate_on_submit():
        events.publish_event(current_user, event, utcnow())
        flash(f"“{event.title}” is published and open for booking.", "success")
        return _overview(event)
    if form.is_submitted():
        abort(400, "This form had expired, so nothing was changed. Please try again.")
    return render_template("staff_events/publish.html", event=event, form=form)


@bp.route("/<slug>/cancel", methods=["GET", "POST"])
def cancel(slug: str):
    event = _event(slug)
    return _cancel_page(event, None, lambda reason: events.cancel_event(
        current_user, event, reason, utcnow()), f"“{event.title}” is cancelled")


@bp.route("/<slug>/cancel-reading", methods=["GET", "POST"])
def cancel_reading(slug: str):
    """Cancel one reading; the slot is named by `?slot=<id>`."""
    event = _event(slug)
    slot_id = request.args.get("slot", type=int)
    if slot_id is None:
        abort(400, "Choose a reading to cancel from the event's page.")
    slot = events.find_slot(event, slot_id)
    return _cancel_page(event, slot, lambda reason: events.cancel_slot(
        current_user, slot, reason, utcnow()), "The reading is cancelled")


def _cancel_page(event: Event, slot, cancel_with, done: str):
    """The confirmation page (how many bookings, a reason), then the cancellation."""
    form = CancelForm()
    status, problem = 200, None
    if form.validate_on_submit():
        try:
            count = cancel_with(form.reason.data)
        except ValidationFailed as exc:
            problem, status = add_field_errors(form, exc.errors), 422
        except DomainError as exc:
            problem, status = exc.message, status_for(exc)
        else:
            flash(f"{done}; {count} booking{'s' if count != 1 else ''} cancelled and every "
                  "patron notified.", "success")
            return _overview(event)
    elif form.is_submitted():
        status = 422
    return render_template("staff_events/cancel.html", event=event, form=form, slot=slot,
                           bookings=events.active_booking_count(
                               event, slot, starting_after=None if slot else utcnow()),
                           problem=problem), status


@bp.route("/<slug>/hosts", methods=["GET", "POST"])
def hosts(slug: str):
    event = _event(slug)
    partners = db.session.scalars(sa.select(Partner).order_by(Partner.name, Partner.id)).all()
    form = hosts_form(partners, {h.partner_id: h.role.value for h in event.hosts})
    status, problem = 200, None
    if form.validate_on_submit():
        chosen = [(p.id, form[f"partner_{p.id}"].data) for p in partners
                  if form[f"partner_{p.id}"].data]
        try:
            events.set_hosts(current_user, event, chosen, utcnow())
        except ValidationFailed as exc:
            problem, status = " ".join(m for ms in exc.errors.values() for m in ms), 422
        except DomainError as exc:
            problem, status = exc.message, status_for(exc)
        else:
            flash("The event's partners are saved.", "success")
            return _overview(event)
    elif form.is_submitted():
        status = 422
    return render_template("staff_events/hosts.html", event=event, form=form,
                           problem=problem), status


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
