"""Patron self-service through the secret link: see, and cancel, one booking; confirm a hold
through the link e-mailed to its address."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for

from booking.services.queries import catalogue
from booking.services import reservations
from booking.domain.commands import Confirmation
from booking.domain.errors import BookingNotFound, HoldLapsed
from booking.web.forms import ConfirmForm, ConfirmHoldForm
from booking.domain.models import Booking, BookingStatus, utcnow
from booking.services.outbox.notifications import public_url
from . import holds
from .actions import submit
from .throttles import booking_throttle
from booking.web.errors import error_response, status_for
from booking.domain.calendar_links import CalendarItem, google_link, outlook_link
from booking.domain.ical import booking_summary

bp = Blueprint("manage", __name__, url_prefix="/bookings")


@bp.get("/<token:token>/confirmation")
def confirmation(token: str):
    booking = reservations.find_booking(token)
    return render_template(
        "manage/confirmation.html",
        booking=booking,
        token=token,
        waitlist_rank=catalogue.waitlist_rank(booking),
        dev_outbox=current_app.config.get("DEV_OUTBOX"),
        add_to=_add_to_calendar(booking),
    )


def _add_to_calendar(booking: Booking) -> dict[str, str] | None:
    """Links that add this one reading to Google Calendar or Outlook, for a booking that holds
    a seat or a place in line (a hold is added once it is confirmed)."""
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED):
        return None
    slot, event = booking.slot, booking.event
    item = CalendarItem(
        title=booking_summary(booking),
        starts_at=slot.starts_at, ends_at=slot.ends_at, location=event.venue or "",
        details=f"{event.title}: {public_url('public.event', slug=event.slug)}",
    )
    return {"Google Calendar": google_link(item), "Outlook.com": outlook_link(item),
            "Outlook (work or school)": outlook_link(item, work=True)}


@bp.get("/<token:token>")
def booking(token: str):
    booking = reservations.find_booking(token)
    return render_template(
        "manage/booking.html",
        booking=booking,
        token=token,
        cancellable=reservations.cancellable(booking, utcnow()),
        waitlist_rank=catalogue.waitlist_rank(booking),
    )


@bp.route("/<token:token>/cancel", methods=["GET", "POST"])
@booking_throttle
def cancel(token: str):
    booking = reservations.find_booking(token)
    form = ConfirmForm()
    was_hold = booking.status == BookingStatus.PENDING

    def cancelled(_booking):
        flash("The seat you held is released." if was_hold else
              "Your booking is cancelled. Thank you for letting us know.", "success")
        return redirect(url_for("manage.booking", token=token), 303)

    def render(status: int, problem: str | None):
        if problem is not None:
            return error_response(status, problem)
        if not reservations.cancellable(booking, utcnow()):
            return redirect(url_for("manage.booking", token=token), 303)
        return render_template(
            "manage/cancel.html",
            booking=booking,
            token=token,
            form=form,
            waitlist_rank=catalogue.waitlist_rank(booking),
        ), status

    return submit(form, Confirmation, lambda _: reservations.cancel(token, now=utcnow()),
                  done=cancelled, render=render)


@bp.route("/<token:token>/confirm/<code>", methods=["GET", "POST"])
@booking_throttle
def confirm_hold(token: str, code: str):
    """The link in a hold's e-mail. Opening it changes nothing (mail scanners open links);
    the button confirms, proving the address, and remembers this browser for it when asked
    (never by default: on a shared computer the next person would book, and see, as them)."""
    booking = reservations.find_booking(token)
    if not reservations.is_hold_code(booking.manage_token_hash, code):
        raise BookingNotFound()
    form = ConfirmHoldForm()
    now = utcnow()

    def confirmed(booking):
        response = redirect(url_for("manage.confirmation", token=token), 303)
        if form.remember.data:
            holds.remember_browser(response, booking.patron_email, now)
        return response

    def render(status: int, problem: str | None):
        # A refusal: it lapsed (HoldLapsed, and the hold is gone), or rule 2 or a closed
        # reading refused it: then nothing changed, and the hold stays until it lapses.
        # Otherwise a hold released, or whose time is up (swept or not), says so at once and
        # offers to book again; nothing changes on a GET.
        ended = reservations.hold_ended(booking, now)
        if problem is None and ended:
            problem, status = HoldLapsed().message, status_for(HoldLapsed())
        elif problem is None and booking.status != BookingStatus.PENDING:
            return redirect(url_for("manage.confirmation", token=token), 303)
        return render_template(
            "manage/confirm_hold.html", booking=booking, token=token, form=form,
            problem=problem, lapsed=ended or booking.status != BookingStatus.PENDING, now=now,
            waitlist_rank=catalogue.waitlist_rank(booking),
        ), status

    return submit(form, Confirmation,
                  lambda _: reservations.confirm_hold(token, code, now=now),
                  done=confirmed, render=render)
