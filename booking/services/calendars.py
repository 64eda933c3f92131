"""What each calendar feed shows, loaded in a constant number of queries; private feed tokens.

A cancelled event or slot stays in a feed (STATUS:CANCELLED) for a grace period after it was
cancelled, so that subscribed calendars learn about it, then it is dropped.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from booking.extensions import db, transaction
from booking.domain.ical import Audience, FeedContent
from booking.domain.models import Booking, BookingStatus, Event, EventHost, EventStatus, HumanBook, ListingStatus, ProgramSession, Role, Slot, SlotStatus, User
from booking.services.reservations import hash_token

#: Default for FEED_CANCELLED_GRACE_DAYS.
CANCELLED_GRACE = timedelta(days=30)
#: Private feed tokens carry this many random bytes (256 bits).
FEED_TOKEN_BYTES = 32
#: Events of these statuses are in public feeds (a cancelled one only during its grace period).
PUBLIC_EVENT_STATUSES = (EventStatus.PUBLISHED, EventStatus.FINISHED, EventStatus.CANCELLED)


def published_events(*, now: datetime, grace: timedelta = CANCELLED_GRACE) -> FeedContent:
    """Every published (or finished) event, and cancelled ones still in their grace period."""
    cutoff = now - grace
    events = db.session.scalars(
        sa.select(Event)
        .where(Event.status.in_(PUBLIC_EVENT_STATUSES), _event_not_dropped(cutoff))
        .options(selectinload(Event.hosts).selectinload(EventHost.partner))
        .order_by(Event.starts_at, Event.id)
    ).all()
    dropped = db.session.scalar(
        sa.select(sa.func.max(Event.updated_at))
        .where(Event.status == EventStatus.CANCELLED, Event.updated_at < cutoff)
    )
    return FeedContent(
        name="Human Library & partner events", uid="events",
        events=list(events), dropped_at=_drop_instant(dropped, grace),
    )


def event_schedule(event: Event, *, now: datetime,
                   grace: timedelta = CANCELLED_GRACE) -> FeedContent:
    """An event's readings and session times with seats left; no personal data."""
    cutoff = now - grace
    approved = sa.or_(HumanBook.listing_status == ListingStatus.APPROVED,
                      ProgramSession.listing_status == ListingStatus.APPROVED)
    scope = sa.and_(Slot.event_id == event.id, approved)
    slots, dropped = _slots(scope, cutoff=cutoff)
    return FeedContent(
        name=f"{event.title}: schedule", uid=f"event-{event.id}-schedule",
        slots=slots, zones=(event.timezone,), dropped_at=_drop_instant(dropped, grace),
    )


def personal_schedule(user: User, *, now: datetime,
                      grace: timedelta = CANCELLED_GRACE) -> FeedContent:
    """A person's private feed: staff see every booking with reader names, a coordinator
    their partner's readings and sessions with counts, a volunteer their own with counts."""
    cutoff = now - grace
    if user.role == Role.STAFF:
        scope = Slot.id.in_(sa.select(Booking.slot_id))
        audience, title = Audience.STAFF, "Bookings (staff)"
    elif user.role == Role.COORDINATOR:
        scope = sa.or_(
            HumanBook.partner_id == user.partner_id,
            ProgramSession.presenter_partner_id == user.partner_id,
        ) if user.partner_id is not None else sa.false()
        audience = Audience.PARTNER
        title = f"Readings of {user.partner.name}" if user.partner else "Partner readings"
    else:
        scope = sa.or_(
            sa.and_(Slot.book_id == user.human_book_id, Slot.book_id.is_not(None)),
            ProgramSession.presenter_user_id == user.id,
        )
        audience, title = Audience.VOLUNTEER, "My readings"
    slots, dropped = _slots(scope, cutoff=cutoff)
    readers: dict[int, list[Booking]] = {}
    if audience == Audience.STAFF:
        for booking in db.session.scalars(
            sa.select(Booking)
            .where(Booking.status != BookingStatus.CANCELLED)
            .order_by(Booking.status, Booking.waitlist_position, Booking.id)
        ):
            readers.setdefault(booking.slot_id, []).append(booking)
    return FeedContent(
        name=title, uid=f"user-{user.id}", slots=slots, readers=readers,
        audience=audience, dropped_at=_drop_instant(dropped, grace),
    )


def _slots(scope, *, cutoff: datetime) -> tuple[list[Slot], datetime | None]:
    """Slots in scope that are still shown, with everything a VEVENT needs joined in one query;
    and when the last cancelled one in scope was cancelled past its grace period."""
    base = (
        sa.select(Slot)
        .join(Event, Slot.event_id == Event.id)
        .outerjoin(HumanBook, Slot.book_id == HumanBook.id)
        .outerjoin(ProgramSession, Slot.session_id == ProgramSession.id)
        .where(scope)
    )
    shown = sa.and_(
        sa.or_(Slot.status != SlotStatus.CANCELLED, Slot.updated_at >= cutoff),
        _event_not_dropped(cutoff),
    )
    slots = db.session.scalars(
        base.where(shown)
        .options(
            joinedload(Slot.event),
            joinedload(Slot.book).joinedload(HumanBook.partner),
            joinedload(Slot.session).joinedload(ProgramSession.presenter),
        )
        .order_by(Slot.starts_at, Slot.id)
    ).unique().all()
    dropped = db.session.scalar(
        base.where(sa.not_(shown)).with_only_columns(
            sa.func.max(sa.case((Slot.status == SlotStatus.CANCELLED, Slot.updated_at),
                                else_=Event.updated_at))
        )
    )
    return list(slots), dropped


def _event_not_dropped(cutoff: datetime):
    return sa.or_(Event.status != EventStatus.CANCELLED, Event.updated_at >= cutoff)


def _drop_instant(cancelled_at: datetime | None, grace: timedelta) -> datetime | None:
    return None if cancelled_at is None else cancelled_at + grace


# Private feed tokens ------------------------------------------------------------------------


def issue_feed_token(user: User) -> str:
    """Give `user` a new private feed token (the old URL stops working); only its hash is kept.

    The token is returned once, to be shown to its owner; it cannot be read back later.
    """
    with transaction():
        token = secrets.token_urlsafe(FEED_TOKEN_BYTES)
        user.feed_token_hash = hash_token(token)
    return token


def feed_owner(token: str) -> User | None:
    """The active user whose private feed `token` opens, if any."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    user = db.session.scalar(sa.select(User).where(User.feed_token_hash == hash_token(token)))
    return user if user is not None and user.active else None
