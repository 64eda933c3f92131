"""The outbox sender: render each queued message, send it by SMTP or write it as .eml, retry.

Delivery is at-least-once. A message is claimed (its next attempt pushed a lease into the
future, in a committed transaction), then sent outside any transaction, then marked sent. Two
drainers never claim the same row, so a row is sent twice only if a drainer dies, or the send
outlasts the lease, between sending and marking: then the lease expires and it is sent again,
with the same Message-ID. The other choice, at-most-once (mark sent before sending), would
silently lose a message whenever a send fails after the mark; a duplicate confirmation is the
smaller harm, and losing a cancellation notice breaks rule 4.

A message that cannot be written (an error while composing it, as opposed to a network or
mail server error while sending it) would fail the same way on every try: it is marked failed
once, logged once, shown to staff on their home page, and never tried again.
"""
from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
import traceback
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, render_template
from icalendar import Calendar, vCalAddress
from sqlalchemy.orm import selectinload

from booking.services.outbox import notifications
from booking.extensions import db, transaction
from booking.services.feedback import SURVEYED_STATUSES
from booking.domain.ical import booking_event, booking_summary
from booking.domain.formatting import format_date, format_datetime as when, format_time
from booking.domain.models import Booking, BookingStatus, EventHost, HostRole, OutboxMessage, utcnow

SITE_NAME = "Human Library & partner events"
ITIP_PRODID = "-//Human Library Bookings//Invitations//EN"
#: How long a claimed message is left to its drainer before another may try it.
CLAIM_LEASE = timedelta(minutes=10)
#: Retry delays after a failed send: 1, 2, 4, 8… minutes, at most 6 hours; a message that
#: was written is never given up.
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
SMTP_TIMEOUT_SECONDS = 30
ERROR_MAX = 1000
#: Staff see the messages that could not be written in this many days.
UNWRITABLE_SHOWN_FOR = timedelta(days=30)
UNWRITABLE_LISTED = 20


@dataclass(frozen=True)
class Kind:
    """How one kind of message is sent: its subject, and the iTIP method of its calendar part."""

    subject: str
    #: "REQUEST" or "CANCEL" for booking messages; None for messages without a calendar.
    method: str | None = None


#: Each kind is rendered from templates/emails/<kind>.txt and .html.
KINDS = {
    "booking_held": Kind("Please confirm your booking: {title} on {day}"),
    "booking_confirmed": Kind("Booked: {title} on {day}", "REQUEST"),
    "booking_waitlisted": Kind("On the waitlist: {title} on {day}", "REQUEST"),
    "waitlist_promoted": Kind("A seat freed up, you are in: {title} on {day}", "REQUEST"),
    "booking_cancelled": Kind("Cancelled: {title} on {day}", "CANCEL"),
    "reminder": Kind("Reminder: {title} on {day} at {time}", "REQUEST"),
    "schedule_changed": Kind("Changed: {title} on {day}", "REQUEST"),
    "invitation": Kind("You are invited to join " + SITE_NAME),
    "password_reset": Kind("Choose a new password"),
    "feedback_request": Kind("How was your reading of “{title}”?"),
}
#: Kinds sent about a reading that is over; every other booking message is about one to come.
AFTER_READING_KINDS = {"feedback_request"}
#: Payload entries that are credentials: they ride in the outbox only until the message is sent.
PRIVATE_LINKS = ("manage_url", "survey_url", "link", "confirm_url")


class Skipped(Exception):
    """The message no longer makes sense (a reminder for a cancelled reading): not sent."""


@dataclass
class DrainResult:
    sent: int = 0
    skipped: int = 0
    #: Sends that failed; each is tried again later.
    failed: int = 0
    #: Messages that could not be written; marked failed, never tried again.
    unwritable: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.skipped + self.failed + self.unwritable


# -- rendering -------------------------------------------------------------------------------

def sender() -> tuple[str, str]:
    """(display name, address) messages come from, and the calendar ORGANIZER."""
    configured = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    name, address = parseaddr(configured)
    if not address:
        host = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
        name, address = name or "Human Library", f"no-reply@{host}"
    return name or "Human Library", address


