"""Program sessions a partner presents: create, edit, submit, retire, and staff approval.

A session's bookable unit is one slot (`Slot.session_id`). Editing a session never drops a
booking silently: fewer seats than are booked cancel the most recent bookings only once the
person confirmed those very bookings (with a reason and a notification each); more seats
promote the waitlist; a new time keeps every booking, bumps the calendar sequence and tells
each reader, except that a reader who holds another booking overlapping the new time (rule 2)
loses their seat in the session, again only once the person confirmed it (a hold keeps its
place: rule 2 is applied to it when it is confirmed).
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.services import audit, reservations
from booking.services.outbox import notifications
from booking.services.availability import (
    active_bookings,
    lock_volunteers,
    require_cohost,
    require_confirmation,
    surplus_bookings,
    withdraw_slot,
)
from booking.domain import messages
from booking.domain.commands import SessionListing
from booking.domain.errors import (
    DomainError,
    Forbidden,
    ValidationFailed,
    VolunteerConflict,
)
from booking.extensions import db, transaction
from booking.domain.models import ACTIVE_BOOKING_STATUSES, Booking, Event, EventStatus, ListingStatus, Partner, ProgramSession, Role, Slot, SlotStatus, User
from booking.domain.scheduling import to_utc

FEWER_SEATS_REASON = "The session now has fewer seats."
RETIRED_REASON = "The session was taken off the programme."
OVERLAP_REASON = "The session moved to a new time that overlaps another of your bookings."


@dataclass
class SessionPlan:
    """What saving a session's fields would do to its slot and bookings."""

    slot: Slot | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    moved: bool = False
    #: Bookings the change would cancel (beyond a smaller number of seats, or clashing).
    lost: list[Booking] = field(default_factory=list)
    #: Those of `lost` whose reader holds another booking overlapping the new time.
    clashing: list[Booking] = field(default_factory=list)


def can_manage(user: User, session: ProgramSession) -> bool:
    """Staff manage every session; a coordinator only their own partner's."""
    return user.role == Role.STAFF or (
        user.role == Role.COORDINATOR and user.partner_id == session.presenter_partner_id
    )


def presenters(partner_id: int) -> list[User]:
    """The partner's active volunteer accounts: who may present its sessions."""
    return list(db.session.scalars(
        sa.select(User).where(User.partner_id == partner_id, User.role == Role.VOLUNTEER,
                              User.active.is_(True))
        .order_by(User.name, User.id)
    ))


def session_slot(session: ProgramSession) -> Slot | None:
    """The slot readers book for this session (the live one, else the last cancelled one)."""
    return db.session.scalar(
        sa.select(Slot).where(Slot.session_id == session.id)
        .order_by((Slot.status == SlotStatus.CANCELLED).asc(), Slot.id.desc()).limit(1)
    )


def partner_sessions(partner_id: int, now: datetime) -> list[tuple[ProgramSession, Slot | None]]:
    """The partner's sessions at events not yet over, with their slot (booked counts only)."""
    sessions = db.session.scalars(
        sa.select(ProgramSession).join(Event, ProgramSession.event_id == Event.id)
        .where(ProgramSession.presenter_partner_id == partner_id, Event.ends_at > now)
        .order_by(Event.starts_at, ProgramSession.title, ProgramSession.id)
    ).all()
    return [(session, session_slot(session)) for session in sessions]


def submitted_sessions() -> list[ProgramSession]:
    """Sessions waiting for staff approval, oldest first."""
    return list(db.session.scalars(
        sa.select(ProgramSession).where(ProgramSession.listing_status == ListingStatus.SUBMITTED)
        .order_by(ProgramSession.updated_at, ProgramSession.id)
    ))


