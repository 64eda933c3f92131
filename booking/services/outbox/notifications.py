"""Notifications: messages queued in the outbox table, in the same transaction as their cause.

Queueing only adds a row; the mailer (outbox/mailer.py) renders and sends it once the
transaction commits. Links in e-mails point at PUBLIC_BASE_URL, as they are read away from any
request.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from booking.extensions import db, transaction
from booking.domain.ical import booking_sequence
from booking.domain.models import Booking, BookingStatus, OutboxMessage, Slot, SlotStatus

#: Walk-ins without an e-mail get an address here: reserved (RFC 2606), so never delivered,
#: and with a random part, so never another patron's identity. Nothing is queued to it.
WALK_IN_EMAIL_DOMAIN = "walk-in.invalid"

#: Where `queue` notes the messages of the current unit of work, for sending after the commit.
QUEUED_KEY = "outbox_queued"


def public_url(endpoint: str, **values) -> str:
    """An absolute link under PUBLIC_BASE_URL, built without a request."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, url_scheme=base.scheme or "https", script_name=base.path or "/"
    )
    return adapter.build(endpoint, values, force_external=True)


def walk_in_placeholder_email() -> str:
    """An internal address for a walk-in who gave none: unique, and never e-mailed."""
    return f"walk-in-{secrets.token_hex(12)}@{WALK_IN_EMAIL_DOMAIN}"


def is_walk_in_placeholder(email: str) -> bool:
    """Whether the address is the placeholder of a walk-in who gave none (never mailed)."""
    return email.lower().endswith("@" + WALK_IN_EMAIL_DOMAIN)


def queue(kind: str, *, to: str, now: datetime, booking: Booking | None = None,
          anonymous: bool = False, **payload) -> OutboxMessage | None:
    """Add a message to the outbox; it is sent once the surrounding transaction commits.

    A booking's calendar SEQUENCE is recorded now, so that a cancellation sent late still
    carries a higher SEQUENCE than the invitation queued before it. A walk-in who gave no
    e-mail has nowhere to be written to, and a hold never confirmed has an address nobody
    proved: nothing is queued for them (None) but the hold's own confirmation link.

    `anonymous`: whoever caused it proved nothing (a hold, a reset asked for by anyone).
    Such messages are capped per recipient and hour (MAIL_ANONYMOUS_PER_RECIPIENT_PER_HOUR),
    so that nobody can mail-bomb an address through us; over the cap, nothing is queued
    (None) and the caller carries on: its answer must not show it (rule 8).
    """
    if is_walk_in_placeholder(to):
        return None
    if booking is not None and booking.hold_expires_at is not None and kind != "booking_held":
        return None  # a hold never confirmed: its address was never proven, tell it nothing
    if anonymous and sent_recently(to, now) >= current_app.config[
            "MAIL_ANONYMOUS_PER_RECIPIENT_PER_HOUR"]:
        current_app.logger.warning(
            "Not queued: a %s e-mail to an address that had its hourly share of e-mails "
            "asked for anonymously", kind)
        return None
    if booking is not None:
        db.session.flush()  # the booking's id, and fresh sequences
        payload["sequence"] = booking_sequence(booking)
    message = OutboxMessage(
        kind=kind,
        to_email=to,
        booking_id=booking.id if booking is not None else None,
        payload=payload,
        created_at=now,
        next_attempt_at=now,
        anonymous=anonymous,
    )
    db.session.add(message)
    db.session.info.setdefault(QUEUED_KEY, []).append(message)
    return message


def sent_recently(to: str, now: datetime, *, kind: str | None = None) -> int:
    """Messages queued in the past hour to this address's mailbox (`same_mailbox`): the
    anonymous ones, or those of `kind`. The hour's rows are few, found by the index on
    `created_at`."""
    query = sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.created_at > now - timedelta(hours=1), same_mailbox(to))
    query = query.where(OutboxMessage.kind == kind if kind else OutboxMessage.anonymous)
    return db.session.scalar(query)


def same_mailbox(to: str):
    """The condition on outbox rows sent to the mailbox `to` reaches, as far as the address
    tells: in any casing, with or without a +tag (sub-addressing) or dots in the local part
    (which Gmail ignores). Otherwise victim+1@, victim+2@… would each get the cap's worth.
    Counting a.b@ and ab@ of another provider together only makes their cap stricter."""
    local, _, domain = to.strip().lower().rpartition("@")
    local, domain = local.split("+", 1)[0].replace(".", ""), domain.replace(".", "")
    stored = sa.func.replace(sa.func.lower(OutboxMessage.to_email), ".", "")
    return sa.or_(stored == f"{local}@{domain}",
                  stored.like(f"{_like_literal(local)}+%@{_like_literal(domain)}", escape="\\"))


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def queue_booking_made(booking: Booking, *, now: datetime, manage_token: str,
                       anonymous: bool = False) -> OutboxMessage | None:
    """Confirmation (or waitlist notice) with the private manage link.

    The raw token is known only here; the link rides in the payload until the message is
    sent, and the sender then removes it, so the database never keeps it for long.
    """
    kind = "booking_waitlisted" if booking.status == BookingStatus.WAITLISTED else "booking_confirmed"
    return queue(kind, to=booking.patron_email, now=now, booking=booking, anonymous=anonymous,
                 manage_url=public_url("manage.booking", token=manage_token))


