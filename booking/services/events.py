"""Staff event management: create, edit, clone, publish and cancel events, hosts, and readings.

Each public function is one transaction, audited in that same transaction, and rolled back on
any error; it takes the staff member, what it acts on, a command (domain/commands.py) and
`now`. Cancelling goes through `reservations.release`, so every booking that goes away gets
a reason and a queued notification (rule 4). Times arrive as local wall-clock datetimes in the
event's zone and are stored in UTC.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.services import audit, availability, reservations
from booking.services.outbox import notifications
from booking.domain import messages
from booking.domain.commands import (SLUG_MAX, Cancellation, CloneEvent, EventDetails, Hosts,
                                     Schedule, Window)
from booking.domain.errors import DomainError, Forbidden, NotFound, SpanConflict, ValidationFailed
from booking.domain.timezones import to_local, to_utc
from booking.extensions import db, transaction
from booking.domain.models import ACTIVE_BOOKING_STATUSES, HOLDING_STATUSES, AvailabilityWindow, Booking, Event, EventHost, EventKind, EventStatus, HostRole, HumanBook, Partner, ProgramSession, Role, Slot, SlotStatus, User

#: Addresses the staff pages use themselves (/staff/events/new, /staff/events/audit).
RESERVED_SLUGS = frozenset({"new", "audit"})


def slugify(title: str, fallback: str = "event") -> str:
    """'Human Library: Spring Day!' -> 'human-library-spring-day' (ASCII, at most 60 chars)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    return slug or fallback


def free_slug(base: str, taken: Callable[[str], bool]) -> str:
    """`base`, else `base-2`, `base-3`…: the first one the predicate `taken` does not claim."""
    slug, n = base, 1
    while taken(slug):
        n += 1
        slug = f"{base[:SLUG_MAX - len(str(n)) - 1]}-{n}"
    return slug


def _values(details: EventDetails, event: Event | None) -> dict:
    """The event's columns from the command (times in UTC), its address checked against the
    other events'."""
    return {
        "title": details.title, "slug": _slug(details, event),
        "description": details.description, "kind": EventKind(details.kind),
        "venue": details.venue, "accessibility_notes": details.accessibility_notes,
        "timezone": details.timezone, "starts_at": details.starts_at,
        "ends_at": details.ends_at, "registration_opens_at": details.registration_opens_at,
        "registration_closes_at": details.registration_closes_at,
        "max_bookings_per_patron": details.max_bookings_per_patron,
        "max_seats_per_booking": details.max_seats_per_booking,
        "agreement_text": details.agreement_text,
    }


def _slug(details: EventDetails, event: Event | None) -> str:
    """An entered address must be free; an empty one keeps the event's, or makes one."""
    if not details.slug:
        if event is not None:
            return event.slug
        return free_slug(slugify(details.title), lambda candidate: _slug_taken(candidate, None))
    if _slug_taken(details.slug, event):
        raise ValidationFailed({"slug": [messages.SLUG_TAKEN]})
    return details.slug


def _slug_taken(slug: str, event: Event | None) -> bool:
    if slug in RESERVED_SLUGS:
        return True
    query = sa.select(Event.id).where(Event.slug == slug)
    if event is not None:
        query = query.where(Event.id != event.id)
    return db.session.scalar(query.limit(1)) is not None


def require_staff(user: User) -> None:
    """Only library staff manage events (and the desk's settings for them)."""
    if user is None or user.role != Role.STAFF:
        raise Forbidden("Only library staff manage events.")


def _touched(event: Event, now: datetime) -> None:
    """Mark a visible change of the event (the single place to bump a calendar sequence)."""
    event.updated_at = now


#: What the audit log compares of an event.
AUDITED_FIELDS = (
    "title", "slug", "description", "kind", "venue", "accessibility_notes", "timezone",
    "starts_at", "ends_at", "registration_opens_at", "registration_closes_at",
    "max_bookings_per_patron", "max_seats_per_booking", "agreement_version", "status")


def _snapshot(event: Event) -> dict:
    return audit.snapshot(event, AUDITED_FIELDS)