def _checked_times(event: Event, partner_id: int, listing: SessionListing
                             ) -> tuple[datetime, datetime]:
    """The session's (start, end) in UTC, or ValidationFailed with every problem at once: a
    time the clock skips or outside the event, a presenter who is not the partner's volunteer.
    """
    errors: dict[str, list[str]] = {}
    if listing.presenter_user_id is not None and listing.presenter_user_id not in {
        user.id for user in presenters(partner_id)
    }:
        errors["presenter_user_id"] = [messages.PRESENTER_NOT_OURS]
    zone = ZoneInfo(event.timezone)
    starts_at, ends_at = to_utc(listing.starts, zone), to_utc(listing.ends, zone)
    span_start = event.starts_at.astimezone(zone).replace(tzinfo=None)
    span_end = event.ends_at.astimezone(zone).replace(tzinfo=None)
    if starts_at is None or ends_at is None:
        skipped = listing.starts if starts_at is None else listing.ends
        errors["starts"] = [messages.SKIPPED_TIME.format(moment=f"{skipped:%Y-%m-%d %H:%M}",
                                                         zone=event.timezone)]
    elif listing.starts < span_start or listing.ends > span_end:
        errors["starts"] = [messages.SESSION_OUTSIDE_EVENT.format(
            runs=f"{span_start:%Y-%m-%d %H:%M}–{span_end:%H:%M}")]
    if errors:
        raise ValidationFailed(errors)
    return starts_at, ends_at


def create_session(user: User, partner: Partner, event: Event, listing: SessionListing, *,
                   now: datetime) -> ProgramSession:
    """Add a session, with its slot, to an upcoming event the partner co-hosts.

    A coordinator's session is a draft until staff approve it; one staff add is approved
    at once, since staff are who approve. Either is audited.
    """
    if not (user.role == Role.STAFF or
            (user.role == Role.COORDINATOR and user.partner_id == partner.id)):
        raise Forbidden("You can add sessions only for your own organisation.")
    require_cohost(partner, event, now)
    with transaction():
        starts_at, ends_at = _checked_times(event, partner.id, listing)
        _check_future(starts_at, now)
        _check_presenter_free(listing.presenter_user_id, starts_at, ends_at, None)
        by_staff = user.role == Role.STAFF
        session = ProgramSession(
            event_id=event.id, presenter_partner_id=partner.id, created_at=now, updated_at=now,
            listing_status=ListingStatus.APPROVED if by_staff else ListingStatus.DRAFT,
        )
        _assign(session, listing)
        db.session.add(session)
        db.session.flush()
        db.session.add(Slot(event_id=event.id, session_id=session.id, starts_at=starts_at,
                            ends_at=ends_at, capacity=listing.seats, created_at=now,
                            updated_at=now))
        audit.record(user, "session.add", session,
                     {"title": [None, session.title], "seats": [None, listing.seats]}, now)
    return session


def plan_change(session: ProgramSession, listing: SessionListing, *,
                now: datetime) -> SessionPlan:
    """Compare the entered session with its slot: bookings lost, time moved."""
    starts_at, ends_at = _checked_times(session.event, session.presenter_partner_id,
                                                  listing)
    slot = session_slot(session)
    if slot is None or slot.status == SlotStatus.CANCELLED:
        _check_future(starts_at, now)
        return SessionPlan(None, starts_at, ends_at, listing.seats)
    moved = (starts_at, ends_at) != (slot.starts_at, slot.ends_at)
    if slot.starts_at <= now and (moved or listing.seats != slot.capacity):
        raise DomainError("This session has already started; its time and seats can no longer change.")
    clashing = []
    if moved:
        _check_future(starts_at, now)
        clashing = _clashing_bookings(slot, starts_at, ends_at)
    lost = clashing + surplus_bookings(slot, listing.seats, leaving=clashing)
    return SessionPlan(slot, starts_at, ends_at, listing.seats, moved=moved, lost=lost,
                       clashing=clashing)


def _clashing_bookings(slot: Slot, starts_at: datetime, ends_at: datetime) -> list[Booking]:
    """Active bookings of the slot whose reader holds another booking overlapping the new time.

    Their patrons are locked first, so that none of them books that other time meanwhile.
    `update_session` locked those it saw before the slot; anyone who booked since is locked
    here without waiting. Holds are left out: nobody proved their address, so its other
    bookings are judged only when the hold is confirmed (rule 8); cancelling one here would
    tell whoever made it, on its manage page, what the address holds at the new time.
    """
    holders = [booking for booking in active_bookings(slot)
               if booking.status in ACTIVE_BOOKING_STATUSES]
    readers = {booking.email_normalized for booking in holders}
    reservations.lock_patrons(readers, wait=False)
    busy = reservations.patrons_booked_during(readers, starts_at, ends_at, apart_from=slot)
    return [booking for booking in holders if booking.email_normalized in busy]


