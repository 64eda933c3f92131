"""Rows -> iCalendar bytes (pure); web/http.py serves them with caching.

Every feed is built the same way so that calendar apps read it right (RFC 5545, RFC 7986):
times in the event's zone with a VTIMEZONE bounded to the years the feed covers, UIDs that
live as long as the slot, session or event, DTSTAMP and LAST-MODIFIED from when the item last
changed (never "now", so an unchanged feed is byte-identical), and SEQUENCE from the rows'
`sequence` columns, which rise on every visible change (see `models.bump_calendar_sequences`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event as VEvent, Timezone, vDuration

from booking.domain.models import Booking, BookingStatus, Event, EventStatus, Slot, SlotStatus

PRODID = "-//Human Library Bookings//EN"
#: How often calendar apps are asked to fetch a feed again (many refresh less often anyway).
REFRESH_INTERVAL = timedelta(hours=1)
#: Last-Modified of a feed that never held anything.
NEVER = datetime(2000, 1, 1, tzinfo=timezone.utc)


class Audience(Enum):
    """Who a slot's VEVENT is written for: it decides the UID suffix and what it reveals."""

    PUBLIC = ""  #: seats left; no personal data
    VOLUNTEER = "-volunteer"  #: booked counts
    PARTNER = "-partner"  #: booked counts
    STAFF = "-staff"  #: reader names

    def uid(self, slot: Slot, host: str) -> str:
        # Private feeds get their own UIDs: some apps merge or drop events whose UID already
        # exists in another subscribed calendar, and a staff member may subscribe to both.
        return f"slot-{slot.id}{self.value}@{host}"


@dataclass(frozen=True)
class FeedLinks:
    """Where feed items point. `host` names UIDs; it comes from configuration, not the request."""

    host: str
    event_url: Callable[[Event], str]


@dataclass
class FeedContent:
    """What a feed shows, as loaded by `calendars` (rows only, no I/O here)."""

    name: str
    #: Calendar UID (RFC 7986), stable for the life of the feed.
    uid: str
    events: list[Event] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    #: Active bookings per slot id, for the staff feed's reader names.
    readers: dict[int, list[Booking]] = field(default_factory=dict)
    audience: Audience = Audience.PUBLIC
    #: Zones a calendar describes even without items (the schedule feed's event zone).
    zones: tuple[str, ...] = ()
    #: The latest instant an item left the feed (a cancelled item past its grace period).
    dropped_at: datetime | None = None
    #: Zone of the VTIMEZONE that keeps an empty calendar valid (it needs one component).
    fallback_zone: str = "UTC"


@dataclass(frozen=True)
class CalendarFile:
    """A built feed: its bytes and when what is in it last changed."""

    body: bytes
    last_modified: datetime


def build_feed(content: FeedContent, links: FeedLinks) -> CalendarFile:
    """Events and slots as one calendar, with its Last-Modified."""
    vevents = [event_vevent(event, links) for event in content.events]
    vevents += [
        slot_vevent(slot, links, content.audience, content.readers.get(slot.id, ()))
        for slot in content.slots
    ]
    spans = [(e.starts_at, e.ends_at, e.timezone) for e in content.events]
    spans += [(s.starts_at, s.ends_at, s.event.timezone) for s in content.slots]
    changes = [e.updated_at for e in content.events]
    changes += [slot_changed_at(s, content.readers.get(s.id, ())) for s in content.slots]
    if content.dropped_at is not None:
        changes.append(content.dropped_at)
    last_modified = max(changes, default=NEVER)
    body = calendar_bytes(
        vevents, name=content.name, uid=content.uid, spans=spans, zones=content.zones,
        fallback_zone=content.fallback_zone, last_modified=last_modified,
    )
    return CalendarFile(body=body, last_modified=last_modified)


def calendar_bytes(
    vevents: list[VEvent], *, name: str, uid: str,
    spans: Iterable[tuple[datetime, datetime, str]], zones: Iterable[str] = (),
    fallback_zone: str = "UTC", last_modified: datetime | None = None,
) -> bytes:
    """A VCALENDAR of `vevents` with a bounded VTIMEZONE for each zone they use.

    `spans` are the (start, end, zone) of the items, to bound the VTIMEZONEs to their years.
    """
    spans = list(spans)
    used = {zone for _, _, zone in spans} | set(zones)
    # The name goes out unescaped (X-WR-CALNAME): a title stored with a line break before
    # such titles were refused must still make one line.
    calendar = Calendar.new(prodid=PRODID, name=" ".join(name.split()), uid=uid,
                            subcomponents=vevents)
    calendar.add("REFRESH-INTERVAL", vDuration(REFRESH_INTERVAL), parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(REFRESH_INTERVAL))
    if len(used) == 1:
        # Only when every item shares the zone: apps apply it to times without a TZID.
        calendar.add("X-WR-TIMEZONE", next(iter(used)))
    if last_modified is not None:
        calendar.last_modified = last_modified
    years = [t.astimezone(ZoneInfo(zone)).year for start, end, zone in spans for t in (start, end)]
    if not years:
        years = [(last_modified or NEVER).year]
    first, last = date(min(years), 1, 1), date(max(years) + 1, 1, 1)
    # The zones are known, so each VTIMEZONE is made here rather than by
    # add_missing_timezones(), which walks every property of every item (a fifth of the time
    # of a big feed) and adds zones in set order, which would change the bytes (and the ETag)
    # from one process to the next. An empty feed still describes a zone: RFC 5545 wants at
    # least one component.
    for index, zone in enumerate(sorted(used or {fallback_zone})):
        calendar.subcomponents.insert(
            index, Timezone.from_tzid(zone, first_date=first, last_date=last)
        )
    return calendar.to_ical()


