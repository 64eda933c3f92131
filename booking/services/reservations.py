"""Book, cancel and promote: the only code that changes bookings.

Each public function is one transaction: lock what it needs in a fixed order (the patron,
then the slot), re-check the rules against fresh rows, write, commit. SQLite serialises
writers with BEGIN IMMEDIATE (see extensions); PostgreSQL uses an advisory lock per patron
and a row lock on the slot. The CHECK on `slots.booked` is the backstop.

Online bookings may not take the seats an event holds back for walk-ins (the last
`walk_in_seats_per_reading` of each reading); walk-ins at the desk may take any free seat.
Attended and no-show bookings keep their seats counted: a no-show can be undone when the
patron turns up late, and undoing must never find the seat gone.

A booking made without proof of the e-mail address is a *hold* (rule 8): it takes its seats
(or its place in the waitlist) at once, but the rules about the address's other bookings
(rule 2) are applied only when the e-mailed link confirms it, so the answer to a booking
attempt never depends on what the address already holds. Holds not confirmed in time lapse
by themselves (`expire_holds`, and on the spot whenever their slot is booked), freeing their
seats for the waitlist.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import Signer

from booking.domain.errors import AlreadyBooked, HoldLapsed, TooManyHolds, AttendanceRefused, BookingNotFound, DeskBookingNotFound, Busy, DomainError, NotCancellable, OverlappingBooking, PatronLimitReached, RegistrationClosed, SlotNotFound, SlotUnavailable, ValidationFailed
from booking.services.outbox import notifications
from booking.services.outbox.notifications import is_walk_in_placeholder, walk_in_placeholder_email
from booking.extensions import db, transaction
from booking.domain import messages
from booking.domain.commands import Attendance, Patron, WalkIn
from booking.domain.models import ACTIVE_BOOKING_STATUSES, HOLDING_STATUSES, waiting_in_line, Booking, BookingStatus, Event, EventStatus, Slot, SlotStatus

TOKEN_BYTES = 32
#: What the desk is told of a reading not on its page: another event's, or a program session
#: (walk-ins join readings of human books; a session is booked ahead).
WALK_INS_IN_READINGS_ONLY = ("There is no such reading at this event. Reload the desk and "
                             "try again.")
#: Check-in and no-show open this long before a reading starts.
CHECK_IN_OPENS = timedelta(minutes=30)


@dataclass(frozen=True)
class Hold:
    """Terms of a booking made without proof of the address: held until `expires_at`.

    `client` is a keyed hash of the client's network address; one client may keep at most
    `client_limit` unconfirmed holds per event, so nobody takes an event's seats with
    invented addresses.
    """

    expires_at: datetime
    client: str
    client_limit: int


@dataclass(frozen=True)
class Reservation:
    """A booking just made, with the secret token that only the patron receives."""

    booking: Booking
    token: str

    @property
    def status(self) -> BookingStatus:
        return self.booking.status


def hash_token(token: str) -> str:
    """The stored form of a manage token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    """A patron's identity for limits and overlaps: trimmed and lower-cased."""
    return email.strip().lower()


def cancellable(booking: Booking, now: datetime) -> bool:
    """Whether the patron can still cancel (or leave the waitlist, or release a hold) online."""
    return booking.status in HOLDING_STATUSES and booking.slot.starts_at > now


def max_seats(slot: Slot) -> int:
    """How many seats one booking may take in this slot."""
    return max(1, min(slot.event.max_seats_per_booking, slot.capacity))


def booking_problem(event: Event, slot: Slot, now: datetime) -> DomainError | None:
    """Why this slot cannot be booked now (as the error to raise), or None when it can."""
    problem = _slot_problem(event, slot)
    if problem:
        return problem
    if slot.starts_at <= now:
        return SlotUnavailable("This reading has already started.")
    if event.registration_opens_at is not None and now < event.registration_opens_at:
        return RegistrationClosed("Registration for this event has not opened yet.")
    if event.registration_closes_at is not None and now >= event.registration_closes_at:
        return RegistrationClosed("Registration for this event has closed.")
    return None


