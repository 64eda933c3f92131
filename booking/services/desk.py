"""The librarian desk on the day: what every human book is doing now, and who is in each reading.

A book's state at an instant `now`, from its readings that day (cancelled ones left out):

- ``on_loan``: a reading is in progress and at least one patron in it is confirmed or checked
  in; the book is due back when that reading ends.
- ``free``: no reading is holding the book now (none in progress, or the one in progress has
  nobody in it): before its first reading, in a normal break, or with an empty reading.
- ``resting``: between two readings, and the gap between them is longer than the book's normal
  break, i.e. the rest its availability window sets after a few readings (or a gap between
  two windows). The normal break is the shortest `break_minutes` of the book's availability
  windows at the event, or `DEFAULT_BREAK` when its readings were not made from windows.
- ``done``: no reading of the book is left that day.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.services import audit, events, reservations
from booking.services.outbox import notifications
from booking.domain.commands import SeatsHeldBack
from booking.domain.errors import SlotNotFound
from booking.extensions import db, transaction
from booking.domain.models import AvailabilityWindow, Booking, BookingStatus, Event, EventStatus, HumanBook, Slot, SlotStatus, User, waiting_in_line
from booking.services.reservations import CHECK_IN_OPENS

#: The break between readings when a book's readings were not made from availability windows.
DEFAULT_BREAK = timedelta(minutes=10)
#: Statuses that mean someone is in (or expected in) the reading now.
_READING_NOW = (BookingStatus.CONFIRMED, BookingStatus.ATTENDED)


class BookState(enum.StrEnum):
    ON_LOAN = "on_loan"
    FREE = "free"
    RESTING = "resting"
    DONE = "done"


@dataclass(frozen=True)
class Reading:
    """One reading of a book with the bookings in it (cancelled ones left out)."""

    slot: Slot
    bookings: list[Booking]

    @property
    def occupied(self) -> bool:
        return any(b.status in _READING_NOW for b in self.bookings)

    def marking_open(self, now: datetime) -> bool:
        """Whether check-in and no-show can be tapped for this reading yet."""
        return now >= self.slot.starts_at - CHECK_IN_OPENS

    def takes_walk_ins(self, now: datetime) -> bool:
        return (self.slot.status == SlotStatus.OPEN and self.slot.ends_at > now
                and self.slot.free_seats > 0)


@dataclass(frozen=True)
class BookDesk:
    """A book's card on the desk: its state now, and its readings of the day."""

    book: HumanBook
    state: BookState
    readings: list[Reading]
    #: The reading in progress, if any.
    current: Reading | None
    #: The next reading a patron could join: the empty one in progress, or the next to start.
    next: Reading | None
    #: When the reading in progress ends (on loan), or when the rest ends (resting).
    until: datetime | None


def state_at(readings: list[Reading], now: datetime,
             normal_break: timedelta) -> tuple[BookState, Reading | None, Reading | None,
                                               datetime | None]:
    """(state, current reading, next reading, until when) of one book; readings in time order."""
    current = next((r for r in readings if r.slot.starts_at <= now < r.slot.ends_at), None)
    upcoming = [r for r in readings if r.slot.starts_at > now]
    following = upcoming[0] if upcoming else None
    if current is not None and current.occupied:
        return BookState.ON_LOAN, current, following, current.slot.ends_at
    if current is not None:
        return BookState.FREE, current, current, None
    if following is None:
        return BookState.DONE, None, None, None
    previous = [r for r in readings if r.slot.ends_at <= now]
    if previous and following.slot.starts_at - previous[-1].slot.ends_at > normal_break:
        return BookState.RESTING, None, following, following.slot.starts_at
    return BookState.FREE, None, following, None


def desk_day(event: Event, now: datetime) -> date:
    """The local day the desk shows: today if the event has readings today, else its next
    (or, once over, its last) day with readings."""
    zone = ZoneInfo(event.timezone)
    today = now.astimezone(zone).date()
    starts = db.session.scalars(
        sa.select(Slot.starts_at).where(_event_readings(event)).order_by(Slot.starts_at)
    ).all()
    days = sorted({s.astimezone(zone).date() for s in starts})
    if not days or today in days:
        return today
    later = [d for d in days if d > today]
    return later[0] if later else days[-1]


