"""Typed SQLAlchemy models. Times are stored in UTC; see `UTCDateTime`."""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from flask_login import UserMixin

from booking.extensions import db


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; naive values are refused.

    PostgreSQL stores `timestamptz`; SQLite has no zone, so the UTC wall time is stored.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(timezone.utc)


def _enum(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column: VARCHAR with a CHECK of the allowed values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        validate_strings=True,
        values_callable=lambda cls: [m.value for m in cls],
    )


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    FINISHED = "finished"


class EventKind(enum.StrEnum):
    HUMAN_LIBRARY = "human_library"
    PROGRAM = "program"


class HostRole(enum.StrEnum):
    HOST = "host"
    CO_HOST = "co-host"
    SPONSOR = "sponsor"


class ListingStatus(enum.StrEnum):
    """Partner listings go public only once approved by staff."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETIRED = "retired"


class SlotStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class BookingStatus(enum.StrEnum):
    #: A hold: made without proof of the e-mail address; confirmed by the e-mailed link, or
    #: cancelled by itself at `hold_expires_at`. It holds seats (waitlist_position None) or
    #: a place in the waitlist (waitlist_position set), but does not count against rule 2.
    PENDING = "pending"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


#: Statuses that hold a place (a seat, or a place in the queue) and count against limits.
ACTIVE_BOOKING_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED)
#: Statuses that hold a place, holds included: what a slot going away or shrinking releases.
HOLDING_STATUSES = (BookingStatus.PENDING, *ACTIVE_BOOKING_STATUSES)


class Role(enum.StrEnum):
    STAFF = "staff"
    COORDINATOR = "coordinator"
    VOLUNTEER = "volunteer"


class Partner(db.Model):
    """An organisation that co-hosts events: the library itself, a museum, a clinic…"""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Free text such as "literacy council" or "museum".
    kind: Mapped[str] = mapped_column(sa.String(80), default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    books: Mapped[list[HumanBook]] = relationship(back_populates="partner")


class Event(db.Model):
    """One co-hosted occasion with a venue, a time span and a time zone."""

    __tablename__ = "events"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("max_bookings_per_patron >= 1", name="patron_limit_positive"),
        sa.CheckConstraint("max_seats_per_booking >= 1", name="seats_limit_positive"),
        sa.CheckConstraint("walk_in_seats_per_reading >= 0", name="walk_in_seats_not_negative"),
        sa.Index("ix_events_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    venue: Mapped[str] = mapped_column(sa.String(300), default="")
    accessibility_notes: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: IANA zone name; slots are generated and shown in this zone's wall-clock time.
    timezone: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[EventStatus] = mapped_column(
        _enum(EventStatus, "event_status"), default=EventStatus.DRAFT
    )
    kind: Mapped[EventKind] = mapped_column(
        _enum(EventKind, "event_kind"), default=EventKind.HUMAN_LIBRARY
    )
    #: Registration is open from this instant (None: as soon as published).
    registration_opens_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: Registration closes at this instant (None: when each slot starts).
    registration_closes_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: Active bookings (confirmed or waitlisted) one patron may hold at this event.
    max_bookings_per_patron: Mapped[int] = mapped_column(default=3)
    #: Seats one booking may take (capped further by the slot's capacity).
    max_seats_per_booking: Mapped[int] = mapped_column(default=1)
    #: The last seats of every reading, kept for walk-ins at the desk: online booking stops
    #: (and the waitlist starts) when only this many seats are free.
    walk_in_seats_per_reading: Mapped[int] = mapped_column(default=0, server_default="0")
    agreement_text: Mapped[str] = mapped_column(sa.Text, default="")
    #: Bumped when the agreement text changes; bookings keep the version they accepted.
    agreement_version: Mapped[int] = mapped_column(default=1)
    #: Bumped on every visible change, for calendar SEQUENCE (see `bump_calendar_sequences`).
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    hosts: Mapped[list[EventHost]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventHost.id"
    )
    sessions: Mapped[list[ProgramSession]] = relationship(
        back_populates="event", order_by="ProgramSession.id"
    )
    slots: Mapped[list[Slot]] = relationship(back_populates="event", order_by="Slot.starts_at")

    #: Attributes a calendar app shows: changing one bumps `sequence`.
    __calendar_fields__ = ("title", "venue", "starts_at", "ends_at", "timezone", "status")

    @property
    def requires_agreement(self) -> bool:
        return self.kind == EventKind.HUMAN_LIBRARY and bool(self.agreement_text.strip())


class EventHost(db.Model):
    """A partner's part in an event: host, co-host or sponsor."""

    __tablename__ = "event_hosts"
    __table_args__ = (sa.UniqueConstraint("event_id", "partner_id", name="uq_event_hosts_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    role: Mapped[HostRole] = mapped_column(_enum(HostRole, "host_role"), default=HostRole.CO_HOST)

    event: Mapped[Event] = relationship(back_populates="hosts")
    partner: Mapped[Partner] = relationship()


class HumanBook(db.Model):
    """A volunteer known publicly only by a title; the real name and e-mail stay private."""

    __tablename__ = "human_books"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    blurb: Mapped[str] = mapped_column(sa.Text, default="")
    topics: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: Language tags such as "en", "es".
    languages: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    content_notes: Mapped[str] = mapped_column(sa.Text, default="")
    #: Private: never on a public page, feed or API.
    volunteer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    #: Private: never on a public page, feed or API.
    volunteer_email: Mapped[str] = mapped_column(sa.String(254), default="")
    listing_status: Mapped[ListingStatus] = mapped_column(
        _enum(ListingStatus, "listing_status"), default=ListingStatus.DRAFT
    )
    #: Bumped when the title (shown in calendars) changes, for calendar SEQUENCE.
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="books")

    __calendar_fields__ = ("title",)


class ProgramSession(db.Model):
    """A program item (talk, workshop, storytime) presented by a partner."""

    __tablename__ = "program_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"), index=True)
    presenter_partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: Language tag such as "en".
    language: Mapped[str] = mapped_column(sa.String(35), default="en")
    #: Who it is for, e.g. "Families", "Adults", "Teens".
    audience: Mapped[str] = mapped_column(sa.String(120), default="")
    listing_status: Mapped[ListingStatus] = mapped_column(
        _enum(ListingStatus, "listing_status"), default=ListingStatus.DRAFT
    )
    #: Bumped when the title (shown in calendars) changes, for calendar SEQUENCE.
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    #: The volunteer who presents it, if they have an account (for conflicts and their feed).
    presenter_user_id: Mapped[Optional[int]] = mapped_column(
        sa.ForeignKey("users.id"), index=True
    )

    event: Mapped[Event] = relationship(back_populates="sessions")
    presenter: Mapped[Partner] = relationship()

    __calendar_fields__ = ("title",)


