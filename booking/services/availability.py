"""Availability windows -> readings: plan the change, show what it would cancel, then apply it.

A book's windows at an event are saved as a whole. The slots they produce are compared with the
slots that exist: a slot at the same time is kept (same id, same bookings), a new time becomes a
new slot, a time no longer offered is cancelled. Nothing that holds a booking is cancelled unless
the person confirmed that very booking (by id: one made after the list was shown asks again),
and every booking so cancelled gets a reason and a queued notification.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.services import audit, reservations
from booking.services.outbox import notifications
from booking.domain import messages, text
from booking.domain.commands import REASON_MAX, Schedule, Window
from booking.domain.errors import (
    ConfirmationNeeded,
    DomainError,
    Forbidden,
    SeatsTaken,
    ValidationFailed,
    VolunteerConflict,
)
from booking.extensions import db, transaction
from booking.domain.models import HOLDING_STATUSES, AvailabilityWindow, Booking, BookingStatus, Event, EventHost, EventStatus, HumanBook, ListingStatus, Partner, ProgramSession, Role, Slot, SlotStatus, User

REMOVED_REASON = "The reading was removed from the schedule."


@dataclass
class Plan:
    """What saving a set of windows would do to a book's slots at an event."""

    #: (slot, new capacity) for kept times whose number of readers changes.
    resize: list[tuple[Slot, int]] = field(default_factory=list)
    #: Cancelled slots at a time offered again: reopened, keeping their id (and calendar UID).
    reopen: list[tuple[Slot, int]] = field(default_factory=list)
    #: (starts_at, ends_at, capacity) of new slots.
    create: list[tuple[datetime, datetime, int]] = field(default_factory=list)
    #: Slots no longer offered.
    remove: list[Slot] = field(default_factory=list)
    #: Bookings the change would cancel (on removed slots, or beyond a smaller capacity).
    lost: list[Booking] = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return bool(self.resize or self.reopen or self.create or self.remove)


def require_confirmation(plan, confirmed: Collection[int], reason: str = "") -> None:
    """Go ahead only if every booking the plan would cancel is one the person confirmed,
    with a `reason` the readers can be sent (one line, at most REASON_MAX characters: the
    same limit as a cancellation's reason, since both become the booking's cancel_reason).

    `confirmed` holds the ids of the bookings the confirmation page listed. The caller holds
    the locks the plan was made under, so a booking made since the page was shown cannot
    slip in after this check; it shows up here and the person is asked again.
    """
    if isinstance(confirmed, (bool, int, str)):
        raise TypeError("`confirmed` takes the ids of the bookings the person agreed to cancel")
    confirmed = set(confirmed)
    if not {booking.id for booking in plan.lost} <= confirmed:
        raise ConfirmationNeeded(plan, seen=confirmed)
    refused = None
    if plan.lost:
        refused = text.problem(reason) or (
            messages.TOO_LONG.format(label="It", limit=REASON_MAX)
            if len(reason) > REASON_MAX else None)
    if refused:
        raise ConfirmationNeeded(plan, seen=confirmed, reason_problem=refused)


def can_manage_book(user: User, book: HumanBook) -> bool:
    """Staff manage every book; a coordinator only their own partner's."""
    return user.role == Role.STAFF or (
        user.role == Role.COORDINATOR and user.partner_id == book.partner_id
    )


def can_schedule(user: User, book: HumanBook) -> bool:
    """Who may change a book's availability: whoever manages it, and the volunteer who is it."""
    return can_manage_book(user, book) or (
        user.role == Role.VOLUNTEER and user.human_book_id == book.id
    )


def require_cohost(partner: Partner, event: Event, now: datetime) -> None:
    """A partner's books and sessions go only to upcoming events it co-hosts."""
    if event.id not in {e.id for e in partner_events(partner.id, now)}:
        raise DomainError(f"{partner.name} does not co-host an upcoming event “{event.title}”.")