def queue_hold(booking: Booking, *, now: datetime, manage_token: str,
               confirm_code: str) -> OutboxMessage | None:
    """The link that confirms a hold (proving the address), and the manage link to release it.

    Anyone may type any address, so this message is anonymous (capped per recipient).
    """
    return queue("booking_held", to=booking.patron_email, now=now, booking=booking,
                 anonymous=True,
                 manage_url=public_url("manage.booking", token=manage_token),
                 confirm_url=public_url("manage.confirm_hold", token=manage_token,
                                        code=confirm_code))


def queue_booking_cancelled(booking: Booking, *, now: datetime, reason: str,
                            by_patron: bool = False, anonymous: bool = False
                            ) -> OutboxMessage | None:
    """The notice that a booking was cancelled, with the reason (by the patron, or not)."""
    return queue("booking_cancelled", to=booking.patron_email, now=now, booking=booking,
                 anonymous=anonymous, reason=reason, by_patron=by_patron)


def queue_promoted(booking: Booking, *, now: datetime) -> OutboxMessage | None:
    """A seat freed up for a waitlisted patron (a hold that moved up is told nothing: its
    confirmation link, once used, confirms the seat)."""
    return queue("waitlist_promoted", to=booking.patron_email, now=now, booking=booking)


def queue_schedule_changed(booking: Booking, now: datetime, what_changed: str) -> OutboxMessage | None:
    """Tell the patron that their reading moved or changed; `what_changed` is shown as is."""
    return queue("schedule_changed", to=booking.patron_email, now=now, booking=booking,
                 what_changed=what_changed)


def queue_reminder(booking: Booking, *, now: datetime) -> OutboxMessage | None:
    """The reminder before a booked reading."""
    return queue("reminder", to=booking.patron_email, now=now, booking=booking)


def queue_invitation(to: str, link: str, inviter_name: str, role: str,
                     now: datetime) -> OutboxMessage | None:
    """An invitation to create an account; the caller commits with the rest of its work."""
    return queue("invitation", to=to, now=now, link=link, inviter_name=inviter_name,
                 role=str(role))


def queue_password_reset(to: str, link: str, now: datetime) -> OutboxMessage | None:
    """A reset link, asked for by anyone who typed the address: anonymous, and at most
    MAIL_RESETS_PER_ACCOUNT_PER_HOUR per account (the address is the account's)."""
    if sent_recently(to, now, kind="password_reset") >= current_app.config[
            "MAIL_RESETS_PER_ACCOUNT_PER_HOUR"]:
        current_app.logger.warning("Not queued: a password reset beyond the account's hourly cap")
        return None
    return queue("password_reset", to=to, now=now, link=link, anonymous=True)


def queue_reminders(now: datetime, *, within: timedelta) -> int:
    """Queue one reminder per confirmed booking whose reading starts within `within` from now.

    Each reminder is claimed once through `claim_each` (on `bookings.reminder_queued_at`).
    """
    candidates = db.session.scalars(
        sa.select(Booking.id)
        .join(Slot, Booking.slot_id == Slot.id)
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.reminder_queued_at.is_(None),
            Slot.status != SlotStatus.CANCELLED,
            Slot.starts_at > now,
            Slot.starts_at <= now + within,
        )
        .order_by(Slot.starts_at, Booking.id)
    ).all()
    return claim_each(candidates, Booking.reminder_queued_at, now=now,
                      statuses=(BookingStatus.CONFIRMED,), queue_one=queue_reminder)


def claim_each(booking_ids: list[int], claim: sa.orm.InstrumentedAttribute, *, now: datetime,
               statuses: tuple[BookingStatus, ...],
               queue_one: Callable[..., OutboxMessage | None]) -> int:
    """Claim each booking once and queue its message; returns how many messages were queued.

    The claim is a conditional UPDATE of the booking's `claim` column (from NULL, and only
    while its status is one of `statuses`), committed together with the outbox row: two
    servers running this at once cannot both claim a booking (PostgreSQL re-checks the
    condition after the row lock, SQLite serialises writers), and a claimed message is never
    lost, since the row is in the outbox. Only that bookkeeping column is touched, never the
    booking's state.

    Each claim is a transaction of its own, not one for the whole run: a long run then holds
    no lock for long (another cron, a patron booking, waits for one row at most), and what it
    claimed before a failure stays claimed and queued. The caller's read transaction, which
    wrote nothing, is ended first.
    """
    db.session.rollback()
    queued = 0
    for booking_id in booking_ids:
        with transaction():
            claimed = db.session.execute(
                sa.update(Booking)
                .where(Booking.id == booking_id, claim.is_(None), Booking.status.in_(statuses))
                # updated_at names the patron's last change (calendar stamps, feed ETags).
                .values({claim: now, Booking.updated_at: Booking.updated_at})
                .execution_options(synchronize_session=False)
            ).rowcount == 1
            # A walk-in without an address is claimed all the same, but nothing is queued.
            message = queue_one(db.session.get(Booking, booking_id), now=now) if claimed else None
        if message is not None:
            queued += 1
    return queued