# Events ------------------------------------------------------------------------------------


def create_event(user: User, details: EventDetails, now: datetime) -> Event:
    """A new draft event. Hosts are added afterwards with `set_hosts`."""

    with transaction():
        require_staff(user)
        event = Event(**_values(details, None), status=EventStatus.DRAFT, agreement_version=1,
                      created_at=now, updated_at=now)
        db.session.add(event)
        db.session.flush()
        audit.record(user, "event.create", event, audit.diff({}, _snapshot(event)), now)
        return event


def update_event(user: User, event: Event, details: EventDetails, now: datetime) -> Event:
    """Edit an event. A new agreement text is a new version, for new bookings only.

    A new time span that leaves booked readings outside is refused (SpanConflict); readings
    without bookings that fall outside are cancelled.
    """

    with transaction():
        require_staff(user)
        lock_event(event)
        if event.status == EventStatus.CANCELLED:
            raise DomainError("This event is cancelled and can no longer be edited.")
        values = _values(details, event)
        outside = _slots_outside(event, values["starts_at"], values["ends_at"])
        booked = [slot for slot in outside if availability.active_bookings(slot)]
        if booked:
            raise SpanConflict(booked, values["timezone"])
        before = _snapshot(event)
        if values["agreement_text"] != event.agreement_text.strip():
            event.agreement_version += 1
        for name, value in values.items():
            setattr(event, name, value)
        for slot in outside:  # none holds a booking: nobody to tell
            availability.withdraw_slot(slot, now=now, reason="The event's times changed.")
        changes = audit.diff(before, _snapshot(event))
        _tell_patrons_of_changes(event, changes, now)
        if outside:
            changes["readings_cancelled_without_bookings"] = len(outside)
        if changes:
            _touched(event, now)
            audit.record(user, "event.update", event, changes, now)
        return event


def publish_event(user: User, event: Event, now: datetime) -> Event:
    """Make a draft public and bookable."""

    with transaction():
        require_staff(user)
        lock_event(event)
        if event.status != EventStatus.DRAFT:
            raise DomainError(f"Only a draft can be published; this event is {event.status.value}.")
        if event.ends_at <= now:
            raise DomainError("This event has already ended, so it cannot be published.")
        if not any(host.role == HostRole.HOST for host in event.hosts):
            raise DomainError("Add at least one host before publishing.")
        event.status = EventStatus.PUBLISHED
        _touched(event, now)
        audit.record(user, "event.publish", event, {"status": ["draft", "published"]}, now)
        return event


def cancel_event(user: User, event: Event, cancellation: Cancellation, now: datetime) -> int:
    """Cancel the event: every reading not yet started, with its active bookings; returns how
    many bookings. An event under way keeps the readings already held or in progress, with
    their bookings and attendance, so its reports still count them.
    """

    with transaction():
        require_staff(user)
        text = cancellation.reason
        lock_event(event)
        if event.status == EventStatus.CANCELLED:
            raise DomainError("This event is already cancelled.")
        if event.status == EventStatus.FINISHED or event.ends_at <= now:
            raise DomainError("This event is over, so it can no longer be cancelled.")
        slots = lock_slots(event, Slot.starts_at > now)
        cancelled = 0
        for slot in slots:
            if slot.status != SlotStatus.CANCELLED:
                cancelled += len(availability.withdraw_slot(slot, now=now, reason=text))
        before = event.status
        event.status = EventStatus.CANCELLED
        _touched(event, now)
        audit.record(user, "event.cancel", event, {
            "status": [before, event.status], "reason": text, "bookings_cancelled": cancelled,
        }, now)
        return cancelled


