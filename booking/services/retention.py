"""Personal data retention: anonymise patrons some days after their event has ended.

What goes: the patron's name, e-mail (and its normalised form), accessibility needs, the
manage-link hash (replaced by a random one, so an old link finds nothing), the hashed client
address of a hold, the address and payload (links, reasons) of the outbox messages about the
booking, and the copies of those messages written under instance/outbox/ when no mail server
is configured. Browsers remembered for an address (to book in one step) are forgotten once
unused for as long.

What stays, so that every report reads the same: the booking's status, seats, walk-in flag,
slot, event, timestamps and cancel reason (staff-chosen wording such as "The reading was
cancelled"), the outbox rows' kind and booking id (waitlist demand is counted from them), and
survey answers. Survey comments are kept: they are written to be read by staff, are never
shown with a reader, and once the booking is anonymous nothing links them back to one; a
comment that names someone is for staff to judge, not for a blind purge. Volunteers' data
(accounts, reflections) is not patrons' and is not touched here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from booking.services.outbox import mailer
from booking.extensions import db, transaction
from booking.domain.models import Booking, Event, OutboxMessage, RememberedPatron

#: Where anonymised bookings' addresses point: reserved (RFC 2606), never delivered.
PURGED_DOMAIN = "purged.invalid"
PURGED_NAME = "(removed)"


@dataclass(frozen=True)
class PurgeResult:
    bookings: int
    messages: int
    files: int
    #: Remembered browsers forgotten (unused since the cutoff).
    browsers: int
    cutoff: datetime
    dry_run: bool


def _purged_email_sql():
    """purged-<id>@purged.invalid: unique per booking, so no two look like one patron."""
    return sa.literal("purged-") + sa.cast(Booking.id, sa.String) + f"@{PURGED_DOMAIN}"


def purge_personal_data(*, now: datetime, days: int, dry_run: bool = False) -> PurgeResult:
    """Anonymise bookings of events that ended more than `days` days before `now`.

    Idempotent: bookings already anonymised are left alone (and not counted again).
    """
    cutoff = now - timedelta(days=days)
    due = (
        sa.select(Booking.id)
        .join(Event, Booking.event_id == Event.id)
        .where(Event.ends_at < cutoff, ~Booking.email_normalized.endswith("@" + PURGED_DOMAIN))
    )
    with transaction():
        booking_ids = list(db.session.scalars(due.order_by(Booking.id)))
        messages = _messages_of(booking_ids)
        unused = sa.select(RememberedPatron.id).where(RememberedPatron.last_used_at < cutoff)
        browsers = len(db.session.scalars(unused).all())
        if not dry_run:
            db.session.execute(sa.delete(RememberedPatron).where(RememberedPatron.id.in_(unused)))
            for chunk in _chunks(booking_ids):
                db.session.execute(
                    sa.update(Booking).where(Booking.id.in_(chunk)).values(
                        patron_name=PURGED_NAME, patron_email=_purged_email_sql(),
                        email_normalized=_purged_email_sql(), accessibility_needs="",
                        hold_client=None,
                        # Not a SHA-256 hex digest, so no manage link can match it again.
                        manage_token_hash=sa.literal("purged-")
                        + sa.cast(Booking.id, sa.String),
                    ).execution_options(synchronize_session=False)
                )
            for chunk in _chunks(messages):
                db.session.execute(
                    sa.update(OutboxMessage).where(OutboxMessage.id.in_(chunk)).values(
                        to_email=f"removed@{PURGED_DOMAIN}", payload={}, last_error="",
                        # Never send what is left: there is nobody to send it to.
                        sent_at=sa.func.coalesce(OutboxMessage.sent_at, now),
                    ).execution_options(synchronize_session=False)
                )
    files = _written_copies(messages, delete=not dry_run)
    return PurgeResult(bookings=len(booking_ids), messages=len(messages), files=files,
                       browsers=browsers, cutoff=cutoff, dry_run=dry_run)


def _written_copies(this_run: list[int], *, delete: bool) -> int:
    """The .eml copies of this run's messages and of any an earlier run cleared: deleted (after
    the commit: a file deleted for a purge that then failed could not come back), or, on a dry
    run, counted."""
    outbox = mailer.file_outbox(current_app)
    if not outbox.directory.is_dir():
        return 0
    cleared = set(db.session.scalars(sa.select(OutboxMessage.id).where(
        OutboxMessage.to_email == f"removed@{PURGED_DOMAIN}")).all()) | set(this_run)
    db.session.rollback()
    names = [mailer.file_name(message_id) for message_id in sorted(cleared)]
    if delete:
        return sum(outbox.delete(name) for name in names)
    return sum((outbox.directory / f"{name}.eml").exists() for name in names)


def _messages_of(booking_ids: list[int]) -> list[int]:
    """Outbox rows about these bookings that still hold an address or a payload."""
    found = []
    for chunk in _chunks(booking_ids):
        found += db.session.scalars(
            sa.select(OutboxMessage.id).where(
                OutboxMessage.booking_id.in_(chunk),
                OutboxMessage.to_email != f"removed@{PURGED_DOMAIN}",
            )
        ).all()
    return found


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