def compose(message: OutboxMessage, *, now: datetime) -> EmailMessage:
    """The e-mail for an outbox row: text and HTML, plus an iTIP invitation for bookings."""
    kind = KINDS.get(message.kind)
    if kind is None:
        raise LookupError(f"no e-mail is defined for messages of kind {message.kind!r}")
    payload = dict(message.payload or {})
    booking = message.booking
    context = {"payload": payload, "site_name": SITE_NAME, "kind": message.kind, **payload}
    subject_values: dict = {}
    if booking is not None:
        _check_still_relevant(message, booking, now)
        context.update(_booking_context(booking, payload))
        subject_values = {"title": context["title"], "day": context["day"],
                          "time": context["time"]}

    email = EmailMessage()
    from_name, from_address = sender()
    # A title stored with a line break before such titles were refused still fits one line.
    email["Subject"] = " ".join(kind.subject.format(**subject_values).split())
    email["From"] = f"{from_name} <{from_address}>"
    email["To"] = message.to_email
    email["Date"] = format_datetime(now)
    # Stable per row: a message sent again after a crash is recognisably the same one.
    email["Message-ID"] = make_msgid(f"outbox.{message.id}", domain=from_address.split("@")[-1])
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(render_template(f"emails/{message.kind}.txt", **context))
    email.add_alternative(render_template(f"emails/{message.kind}.html", **context),
                          subtype="html")
    if kind.method and booking is not None:
        ics = invitation(booking, message=message, method=kind.method,
                         event_url=context["event_url"], manage_url=payload.get("manage_url"))
        email.add_alternative(ics.decode("utf-8"), subtype="calendar",
                              params={"method": kind.method})
        email.add_attachment(ics, maintype="application", subtype="ics",
                             filename="invite.ics" if kind.method == "REQUEST" else "cancel.ics")
    return email


def _check_still_relevant(message: OutboxMessage, booking: Booking, now: datetime) -> None:
    if message.kind in AFTER_READING_KINDS:
        if booking.status not in SURVEYED_STATUSES:
            raise Skipped("not sent: the booking was cancelled or marked as not attended")
        return
    if booking.slot.ends_at <= now:
        raise Skipped("not sent: the reading is over")
    if message.kind == "booking_held" and (
        booking.status != BookingStatus.PENDING or booking.hold_expires_at <= now
    ):
        raise Skipped("not sent: the hold was confirmed, released or has lapsed")
    if message.kind == "reminder" and (
        booking.status != BookingStatus.CONFIRMED or booking.slot.starts_at <= now
    ):
        raise Skipped("not sent: the booking is no longer confirmed or has started")


def _booking_context(booking: Booking, payload: dict) -> dict:

    slot, event = booking.slot, booking.event
    return {
        "booking": booking,
        "slot": slot,
        "event": event,
        "what": "reading" if slot.book_id is not None else "session",
        "title": slot.resource_title,
        "day": format_date(slot.starts_at, event.timezone),
        "time": format_time(slot.starts_at, event.timezone),
        "when": when(slot.starts_at, event.timezone),
        "ends": format_time(slot.ends_at, event.timezone),
        "event_url": notifications.public_url("public.event", slug=event.slug),
        "manage_url": payload.get("manage_url"),
        "expires": (when(booking.hold_expires_at, event.timezone)
                    if booking.hold_expires_at else None),
    }


def invitation(booking: Booking, *, message: OutboxMessage, method: str, event_url: str,
               manage_url: str | None) -> bytes:
    """An iTIP (RFC 5546) calendar for one booking: METHOD, ORGANIZER, ATTENDEE, VTIMEZONE.

    The VEVENT is the one of the patron's calendar file (same UID); SEQUENCE is the one
    recorded when the message was queued, so a cancellation always outranks the invitation.
    """
    host = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    # Later messages cannot know the private link (only its hash is stored): manage_url None.
    vevent = booking_event(booking, host=host, event_url=event_url, manage_url=manage_url)
    sequence = (message.payload or {}).get("sequence")
    if isinstance(sequence, int):
        vevent.sequence = sequence
    vevent.DTSTAMP = message.created_at
    waitlisted = message.kind == "booking_waitlisted"
    if method == "CANCEL":
        vevent.status = "CANCELLED"
    else:
        vevent.status = "TENTATIVE" if waitlisted else "CONFIRMED"
        vevent.summary = booking_summary(booking, waitlisted=waitlisted)
    name, address = sender()
    vevent.organizer = vCalAddress.new(address, cn=_organizer_name(booking) or name)
    # The patron booked it themselves: nothing to answer, hence RSVP=FALSE.
    vevent.attendees = [vCalAddress.new(
        booking.patron_email, cn=booking.patron_name, cutype="INDIVIDUAL",
        role="REQ-PARTICIPANT", partstat="TENTATIVE" if waitlisted else "ACCEPTED", rsvp=False,
    )]
    calendar = Calendar.new(prodid=ITIP_PRODID, method=method, subcomponents=[vevent])
    year = booking.slot.starts_at.year
    calendar.add_missing_timezones(first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1))
    return calendar.to_ical()


