"""Calendar files and feeds."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, request, url_for

from .. import reservations
from ..feeds import booking_calendar, calendar_response

bp = Blueprint("feeds", __name__)


@bp.get("/bookings/<token:token>.ics")
def booking_ics(token: str):
    booking = reservations.find_booking(token)
    body = booking_calendar(
        booking,
        host=urlsplit(request.host_url).hostname or "localhost",
        event_url=url_for("public.event", slug=booking.event.slug, _external=True),
        manage_url=url_for("manage.booking", token=token, _external=True),
    )
    return calendar_response(
        body, last_modified=booking.updated_at, filename=f"booking-{booking.id}.ics"
    )