def walk_in_problem(event: Event, slot: Slot, now: datetime) -> DomainError | None:
    """Why the desk cannot seat a walk-in in this slot now, or None when it can.

    Unlike online booking, the desk may seat people until the reading ends, whatever the
    registration window says.
    """
    if slot.book_id is None:
        return SlotNotFound(WALK_INS_IN_READINGS_ONLY)
    problem = _slot_problem(event, slot)
    if problem:
        return problem
    if slot.ends_at <= now:
        return SlotUnavailable("This reading has already ended.")
    return None


def _slot_problem(event: Event, slot: Slot) -> DomainError | None:
    if event.status != EventStatus.PUBLISHED:
        return RegistrationClosed("This event is not taking bookings.")
    if slot.status == SlotStatus.CANCELLED:
        return SlotUnavailable("This reading has been cancelled.")
    if slot.status != SlotStatus.OPEN:
        return SlotUnavailable("This reading is closed for booking.")
    return None


def book(
    slot_id: int,
    patron: Patron | WalkIn,
    *,
    now: datetime,
    hold: Hold | None = None,
    anonymous: bool = False,
) -> Reservation:
    """Reserve seats in a slot, or a place on its waitlist when its online seats are gone.

    A walk-in (the WalkIn command, booked at the desk) needs no e-mail, may be booked until the reading ends,
    may take held-back seats, is never waitlisted, and may be checked in at once.

    With `hold`, the address is not proven: the booking is a hold (PENDING) and nothing
    about the address's other bookings is checked or answered until it is confirmed.
    `anonymous`: the request that asked for it proved nothing (the e-mail it sends is capped
    per recipient).
    """
    walk_in = isinstance(patron, WalkIn)
    email = patron.email or walk_in_placeholder_email()
    email_key = normalize_email(email)
    with transaction():
        _lock_patron(email_key)
        slot = locked_slot(slot_id)
        event = slot.event
        problem = walk_in_problem(event, slot, now) if walk_in else booking_problem(event, slot, now)
        if problem:
            raise problem
        # Before counting free seats: a hold whose time is up has none, swept or not.
        lapse_holds(slot, now=now)
        if walk_in:
            _check_walk_in_seats(slot, patron.seats)
            if patron.check_in and now < slot.starts_at - CHECK_IN_OPENS:
                raise ValidationFailed({"check_in": [_CHECK_IN_NOT_YET]})
        else:
            limit = max_seats(slot)
            if patron.seats > limit:
                raise ValidationFailed({"seats": [
                    f"You can book at most {limit} seat{'s' if limit != 1 else ''} here."]})
        if event.requires_agreement and not patron.accept_agreement:
            raise ValidationFailed({"accept_agreement": [messages.AGREEMENT_NEEDED]})
        if hold is not None:
            if hold.client and open_holds(event.id, hold.client, now) >= hold.client_limit:
                raise TooManyHolds()
        elif not is_walk_in_placeholder(email_key):
            # Rule 2 holds at the desk too: a walk-in who gives an e-mail is that patron.
            _check_patron_rules(slot, event, email_key)

        if not walk_in:
            # Rule 3 before anyone new: a seat left free with people waiting (data from before
            # a rule changed, say) goes to the first of them.
            for waiting in promote_waitlist(slot, now=now):
                notifications.queue_promoted(waiting, now=now)
        held = 0 if walk_in else slot.held_for_walk_ins
        confirmed = _take_seats(slot.id, patron.seats, held=held)
        if walk_in and not confirmed:  # cannot happen under the slot lock; never waitlist
            raise ValidationFailed({"seats": ["Those seats were just taken. Reload the desk."]})
        if hold is not None:
            status = BookingStatus.PENDING
        elif not confirmed:
            status = BookingStatus.WAITLISTED
        elif walk_in and patron.check_in:
            status = BookingStatus.ATTENDED
        else:
            status = BookingStatus.CONFIRMED
        booking = Booking(
            slot_id=slot.id,
            event_id=event.id,
            patron_name=patron.name,
            patron_email=email,
            email_normalized=email_key,
            seats=patron.seats,
            status=status,
            waitlist_position=None if confirmed else _next_waitlist_position(slot.id),
            waitlisted_at=None if confirmed else now,
            agreement_version=event.agreement_version if event.requires_agreement else None,
            accessibility_needs="" if walk_in else patron.accessibility_needs,
            walk_in=walk_in,
            hold_expires_at=hold.expires_at if hold is not None else None,
            hold_client=hold.client if hold is not None else None,
            created_at=now,
            updated_at=now,
        )
        token = secrets.token_urlsafe(TOKEN_BYTES)
        booking.manage_token_hash = hash_token(token)
        db.session.add(booking)
        if hold is not None:
            notifications.queue_hold(booking, now=now, manage_token=token,
                                     confirm_code=hold_code(booking.manage_token_hash))
        else:
            notifications.queue_booking_made(booking, now=now, manage_token=token,
                                             anonymous=anonymous)
    return Reservation(booking=booking, token=token)