def clone_event(user: User, event: Event, clone: CloneEvent,
                now: datetime) -> tuple[Event, list[str]]:
    """A draft copy starting at `clone.starts`, everything shifted by the same wall-clock offset.

    One transaction: hosts, settings, agreement, sessions (with their seat blocks), and each
    book's availability windows with the readings they make. A book whose windows cannot be
    copied (its volunteer is elsewhere then, say) is reported, not fatal: its part alone is
    undone, and the copy comes back with the problems: (copy, problems).
    """

    with transaction():
        require_staff(user)
        zone = event.timezone
        offset = clone.starts - to_local(event.starts_at, zone)
        details = _shifted_details(event, offset)
        if details.starts_at <= now:
            raise ValidationFailed({"starts": [messages.CLONE_IN_THE_PAST]})
        copy = Event(**_values(details, None), status=EventStatus.DRAFT, agreement_version=1,
                     walk_in_seats_per_reading=event.walk_in_seats_per_reading,
                     created_at=now, updated_at=now)
        copy.hosts = [EventHost(partner_id=h.partner_id, role=h.role) for h in event.hosts]
        db.session.add(copy)
        db.session.flush()
        for session in event.sessions:
            _copy_session(session, copy, event, offset, now)
        audit.record(user, "event.clone", copy, {"cloned_from": event.id,
                                                 "starts_at": [None, copy.starts_at]}, now)
        problems = [problem for book, specs in _shifted_windows(event, offset)
                    if (problem := _copy_windows(copy, book, specs, now))]
    return copy, problems


def _shifted_details(event: Event, offset: timedelta) -> EventDetails:
    """The event as a command, its times moved by `offset` on the wall clock."""
    zone = event.timezone

    def shifted(instant):
        return None if instant is None else to_local(instant, zone) + offset

    return EventDetails.parse(
        title=event.title, timezone=zone, starts=shifted(event.starts_at),
        ends=shifted(event.ends_at), description=event.description, kind=event.kind.value,
        venue=event.venue, accessibility_notes=event.accessibility_notes,
        registration_opens=shifted(event.registration_opens_at),
        registration_closes=shifted(event.registration_closes_at),
        max_bookings_per_patron=event.max_bookings_per_patron,
        max_seats_per_booking=event.max_seats_per_booking,
        agreement_text=event.agreement_text,
    )


def _copy_windows(copy: Event, book: HumanBook, windows: list, now: datetime) -> str | None:
    """Save a book's windows at the copy; a refusal undoes this book's part only (a
    savepoint in the clone's transaction) and is told."""
    try:
        with transaction():
            availability.replace_windows(None, copy, book, Schedule.parse(windows=windows),
                                         now=now)
    except ValidationFailed as exc:
        reasons = " ".join(m for sentences in exc.errors.values() for m in sentences)
    except DomainError as exc:
        reasons = exc.message
    else:
        return None
    return f"The readings of “{book.title}” were not copied: {reasons}"


def _copy_session(session: ProgramSession, copy: Event, original: Event,
                  offset: timedelta, now: datetime) -> None:
    twin = ProgramSession(
        event_id=copy.id, presenter_partner_id=session.presenter_partner_id,
        presenter_user_id=session.presenter_user_id, title=session.title,
        description=session.description, language=session.language, audience=session.audience,
        listing_status=session.listing_status, created_at=now, updated_at=now,
    )
    db.session.add(twin)
    db.session.flush()
    zone = original.timezone
    for slot in db.session.scalars(sa.select(Slot).where(Slot.session_id == session.id)):
        if slot.status == SlotStatus.CANCELLED and original.status != EventStatus.CANCELLED:
            continue
        db.session.add(Slot(
            event_id=copy.id, session_id=twin.id, capacity=slot.capacity,
            starts_at=to_utc(to_local(slot.starts_at, zone) + offset, zone),
            ends_at=to_utc(to_local(slot.ends_at, zone) + offset, zone),
            created_at=now, updated_at=now,
        ))


def _shifted_windows(event: Event, offset: timedelta):
    """(book, [Window]) for each book with windows at the event, moved by `offset`."""
    windows = db.session.scalars(
        sa.select(AvailabilityWindow).where(AvailabilityWindow.event_id == event.id)
        .order_by(AvailabilityWindow.book_id, AvailabilityWindow.starts_local)
    ).all()
    by_book: dict[int, list] = {}
    for window in windows:
        stored = Window.of(window)
        by_book.setdefault(window.book_id, []).append(stored.model_copy(
            update={"starts": stored.starts + offset, "ends": stored.ends + offset}))
    return [(db.session.get(HumanBook, book_id), specs) for book_id, specs in by_book.items()]


