"""Notifications: messages queued in the outbox table, in the same transaction as their cause."""
from __future__ import annotations

from datetime import datetime

from .extensions import db
from .models import Booking, OutboxMessage


def queue(kind: str, *, to: str, now: datetime, booking: Booking | None = None,
          **payload) -> OutboxMessage:
    """Add a message to the outbox; it is sent once the surrounding transaction commits."""
    message = OutboxMessage(
        kind=kind,
        to_email=to,
        booking_id=booking.id if booking is not None else None,
        payload=payload,
        created_at=now,
        next_attempt_at=now,
    )
    db.session.add(message)
    return message


def queue_booking_cancelled(booking: Booking, *, now: datetime, reason: str) -> OutboxMessage:
    return queue("booking_cancelled", to=booking.patron_email, now=now, booking=booking,
                 reason=reason)


def queue_promoted(booking: Booking, *, now: datetime) -> OutboxMessage:
    return queue("waitlist_promoted", to=booking.patron_email, now=now, booking=booking)
