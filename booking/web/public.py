"""Public pages: events, the Human Library catalogue, and the booking form."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from booking.services.queries import catalogue
from booking.services import reservations
from booking.domain.commands import Patron
from booking.web.forms import BookingForm, ConfirmForm, EventFilterForm
from booking.domain.models import utcnow
from . import holds
from .converters import MAX_ID
from .errors import status_for
from .throttles import booking_throttle
from .actions import submit
from booking.domain import messages
from booking.domain.errors import SlotNotFound

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    now = utcnow()
    choices = catalogue.filter_choices(now)
    form = EventFilterForm(formdata=request.args or None)
    form.set_choices(choices["languages"], choices["partners"])
    filters = {"kind": None, "language": None, "partner": None}
    if form.validate():
        filters = {name: (form[name].data or None) for name in filters}
    events = catalogue.upcoming_events(now, **filters)
    return render_template(
        "public/home.html", events=events, form=form, filtered=any(filters.values())
    )


@bp.get("/events/<slug>")
def event(slug: str):
    event = catalogue.visible_event(slug)
    if event is None:
        abort(404, messages.NO_PUBLIC_EVENT)
    now = utcnow()
    slots = catalogue.event_slots(event)
    by_book: dict[int, list] = {}
    by_session: dict[int, list] = {}
    for view in slots:
        if view.slot.book_id is not None:
            by_book.setdefault(view.slot.book_id, []).append(view)
        else:
            by_session.setdefault(view.slot.session_id, []).append(view)
    problems = {
        view.slot.id: problem.message
        for view in slots
        if (problem := reservations.booking_problem(event, view.slot, now)) is not None
    }
    return render_template(
        "public/event.html",
        event=event,
        books=catalogue.event_books(event),
        sessions=catalogue.event_sessions(event),
        slots_by_book=by_book,
        slots_by_session=by_session,
        problems=problems,
    )


@bp.route(f"/slots/<int(max={MAX_ID}):slot_id>/book", methods=["GET", "POST"])
@booking_throttle
def book(slot_id: int):
    slot = catalogue.public_slot(slot_id)
    if slot is None:
        raise SlotNotFound()
    now = utcnow()
    problem = reservations.booking_problem(slot.event, slot, now)
    seat_limit = reservations.max_seats(slot)
    form = BookingForm()
    form.set_seat_limit(seat_limit)
    if problem is not None:
        return (
            render_template("public/book.html", slot=slot, form=None, problem=problem.message),
            status_for(problem),
        )
    remembered = holds.remembered_email(now)
    if remembered and not form.is_submitted():
        form.email.data = remembered

    def perform(patron: Patron):
        hold, anonymous = holds.booking_terms(patron.email, now)
        return reservations.book(slot.id, patron, now=now, hold=hold, anonymous=anonymous)

    def render(status: int, problem: str | None):
        return render_template(
            "public/book.html", slot=slot, form=form, problem=problem, seat_limit=seat_limit,
            instead=catalogue.alternatives(slot, now) if slot.available == 0 else None,
            waitlist=catalogue.waitlist_length(slot.id), remembered=remembered,
            forget_form=ConfirmForm(prefix="forget") if remembered else None,
        ), status

    return submit(
        form, Patron, perform, render=render,
        context={"agreement_required": slot.event.requires_agreement},
        done=lambda reservation: redirect(
            url_for("manage.confirmation", token=reservation.token), 303),
    )


@bp.post("/patron/forget")
def forget_browser():
    """Stop this browser booking in one step for the address it proved."""
    form = ConfirmForm(prefix="forget")
    slot_id = request.form.get("slot", type=int)
    back = (url_for("public.book", slot_id=slot_id) if slot_id and 0 < slot_id <= MAX_ID
            else url_for("public.home"))
    response = redirect(back, 303)
    if form.validate_on_submit():
        holds.forget_browser(response)
        flash("This browser no longer books for your address: your next booking will be "
              "confirmed by e-mail.", "success")
    return response