def check_windows(event: Event, schedule: Schedule) -> None:
    """Refuse windows outside the event, or too short for one reading (on the event's clock),
    with every reason. Each window's own rules, and overlaps, are the command's."""
    errors: list[str] = []
    zone = ZoneInfo(event.timezone)
    span_start = event.starts_at.astimezone(zone).replace(tzinfo=None)
    span_end = event.ends_at.astimezone(zone).replace(tzinfo=None)
    runs = f"{span_start:%Y-%m-%d %H:%M}–{span_end:%H:%M}"
    for window in sorted(schedule.windows, key=lambda w: w.starts):
        if window.starts < span_start or window.ends > span_end:
            errors.append(messages.WINDOW_OUTSIDE_EVENT.format(window=window.label, runs=runs))
        if not window.spans(event.timezone):
            errors.append(messages.WINDOW_TOO_SHORT.format(minutes=window.reading_minutes,
                                                           window=window.label))
    if errors:
        raise ValidationFailed({"windows": list(dict.fromkeys(errors))})


def plan(event: Event, book: HumanBook, schedule: Schedule, *, now: datetime) -> Plan:
    """Compare the slots the windows produce with the book's slots at the event."""
    check_windows(event, schedule)
    wanted: dict[tuple[datetime, datetime], int] = {}
    for window in schedule.windows:
        for start, end in window.spans(event.timezone):
            wanted[(start, end)] = window.readers
    existing = db.session.scalars(
        sa.select(Slot)
        .where(Slot.event_id == event.id, Slot.book_id == book.id)
        .order_by(Slot.starts_at, Slot.id)
    ).all()
    result = Plan()
    seen: set[tuple[datetime, datetime]] = set()
    for slot in existing:
        key = (slot.starts_at, slot.ends_at)
        if slot.starts_at <= now:
            seen.add(key)  # the past is not rewritten
            continue
        if key in wanted and key not in seen:
            seen.add(key)
            capacity = wanted[key]
            if slot.status == SlotStatus.CANCELLED:
                result.reopen.append((slot, capacity))
            elif capacity != slot.capacity:
                result.resize.append((slot, capacity))
                if capacity < slot.booked:
                    result.lost.extend(surplus_bookings(slot, capacity))
        elif slot.status != SlotStatus.CANCELLED:
            result.remove.append(slot)
            result.lost.extend(active_bookings(slot))
    result.create = [
        (start, end, capacity)
        for (start, end), capacity in sorted(wanted.items())
        if (start, end) not in seen and start > now
    ]
    return result


def save(
    user: User | None, event: Event, book: HumanBook, schedule: Schedule, *, now: datetime,
    confirmed: Collection[int] = (), reason: str = REMOVED_REASON,
) -> Plan:
    """Replace the book's windows at the event and bring its slots in line, in one transaction.

    Raises ConfirmationNeeded (changing nothing) when bookings would be cancelled that are
    not among the `confirmed` booking ids. The change is audited as `user`'s; without one
    (a copy made as part of another, audited change), it is not.
    """
    if user is not None and not can_schedule(user, book):
        raise Forbidden("You can change the availability of your own organisation's books only.")
    with transaction():
        return replace_windows(user, event, book, schedule, now=now, confirmed=confirmed,
                               reason=reason)


def replace_windows(
    user: User | None, event: Event, book: HumanBook, schedule: Schedule, *, now: datetime,
    confirmed: Collection[int] = (), reason: str = REMOVED_REASON,
) -> Plan:
    """What `save` does, inside the caller's transaction (a copied event brings its books'
    windows along in its own)."""
    _lock(event, book)
    if event.status == EventStatus.CANCELLED:
        raise DomainError("This event is cancelled; its schedule can no longer change.")
    if book.listing_status == ListingStatus.RETIRED:
        raise DomainError("This book is retired; it gives no more readings.")
    if user is not None:
        require_cohost(book.partner, event, now)
    result = plan(event, book, schedule, now=now)
    require_confirmation(result, confirmed, reason)
    _check_volunteer_free(event, book, result)
    _apply(result, event, book, now=now, reason=reason)
    if result.changes_anything and user is not None:
        audit.record(user, "availability.save", event, {
            "book": book.title, "windows": len(schedule.windows),
            "readings_added": len(result.create) + len(result.reopen),
            "readings_removed": len(result.remove), "readings_resized": len(result.resize),
            "bookings_cancelled": len(result.lost)}, now)
    db.session.execute(
        sa.delete(AvailabilityWindow).where(
            AvailabilityWindow.event_id == event.id, AvailabilityWindow.book_id == book.id
        )
    )
    for window in schedule.windows:
        db.session.add(AvailabilityWindow(
            event_id=event.id, book_id=book.id, starts_local=window.starts,
            ends_local=window.ends, reading_minutes=window.reading_minutes,
            break_minutes=window.break_minutes, readers=window.readers,
            rest_after=window.rest_after, rest_minutes=window.rest_minutes,
            created_at=now, updated_at=now,
        ))
    return result


