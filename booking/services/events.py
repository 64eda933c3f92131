"""Staff event management: create, edit, clone, publish and cancel events, hosts, and readings.

Each public function is one transaction, audited in that same transaction, and rolled back on
any error. Cancelling goes through `reservations.release`, so every booking that goes away gets
a reason and a queued notification (rule 4). Times arrive as local wall-clock datetimes in the
event's zone and are stored in UTC.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa

from booking.services import audit, availability, reservations
from booking.services.outbox import notifications
from booking.domain.commands import Schedule, Window
from booking.domain.errors import DomainError, Forbidden, NotFound, SpanConflict, ValidationFailed
from booking.extensions import db, transaction
from booking.domain.models import ACTIVE_BOOKING_STATUSES, HOLDING_STATUSES, AvailabilityWindow, Booking, Event, EventHost, EventKind, EventStatus, HostRole, HumanBook, Partner, ProgramSession, Role, Slot, SlotStatus, User
from booking.domain.scheduling import YEARS, YEARS_MESSAGE
from booking.domain.text import check_text, require_line

TITLE_MAX = 200
SLUG_MAX = 80
VENUE_MAX = 300
TEXT_MAX = 5000
AGREEMENT_MAX = 10000
REASON_MAX = 300
#: The event's texts that may run over several lines; every other field is one line.
MULTILINE_FIELDS = frozenset({"description", "accessibility_notes", "agreement_text"})
LIMIT_MAX = 50
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
#: Addresses the staff pages use themselves (/staff/events/new, /staff/events/audit).
RESERVED_SLUGS = frozenset({"new", "audit"})

#: The zones staff choose from: IANA "Area/Place" names, plus UTC.
TIMEZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(
    ("Etc/", "SystemV/", "US/", "posix/", "right/"))) + ["UTC"]
_ZONES = frozenset(TIMEZONES)


@dataclass(frozen=True)
class EventFields:
    """An event as staff enter it; times are naive local wall-clock times in `timezone`."""

    title: str
    timezone: str
    starts: datetime | None
    ends: datetime | None
    slug: str = ""
    description: str = ""
    kind: str = EventKind.HUMAN_LIBRARY.value
    venue: str = ""
    accessibility_notes: str = ""
    registration_opens: datetime | None = None
    registration_closes: datetime | None = None
    max_bookings_per_patron: int = 3
    max_seats_per_booking: int = 1
    agreement_text: str = ""


@dataclass(frozen=True)
class CleanEvent:
    """Checked fields, times in UTC."""

    values: dict


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


def to_utc(local: datetime, zone: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def to_local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def check_fields(fields: EventFields, *, event: Event | None = None) -> dict:
    """Every problem at once as ValidationFailed; otherwise the model's values, times in UTC."""
    errors: dict[str, list[str]] = {}
    text_limits = {"title": TITLE_MAX, "slug": SLUG_MAX, "venue": VENUE_MAX,
                   "description": TEXT_MAX, "accessibility_notes": TEXT_MAX,
                   "agreement_text": AGREEMENT_MAX, "timezone": 64, "kind": 20}
    text = {}
    for name, limit in text_limits.items():
        value = getattr(fields, name)
        value = value.strip() if isinstance(value, str) else ""
        if len(value) > limit:
            errors[name] = [f"At most {limit} characters."]
        check_text(errors, name, value, multiline=name in MULTILINE_FIELDS)
        text[name] = value
    if "title" not in errors and not text["title"]:
        errors["title"] = ["Give the event a title."]
    if "kind" not in errors and text["kind"] not in {k.value for k in EventKind}:
        errors["kind"] = ["Choose Human Library or Program."]
    zone = text["timezone"]
    if "timezone" not in errors and zone not in _ZONES:
        errors["timezone"] = ["Choose a time zone from the list, such as America/Chicago."]
        zone = None
    slug = _check_slug(text["slug"], text["title"], event, errors)

    instants = {}
    for name in ("starts", "ends", "registration_opens", "registration_closes"):
        local = getattr(fields, name)
        if local is None:
            if name in ("starts", "ends"):
                errors[name] = ["Enter a date and time."]
            instants[name] = None
        elif not isinstance(local, datetime) or local.tzinfo is not None:
            errors[name] = ["Enter a local date and time, such as 2026-12-05 10:00."]
        elif local.year not in YEARS:
            errors[name] = [YEARS_MESSAGE]
        elif zone:
            instants[name] = to_utc(local, zone)
            if to_local(instants[name], zone) != local:
                errors[name] = [f"{local:%Y-%m-%d %H:%M} does not exist in {zone} "
                                "(the clocks go forward then). Choose another time."]
    if not errors.keys() & {"starts", "ends"} and zone and instants["ends"] <= instants["starts"]:
        errors["ends"] = ["The event must end after it starts."]
    opens, closes = instants.get("registration_opens"), instants.get("registration_closes")
    if opens and closes and closes <= opens:
        errors["registration_closes"] = ["Registration must close after it opens."]
    if opens and instants.get("ends") and opens >= instants["ends"]:
        errors["registration_opens"] = ["Registration must open before the event ends."]
    for name, label in (("max_bookings_per_patron", "Bookings per patron"),
                        ("max_seats_per_booking", "Seats per booking")):
        value = getattr(fields, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LIMIT_MAX:
            errors[name] = [f"{label} must be a whole number from 1 to {LIMIT_MAX}."]
    if errors:
        raise ValidationFailed(errors)
    return {
        "title": text["title"], "slug": slug, "description": text["description"],
        "kind": EventKind(text["kind"]), "venue": text["venue"],
        "accessibility_notes": text["accessibility_notes"], "timezone": zone,
        "starts_at": instants["starts"], "ends_at": instants["ends"],
        "registration_opens_at": opens, "registration_closes_at": closes,
        "max_bookings_per_patron": fields.max_bookings_per_patron,
        "max_seats_per_booking": fields.max_seats_per_booking,
        "agreement_text": text["agreement_text"],
    }


def _check_slug(slug: str, title: str, event: Event | None, errors: dict) -> str:
    """An entered slug must be well formed and free; an empty one keeps or makes one."""
    if "slug" in errors:
        return ""
    if not slug:
        if event is not None:
            return event.slug
        if not title:
            return ""
        return free_slug(slugify(title), lambda candidate: _slug_taken(candidate, None))
    if not SLUG_PATTERN.fullmatch(slug):
        errors["slug"] = ["Use lower-case letters, digits and single hyphens, "
                          "such as human-library-spring."]
    elif _slug_taken(slug, event):
        errors["slug"] = ["Another event already uses this address. Choose another."]
    return slug


def _slug_taken(slug: str, event: Event | None) -> bool:
    if slug in RESERVED_SLUGS:
        return True
    query = sa.select(Event.id).where(Event.slug == slug)
    if event is not None:
        query = query.where(Event.id != event.id)
    return db.session.scalar(query.limit(1)) is not None


def _require_staff(user: User) -> None:
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


def create_event(user: User, fields: EventFields, now: datetime) -> Event:
    """A new draft event. Hosts are added afterwards with `set_hosts`."""

    with transaction():
        _require_staff(user)
        values = check_fields(fields)
        event = Event(**values, status=EventStatus.DRAFT, agreement_version=1,
                      created_at=now, updated_at=now)
        db.session.add(event)
        db.session.flush()
        audit.record(user, "event.create", event, audit.diff({}, _snapshot(event)), now)
        return event


def update_event(user: User, event: Event, fields: EventFields, now: datetime) -> Event:
    """Edit an event. A new agreement text is a new version, for new bookings only.

    A new time span that leaves booked readings outside is refused (SpanConflict); readings
    without bookings that fall outside are cancelled.
    """

    with transaction():
        _require_staff(user)
        lock_event(event)
        if event.status == EventStatus.CANCELLED:
            raise DomainError("This event is cancelled and can no longer be edited.")
        values = check_fields(fields, event=event)
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
        _require_staff(user)
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


def cancel_event(user: User, event: Event, reason: str, now: datetime) -> int:
    """Cancel the event: every reading not yet started, with its active bookings; returns how
    many bookings. An event under way keeps the readings already held or in progress, with
    their bookings and attendance, so its reports still count them.
    """

    with transaction():
        _require_staff(user)
        text = _check_reason(reason)
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


def clone_event(user: User, event: Event, new_start_local: datetime,
                now: datetime) -> tuple[Event, list[str]]:
    """A draft copy starting at `new_start_local`, everything shifted by the same wall-clock offset.

    Hosts, settings, agreement and sessions (with their seat blocks) are copied in one
    transaction; then each book's availability windows are saved at the copy, which makes its
    readings. A book whose windows cannot be copied is reported, not fatal: (copy, problems).
    """

    with transaction():
        _require_staff(user)
        if not isinstance(new_start_local, datetime) or new_start_local.tzinfo is not None:
            raise ValidationFailed({"starts": ["Enter a local date and time."]})
        if new_start_local.year not in YEARS:  # before shifting: 9999 plus a day overflows
            raise ValidationFailed({"starts": [YEARS_MESSAGE]})
        zone = event.timezone
        offset = new_start_local - to_local(event.starts_at, zone)

        def shifted(instant):
            return None if instant is None else to_local(instant, zone) + offset

        fields = EventFields(
            title=event.title, timezone=zone, starts=new_start_local,
            ends=shifted(event.ends_at), description=event.description, kind=event.kind.value,
            venue=event.venue, accessibility_notes=event.accessibility_notes,
            registration_opens=shifted(event.registration_opens_at),
            registration_closes=shifted(event.registration_closes_at),
            max_bookings_per_patron=event.max_bookings_per_patron,
            max_seats_per_booking=event.max_seats_per_booking,
            agreement_text=event.agreement_text,
        )
        values = check_fields(fields)
        if values["starts_at"] <= now:
            raise ValidationFailed({"starts": ["The copy must start in the future."]})
        copy = Event(**values, status=EventStatus.DRAFT, agreement_version=1,
                     walk_in_seats_per_reading=event.walk_in_seats_per_reading,
                     created_at=now, updated_at=now)
        copy.hosts = [EventHost(partner_id=h.partner_id, role=h.role) for h in event.hosts]
        db.session.add(copy)
        db.session.flush()
        for session in event.sessions:
            _copy_session(session, copy, event, offset, now)
        audit.record(user, "event.clone", copy, {"cloned_from": event.id,
                                                 "starts_at": [None, copy.starts_at]}, now)

    problems = []
    for book, windows in _shifted_windows(event, offset):
        try:
            availability.save(None, copy, book, Schedule.parse(windows=windows), now=now)
        except ValidationFailed as exc:
            reasons = " ".join(m for messages in exc.errors.values() for m in messages)
            problems.append(f"The readings of “{book.title}” were not copied: {reasons}")
        except DomainError as exc:
            problems.append(f"The readings of “{book.title}” were not copied: {exc.message}")
    return copy, problems


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


def cancel_slot(user: User, slot: Slot, reason: str, now: datetime) -> int:
    """Cancel one reading (or session seat block) and its active bookings; returns how many."""

    with transaction():
        _require_staff(user)
        text = _check_reason(reason)
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


def _check_reason(reason) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationFailed({"reason": ["Give a reason: the patrons will read it."]})
    if len(text) > REASON_MAX:
        raise ValidationFailed({"reason": [f"At most {REASON_MAX} characters."]})
    require_line("reason", text)
    return text


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


def set_hosts(user: User, event: Event, hosts: list[tuple[int, str]], now: datetime) -> Event:
    """Replace the event's partners and roles; at least one host.

    A partner whose books or sessions hold bookings at the event cannot be removed.
    """

    with transaction():
        _require_staff(user)
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


def _check_hosts(hosts) -> dict[int, HostRole]:
    roles = {role.value: role for role in HostRole}
    wanted: dict[int, HostRole] = {}
    for partner_id, role in hosts:
        if role not in roles:
            raise ValidationFailed({"hosts": ["Choose host, co-host or sponsor."]})
        if partner_id in wanted:
            raise ValidationFailed({"hosts": ["Each partner can appear only once."]})
        wanted[partner_id] = roles[role]
    if HostRole.HOST not in wanted.values():
        raise ValidationFailed({"hosts": ["An event needs at least one host."]})
    known = set(db.session.scalars(sa.select(Partner.id).where(Partner.id.in_(wanted))))
    if known != wanted.keys():
        raise NotFound("One of these partners no longer exists. Reload the page.")
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