def slot_changed_at(slot: Slot, readers: Iterable[Booking] = ()) -> datetime:
    resource = slot.book if slot.book is not None else slot.session
    return max([slot.updated_at, slot.event.updated_at, resource.updated_at]
               + [booking.updated_at for booking in readers])


def event_vevent(event: Event, links: FeedLinks) -> VEvent:
    """A whole event, for the list of published events."""
    zone = ZoneInfo(event.timezone)
    url = links.event_url(event)
    hosts = ", ".join(f"{h.partner.name} ({h.role.value})" for h in event.hosts)
    lines = [
        event.description,
        f"Where: {event.venue}" if event.venue else "",
        f"Hosted by: {hosts}" if hosts else "",
        f"Accessibility: {event.accessibility_notes}" if event.accessibility_notes else "",
        "This event has been cancelled." if event.status == EventStatus.CANCELLED else "",
        f"Details and booking: {url}",
    ]
    return _vevent(
        uid=f"event-{event.id}@{links.host}",
        start=event.starts_at.astimezone(zone),
        end=event.ends_at.astimezone(zone),
        summary=event.title,
        description=_lines(lines),
        location=event.venue,
        url=url,
        sequence=event.sequence,
        changed=event.updated_at,
        cancelled=event.status == EventStatus.CANCELLED,
    )


def slot_vevent(
    slot: Slot, links: FeedLinks, audience: Audience = Audience.PUBLIC,
    readers: Iterable[Booking] = (),
) -> VEvent:
    """One reading or session time; what it reveals depends on `audience`."""
    event = slot.event
    zone = ZoneInfo(event.timezone)
    url = links.event_url(event)
    cancelled = slot.status == SlotStatus.CANCELLED or event.status == EventStatus.CANCELLED
    if slot.book is not None:
        resource, what = slot.book, "Reading"
        about = [f"A reading with the human book “{resource.title}” at {event.title}.",
                 f"From: {resource.partner.name}",
                 f"Content notes: {resource.content_notes}" if resource.content_notes else ""]
    else:
        resource, what = slot.session, "Session"
        about = [f"“{resource.title}” at {event.title}.",
                 f"Presented by: {resource.presenter.name}",
                 f"For: {resource.audience}" if resource.audience else ""]
    lines = about + [
        "Cancelled." if cancelled else _seats_line(slot, audience, readers),
        f"Where: {event.venue}" if event.venue else "",
        f"Accessibility: {event.accessibility_notes}" if event.accessibility_notes else "",
        f"Details and booking: {url}",
    ]
    return _vevent(
        uid=audience.uid(slot, links.host),
        start=slot.starts_at.astimezone(zone),
        end=slot.ends_at.astimezone(zone),
        summary=f"{what}: {resource.title} — {event.title}",
        description=_lines(lines),
        location=event.venue,
        url=url,
        sequence=slot.sequence + event.sequence + resource.sequence,
        changed=slot_changed_at(slot, readers),
        cancelled=cancelled,
    )


def _seats_line(slot: Slot, audience: Audience, readers: Iterable[Booking]) -> str:
    if audience == Audience.PUBLIC:
        if slot.status != SlotStatus.OPEN:
            return "Closed for booking."
        if slot.available:
            return f"Seats left: {slot.available} of {slot.capacity}."
        return "Fully booked: join the waitlist on the event page."
    line = f"Booked: {slot.booked} of {slot.capacity}."
    if audience != Audience.STAFF:
        return line
    readers = list(readers)
    # A hold's seats are in the count, but nobody has confirmed it yet: named apart, as the
    # desk does.
    names = [_with_seats(b) for b in readers
             if b.holds_seats and b.status != BookingStatus.PENDING]
    held = [_with_seats(b) for b in readers if b.status == BookingStatus.PENDING]
    waiting = [b.patron_name for b in readers if b.status == BookingStatus.WAITLISTED]
    return "\n".join(filter(None, [
        line,
        f"Readers: {', '.join(names)}" if names else "",
        f"Not confirmed by e-mail yet: {', '.join(held)}" if held else "",
        f"Waitlist: {', '.join(waiting)}" if waiting else "",
    ]))