def windows_of(event: Event, book: HumanBook) -> list[Window]:
    """The book's windows at the event, in time order."""
    return [Window.of(window) for window in db.session.scalars(
        sa.select(AvailabilityWindow)
        .where(AvailabilityWindow.event_id == event.id, AvailabilityWindow.book_id == book.id)
        .order_by(AvailabilityWindow.starts_local)
    )]


def _apply(result: Plan, event: Event, book: HumanBook, *, now: datetime, reason: str) -> None:
    for slot in result.remove:
        withdraw_slot(slot, now=now, reason=reason)
    for slot, capacity in result.resize:
        if capacity < slot.booked:
            shrink_reason = "The reading now takes fewer readers."
            for booking in reservations.release(slot, surplus_bookings(slot, capacity), now=now,
                                                reason=shrink_reason):
                notifications.queue_booking_cancelled(booking, now=now, reason=shrink_reason)
        slot.capacity = capacity
        slot.updated_at = now
        db.session.flush()
        for booking in reservations.promote_waitlist(slot, now=now):
            notifications.queue_promoted(booking, now=now)
    for slot, capacity in result.reopen:
        slot.status = SlotStatus.OPEN
        slot.capacity = capacity
        slot.sequence += 1
        slot.updated_at = now
    for start, end, capacity in result.create:
        db.session.add(Slot(event_id=event.id, book_id=book.id, starts_at=start, ends_at=end,
                            capacity=capacity, created_at=now, updated_at=now))
    db.session.flush()


def _check_volunteer_free(event: Event, book: HumanBook, result: Plan) -> None:
    """The volunteer cannot give two readings (or a reading and a session) at once."""
    new_times = [(s.starts_at, s.ends_at) for s, _ in result.reopen] + [
        (start, end) for start, end, _ in result.create
    ]
    if not new_times:
        return
    volunteer_ids = lock_volunteers(sa.select(User.id).where(User.human_book_id == book.id))
    for start, end in new_times:
        overlap = sa.and_(Slot.starts_at < end, Slot.ends_at > start,
                          Slot.status != SlotStatus.CANCELLED)
        same_book_elsewhere = sa.and_(Slot.book_id == book.id, Slot.event_id != event.id)
        conditions = [same_book_elsewhere]
        if volunteer_ids:
            conditions.append(Slot.session_id.in_(
                sa.select(ProgramSession.id).where(
                    ProgramSession.presenter_user_id.in_(volunteer_ids))
            ))
        clash = db.session.scalar(
            sa.select(Slot).where(overlap, sa.or_(*conditions)).limit(1)
        )
        if clash is not None:
            raise VolunteerConflict(f"“{book.title}”", "reading or session", clash,
                                    event.timezone)


def withdraw_slot(slot: Slot, *, now: datetime, reason: str) -> list[Booking]:
    """Cancel a locked slot and its active bookings, each with the reason and a notification.

    The caller holds the slot's lock and commits; nobody is promoted, since the slot is gone.
    """
    released = reservations.release(slot, active_bookings(slot), now=now, reason=reason)
    for booking in released:
        notifications.queue_booking_cancelled(booking, now=now, reason=reason)
    slot.status = SlotStatus.CANCELLED
    slot.sequence += 1
    slot.updated_at = now
    return released


