"""Public pages: events, the Human Library catalogue, and the booking form."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from .. import catalogue, reservations
from ..errors import DomainError, ValidationFailed
from ..extensions import limiter
from ..forms import BookingForm, EventFilterForm
from ..models import utcnow
from .converters import MAX_ID
from .errors import add_field_errors

bp = Blueprint("public", __name__)


def _booking_limit():
    return current_app.config["BOOKING_RATE_LIMIT"]


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
        abort(404, "There is no public event at this address.")
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
@limiter.limit(_booking_limit, methods=["POST"])
def book(slot_id: int):
    slot = catalogue.public_slot(slot_id)
    if slot is None:
        abort(404, "There is no such reading or session.")
    now = utcnow()
    problem = reservations.booking_problem(slot.event, slot, now)
    seat_limit = reservations.max_seats(slot)
    form = BookingForm()
    form.set_seat_limit(seat_limit)
    if problem is not None:
        return (
            render_template("public/book.html", slot=slot, form=None, problem=problem.message),
            problem.status,
        )
    status = 200
    message = None
    if form.validate_on_submit():
        try:
            reservation = reservations.book(
                slot.id,
                name=form.name.data,
                email=form.email.data,
                seats=form.seats.data,
                accept_agreement=form.accept_agreement.data,
                accessibility_needs=form.accessibility_needs.data or "",
                now=now,
            )
        except ValidationFailed as exc:
            if loose := add_field_errors(form, exc.errors):
                flash(loose, "error")
            status = 422
        except DomainError as exc:
            message = exc.message
            status = exc.status
        else:
            return redirect(url_for("manage.confirmation", token=reservation.token), 303)
    elif form.is_submitted():
        status = 422
    return (
        render_template(
            "public/book.html",
            slot=slot,
            form=form,
            problem=message,
            seat_limit=seat_limit,
            waitlist=catalogue.waitlist_length(slot.id),
        ),
        status,
    )