def _with_seats(booking: Booking) -> str:
    return f"{booking.patron_name} ({booking.seats} seats)" if booking.seats > 1 \
        else booking.patron_name


def _lines(lines: Iterable[str]) -> str:
    return "\n".join(line for line in lines if line)


def _vevent(
    *, uid: str, start: datetime, end: datetime, summary: str, description: str,
    location: str, url: str, sequence: int, changed: datetime, cancelled: bool,
    status: str = "CONFIRMED",
) -> VEvent:
    # Plain add() calls rather than VEvent.new(): a feed may hold thousands of these, and
    # new() costs a third more for checks these values (aware, end after start) never fail.
    vevent = VEvent()
    vevent.add("UID", uid)
    vevent.add("DTSTAMP", changed)
    vevent.add("LAST-MODIFIED", changed)
    vevent.add("DTSTART", start)
    vevent.add("DTEND", end)
    vevent.add("SUMMARY", summary)
    vevent.add("DESCRIPTION", description)
    if location:
        vevent.add("LOCATION", location)
    vevent.add("URL", url)
    vevent.add("SEQUENCE", sequence)
    vevent.add("STATUS", "CANCELLED" if cancelled else status)
    return vevent


def booking_event(booking: Booking, *, host: str, event_url: str,
                  manage_url: str | None) -> VEvent:
    """One patron's booking as a VEVENT in the event's time zone (for feeds and e-mail invitations).

    Without `manage_url` (an e-mail sent when only the token's hash is known), the description
    points the patron to the link in their confirmation e-mail instead.
    """
    slot, event = booking.slot, booking.event
    zone = ZoneInfo(event.timezone)
    cancelled = (booking.status == BookingStatus.CANCELLED
                 or slot.status == SlotStatus.CANCELLED or event.status == EventStatus.CANCELLED)
    what = "Reading" if slot.book_id is not None else "Session"
    lines = [
        f"{what} with “{slot.resource_title}” at {event.title}.",
        f"Seats: {booking.seats}." if booking.seats > 1 else "",
        "You are on the waitlist; we will e-mail you if a seat frees up."
        if booking.status == BookingStatus.WAITLISTED else "",
        "Not confirmed yet: confirm it with the link we e-mailed, or it is released."
        if booking.status == BookingStatus.PENDING else "",
        f"Place: {event.venue}" if event.venue else "",
        f"Accessibility: {event.accessibility_notes}" if event.accessibility_notes else "",
        f"Event page: {event_url}",
        f"Manage or cancel your booking: {manage_url}" if manage_url else
        "Manage or cancel your booking with the link in your confirmation e-mail.",
    ]
    return _vevent(
        uid=f"booking-{booking.id}@{host}",
        start=slot.starts_at.astimezone(zone),
        end=slot.ends_at.astimezone(zone),
        summary=booking_summary(booking),
        description=_lines(lines),
        location=event.venue,
        url=event_url,
        sequence=booking_sequence(booking),
        changed=booking_changed_at(booking),
        cancelled=cancelled,
        status="TENTATIVE" if booking.status in (BookingStatus.WAITLISTED, BookingStatus.PENDING)
        else "CONFIRMED",
    )


def booking_summary(booking: Booking, *, waitlisted: bool | None = None) -> str:
    """A booking's calendar title: what, with whom, where; a place in line says so first, as
    a calendar shows the title everywhere and the TENTATIVE status hardly anywhere.
    `waitlisted` overrides the booking's state (an e-mail tells the state it was sent for)."""
    slot = booking.slot
    what = "Reading" if slot.book_id is not None else "Session"
    if waitlisted is None:
        waitlisted = booking.status == BookingStatus.WAITLISTED
    waiting = "Waitlist: " if waitlisted else ""
    return f"{waiting}{what}: {slot.resource_title} — {booking.event.title}"


def booking_sequence(booking: Booking) -> int:
    """The SEQUENCE of a booking's VEVENT, in the feed and in every e-mailed invitation.

    Each row's own sequence rises on its visible changes, so the sum rises whenever the
    booking, its time, its event or its book or session changes.
    """
    slot = booking.slot
    resource = slot.book if slot.book is not None else slot.session
    return booking.sequence + slot.sequence + booking.event.sequence + resource.sequence


def booking_changed_at(booking: Booking) -> datetime:
    resource = booking.slot.book if booking.slot.book is not None else booking.slot.session
    return max(booking.updated_at, booking.slot.updated_at, booking.event.updated_at,
               resource.updated_at)


def booking_calendar(booking: Booking, *, host: str, event_url: str, manage_url: str) -> bytes:
    """One patron's booking as a calendar file, in the event's time zone."""
    event, slot = booking.event, booking.slot
    vevent = booking_event(booking, host=host, event_url=event_url, manage_url=manage_url)
    return calendar_bytes(
        [vevent], name=event.title, uid=f"booking-{booking.id}-calendar@{host}",
        spans=[(slot.starts_at, slot.ends_at, event.timezone)],
        last_modified=booking_changed_at(booking),
    )