def lock_volunteers(user_ids) -> list[int]:
    """Lock volunteers' user rows, in id order, before checking they are free; returns the ids.

    Every check that a volunteer is in one place at a time (their book's readings here, the
    sessions they present in programme) takes this lock first, so two such saves for the
    same person run one after the other (SQLite's BEGIN IMMEDIATE already serialises them).
    `user_ids` is a list of ids or a select of them.
    """
    return list(db.session.scalars(
        sa.select(User.id).where(User.id.in_(user_ids)).order_by(User.id).with_for_update()
    ))


def active_bookings(slot: Slot) -> list[Booking]:
    """Bookings holding a place in the slot, holds included: what withdrawing it releases."""
    return list(db.session.scalars(
        sa.select(Booking)
        .where(Booking.slot_id == slot.id, Booking.status.in_(HOLDING_STATUSES))
        .order_by(Booking.id)
    ))


def surplus_bookings(slot: Slot, capacity: int, *,
                     leaving: Collection[Booking] = ()) -> list[Booking]:
    """Bookings holding seats beyond a smaller capacity: unconfirmed holds first, then the
    most recent confirmed ones.

    Bookings `leaving` the slot anyway (cancelled for another reason) free their seats first.
    Readers already checked in (or marked no-show) keep their seats: a capacity below theirs
    is refused (SeatsTaken), changing nothing.
    """
    gone = {booking.id for booking in leaving}
    holding = [booking for booking in db.session.scalars(
        sa.select(Booking)
        .where(Booking.slot_id == slot.id, sa.or_(
            Booking.status == BookingStatus.CONFIRMED,
            sa.and_(Booking.status == BookingStatus.PENDING,
                    Booking.waitlist_position.is_(None))))
        .order_by(Booking.status != BookingStatus.PENDING, Booking.created_at.desc(),
                  Booking.id.desc())
    ) if booking.id not in gone]
    seats = slot.booked - sum(booking.seats for booking in leaving if booking.holds_seats)
    surplus = []
    for booking in holding:
        if seats <= capacity:
            break
        surplus.append(booking)
        seats -= booking.seats
    if seats > capacity:
        raise SeatsTaken(slot, seats)
    return surplus


def _lock(event: Event, book: HumanBook) -> None:
    """Lock the book and its slots at the event before planning (SQLite holds the write lock).

    Bookings lock their slot too, so none can slip in between the plan and the change: what
    `plan` reads is what `_apply` changes. One made since the person saw the list is caught
    by `require_confirmation`.
    """
    db.session.scalar(
        sa.select(HumanBook).where(HumanBook.id == book.id).with_for_update()
        .execution_options(populate_existing=True)
    )
    db.session.scalars(
        sa.select(Slot)
        .where(Slot.event_id == event.id, Slot.book_id == book.id)
        .order_by(Slot.id)
        .with_for_update(of=Slot)
        .execution_options(populate_existing=True)
    ).all()


def book_slots(event: Event, book: HumanBook) -> list[Slot]:
    """The book's readings at the event, open or not, in time order (counts only, no names)."""
    return list(db.session.scalars(
        sa.select(Slot)
        .where(Slot.event_id == event.id, Slot.book_id == book.id,
               Slot.status != SlotStatus.CANCELLED)
        .order_by(Slot.starts_at)
    ))


def partner_events(partner_id: int | None, now: datetime) -> list[Event]:
    """Upcoming events (draft or published) a partner co-hosts; every one for staff (None)."""
    query = sa.select(Event).where(
        Event.ends_at > now, Event.status.in_([EventStatus.DRAFT, EventStatus.PUBLISHED])
    )
    if partner_id is not None:
        query = query.where(Event.id.in_(
            sa.select(EventHost.event_id).where(EventHost.partner_id == partner_id)))
    return list(db.session.scalars(query.order_by(Event.starts_at, Event.id)))


def partner_readings(partner_id: int, now: datetime) -> list[Slot]:
    """The partner's upcoming readings with their booked counts."""
    return list(db.session.scalars(
        sa.select(Slot).join(HumanBook, Slot.book_id == HumanBook.id)
        .where(HumanBook.partner_id == partner_id, Slot.ends_at > now,
               Slot.status != SlotStatus.CANCELLED)
        .order_by(Slot.starts_at, Slot.id)
    ))