def hold_code(manage_token_hash: str) -> str:
    """The code in a hold's confirmation link: only the e-mail carries it.

    Whoever made the hold got the manage link (the token) but not this code, which is
    derived from the token's hash with the app's secret, so it proves the address.
    """
    return _hold_signer().get_signature(manage_token_hash).decode("ascii")


def is_hold_code(manage_token_hash: str, code) -> bool:
    """Whether `code` is the hold-confirmation code for this booking (compared in constant time)."""
    return isinstance(code, str) and len(code) < 100 and _hold_signer().verify_signature(
        manage_token_hash, code.encode("ascii", "replace"))


def _hold_signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt="booking.hold-confirm")


def confirm_hold(token: str, code: str, *, now: datetime) -> Booking:
    """Confirm a hold by its e-mailed link: the address is proven, so rule 2 applies now.

    Confirmed seats or a place in the waitlist, as the hold had; a hold already confirmed is
    answered as it stands (a second click changes nothing). A conflict with the patron's
    other bookings (rule 2) raises, changing nothing: the hold stays until it lapses, so the
    patron may cancel the other booking and try again. A lapsed hold raises HoldLapsed.
    """
    lapsed = False
    with transaction():
        booking = find_booking(token)
        if not is_hold_code(booking.manage_token_hash, code):
            raise BookingNotFound()
        _lock_patron(booking.email_normalized)
        slot = locked_slot(booking.slot_id)
        db.session.refresh(booking)
        if booking.status == BookingStatus.CANCELLED:
            raise HoldLapsed()
        if booking.status != BookingStatus.PENDING:
            return booking
        if booking.hold_expires_at <= now or slot.starts_at <= now:
            lapsed = bool(lapse_holds(slot, now=now, only=booking))
        else:
            problem = booking_problem(slot.event, slot, now)
            if problem:
                raise problem
            _check_patron_rules(slot, slot.event, booking.email_normalized)
            booking.status = (BookingStatus.CONFIRMED if booking.waitlist_position is None
                              else BookingStatus.WAITLISTED)
            booking.hold_expires_at = None
            booking.hold_client = None
            booking.updated_at = now
            notifications.queue_booking_made(booking, now=now, manage_token=token)
    if lapsed:
        raise HoldLapsed()
    return booking


def hold_ended(booking: Booking, now: datetime) -> bool:
    """Whether a hold never confirmed has ended: released, lapsed, or its time up (swept or
    not). Its link then says so and offers to book again."""
    return booking.hold_expires_at is not None and (
        booking.status == BookingStatus.CANCELLED
        or booking.status == BookingStatus.PENDING and booking.hold_expires_at <= now)


def open_holds(event_id: int, client: str, now: datetime) -> int:
    """Unconfirmed holds one client keeps at an event (not those whose time is up, which
    lapse at the next sweep)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Booking)
        .where(Booking.event_id == event_id, Booking.hold_client == client,
               Booking.status == BookingStatus.PENDING, Booking.hold_expires_at > now)
    )


#: Why a hold that was never confirmed is cancelled.
HOLD_LAPSED_REASON = "Not confirmed in time: the hold lapsed."


def lapse_holds(slot: Slot, *, now: datetime, only: Booking | None = None) -> list[Booking]:
    """Cancel the slot's holds whose time is up (or the one hold `only`), then move the
    waitlist up. The caller holds the slot's lock. No e-mail: the address was never proven."""
    query = sa.select(Booking).where(
        Booking.slot_id == slot.id, Booking.status == BookingStatus.PENDING)
    if only is not None:
        query = query.where(Booking.id == only.id)
    else:
        query = query.where(Booking.hold_expires_at <= now)
    lapsed = db.session.scalars(query.order_by(Booking.id)).all()
    if not lapsed:
        return []
    for booking in release(slot, lapsed, now=now, reason=HOLD_LAPSED_REASON):
        booking.hold_client = None
    if slot.starts_at > now:
        for moved_up in promote_waitlist(slot, now=now):
            notifications.queue_promoted(moved_up, now=now)
    return lapsed