class Slot(db.Model):
    """One bookable unit in time: a reading of a book, or a seat block of a session."""

    __tablename__ = "slots"
    __table_args__ = (
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint(
            "(book_id IS NULL) <> (session_id IS NULL)", name="exactly_one_resource"
        ),
        sa.Index("ix_slots_event_id_starts_at", "event_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"))
    book_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("human_books.id"), index=True)
    session_id: Mapped[Optional[int]] = mapped_column(
        sa.ForeignKey("program_sessions.id"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column()
    #: Seats held by confirmed (and attended/no-show) bookings; kept in step by reservations.
    booked: Mapped[int] = mapped_column(default=0)
    status: Mapped[SlotStatus] = mapped_column(
        _enum(SlotStatus, "slot_status"), default=SlotStatus.OPEN
    )
    #: Bumped on every visible change, for calendar SEQUENCE.
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship(back_populates="slots")
    book: Mapped[Optional[HumanBook]] = relationship()
    session: Mapped[Optional[ProgramSession]] = relationship()

    __calendar_fields__ = ("starts_at", "ends_at", "status")

    @property
    def held_for_walk_ins(self) -> int:
        """Seats online booking may not take: the event's walk-in seats, at most the capacity.

        Only readings hold seats back: the desk seats walk-ins in readings, never in sessions.
        """
        if self.book_id is None:
            return 0
        return min(self.event.walk_in_seats_per_reading, self.capacity)

    @property
    def available(self) -> int:
        """Seats left to book online (what public pages and the API show)."""
        return max(self.capacity - self.held_for_walk_ins - self.booked, 0)

    @property
    def free_seats(self) -> int:
        """Seats left for anyone, walk-ins included."""
        return max(self.capacity - self.booked, 0)

    @property
    def resource_type(self) -> str:
        return "book" if self.book_id is not None else "session"

    @property
    def resource_title(self) -> str:
        return self.book.title if self.book is not None else self.session.title


class Booking(db.Model):
    """A patron's seat(s) in a slot, or their place on its waitlist."""

    __tablename__ = "bookings"
    __table_args__ = (
        sa.CheckConstraint("seats >= 1", name="seats_positive"),
        sa.Index("ix_bookings_event_id_email_normalized", "event_id", "email_normalized"),
        sa.Index("ix_bookings_email_normalized_status", "email_normalized", "status"),
        sa.Index("ix_bookings_slot_id_status_waitlist_position", "slot_id", "status",
                 "waitlist_position"),
        sa.Index("ix_bookings_status_hold_expires_at", "status", "hold_expires_at"),
        sa.Index("ix_bookings_event_id_hold_client", "event_id", "hold_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("slots.id"))
    #: Copied from the slot so per-event limits need no join.
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"))
    patron_name: Mapped[str] = mapped_column(sa.String(120))
    patron_email: Mapped[str] = mapped_column(sa.String(254))
    #: Lower-cased e-mail: the patron's identity for limits and overlaps.
    email_normalized: Mapped[str] = mapped_column(sa.String(254))
    seats: Mapped[int] = mapped_column(default=1)
    status: Mapped[BookingStatus] = mapped_column(_enum(BookingStatus, "booking_status"))
    #: Order in the slot's waitlist (FIFO); None unless waitlisted.
    waitlist_position: Mapped[Optional[int]] = mapped_column()
    #: SHA-256 of the secret manage token; the token itself is only ever in the patron's link.
    manage_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: Version of the reader agreement the patron accepted (None: none was required).
    agreement_version: Mapped[Optional[int]] = mapped_column()
    accessibility_needs: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Booked at the desk on the day rather than online.
    walk_in: Mapped[bool] = mapped_column(default=False)
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Bumped on every visible change, for calendar SEQUENCE.
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: When the reminder before the reading was queued; claimed once by a conditional UPDATE.
    reminder_queued_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: When the booking joined the waitlist; kept after promotion or cancellation, so reports
    #: can count waitlist demand.
    waitlisted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: When the survey invitation after the reading was queued; claimed once, like reminders.
    feedback_requested_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: A hold (made without proof of the address) lapses at this instant unless confirmed;
    #: None once confirmed or when no hold was needed. Kept on a lapsed (cancelled) hold, so
    #: reports can tell a hold that never became a booking from a cancellation.
    hold_expires_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: Keyed hash of the client address that made a hold, for the cap on open holds per
    #: client and event; cleared when the hold is confirmed or lapses.
    hold_client: Mapped[Optional[str]] = mapped_column(sa.String(64))

    slot: Mapped[Slot] = relationship()
    event: Mapped[Event] = relationship()

    __calendar_fields__ = ("status", "seats")

    @property
    def holds_seats(self) -> bool:
        """Whether the booking's seats are counted in its slot's `booked`."""
        if self.status == BookingStatus.PENDING:
            return self.waitlist_position is None
        return self.status in (BookingStatus.CONFIRMED, BookingStatus.ATTENDED,
                               BookingStatus.NO_SHOW)

    @property
    def on_waitlist(self) -> bool:
        """Waiting for a seat: waitlisted, or a hold that holds a place in the waitlist."""
        return self.status == BookingStatus.WAITLISTED or (
            self.status == BookingStatus.PENDING and self.waitlist_position is not None)


def waiting_in_line():
    """The condition for a place in a waitlist: waitlisted, or a hold that waits for a seat."""
    return sa.or_(
        Booking.status == BookingStatus.WAITLISTED,
        sa.and_(Booking.status == BookingStatus.PENDING, Booking.waitlist_position.is_not(None)),
    )


class User(UserMixin, db.Model):
    """A person who signs in: staff, a partner's coordinator, or a volunteer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    #: The partner a coordinator or volunteer belongs to.
    partner_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    #: The human book a volunteer is.
    human_book_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("human_books.id"))
    active: Mapped[bool] = mapped_column(default=True)
    #: Carried by every session and remember cookie; bumping it ends them all (signing out,
    #: a new password, deactivation).
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    #: SHA-256 of the secret token in the person's private calendar feed URL (None: no feed).
    feed_token_hash: Mapped[Optional[str]] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Optional[Partner]] = relationship()
    human_book: Mapped[Optional[HumanBook]] = relationship()

    #: Not stored: the signed sign-in id (`tokens.sign_in_id`) this instance was signed in or
    #: loaded with, which Flask-Login keeps in the session and the remember cookie.
    sign_in_id = None

    @property
    def is_active(self) -> bool:
        """Flask-Login: a deactivated account cannot sign in or stay signed in."""
        return self.active

    def get_id(self) -> str:
        """Flask-Login: the sign-in id; before any sign-in, the bare id, which no loader accepts."""
        return self.sign_in_id or str(self.id)


class AvailabilityWindow(db.Model):
    """A span of an event in which a human book can give readings, in the event's local time."""

    __tablename__ = "availability_windows"
    __table_args__ = (
        sa.CheckConstraint("ends_local > starts_local", name="ends_after_start"),
        sa.CheckConstraint("readers BETWEEN 1 AND 3", name="readers_1_to_3"),
        sa.CheckConstraint("reading_minutes BETWEEN 5 AND 240", name="reading_length"),
        sa.CheckConstraint("break_minutes BETWEEN 0 AND 120", name="break_length"),
        sa.CheckConstraint("rest_after IS NULL OR rest_after >= 1", name="rest_after_positive"),
        sa.CheckConstraint("rest_minutes BETWEEN 0 AND 240", name="rest_length"),
        sa.Index("ix_availability_windows_event_id_book_id", "event_id", "book_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"))
    book_id: Mapped[int] = mapped_column(sa.ForeignKey("human_books.id"), index=True)
    #: Wall-clock start in the event's zone (naive on purpose: it is local time).
    starts_local: Mapped[datetime] = mapped_column(sa.DateTime(timezone=False))
    #: Wall-clock end in the event's zone.
    ends_local: Mapped[datetime] = mapped_column(sa.DateTime(timezone=False))
    reading_minutes: Mapped[int] = mapped_column(default=30)
    break_minutes: Mapped[int] = mapped_column(default=10)
    #: Readers per reading: the capacity of each slot made from this window.
    readers: Mapped[int] = mapped_column(default=1)
    #: Take a longer rest after this many readings in a row (None: never).
    rest_after: Mapped[Optional[int]] = mapped_column()
    rest_minutes: Mapped[int] = mapped_column(default=20)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    book: Mapped[HumanBook] = relationship()


class OutboxMessage(db.Model):
    """A notification waiting to be sent; written in the same transaction as its cause."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_sent_at_next_attempt_at", "sent_at", "next_attempt_at"),
        sa.Index("ix_outbox_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What happened, e.g. "booking_cancelled", "invitation", "password_reset".
    kind: Mapped[str] = mapped_column(sa.String(40))
    to_email: Mapped[str] = mapped_column(sa.String(254))
    booking_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("bookings.id"), index=True)
    #: Whatever the message needs beyond the booking (reason, links…).
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: Caused by a request nobody signed in to or proved an address for (a hold, a reset):
    #: such messages are capped per recipient and hour, so no address can be mail-bombed.
    anonymous: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: When the message could not be written (an error no retry can fix): never tried again.
    failed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    booking: Mapped[Optional[Booking]] = relationship()


class RememberedPatron(db.Model):
    """A browser that proved an e-mail address by a confirmation link, and books in one step.

    The browser keeps a signed cookie with the secret token; only its hash is stored here.
    Forgetting the browser (or the purge) deletes the row, which revokes the cookie.
    """

    __tablename__ = "remembered_patrons"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The proven address, normalised as bookings store it.
    email_normalized: Mapped[str] = mapped_column(sa.String(254), index=True)
    #: SHA-256 of the token in the browser's cookie.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Last booking made with it: the purge forgets browsers unused for the retention period.
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditEntry(db.Model):
    """Who changed what, written by `audit.record` in the same transaction as the change.

    No patron's personal data goes in here: only who acted (staff, a coordinator, a
    volunteer), ids and the changed fields.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_at", "at"),
        sa.Index("ix_audit_log_event_id_at", "event_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    #: What was done, e.g. "event.create", "slot.cancel", "listing.approve", "partner.create".
    action: Mapped[str] = mapped_column(sa.String(40))
    #: The kind of thing changed: "event", "slot", "book", "session", "partner".
    target_type: Mapped[str] = mapped_column(sa.String(20))
    target_id: Mapped[int] = mapped_column()
    #: The event the change belongs to, for filtering (None for listings and partners).
    event_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("events.id"))
    #: {field: [before, after]} or a short summary such as {"bookings_cancelled": 3}.
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    user: Mapped[User] = relationship()
    event: Mapped[Optional[Event]] = relationship()


class ChangedView(enum.StrEnum):
    """Did the reading change how the reader sees the topic?"""

    YES = "yes"
    A_LITTLE = "a_little"
    NO = "no"


class Feedback(db.Model):
    """A reader's answers to the short survey after a reading; one per booking.

    Reports show only counts and averages, never who answered; it outlives the purge of the
    booking's personal data.
    """

    __tablename__ = "feedback"
    __table_args__ = (
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_1_to_5"),
        sa.Index("ix_feedback_event_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id"), unique=True)
    #: Copied from the booking, so reports group without joins.
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"))
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("slots.id"), index=True)
    #: 1 (poor) to 5 (excellent).
    rating: Mapped[int] = mapped_column()
    would_recommend: Mapped[bool] = mapped_column()
    changed_view: Mapped[ChangedView] = mapped_column(_enum(ChangedView, "changed_view"))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship()
    slot: Mapped[Slot] = relationship()


class Reflection(db.Model):
    """A volunteer's reflection on their readings at an event; one per book and event.

    Anonymous in reports: counted per event and partner, and its texts shown to staff with the
    event only; never by book (each book has one volunteer) nor by volunteer.
    """

    __tablename__ = "reflections"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "book_id", name="uq_reflections_event_id_book_id"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_1_to_5"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"))
    book_id: Mapped[int] = mapped_column(sa.ForeignKey("human_books.id"), index=True)
    #: Who wrote it (None once the account is gone); never shown in reports.
    user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    #: How the day went for the volunteer, 1 to 5.
    rating: Mapped[int] = mapped_column()
    went_well: Mapped[str] = mapped_column(sa.Text, default="")
    was_hard: Mapped[str] = mapped_column(sa.Text, default="")
    would_return: Mapped[bool] = mapped_column()
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    book: Mapped[HumanBook] = relationship()


@sa.event.listens_for(Session, "before_flush")
def bump_calendar_sequences(session, flush_context, instances) -> None:
    """Bump `sequence` on any row whose calendar-visible attributes change.

    Calendar apps ignore an update whose SEQUENCE did not rise, so this runs for every
    change, whoever makes it; code that already bumped `sequence` itself is left alone.
    """
    for row in session.dirty:
        fields = getattr(type(row), "__calendar_fields__", None)
        if not fields:
            continue
        state = sa.inspect(row)
        if _changed(state.attrs.sequence.history):
            continue
        if any(_changed(state.attrs[name].history) for name in fields):
            row.sequence = (row.sequence or 0) + 1


def _changed(history) -> bool:
    # Assigning the value an attribute already had is not a change.
    return bool(history.added) and list(history.added) != list(history.deleted)