def update_session(
    user: User, session: ProgramSession, listing: SessionListing, *, now: datetime,
    confirmed: Collection[int] = (), reason: str = FEWER_SEATS_REASON,
) -> SessionPlan:
    """Save a session as entered, in one transaction. An approved session stays public.

    Raises ConfirmationNeeded (changing nothing) when bookings would be cancelled that are
    not among the `confirmed` booking ids. `reason` goes to readers losing a seat to fewer
    seats; a reader who holds another booking at the new time is told OVERLAP_REASON.
    """
    if not can_manage(user, session):
        raise Forbidden("You can edit only your own organisation's sessions.")
    if session.listing_status == ListingStatus.RETIRED:
        raise DomainError("This session is retired. Ask library staff if it should return.")
    with transaction():
        _lock_readers(session)
        _lock(session)
        _check_event_open(session.event)
        result = plan_change(session, listing, now=now)
        require_confirmation(result, confirmed, reason)
        if result.moved or result.slot is None \
                or listing.presenter_user_id != session.presenter_user_id:
            _check_presenter_free(listing.presenter_user_id, result.starts_at, result.ends_at,
                                  session.id)
        before = _audited(session, result.slot)
        _assign(session, listing)
        session.updated_at = now
        _apply(session, result, now=now, reason=reason)
        changes = audit.diff(before, _audited(session, result.slot or session_slot(session)))
        if changes or result.lost:
            audit.record(user, "session.update", session,
                         {**changes, "bookings_cancelled": len(result.lost)}, now)
    return result


def submit_session(user: User, session: ProgramSession, *, now: datetime) -> ProgramSession:
    """Send a draft to library staff for approval."""
    if not can_manage(user, session):
        raise Forbidden("You can submit only your own organisation's sessions.")
    if session.listing_status != ListingStatus.DRAFT:
        raise DomainError(messages.ONLY_DRAFTS_SUBMITTED.format(
            status=session.listing_status.value))
    return _set_status(user, "listing.submit", session, ListingStatus.SUBMITTED, now)


def retire_session(user: User, session: ProgramSession, *, now: datetime,
                   confirmed: Collection[int] = (), reason: str = RETIRED_REASON) -> list[Booking]:
    """Take a session off the programme; its bookings are cancelled once confirmed (by id)."""
    if not can_manage(user, session):
        raise Forbidden("You can retire only your own organisation's sessions.")
    with transaction():
        _lock(session)
        slot = session_slot(session)
        live = slot is not None and slot.status != SlotStatus.CANCELLED
        if live and slot.starts_at <= now:
            raise DomainError("This session has already started and can no longer be retired.")
        lost = active_bookings(slot) if live else []
        if lost:
            require_confirmation(SessionPlan(slot, slot.starts_at, slot.ends_at, slot.capacity,
                                             lost=lost), confirmed, reason)
        if live:
            withdraw_slot(slot, now=now, reason=reason)
        audit.record(user, "session.retire", session, {
            "listing_status": [session.listing_status, ListingStatus.RETIRED],
            "bookings_cancelled": len(lost)}, now)
        session.listing_status = ListingStatus.RETIRED
        session.updated_at = now
    return lost


def review_session(user: User, session: ProgramSession, *, approve: bool,
                   now: datetime) -> ProgramSession:
    """Staff approve a submitted session (it goes public) or send it back to draft."""
    if user.role != Role.STAFF:
        raise Forbidden("Only library staff approve sessions.")
    if session.listing_status != ListingStatus.SUBMITTED:
        raise DomainError("Only a submitted session can be reviewed.")
    return _set_status(user, "listing.approve" if approve else "listing.send_back", session,
                       ListingStatus.APPROVED if approve else ListingStatus.DRAFT, now)


def _apply(session: ProgramSession, result: SessionPlan, *, now: datetime, reason: str) -> None:
    """Carry out a planned change. Calendar SEQUENCEs of the session and its slot rise by
    themselves with the title or time (models.bump_calendar_sequences)."""
    slot = result.slot
    if slot is None:  # its slot was cancelled: the session is scheduled afresh
        db.session.add(Slot(event_id=session.event_id, session_id=session.id,
                            starts_at=result.starts_at, ends_at=result.ends_at,
                            capacity=result.capacity, created_at=now, updated_at=now))
        db.session.flush()
        return
    surplus = [booking for booking in result.lost if booking not in result.clashing]
    for bookings, why in ((result.clashing, OVERLAP_REASON), (surplus, reason)):
        for booking in reservations.release(slot, bookings, now=now, reason=why):
            notifications.queue_booking_cancelled(booking, now=now, reason=why)
    if result.moved:
        slot.starts_at, slot.ends_at = result.starts_at, result.ends_at
        zone = ZoneInfo(session.event.timezone)
        moved_to = (f"it now runs {result.starts_at.astimezone(zone):%A %d %B, %H:%M}–"
                    f"{result.ends_at.astimezone(zone):%H:%M} ({session.event.timezone}).")
        for booking in active_bookings(slot):
            booking.updated_at = now
            notifications.queue_schedule_changed(booking, now, moved_to)
    slot.capacity = result.capacity
    slot.updated_at = now
    db.session.flush()
    # More seats, or seats freed by readers who clash with the new time (rule 3).
    for booking in reservations.promote_waitlist(slot, now=now):
        notifications.queue_promoted(booking, now=now)


