"""Demo content: a Human Library day co-hosted by a library and two partners."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from .extensions import db, transaction
from booking.domain.commands import Window
from booking.domain.models import AvailabilityWindow, Event, EventHost, EventKind, EventStatus, HostRole, HumanBook, ListingStatus, Partner, ProgramSession, Role, Slot, User
from booking.domain.scheduling import to_utc
from booking.services import passwords

DEMO_EVENT_SLUG = "human-library-day"
DEMO_ZONE = "America/Chicago"
DEMO_ACCOUNTS = {
    "staff@demo.example": (Role.STAFF, "Dana Staff", None),
    "partner@demo.example": (Role.COORDINATOR, "Pat Coordinator", "riverside-literacy"),
    "volunteer@demo.example": (Role.VOLUNTEER, "Vic Volunteer", "riverside-literacy"),
}

PARTNERS = [
    ("riverside-library", "Riverside Public Library", "public library",
     "https://library.example.org", "events@library.example.org"),
    ("riverside-literacy", "Riverside Literacy Council", "literacy council",
     "https://literacy.example.org", "hello@literacy.example.org"),
    ("veterans-network", "Veterans' Community Network", "veterans' group",
     "https://veterans.example.org", "contact@veterans.example.org"),
]

# (partner slug, title, blurb, topics, languages, content notes, volunteer, readers per reading)
BOOKS = [
    ("riverside-literacy", "Refugee",
     "I left my home city with one bag and two children. Ask me about starting over.",
     ["migration", "family", "resilience"], ["en", "ar"],
     "Mentions war and loss.", "Amira Haddad", 2),
    ("veterans-network", "Retired military",
     "Twenty-two years in the Army, three deployments, and then civilian life.",
     ["military", "service", "transition"], ["en"],
     "Mentions combat and PTSD.", "James O'Connor", 3),
    ("riverside-literacy", "Learned to read at 40",
     "I hid it from everyone for decades. Then I walked into the library.",
     ["literacy", "education", "shame"], ["en", "es"], "", "Rosa Delgado", 2),
    ("riverside-library", "Living with bipolar disorder",
     "Highs, lows, and the long middle. What I wish people knew.",
     ["mental health", "stigma"], ["en"],
     "Mentions self-harm and hospitalisation.", "Sam Lee", 1),
    ("riverside-library", "Deaf and proud",
     "Sign language is my first language. Readings in ASL with an interpreter.",
     ["deaf culture", "disability", "language"], ["asl", "en"], "", "Chris Morgan", 2),
    ("veterans-network", "Formerly homeless",
     "Eighteen months sleeping in my car while working full time.",
     ["housing", "poverty", "work"], ["en"], "Mentions addiction.", "Derek Hill", 3),
    ("riverside-literacy", "Muslim woman in a small town",
     "Yes, I chose to wear it. Ask me anything else, too.",
     ["faith", "identity", "prejudice"], ["en", "fr"], "", "Layla Ahmed", 2),
    ("riverside-library", "Transgender father",
     "Transition in my forties, with three kids watching. We are doing fine.",
     ["gender", "family", "parenting"], ["en"], "Mentions discrimination.", "Alex Rivera", 1),
    ("veterans-network", "Recovering alcoholic",
     "Eleven years sober. I still count the days sometimes.",
     ["addiction", "recovery", "health"], ["en", "es"],
     "Mentions alcohol and relapse.", "Maria Santos", 2),
]

AGREEMENT = (
    "Treat the book with respect: they are a person sharing their own story. "
    "The book may decline any question and may end a reading early. "
    "No recording, photographs or notes of personal details. "
    "Return the book on time so other readers can borrow it."
)


def seed_demo(*, password: str, today: datetime) -> dict[str, int]:
    """Create the demo data unless it exists; return what was created. Idempotent."""
    with transaction():
        return _seed(password, today)


def _seed(password: str, today: datetime) -> dict[str, int]:
    created = {"partners": 0, "books": 0, "events": 0, "slots": 0, "users": 0}
    partners = {}
    for slug, name, kind, website, contact in PARTNERS:
        partner = db.session.scalar(sa.select(Partner).where(Partner.slug == slug))
        if partner is None:
            partner = Partner(
                slug=slug, name=name, kind=kind, website=website, contact_email=contact,
                description=f"{name} co-hosts Human Library events in Riverside.",
            )
            db.session.add(partner)
            created["partners"] += 1
        partners[slug] = partner
    db.session.flush()

    event = db.session.scalar(sa.select(Event).where(Event.slug == DEMO_EVENT_SLUG))
    books = {}
    if event is None:
        event = _demo_event(today, partners)
        created["events"] += 1
        for partner_slug, title, blurb, topics, langs, notes, volunteer, readers in BOOKS:
            book = HumanBook(
                partner=partners[partner_slug], title=title, blurb=blurb, topics=topics,
                languages=langs, content_notes=notes, volunteer_name=volunteer,
                volunteer_email=volunteer.lower().replace(" ", ".").replace("'", "")
                + "@volunteers.example",
                listing_status=ListingStatus.APPROVED,
            )
            db.session.add(book)
            books[title] = book
            created["books"] += 1
        db.session.flush()
        created["slots"] += _demo_slots(event, books, partners)
    for email, (role, name, partner_slug) in DEMO_ACCOUNTS.items():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=name, role=role)
            user.partner = partners[partner_slug] if partner_slug else None
            if role == Role.VOLUNTEER:
                user.human_book = books.get("Learned to read at 40") or db.session.scalar(
                    sa.select(HumanBook).where(HumanBook.title == "Learned to read at 40")
                )
            db.session.add(user)
            created["users"] += 1
        passwords.set_password(user, password)
    return created


def _demo_event(today: datetime, partners: dict[str, Partner]) -> Event:
    zone = ZoneInfo(DEMO_ZONE)
    day = (today.astimezone(zone) + timedelta(days=14)).date()
    event = Event(
        slug=DEMO_EVENT_SLUG,
        title="Human Library Day at Riverside",
        description=(
            "Borrow a person instead of a book. Our human books share their stories in "
            "one-to-one conversations of thirty minutes. Free; booking recommended."
        ),
        venue="Riverside Public Library, Community Room, 120 Main Street",
        accessibility_notes=(
            "Step-free entrance on Main Street; accessible restrooms; ASL interpretation for "
            "the 'Deaf and proud' book; quiet room available."
        ),
        starts_at=to_utc(datetime.combine(day, time(10, 0)), zone),
        ends_at=to_utc(datetime.combine(day, time(16, 0)), zone),
        timezone=DEMO_ZONE,
        status=EventStatus.PUBLISHED,
        kind=EventKind.HUMAN_LIBRARY,
        max_bookings_per_patron=3,
        max_seats_per_booking=2,
        agreement_text=AGREEMENT,
        agreement_version=1,
    )
    event.hosts = [
        EventHost(partner=partners["riverside-library"], role=HostRole.HOST),
        EventHost(partner=partners["riverside-literacy"], role=HostRole.CO_HOST),
        EventHost(partner=partners["veterans-network"], role=HostRole.CO_HOST),
    ]
    db.session.add(event)
    db.session.flush()
    return event


def _demo_slots(event: Event, books: dict[str, HumanBook], partners) -> int:
    zone = ZoneInfo(event.timezone)
    day = event.starts_at.astimezone(zone).date()
    count = 0
    for (_, title, *_rest, readers) in BOOKS:
        # Readings come from an availability window, as a coordinator would enter it, so
        # that editing the window later keeps these slots and their bookings.
        window = AvailabilityWindow(
            event=event, book=books[title],
            starts_local=datetime.combine(day, time(10, 0)),
            ends_local=datetime.combine(day, time(15, 30)),
            reading_minutes=30, break_minutes=10, readers=readers, rest_after=4, rest_minutes=20,
        )
        db.session.add(window)
        for start, end in Window.of(window).spans(event.timezone):
            db.session.add(Slot(event=event, book=books[title], starts_at=start, ends_at=end,
                                capacity=readers))
            count += 1
    session = ProgramSession(
        event=event, presenter=partners["riverside-literacy"],
        title="How to host your own Human Library",
        description="A workshop for teachers, librarians and community groups.",
        language="en", audience="Adults", listing_status=ListingStatus.APPROVED,
    )
    db.session.add(session)
    db.session.add(Slot(
        event=event, session=session,
        starts_at=to_utc(datetime.combine(day, time(14, 0)), zone),
        ends_at=to_utc(datetime.combine(day, time(15, 30)), zone),
        capacity=20,
    ))
    return count + 1
