"""Patron self-service through the secret link: see, and cancel, one booking."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for

from .. import catalogue, reservations
from ..extensions import limiter
from ..forms import ConfirmForm
from ..models import utcnow

bp = Blueprint("manage", __name__, url_prefix="/bookings")


def _booking_limit():
    return current_app.config["BOOKING_RATE_LIMIT"]


@bp.get("/<token:token>/confirmation")
def confirmation(token: str):
    booking = reservations.find_booking(token)
    return render_template(
        "manage/confirmation.html",
        booking=booking,
        token=token,
        waitlist_rank=catalogue.waitlist_rank(booking),
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
@limiter.limit(_booking_limit, methods=["POST"])
def cancel(token: str):
    booking = reservations.find_booking(token)
    form = ConfirmForm()
    if form.validate_on_submit():
        reservations.cancel(token, now=utcnow())
        flash("Your booking is cancelled. Thank you for letting us know.", "success")
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
