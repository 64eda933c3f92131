"""Patron self-service through the secret link: see, and cancel, one booking; confirm a hold
through the link e-mailed to its address."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for

from booking.services.queries import catalogue
from booking.services import reservations
from booking.domain.errors import BookingNotFound, DomainError, HoldLapsed
from booking.web.forms import ConfirmForm, ConfirmHoldForm
from booking.domain.models import BookingStatus, utcnow
from . import holds
from .throttles import booking_throttle
from booking.web.errors import status_for

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
    )


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
    if form.validate_on_submit():
        was_hold = booking.status == BookingStatus.PENDING
        reservations.cancel(token, now=utcnow())
        flash("The seat you held is released." if was_hold else
              "Your booking is cancelled. Thank you for letting us know.", "success")
        return redirect(url_for("manage.booking", token=token), 303)
    if not reservations.cancellable(booking, utcnow()):
        return redirect(url_for("manage.booking", token=token), 303)
    return render_template(
        "manage/cancel.html",
        booking=booking,
        token=token,
        form=form,
        waitlist_rank=catalogue.waitlist_rank(booking),
    )


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
    problem = None
    status = 200
    now = utcnow()
    if form.validate_on_submit():
        try:
            booking = reservations.confirm_hold(token, code, now=now)
        except DomainError as exc:
            # It lapsed (HoldLapsed, and the hold is gone), or rule 2 or a closed reading
            # refused it: then nothing changed, and the hold stays until it lapses.
            problem, status = exc.message, status_for(exc)
        else:
            response = redirect(url_for("manage.confirmation", token=token), 303)
            if form.remember.data:
                holds.remember_browser(response, booking.patron_email, now)
            return response
    # A hold never confirmed that was released, or whose time is up (swept or not): opening
    # its link says so at once, and offers to book again; nothing changes on a GET.
    lapsed = booking.hold_expires_at is not None and (
        booking.status == BookingStatus.CANCELLED
        or booking.status == BookingStatus.PENDING and booking.hold_expires_at <= now)
    if lapsed and problem is None:
        problem, status = HoldLapsed().message, status_for(HoldLapsed())
    elif booking.status != BookingStatus.PENDING and problem is None:
        return redirect(url_for("manage.confirmation", token=token), 303)
    return render_template(
        "manage/confirm_hold.html", booking=booking, token=token, form=form, problem=problem,
        lapsed=lapsed or booking.status != BookingStatus.PENDING, now=now,
        waitlist_rank=catalogue.waitlist_rank(booking),
    ), status