def _organizer_name(booking: Booking) -> str | None:
    """The library hosting the event (its host partner), named in calendars."""
    host = db.session.scalar(
        sa.select(EventHost).where(EventHost.event_id == booking.event_id)
        .order_by(EventHost.role != HostRole.HOST, EventHost.id).limit(1)
    )
    return host.partner.name if host is not None else None


# -- transports ------------------------------------------------------------------------------

class SMTPTransport:
    """Send through MAIL_SERVER, with STARTTLS when MAIL_USE_TLS, and a login when given."""

    def __init__(self, config):
        self.host = config["MAIL_SERVER"]
        self.port = config["MAIL_PORT"]
        self.username = config.get("MAIL_USERNAME") or ""
        self.password = config.get("MAIL_PASSWORD") or ""
        self.use_tls = bool(config.get("MAIL_USE_TLS"))

    def send(self, email: EmailMessage, name: str) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if self.use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(email)


class FileTransport:
    """Write each message as instance/outbox/<name>.eml, atomically (temporary file, rename)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, email: EmailMessage, name: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(email.as_bytes())
            os.replace(temporary, self.directory / f"{name}.eml")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def delete(self, name: str) -> bool:
        """Remove a written message; False when there was none."""
        try:
            (self.directory / f"{name}.eml").unlink()
        except FileNotFoundError:
            return False
        return True


def file_name(message_id: int) -> str:
    """The name an outbox message's .eml file takes in the file outbox."""
    return f"message-{message_id}"


def file_outbox(app: Flask) -> FileTransport:
    """Where messages are written when no mail server is configured."""
    return FileTransport(Path(app.instance_path) / "outbox")


def transport_for(app: Flask):
    """How the app sends mail: its SMTP server, or the file outbox when it has none."""
    if app.config.get("MAIL_SERVER"):
        return SMTPTransport(app.config)
    return file_outbox(app)


# -- draining --------------------------------------------------------------------------------

def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    doublings = min(max(attempts - 1, 0), 20)  # beyond that the cap applies anyway
    return min(BACKOFF_FIRST * 2 ** doublings, BACKOFF_MAX)


def drain(now: datetime, limit: int | None = None, *, ids: list[int] | None = None) -> DrainResult:
    """Send due messages (only `ids`, when given), at most `limit`; failed sends wait and
    retry, a message that cannot be written is marked failed once.

    One transaction per step of each message, never one for the whole drain: the claim is
    committed before the (slow) send, so that no lock is held while the network is, and the
    mark after it, so that what was sent stays marked sent if a later message fails.
    """
    transport = transport_for(current_app)
    result = DrainResult()
    while limit is None or result.handled < limit:
        message_id = _claim_next(now, ids)
        if message_id is None:
            break
        try:
            email = compose(db.session.get(OutboxMessage, message_id), now=now)
            email.as_bytes()  # a header that cannot be written fails here, not at the server
        except Skipped as skipped:
            db.session.rollback()
            _mark_sent(message_id, now, note=str(skipped))
            result.skipped += 1
            continue
        except sa.exc.SQLAlchemyError as exc:  # the database, not the message: try again
            db.session.rollback()
            _retry_later(message_id, now, exc)
            result.failed += 1
            continue
        except Exception as exc:
            db.session.rollback()
            _mark_unwritable(message_id, now, exc)
            result.unwritable += 1
            continue
        db.session.rollback()  # end the read: no lock is held while the network is slow
        try:
            transport.send(email, file_name(message_id))
        except Exception as exc:
            _retry_later(message_id, now, exc)
            result.failed += 1
        else:
            _mark_sent(message_id, now)
            result.sent += 1
    return result