def expire_holds(now: datetime) -> int:
    """Let every hold whose time is up lapse, one slot per transaction; how many lapsed.

    Run every minute or so (`flask expire-holds`); booking a slot also lapses its own holds.
    """
    slot_ids = db.session.scalars(
        sa.select(Booking.slot_id).distinct()
        .where(Booking.status == BookingStatus.PENDING, Booking.hold_expires_at <= now)
        .order_by(Booking.slot_id)
    ).all()
    db.session.rollback()  # end the read; each slot is its own transaction
    count = 0
    for slot_id in slot_ids:
        with transaction():
            count += len(lapse_holds(locked_slot(slot_id), now=now))
    return count


def _check_walk_in_seats(slot: Slot, seats: int) -> None:
    free = slot.free_seats
    if free == 0:
        raise ValidationFailed({"seats": ["This reading is full: there is no free seat."]})
    if seats > free:
        raise ValidationFailed(
            {"seats": [f"Only {free} seat{'s are' if free != 1 else ' is'} free in this reading."]}
        )


_CHECK_IN_NOT_YET = (
    f"Check-in opens {int(CHECK_IN_OPENS.total_seconds() // 60)} minutes before the reading."
)


def check_in(booking_id: int, *, now: datetime, event_id: int | None = None) -> Booking:
    """Mark a confirmed booking as attended (from shortly before its reading onward)."""
    return _set_attendance(booking_id, BookingStatus.ATTENDED, now=now, event_id=event_id)


def mark_no_show(booking_id: int, *, now: datetime, event_id: int | None = None) -> Booking:
    """Mark a confirmed booking as a no-show; its seats stay counted (see the module note)."""
    return _set_attendance(booking_id, BookingStatus.NO_SHOW, now=now, event_id=event_id)


def undo_attendance(booking_id: int, *, now: datetime, event_id: int | None = None) -> Booking:
    """Put an attended or no-show booking back to confirmed: a mis-tap must be fixable."""
    return _set_attendance(booking_id, BookingStatus.CONFIRMED, now=now, event_id=event_id)


#: The status each of the desk's marks (the Attendance command) sets.
_MARKED = {"attended": BookingStatus.ATTENDED, "no_show": BookingStatus.NO_SHOW,
           "undo": BookingStatus.CONFIRMED}


def mark_attendance(booking_id: int, attendance: Attendance, *, now: datetime,
                    event_id: int | None = None) -> Booking:
    """Set the desk's mark on a booking (of `event_id`, when given): checked in, a no-show,
    or back to confirmed."""
    return _set_attendance(booking_id, _MARKED[attendance.mark], now=now, event_id=event_id)


def attendance_problem(booking: Booking, slot: Slot, target: BookingStatus,
                       now: datetime) -> DomainError | None:
    """Why the desk cannot move this booking to `target` now, or None when it can."""
    if booking.status == BookingStatus.CANCELLED:
        return AttendanceRefused("This booking was cancelled, so there is nothing to mark.")
    if booking.status == BookingStatus.WAITLISTED:
        return AttendanceRefused("This patron is on the waitlist and has no seat in the reading.")
    if booking.status == BookingStatus.PENDING:
        return AttendanceRefused(
            "This booking is not confirmed yet: the reader has to press the button in the "
            "e-mail we sent them (it keeps its seat until then, or until the hold lapses).")
    if target == BookingStatus.CONFIRMED:
        return None
    if booking.status not in (BookingStatus.CONFIRMED, target):
        return AttendanceRefused(
            "This booking is already marked. Use Undo first if the mark was a mistake."
        )
    if now < slot.starts_at - CHECK_IN_OPENS:
        return AttendanceRefused(_CHECK_IN_NOT_YET)
    return None