def book_states(event: Event, now: datetime, day: date | None = None) -> list[BookDesk]:
    """Every book with readings at the event on `day` (default: `desk_day`), by title."""
    zone = ZoneInfo(event.timezone)
    day = day or desk_day(event, now)
    slots = [
        s for s in db.session.scalars(
            sa.select(Slot).where(_event_readings(event))
            .options(selectinload(Slot.book)).order_by(Slot.starts_at, Slot.id)
        )
        if s.starts_at.astimezone(zone).date() == day
    ]
    bookings: dict[int, list[Booking]] = {s.id: [] for s in slots}
    for booking in db.session.scalars(
        sa.select(Booking)
        .where(Booking.slot_id.in_(list(bookings)), Booking.status != BookingStatus.CANCELLED)
        # Seated readers first, then the line in its order (holds waiting in it included).
        .order_by(waiting_in_line(), Booking.waitlist_position, Booking.id)
    ):
        bookings[booking.slot_id].append(booking)
    breaks = _normal_breaks(event)
    by_book: dict[int, list[Reading]] = {}
    for slot in slots:
        by_book.setdefault(slot.book_id, []).append(Reading(slot, bookings[slot.id]))
    desks = []
    for readings in by_book.values():
        book = readings[0].slot.book
        state, current, following, until = state_at(
            readings, now, breaks.get(book.id, DEFAULT_BREAK))
        desks.append(BookDesk(book, state, readings, current, following, until))
    return sorted(desks, key=lambda d: (d.book.title.lower(), d.book.id))


def desk_events(now: datetime) -> list[Event]:
    """Published events not over yet (or over less than a day ago), soonest first."""
    return list(db.session.scalars(
        sa.select(Event)
        .where(Event.status == EventStatus.PUBLISHED, Event.ends_at > now - timedelta(days=1))
        .order_by(Event.starts_at, Event.id)
    ))


def reading_at(event: Event, slot_id: int) -> Slot:
    """A reading (or session) of this event, as the desk names it; another event's is not
    found, since each desk page is one event's."""
    slot = db.session.get(Slot, slot_id)
    if slot is None or slot.event_id != event.id:
        raise SlotNotFound(reservations.WALK_INS_IN_READINGS_ONLY)
    return slot


def set_walk_in_seats(user: User, event: Event, seats: SeatsHeldBack,
                      now: datetime) -> list[Booking]:
    """Hold back `seats.walk_in_seats` seats of every reading of the event for walk-ins (0: none).

    Fewer held seats free seats for online booking: the waitlist of each reading not yet
    begun moves up into them at once,
    oldest first, before any newcomer can take them. The event, then its open slots, are locked
    first (the order staff changes take), so no booking slips in between. Returns the
    bookings promoted; each has its notification queued. The change is in the audit log.
    """
    held = seats.walk_in_seats
    promoted: list[Booking] = []
    with transaction():
        events.require_staff(user)
        events.lock_event(event)  # the event, then its slots: the order staff changes take
        # No one moves up into a reading begun or over.
        slots = events.lock_slots(event, _event_readings(event),
                                  Slot.status == SlotStatus.OPEN, Slot.starts_at > now)
        before = event.walk_in_seats_per_reading
        if before == held:
            return []
        event.walk_in_seats_per_reading = held
        event.updated_at = now
        audit.record(user, "event.walk_in_seats", event,
                     {"walk_in_seats_per_reading": [before, held]}, now)
        db.session.flush()
        if held < before:
            for slot in slots:
                for booking in reservations.promote_waitlist(slot, now=now):
                    notifications.queue_promoted(booking, now=now)
                    promoted.append(booking)
    return promoted


def _event_readings(event: Event):
    return sa.and_(Slot.event_id == event.id, Slot.book_id.is_not(None),
                   Slot.status != SlotStatus.CANCELLED)


def _normal_breaks(event: Event) -> dict[int, timedelta]:
    rows = db.session.execute(
        sa.select(AvailabilityWindow.book_id, sa.func.min(AvailabilityWindow.break_minutes))
        .where(AvailabilityWindow.event_id == event.id)
        .group_by(AvailabilityWindow.book_id)
    ).all()
    return {book_id: timedelta(minutes=minutes) for book_id, minutes in rows}