def _claim_next(now: datetime, ids: list[int] | None) -> int | None:
    """Take the oldest due message for this drainer, in a transaction of its own.

    PostgreSQL: FOR UPDATE SKIP LOCKED lets two drainers take different rows; SQLite: the
    transaction's BEGIN IMMEDIATE already serialises them (the FOR UPDATE is not emitted).
    """
    query = (
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
               OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    with transaction():
        message_id = db.session.scalar(query)
        if message_id is not None:
            db.session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
                .execution_options(synchronize_session=False)
            )
    return message_id


def _mark_sent(message_id: int, now: datetime, note: str = "") -> None:
    _finish(message_id, sent_at=now, last_error=note)


def _mark_unwritable(message_id: int, now: datetime, exc: Exception) -> None:
    """Mark the message failed for good, and log it once: what kind, which error, where."""
    failure = describe_failure(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    kind = _finish(message_id, failed_at=now, last_error=failure[:ERROR_MAX])
    current_app.logger.error(
        "E-mail %s (%s) could not be written and will not be tried again: %s%s",
        message_id, kind, failure,
        f" at {Path(where.filename).name}:{where.lineno}" if where else "")


def _finish(message_id: int, **values) -> str:
    """Set the final `values` of a message (sent or failed); returns its kind."""
    with transaction():
        message = db.session.get(OutboxMessage, message_id, populate_existing=True)
        for name, value in values.items():
            setattr(message, name, value)
        # The private links have done their job, or never will; do not keep them.
        message.payload = {k: v for k, v in (message.payload or {}).items()
                           if k not in PRIVATE_LINKS}
        kind = message.kind
    return kind


def describe_failure(exc: Exception) -> str:
    """Why a message failed, for the log and the outbox, without the text of the error.

    A mail server's reply quotes the recipient ("<ada@example.org>: unknown user"), so only
    the exception's type and the SMTP reply codes are kept; for a network error, the
    operating system's description ("Connection refused"), which names no one.
    """
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _reply in exc.recipients.values()})
        return f"{name}: SMTP {', '.join(codes)}" if codes else name
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name}: SMTP {exc.smtp_code}"
    if isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException) and exc.strerror:
        return f"{name}: {exc.strerror}"
    return name


def _retry_later(message_id: int, now: datetime, exc: Exception) -> None:
    failure = describe_failure(exc)
    current_app.logger.warning("E-mail %s not sent: %s", message_id, failure)
    with transaction():
        message = db.session.get(OutboxMessage, message_id, populate_existing=True)
        message.last_error = failure[:ERROR_MAX]
        message.next_attempt_at = now + backoff(message.attempts)


def unwritable(now: datetime) -> tuple[int, list[OutboxMessage]]:
    """For staff: how many messages could not be written lately, and the latest of them."""
    recent = OutboxMessage.failed_at >= now - UNWRITABLE_SHOWN_FOR
    count = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                              .where(recent))
    latest = db.session.scalars(
        sa.select(OutboxMessage).where(recent)
        .options(selectinload(OutboxMessage.booking).selectinload(Booking.event))
        .order_by(OutboxMessage.failed_at.desc(), OutboxMessage.id.desc())
        .limit(UNWRITABLE_LISTED)
    ).all()
    return count, list(latest)


# -- sending right after a request -----------------------------------------------------------

def init_app(app: Flask) -> None:
    """Send what a request queued once its response is done (MAIL_SEND_ON_COMMIT)."""

    @app.after_request
    def send_queued_after_response(response):
        queued = db.session.info.pop(notifications.QUEUED_KEY, [])
        if not app.config.get("MAIL_SEND_ON_COMMIT"):
            return response
        # Only committed rows are persistent here; a rolled-back message is simply gone.
        ids = [sa.inspect(m).identity[0] for m in queued if sa.inspect(m).persistent]
        if ids:
            response.call_on_close(lambda: send_now(app, ids))
        return response


def send_now(app: Flask, ids: list[int]) -> None:
    """Drain these messages; any failure leaves them queued for `send-emails`, and is logged."""
    try:
        with app.app_context():
            drain(utcnow(), ids=ids)
    except Exception:
        app.logger.exception("Sending e-mails %s after the request failed; they stay queued", ids)