def _set_attendance(booking_id, target: BookingStatus, *, now: datetime,
                    event_id: int | None) -> Booking:
    with transaction():
        if isinstance(booking_id, bool) or not isinstance(booking_id, int):
            raise DeskBookingNotFound()
        booking = db.session.get(Booking, booking_id)
        if booking is None or event_id is not None and booking.event_id != event_id:
            raise DeskBookingNotFound()
        _lock_patron(booking.email_normalized)
        slot = locked_slot(booking.slot_id)
        db.session.refresh(booking)
        problem = attendance_problem(booking, slot, target, now)
        if problem:
            raise problem
        if booking.status != target:  # a second tap from another tablet changes nothing
            booking.status = target
            booking.updated_at = now
    return booking


def find_booking(token: str) -> Booking:
    """The booking a manage token names."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise BookingNotFound()
    booking = db.session.scalar(
        sa.select(Booking).where(Booking.manage_token_hash == hash_token(token))
    )
    if booking is None:
        raise BookingNotFound()
    return booking


#: Why a booking is cancelled through its manage link, by the patron; and a hold, released.
PATRON_CANCEL_REASON = "Cancelled by the patron."
HOLD_RELEASED_REASON = "Released before it was confirmed."


def cancel(token: str, *, now: datetime, reason: str | None = None) -> Booking:
    """Cancel the booking a manage token names, freeing its seats for the waitlist."""
    with transaction():
        booking = find_booking(token)
        slot = locked_slot(booking.slot_id)
        db.session.refresh(booking)
        if booking.status == BookingStatus.CANCELLED:
            raise NotCancellable("This booking is already cancelled.")
        if booking.status in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW):
            raise NotCancellable("This reading has already taken place.")
        if slot.starts_at <= now:
            raise NotCancellable("This reading has already started and can no longer be cancelled.")
        was_hold = booking.status == BookingStatus.PENDING
        reason = reason or (HOLD_RELEASED_REASON if was_hold else PATRON_CANCEL_REASON)
        _cancel_locked(booking, slot, now=now, reason=reason)
        if not was_hold:  # a hold's address was never proven: nothing to tell it
            notifications.queue_booking_cancelled(booking, now=now, reason=reason,
                                                  by_patron=True, anonymous=True)
    return booking


def promote_waitlist(slot: Slot, *, now: datetime) -> list[Booking]:
    """Confirm waitlisted bookings, oldest first, while seats are free. Caller holds the lock.

    A hold waiting in the line takes its turn too: it gets the seats but stays a hold until
    its link confirms it (it is returned like the others; nothing is sent to it).
    """
    promoted = []
    waiting = db.session.scalars(
        sa.select(Booking)
        .where(Booking.slot_id == slot.id, waiting_in_line())
        .order_by(Booking.waitlist_position, Booking.id)
    ).all()
    for booking in waiting:
        online_free = slot.capacity - slot.held_for_walk_ins - slot.booked
        if booking.seats <= online_free and _take_seats(slot.id, booking.seats,
                                                        held=slot.held_for_walk_ins):
            db.session.refresh(slot, ["booked"])
            if booking.status == BookingStatus.WAITLISTED:
                booking.status = BookingStatus.CONFIRMED
            booking.waitlist_position = None
            booking.sequence += 1
            booking.updated_at = now
            promoted.append(booking)
    return promoted


def _cancel_locked(booking: Booking, slot: Slot, *, now: datetime, reason: str) -> list[Booking]:
    """Cancel one booking whose slot is locked; promote from the waitlist in the same step."""
    if not release(slot, [booking], now=now, reason=reason):
        return []
    promoted = promote_waitlist(slot, now=now)
    for moved_up in promoted:
        notifications.queue_promoted(moved_up, now=now)
    return promoted


def _check_patron_rules(slot: Slot, event: Event, email_key: str) -> None:
    """Same slot twice, the per-event limit, and overlapping times."""
    active = sa.and_(
        Booking.email_normalized == email_key, Booking.status.in_(ACTIVE_BOOKING_STATUSES)
    )
    if db.session.scalar(sa.select(sa.exists().where(active, Booking.slot_id == slot.id))):
        raise AlreadyBooked()
    held = db.session.scalar(
        sa.select(sa.func.count()).select_from(Booking).where(active, Booking.event_id == event.id)
    )
    if held >= event.max_bookings_per_patron:
        raise PatronLimitReached(event.max_bookings_per_patron)
    overlapping = sa.select(sa.exists().where(
        Booking.email_normalized == email_key, overlaps(slot.starts_at, slot.ends_at)))
    if db.session.scalar(overlapping):
        raise OverlappingBooking()


def overlaps(starts_at: datetime, ends_at: datetime):
    """The condition rule 2 tests: an active booking whose slot overlaps the span."""
    return sa.and_(
        Booking.status.in_(ACTIVE_BOOKING_STATUSES), Booking.slot_id == Slot.id,
        Slot.starts_at < ends_at, Slot.ends_at > starts_at,
    )


def patrons_booked_during(email_keys: Collection[str], starts_at: datetime, ends_at: datetime,
                          *, apart_from: Slot) -> set[str]:
    """Of these patrons, those holding a booking in another slot that overlaps the span.

    The caller holds their locks (`lock_patrons`), so none of them books meanwhile.
    """
    if not email_keys:
        return set()
    return set(db.session.scalars(
        sa.select(Booking.email_normalized).distinct()
        .where(Booking.email_normalized.in_(sorted(email_keys)), Booking.slot_id != apart_from.id,
               overlaps(starts_at, ends_at))
    ))


def _take_seats(slot_id: int, seats: int, *, held: int = 0) -> bool:
    """Atomically add seats to the slot's counter if they fit, leaving `held` seats free."""
    result = db.session.execute(
        sa.update(Slot)
        .where(Slot.id == slot_id, Slot.booked + seats <= Slot.capacity - held)
        .values(booked=Slot.booked + seats)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _next_waitlist_position(slot_id: int) -> int:
    last = db.session.scalar(
        sa.select(sa.func.max(Booking.waitlist_position)).where(Booking.slot_id == slot_id)
    )
    return (last or 0) + 1


def _lock_patron(email_key: str) -> None:
    """Serialise one patron's bookings (PostgreSQL); SQLite already holds the write lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_patron_key(email_key))))


def lock_patrons(email_keys: Collection[str], *, wait: bool = True) -> None:
    """Serialise several patrons' bookings with this transaction, locked in a fixed order.

    Bookings lock the patron, then the slot. A caller that already holds a slot lock passes
    `wait=False`: a patron someone else holds then raises Busy (nothing changed, try again)
    instead of waiting in the opposite order, which could deadlock. A lock this transaction
    already holds is taken again at once (PostgreSQL's advisory locks stack).
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already serialises every writer
    for email_key in sorted(set(email_keys)):
        if wait:
            _lock_patron(email_key)
        elif not db.session.scalar(
                sa.select(sa.func.pg_try_advisory_xact_lock(_patron_key(email_key)))):
            raise Busy()


def _patron_key(email_key: str) -> int:
    return int.from_bytes(hashlib.sha256(email_key.encode()).digest()[:8], "big", signed=True)


def locked_slot(slot_id) -> Slot:
    """The slot, row-locked for the rest of the transaction, with fresh values."""
    if isinstance(slot_id, bool) or not isinstance(slot_id, int):
        raise SlotNotFound()
    slot = db.session.scalar(
        sa.select(Slot)
        .where(Slot.id == slot_id)
        .with_for_update(of=Slot)
        .execution_options(populate_existing=True)
    )
    if slot is None:
        raise SlotNotFound()
    return slot


def release(slot: Slot, bookings: list[Booking], *, now: datetime, reason: str) -> list[Booking]:
    """Cancel active bookings (and holds) of a locked slot and free their seats, without
    promoting anyone.

    The caller promotes (a patron cancelling) or not (a slot going away or shrinking), commits,
    and notifies the patrons returned.
    """
    released = []
    freed = 0
    for booking in bookings:
        if booking.slot_id != slot.id or booking.status not in HOLDING_STATUSES:
            continue
        if booking.holds_seats:
            freed += booking.seats
        booking.status = BookingStatus.CANCELLED
        booking.waitlist_position = None
        booking.cancel_reason = reason[:500]
        booking.cancelled_at = now
        booking.updated_at = now
        booking.sequence += 1
        released.append(booking)
    db.session.flush()
    if freed:
        db.session.execute(
            sa.update(Slot)
            .where(Slot.id == slot.id)
            .values(booked=Slot.booked - freed)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(slot, ["booked"])
    return released