# Readings ----------------------------------------------------------------------------------


def cancel_slot(user: User, slot: Slot, cancellation: Cancellation, now: datetime) -> int:
    """Cancel one reading (or session seat block) and its active bookings; returns how many."""

    with transaction():
        require_staff(user)
        text = cancellation.reason
        locked = reservations.locked_slot(slot.id)
        if locked.status == SlotStatus.CANCELLED:
            raise DomainError("This reading is already cancelled.")
        if locked.starts_at <= now:
            raise DomainError("This reading has already started, so it cannot be cancelled.")
        cancelled = len(availability.withdraw_slot(locked, now=now, reason=text))
        _touched(locked.event, now)
        audit.record(user, "slot.cancel", locked, {
            "status": ["open", "cancelled"], "reason": text, "bookings_cancelled": cancelled,
        }, now)
        return cancelled


def _tell_patrons_of_changes(event: Event, changes: dict, now: datetime) -> None:
    """A new title or place reaches every patron with an upcoming booking, by e-mail."""
    told = []
    if "venue" in changes:
        told.append(f"it now takes place at {event.venue or 'a place to be announced'}")
    if "title" in changes:
        told.append(f"the event is now called “{event.title}”")
    if not told:
        return
    upcoming = db.session.scalars(
        sa.select(Booking).join(Slot, Booking.slot_id == Slot.id)
        .where(Booking.event_id == event.id, Booking.status.in_(ACTIVE_BOOKING_STATUSES),
               Slot.starts_at > now, Slot.status != SlotStatus.CANCELLED)
        .order_by(Booking.id)
    ).all()
    message = "; ".join(told)
    for booking in upcoming:
        notifications.queue_schedule_changed(booking, now, message[0].upper() + message[1:] + ".")


def _slots_outside(event: Event, starts_at: datetime, ends_at: datetime) -> list[Slot]:
    """Live slots outside a new start and end, locked, in time order."""
    slots = lock_slots(event, Slot.status != SlotStatus.CANCELLED,
                       sa.or_(Slot.starts_at < starts_at, Slot.ends_at > ends_at))
    return sorted(slots, key=lambda slot: (slot.starts_at, slot.id))


def lock_slots(event: Event, *where) -> list[Slot]:
    """The event's slots matching `where`, row-locked in id order (the order every change to
    several slots takes), with fresh values. Lock the event first (`lock_event`)."""
    return list(db.session.scalars(
        sa.select(Slot).where(Slot.event_id == event.id, *where).order_by(Slot.id)
        .with_for_update(of=Slot).execution_options(populate_existing=True)
    ))


def lock_event(event: Event) -> None:
    """Serialise staff changes to one event (SQLite already holds the write lock)."""
    db.session.scalar(
        sa.select(Event).where(Event.id == event.id).with_for_update()
        .execution_options(populate_existing=True)
    )


# Hosts -------------------------------------------------------------------------------------


def set_hosts(user: User, event: Event, hosts: Hosts, now: datetime) -> Event:
    """Replace the event's partners and roles; at least one host.

    A partner whose books or sessions hold bookings at the event cannot be removed.
    """

    with transaction():
        require_staff(user)
        lock_event(event)
        wanted = _check_hosts(hosts)
        current = {host.partner_id: host for host in event.hosts}
        before = _host_list(event)
        blocked = []
        for partner_id in current.keys() - wanted.keys():
            held = _bookings_of_partner(event, partner_id)
            if held:
                blocked.append(f"{current[partner_id].partner.name} ({held} booking"
                               f"{'s' if held != 1 else ''})")
        if blocked:
            raise DomainError(
                "These partners have bookings for their books or sessions at this event and "
                f"cannot be removed: {', '.join(blocked)}. Cancel those readings first."
            )
        event.hosts = [current.get(partner_id) or EventHost(partner_id=partner_id)
                       for partner_id in wanted]
        for host in event.hosts:
            host.role = wanted[host.partner_id]
        db.session.flush()
        after = _host_list(event)
        if after != before:
            _touched(event, now)
            audit.record(user, "hosts.set", event, {"hosts": [before, after]}, now)
        return event


