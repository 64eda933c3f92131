"""JSON API v1: public reads and public booking. Public fields only."""
from __future__ import annotations

from datetime import datetime
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
from .api_models import (Agreement, Answer, Book, BookingCreated, Cancelled, EventDetail,
                         EventSummary, Host, Session, Slot, SlotResource)
from .converters import MAX_ID
from .throttles import booking_throttle
from booking.domain.errors import SlotNotFound

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _local(value: datetime, zone: str) -> datetime:
    return value.astimezone(ZoneInfo(zone))


def _answer(answer: Answer | list[Answer], status: int = 200):
    """The JSON answer, written by its documented model (web/api_models.py)."""
    if isinstance(answer, list):
        return jsonify([item.body() for item in answer]), status
    return jsonify(answer.body()), status


def _summary_fields(event: Event) -> dict:
    return {
        "slug": event.slug,
        "title": event.title,
        "kind": event.kind,
        "starts_at": _local(event.starts_at, event.timezone),
        "ends_at": _local(event.ends_at, event.timezone),
        "timezone": event.timezone,
        "venue": event.venue,
        "hosts": [Host(name=h.partner.name, role=h.role) for h in event.hosts],
    }


def event_summary(event: Event) -> EventSummary:
    """The fields the brief lists for an event, and no others."""
    return EventSummary(**_summary_fields(event))


def book_public(book: HumanBook) -> Book:
    """A book's public fields."""
    return Book(
        id=book.id,
        title=book.title,
        blurb=book.blurb,
        topics=list(book.topics or []),
        languages=list(book.languages or []),
        content_notes=book.content_notes,
        partner=book.partner.name,
    )


def session_public(session: ProgramSession) -> Session:
    """A program session's public fields."""
    return Session(
        id=session.id,
        title=session.title,
        description=session.description,
        language=session.language,
        audience=session.audience,
        presenter=session.presenter.name,
    )


def _visible_or_404(slug: str) -> Event:
    event = catalogue.visible_event(slug)
    if event is None:
        abort(404, "There is no public event with this slug.")
    return event


@bp.get("/events")
def events():
    return _answer([event_summary(e) for e in catalogue.all_published_events()])


@bp.get("/events/<slug>")
def event(slug: str):
    event = _visible_or_404(slug)
    return _answer(EventDetail(
        **_summary_fields(event),
        # Cancelled and finished events stay visible here, so their status matters.
        status=event.status,
        url=public_url("public.event", slug=event.slug),
        description=event.description,
        accessibility_notes=event.accessibility_notes,
        max_bookings_per_patron=event.max_bookings_per_patron,
        max_seats_per_booking=event.max_seats_per_booking,
        agreement=Agreement(version=event.agreement_version, text=event.agreement_text)
        if event.requires_agreement else None,
        books=[book_public(b) for b in catalogue.event_books(event)],
        sessions=[session_public(s) for s in catalogue.event_sessions(event)],
    ))


@bp.get("/events/<slug>/slots")
def event_slots(slug: str):
    event = _visible_or_404(slug)
    return _answer([
        Slot(
            id=view.slot.id,
            resource=SlotResource(
                type=view.slot.resource_type,
                id=view.slot.book_id or view.slot.session_id,
                title=view.slot.resource_title,
            ),
            starts_at=_local(view.slot.starts_at, event.timezone),
            ends_at=_local(view.slot.ends_at, event.timezone),
            capacity=view.slot.capacity,
            available=view.available,
            waitlist=view.waitlist,
            status=view.slot.status,
        )
        for view in catalogue.event_slots(event)
    ])


@bp.post(f"/slots/<int(max={MAX_ID}):slot_id>/bookings")
@booking_throttle
def create_booking(slot_id: int):
    if catalogue.public_slot(slot_id) is None:
        raise SlotNotFound()
    now = utcnow()
    # The API proves no address (it keeps no cookie): with e-mail confirmation every booking
    # is a hold, and the answer never depends on the address's other bookings (rule 8).
    hold, anonymous = holds.booking_terms(None, now)
    reservation = submit_json(Patron, lambda patron: reservations.book(
        slot_id, patron, now=now, hold=hold, anonymous=anonymous))
    token = reservation.token
    booking = reservation.booking
    return _answer(BookingCreated(
        id=booking.id,
        status=reservation.status,
        manage_url=public_url("manage.booking", token=token),
        ics_url=public_url("feeds.booking_ics", token=token),
        # Only a hold lapses; the field is left out of any other answer.
        hold_expires_at=_local(booking.hold_expires_at, booking.event.timezone)
        if reservation.status == BookingStatus.PENDING else None,
    ), 201)


@bp.post("/bookings/<token:token>/cancel")
@booking_throttle
def cancel_booking(token: str):
    reservations.cancel(token, now=utcnow())
    return _answer(Cancelled(status=BookingStatus.CANCELLED))


@bp.get("/openapi.json")
def openapi():
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return jsonify(openapi_document(base + bp.url_prefix))
