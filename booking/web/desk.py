"""The librarian desk on the day: books on loan, check-ins, no-shows and walk-ins (staff only)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.services import desk, reservations
from booking.web.access import roles_required
from booking.domain.errors import NotFound
from ..extensions import db
from booking.web.forms import AttendanceForm, WalkInForm, WalkInSeatsForm
from booking.domain.models import BookingStatus, Event, Role, utcnow
from .converters import MAX_ID
from booking.domain.commands import Attendance, SeatsHeldBack, WalkIn
from .actions import submit

bp = Blueprint("desk", __name__, url_prefix="/desk")

#: What the desk says after each mark.
MARKED = {"attended": "checked in", "no_show": "marked as a no-show", "undo": "back to confirmed"}


@bp.before_request
@roles_required(Role.STAFF)
def staff_only():
    return None


def _event_or_404(slug: str) -> Event:
    event = db.session.scalar(db.select(Event).where(Event.slug == slug))
    if event is None:
        abort(404, "There is no such event.")
    return event


def _walk_in_form(slot_id: int) -> WalkInForm:
    return WalkInForm(prefix=f"walk-in-{slot_id}", formdata=None)


def _back_to(event: Event, slot_id: int | None):
    if slot_id is None:
        return redirect(url_for("desk.event", slug=event.slug), 303)
    return redirect(url_for("desk.event", slug=event.slug, reading=slot_id,
                            _anchor=f"reading-{slot_id}"), 303)


def _render(template: str, event: Event, *, failed: WalkInForm | None = None,
            failed_slot: int | None = None, status: int = 200):
    now = utcnow()
    books = desk.book_states(event, now)
    forms = {}
    for book in books:
        for reading in book.readings:
            if reading.takes_walk_ins(now):
                forms[reading.slot.id] = _walk_in_form(reading.slot.id)
    if failed is not None:
        forms[failed_slot] = failed
    open_reading = failed_slot if failed_slot is not None else request.args.get(
        "reading", type=int)
    seats_form = WalkInSeatsForm(formdata=None, walk_in_seats=event.walk_in_seats_per_reading)
    return render_template(
        template, event=event, books=books, now=now, forms=forms, open_reading=open_reading,
        seats_form=seats_form, Status=BookingStatus,
    ), status


@bp.get("/")
def home():
    return render_template("desk/home.html", events=desk.desk_events(utcnow()))


@bp.get("/<slug>")
def event(slug: str):
    return _render("desk/event.html", _event_or_404(slug))


@bp.get("/<slug>/state")
def state(slug: str):
    """The state panel alone, for desk.js to swap in without a page reload."""
    return _render("desk/_state.html", _event_or_404(slug))


@bp.post(f"/<slug>/bookings/<int(max={MAX_ID}):booking_id>")
def mark(slug: str, booking_id: int):
    event = _event_or_404(slug)
    form = AttendanceForm()

    def render(status: int, problem: str | None):
        _flash_refusal(form, problem)
        return _back_to(event, request.form.get("reading", type=int))

    def marked(booking):
        flash(f"{booking.patron_name} is {MARKED[form.mark.data]}.", "success")
        return _back_to(event, booking.slot_id)

    return submit(form, Attendance, lambda attendance: reservations.mark_attendance(
        booking_id, attendance, now=utcnow(), event_id=event.id), done=marked, render=render)


def _flash_refusal(form, problem: str | None) -> None:
    """The desk answers every refusal on the desk itself: flashed, then back to it."""
    messages = [problem] if problem else [m for field in form for m in field.errors]
    for message in messages or ["Reload the desk and try again."]:
        flash(message, "error")


@bp.post(f"/<slug>/readings/<int(max={MAX_ID}):slot_id>/walk-ins")
def walk_in(slug: str, slot_id: int):
    event = _event_or_404(slug)
    desk.reading_at(event, slot_id)
    form = WalkInForm(prefix=f"walk-in-{slot_id}")

    def render(status: int, problem: str | None):
        if problem is None:
            return _render("desk/event.html", event, failed=form, failed_slot=slot_id,
                           status=status)
        flash(problem, "error")
        return _back_to(event, slot_id)

    def seated(reservation):
        booking = reservation.booking
        flash(f"{booking.patron_name} is booked in as a walk-in"
              f"{' and checked in' if booking.status == BookingStatus.ATTENDED else ''}.",
              "success")
        return _back_to(event, slot_id)

    def not_here(exc: NotFound):
        abort(404, exc.message)

    return submit(form, WalkIn, lambda walk_in: reservations.book(slot_id, walk_in, now=utcnow()),
                  render=render, done=seated, refusals={NotFound: not_here})


@bp.post("/<slug>/walk-in-seats")
def walk_in_seats(slug: str):
    event = _event_or_404(slug)
    form = WalkInSeatsForm()

    def render(status: int, problem: str | None):
        _flash_refusal(form, problem)
        return _back_to(event, None)

    def held(promoted):
        moved_up = (f" {len(promoted)} patron(s) moved up from the waitlist and were told."
                    if promoted else "")
        flash(f"{event.walk_in_seats_per_reading} seat(s) per reading are held back for "
              f"walk-ins.{moved_up}", "success")
        return _back_to(event, None)

    return submit(form, SeatsHeldBack, lambda seats: desk.set_walk_in_seats(
        current_user, event, seats, utcnow()), done=held, render=render)
