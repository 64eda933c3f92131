"""JSON API v1: public reads and public booking. Public fields only."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, jsonify

from booking.services.queries import catalogue
from booking.services import reservations
from booking.domain.commands import Patron
from booking.domain.models import BookingStatus, Event, HumanBook, ProgramSession, utcnow
from booking.services.outbox.notifications import public_url
from booking.web.openapi import openapi_document
from . import holds
from .actions import submit_json
from .converters import MAX_ID
from .throttles import booking_throttle

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _iso(value, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).isoformat()


def event_summary(event: Event) -> dict:
    """The fields the brief lists for an event, and no others."""
    return {
        "slug": event.slug,
        "title": event.title,
        "kind": event.kind.value,
        "starts_at": _iso(event.starts_at, event.timezone),
        "ends_at": _iso(event.ends_at, event.timezone),
        "timezone": event.timezone,
        "venue": event.venue,
        "hosts": [{"name": h.partner.name, "role": h.role.value} for h in event.hosts],
    }


def book_public(book: HumanBook) -> dict:
    return {
        "id": book.id,
        "title": book.title,
        "blurb": book.blurb,
        "topics": list(book.topics or []),
        "languages": list(book.languages or []),
        "content_notes": book.content_notes,
        "partner": book.partner.name,
    }


def session_public(session: ProgramSession) -> dict:
    return {
        "id": session.id,
        "title": session.title,
        "description": session.description,
        "language": session.language,
        "audience": session.audience,
        "presenter": session.presenter.name,
    }


def _visible_or_404(slug: str) -> Event:
    event = catalogue.visible_event(slug)
    if event is None:
        abort(404, "There is no public event with this slug.")
    return event


@bp.get("/events")
def events():
    return jsonify([event_summary(e) for e in catalogue.all_published_events()])


@bp.get("/events/<slug>")
def event(slug: str):
    event = _visible_or_404(slug)
    return jsonify(
        {
            **event_summary(event),
            # Cancelled and finished events stay visible here, so their status matters.
            "status": event.status.value,
            "url": public_url("public.event", slug=event.slug),
            "description": event.description,
            "accessibility_notes": event.accessibility_notes,
            "max_bookings_per_patron": event.max_bookings_per_patron,
            "max_seats_per_booking": event.max_seats_per_booking,
            "agreement": {"version": event.agreement_version, "text": event.agreement_text}
            if event.requires_agreement else None,
            "books": [book_public(b) for b in catalogue.event_books(event)],
            "sessions": [session_public(s) for s in catalogue.event_sessions(event)],
        }
    )


@bp.get("/events/<slug>/slots")
def event_slots(slug: str):
    event = _visible_or_404(slug)
    return jsonify(
        [
            {
                "id": view.slot.id,
                "resource": {
                    "type": view.slot.resource_type,
                    "id": view.slot.book_id or view.slot.session_id,
                    "title": view.slot.resource_title,
                },
                "starts_at": _iso(view.slot.starts_at, event.timezone),
                "ends_at": _iso(view.slot.ends_at, event.timezone),
                "capacity": view.slot.capacity,
                "available": view.available,
                "waitlist": view.waitlist,
                "status": view.slot.status.value,
            }
            for view in catalogue.event_slots(event)
        ]
    )


@bp.post(f"/slots/<int(max={MAX_ID}):slot_id>/bookings")
@booking_throttle
def create_booking(slot_id: int):
    if catalogue.public_slot(slot_id) is None:
        abort(404, "There is no such reading or session.")
    now = utcnow()
    # The API proves no address (it keeps no cookie): with e-mail confirmation every booking
    # is a hold, and the answer never depends on the address's other bookings (rule 8).
    hold, anonymous = holds.booking_terms(None, now)
    reservation = submit_json(Patron, lambda patron: reservations.book(
        slot_id, patron, now=now, hold=hold, anonymous=anonymous))
    token = reservation.token
    answer = {
        "id": reservation.booking.id,
        "status": reservation.status.value,
        "manage_url": public_url("manage.booking", token=token),
        "ics_url": public_url("feeds.booking_ics", token=token),
    }
    if reservation.status == BookingStatus.PENDING:
        answer["hold_expires_at"] = _iso(reservation.booking.hold_expires_at,
                                         reservation.booking.event.timezone)
    return jsonify(answer), 201


@bp.post("/bookings/<token:token>/cancel")
@booking_throttle
def cancel_booking(token: str):
    reservations.cancel(token, now=utcnow())
    return jsonify({"status": "cancelled"})


@bp.get("/openapi.json")
def openapi():
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return jsonify(openapi_document(base + bp.url_prefix))