def _check_presenter_free(presenter_id: int | None, start: datetime, end: datetime,
                          session_id: int | None) -> None:
    """A presenter cannot be in two places at once: their readings and their other sessions.

    Holds the presenter's lock (availability.lock_volunteers) for the rest of the transaction.
    """
    if presenter_id is None:
        return
    lock_volunteers([presenter_id])
    presenter = db.session.get(User, presenter_id, populate_existing=True)
    other_sessions = sa.select(ProgramSession.id).where(
        ProgramSession.presenter_user_id == presenter_id)
    if session_id is not None:
        other_sessions = other_sessions.where(ProgramSession.id != session_id)
    busy = [Slot.session_id.in_(other_sessions)]
    if presenter.human_book_id is not None:
        busy.append(Slot.book_id == presenter.human_book_id)
    clash = db.session.scalar(
        sa.select(Slot).where(Slot.starts_at < end, Slot.ends_at > start,
                              Slot.status != SlotStatus.CANCELLED, sa.or_(*busy))
        .order_by(Slot.starts_at).limit(1)
    )
    if clash is not None:
        raise VolunteerConflict(presenter.name or "The presenter",
                                "reading" if clash.book_id else "session", clash,
                                clash.event.timezone)


def _check_future(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise ValidationFailed({"starts": [messages.TIME_PASSED]})


def _check_event_open(event: Event) -> None:
    if event.status in (EventStatus.CANCELLED, EventStatus.FINISHED):
        raise DomainError(f"This event is {event.status.value}; its programme can no longer change.")


def _lock_readers(session: ProgramSession) -> None:
    """Lock the patrons booked in the session before its slot, the order bookings lock in.

    A move checks those patrons' other bookings (rule 2); holding their locks keeps any of
    them from booking the new time while the move is under way.
    """
    reservations.lock_patrons(db.session.scalars(
        sa.select(Booking.email_normalized).distinct().join(Slot, Booking.slot_id == Slot.id)
        .where(Slot.session_id == session.id, Slot.status != SlotStatus.CANCELLED,
               Booking.status.in_(ACTIVE_BOOKING_STATUSES))
    ).all())


def _lock(session: ProgramSession) -> None:
    """Lock the session and its slots (SQLite already holds the write lock)."""
    db.session.scalar(
        sa.select(ProgramSession.id).where(ProgramSession.id == session.id).with_for_update()
    )
    db.session.scalars(
        sa.select(Slot).where(Slot.session_id == session.id).order_by(Slot.id)
        .with_for_update(of=Slot)
        .execution_options(populate_existing=True)
    ).all()


def _audited(session: ProgramSession, slot: Slot | None) -> dict:
    """What the audit log compares of a session: its text, presenter, time and seats."""
    return {
        **audit.snapshot(session, ("title", "description", "language", "audience",
                                   "presenter_user_id")),
        "starts_at": slot.starts_at if slot else None,
        "ends_at": slot.ends_at if slot else None,
        "seats": slot.capacity if slot else None,
    }


def _assign(session: ProgramSession, listing: SessionListing) -> None:
    session.title, session.description = listing.title, listing.description
    session.language, session.audience = listing.language, listing.audience
    session.presenter_user_id = listing.presenter_user_id


def _set_status(user: User, action: str, session: ProgramSession, status: ListingStatus,
                now: datetime) -> ProgramSession:
    """Move a session's listing to `status`, audited as `action`, in one transaction."""
    with transaction():
        audit.record(user, action, session,
                     {"listing_status": [session.listing_status, status]}, now)
        session.listing_status = status
        session.updated_at = now
    return session