def _check_hosts(hosts: Hosts) -> dict[int, HostRole]:
    """The roles by partner, in the order given; every partner must (still) exist."""
    wanted = {host.partner_id: HostRole(host.role) for host in hosts.hosts}
    known = set(db.session.scalars(sa.select(Partner.id).where(Partner.id.in_(wanted))))
    if known != wanted.keys():
        raise NotFound(messages.HOST_PARTNER_UNKNOWN)
    return wanted


def _host_list(event: Event) -> list[list]:
    return sorted([host.partner_id, host.role.value] for host in event.hosts)


def _bookings_of_partner(event: Event, partner_id: int) -> int:
    """Active bookings at the event for the partner's books or presented sessions."""
    return db.session.scalar(
        sa.select(sa.func.count(Booking.id))
        .join(Slot, Booking.slot_id == Slot.id)
        .outerjoin(HumanBook, Slot.book_id == HumanBook.id)
        .outerjoin(ProgramSession, Slot.session_id == ProgramSession.id)
        .where(Booking.event_id == event.id, Booking.status.in_(HOLDING_STATUSES),
               sa.or_(HumanBook.partner_id == partner_id,
                      ProgramSession.presenter_partner_id == partner_id))
    )


# Sessions ----------------------------------------------------------------------------------


# Reading the event back --------------------------------------------------------------------


def active_booking_count(event: Event, slot: Slot | None = None, *,
                         starting_after: datetime | None = None) -> int:
    """Active bookings (holds included) of one slot or of the whole event; with
    `starting_after`, only those of readings that start later (what cancelling the event
    would cancel)."""
    query = sa.select(sa.func.count(Booking.id)).where(
        Booking.event_id == event.id, Booking.status.in_(HOLDING_STATUSES))
    if slot is not None:
        query = query.where(Booking.slot_id == slot.id)
    if starting_after is not None:
        query = query.join(Slot, Slot.id == Booking.slot_id).where(
            Slot.starts_at > starting_after)
    return db.session.scalar(query)


def events_by_state(now: datetime) -> dict[str, list[Event]]:
    """Drafts, upcoming published, past and cancelled events, for the staff list."""
    groups: dict[str, list[Event]] = {"drafts": [], "published": [], "past": [], "cancelled": []}
    for event in db.session.scalars(sa.select(Event).order_by(Event.starts_at, Event.id)):
        if event.status == EventStatus.CANCELLED:
            groups["cancelled"].append(event)
        elif event.ends_at <= now or event.status == EventStatus.FINISHED:
            groups["past"].append(event)
        elif event.status == EventStatus.DRAFT:
            groups["drafts"].append(event)
        else:
            groups["published"].append(event)
    groups["past"].reverse()
    return groups


def event_books(event: Event) -> list[tuple[HumanBook, int]]:
    """Books of the event's partners, with how many readings each has there."""
    partner_ids = [host.partner_id for host in event.hosts]
    counts = dict(db.session.execute(
        sa.select(Slot.book_id, sa.func.count(Slot.id))
        .where(Slot.event_id == event.id, Slot.book_id.is_not(None),
               Slot.status != SlotStatus.CANCELLED)
        .group_by(Slot.book_id)
    ).all())
    books = db.session.scalars(
        sa.select(HumanBook).where(sa.or_(HumanBook.partner_id.in_(partner_ids),
                                          HumanBook.id.in_(list(counts))))
        .order_by(HumanBook.title, HumanBook.id)
    )
    return [(book, counts.get(book.id, 0)) for book in books]


def find_slot(event: Event, slot_id) -> Slot:
    """A slot of this event, or NotFound."""
    slot = None
    if isinstance(slot_id, int) and 0 < slot_id < 2**31:
        slot = db.session.get(Slot, slot_id)
    if slot is None or slot.event_id != event.id:
        raise NotFound("There is no such reading at this event.")
    return slot
