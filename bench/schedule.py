"""The schedule feed of a big event: time against bare icalendar, and queries per feed.

`feed_query_counts` is also run by the test suite at a small size, so that the constant
number of queries cannot quietly rot.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from icalendar import Calendar, Event as VEvent

from booking.services import calendars
from booking.extensions import db
from booking.domain.ical import Audience, FeedLinks, build_feed
from booking.domain.models import Event, EventHost, EventStatus, HostRole, HumanBook, ListingStatus, Partner, Slot

#: Readings per book: 5,000 slots are 50 books of 100 readings.
READINGS_PER_BOOK = 100
START = datetime(2031, 3, 1, 15, 0, tzinfo=timezone.utc)
LINKS = FeedLinks(host="library.test", event_url=lambda event: f"https://library.test/events/{event.slug}")


def make_event(n_slots: int, *, slug: str | None = None) -> Event:
    """A published event in Chicago with `n_slots` readings (rows written in bulk)."""
    now = datetime.now(timezone.utc)
    partner = Partner(slug=f"bench-partner-{n_slots}-{slug}", name="Literacy Council")
    event = Event(
        slug=slug or f"bench-{n_slots}", title="Human Library, big day", venue="Main Library",
        accessibility_notes="Step-free entrance; quiet room on request.",
        starts_at=START, ends_at=START + timedelta(days=400), timezone="America/Chicago",
        status=EventStatus.PUBLISHED,
    )
    db.session.add_all([partner, event])
    db.session.flush()
    db.session.add(EventHost(event_id=event.id, partner_id=partner.id, role=HostRole.HOST))
    books = [
        HumanBook(partner_id=partner.id, title=f"Book {i}", volunteer_name="Private Name",
                  volunteer_email="private@example.org", listing_status=ListingStatus.APPROVED)
        for i in range(max(1, -(-n_slots // READINGS_PER_BOOK)))
    ]
    db.session.add_all(books)
    db.session.flush()
    rows = []
    for i in range(n_slots):
        book = books[i // READINGS_PER_BOOK]
        starts = START + timedelta(days=i % READINGS_PER_BOOK, minutes=40 * (i // READINGS_PER_BOOK))
        rows.append({"event_id": event.id, "book_id": book.id, "starts_at": starts,
                     "ends_at": starts + timedelta(minutes=30), "capacity": 2, "booked": i % 3,
                     "status": "open", "sequence": 0, "created_at": now, "updated_at": now})
    db.session.execute(sa.insert(Slot), rows)
    db.session.commit()
    return event


@contextmanager
def counting_queries():
    """Count the SQL statements run inside the block: `with counting_queries() as count:`."""
    count = [0]

    def listener(*args, **kwargs):
        count[0] += 1

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield count
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def schedule_feed(event: Event, now: datetime) -> bytes:
    """What the web layer does for /events/<slug>/schedule.ics, minus HTTP."""
    db.session.expire_all()  # start from the database, as a new request would
    content = calendars.event_schedule(event, now=now)
    return build_feed(content, LINKS).body


def feed_query_counts(sizes: tuple[int, ...]) -> dict[int, int]:
    """Queries needed to build the schedule feed of an event with each number of slots."""
    now = datetime.now(timezone.utc)
    counts = {}
    for size in sizes:
        event = make_event(size, slug=f"count-{size}")
        event_id = event.id
        db.session.expire_all()
        with counting_queries() as count:
            event = db.session.get(Event, event_id)
            schedule_feed(event, now)
        counts[size] = count[0]
    return counts


def bare_icalendar(event: Event, slots: list[Slot]) -> bytes:
    """The same VEVENTs made directly with icalendar from ready values: the baseline."""
    zone = ZoneInfo(event.timezone)
    calendar = Calendar()
    calendar.add("prodid", "-//bench//EN")
    calendar.add("version", "2.0")
    for slot in slots:
        vevent = VEvent()
        vevent.add("uid", Audience.PUBLIC.uid(slot, LINKS.host))
        vevent.add("dtstamp", slot.updated_at)
        vevent.add("last-modified", slot.updated_at)
        vevent.add("dtstart", slot.starts_at.astimezone(zone))
        vevent.add("dtend", slot.ends_at.astimezone(zone))
        vevent.add("summary", f"Reading: {slot.book.title} — {event.title}")
        vevent.add("description", f"Seats left: {slot.available} of {slot.capacity}.\n"
                                  f"Where: {event.venue}")
        vevent.add("location", event.venue)
        vevent.add("url", f"https://library.test/events/{event.slug}")
        vevent.add("sequence", slot.sequence)
        vevent.add("status", "CONFIRMED")
        calendar.add_component(vevent)
    return calendar.to_ical()


def best_of(runs: int, function, *args) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        function(*args)
        best = min(best, time.perf_counter() - started)
    return best


def run(n_slots: int = 5000, runs: int = 3) -> float:
    """Print the time ratio of the schedule feed to bare icalendar, and query counts."""
    now = datetime.now(timezone.utc)
    counts = feed_query_counts((500, n_slots))
    print("queries to build the schedule feed: "
          + ", ".join(f"{size} slots: {count}" for size, count in counts.items()))
    event = db.session.scalar(sa.select(Event).where(Event.slug == f"count-{n_slots}"))
    slots = calendars.event_schedule(event, now=now).slots
    assert len(slots) == n_slots
    feed = best_of(runs, schedule_feed, event, now)
    bare = best_of(runs, bare_icalendar, event, slots)
    ratio = feed / bare
    print(f"schedule feed of {n_slots} slots (query + build + serialise): {feed:.3f} s")
    print(f"bare icalendar, same {n_slots} events (serialise only):       {bare:.3f} s")
    print(f"ratio: {ratio:.2f}x (target at most 1.5x)")
    return ratio
