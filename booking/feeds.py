"""Rows -> iCalendar bytes (pure), and the HTTP caching helper for feeds."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import Response, request
from icalendar import Calendar, Event as VEvent

from .models import Booking, BookingStatus

PRODID = "-//Human Library Bookings//EN"


def booking_event(booking: Booking, *, host: str, event_url: str, manage_url: str) -> VEvent:
    """One patron's booking as a VEVENT in the event's time zone (for feeds and e-mail invitations)."""
    slot, event = booking.slot, booking.event
    zone = ZoneInfo(event.timezone)
    cancelled = booking.status == BookingStatus.CANCELLED
    what = "Reading" if slot.book_id is not None else "Session"
    summary = f"{what}: {slot.resource_title} — {event.title}"
    lines = [
        f"{what} with “{slot.resource_title}” at {event.title}.",
        f"Seats: {booking.seats}." if booking.seats > 1 else "",
        "You are on the waitlist; we will e-mail you if a seat frees up."
        if booking.status == BookingStatus.WAITLISTED else "",
        f"Place: {event.venue}" if event.venue else "",
        f"Accessibility: {event.accessibility_notes}" if event.accessibility_notes else "",
        f"Manage or cancel your booking: {manage_url}",
    ]
    return VEvent.new(
        uid=f"booking-{booking.id}@{host}",
        start=slot.starts_at.astimezone(zone),
        end=slot.ends_at.astimezone(zone),
        summary=summary,
        description="\n".join(line for line in lines if line),
        location=event.venue or None,
        url=event_url,
        sequence=booking.sequence + slot.sequence,
        stamp=booking.updated_at,
        last_modified=booking.updated_at,
        status="CANCELLED" if cancelled else (
            "TENTATIVE" if booking.status == BookingStatus.WAITLISTED else "CONFIRMED"
        ),
    )


def booking_calendar(booking: Booking, *, host: str, event_url: str, manage_url: str) -> bytes:
    """One patron's booking as a calendar file, in the event's time zone."""
    event, slot = booking.event, booking.slot
    vevent = booking_event(booking, host=host, event_url=event_url, manage_url=manage_url)
    calendar = Calendar.new(
        prodid=PRODID,
        name=event.title,
        method=None,
        subcomponents=[vevent],
    )
    calendar.add("X-WR-CALNAME", event.title)
    calendar.add("X-WR-TIMEZONE", event.timezone)
    year = slot.starts_at.year
    calendar.add_missing_timezones(first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1))
    return calendar.to_ical()


def calendar_response(body: bytes, *, last_modified: datetime, filename: str) -> Response:
    """Serve calendar bytes with a strong ETag and Last-Modified; 304 when unchanged."""
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.set_etag(hashlib.sha256(body).hexdigest())
    response.last_modified = last_modified.astimezone(timezone.utc).replace(microsecond=0)
    response.cache_control.no_cache = True
    return response.make_conditional(request)
