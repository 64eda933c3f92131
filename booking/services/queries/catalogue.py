"""Read-side queries for public pages and the public API (public fields only)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.domain.models import Booking, Event, EventHost, EventKind, EventStatus, HumanBook, ListingStatus, Partner, ProgramSession, Slot, SlotStatus, waiting_in_line

#: Event statuses whose pages the public may see.
VISIBLE_EVENT_STATUSES = (EventStatus.PUBLISHED, EventStatus.CANCELLED, EventStatus.FINISHED)


@dataclass(frozen=True)
class SlotView:
    """A slot as the public sees it: seats left and how many wait."""

    slot: Slot
    waitlist: int

    @property
    def available(self) -> int:
        return self.slot.available


def upcoming_events(
    now: datetime, *, kind: str | None = None, language: str | None = None,
    partner: str | None = None,
) -> list[Event]:
    """Published events that have not ended, soonest first, optionally filtered."""
    query = (
        sa.select(Event)
        .where(Event.status == EventStatus.PUBLISHED, Event.ends_at > now)
        .options(selectinload(Event.hosts).selectinload(EventHost.partner))
        .order_by(Event.starts_at, Event.id)
    )
    if kind:
        query = query.where(Event.kind == EventKind(kind))
    if partner:
        query = query.where(
            Event.id.in_(
                sa.select(EventHost.event_id).join(Partner).where(Partner.slug == partner)
            )
            | Event.id.in_(
                sa.select(ProgramSession.event_id)
                .join(Partner, ProgramSession.presenter_partner_id == Partner.id)
                .where(Partner.slug == partner, _approved(ProgramSession))
            )
            | Event.id.in_(
                sa.select(Slot.event_id)
                .join(HumanBook, Slot.book_id == HumanBook.id)
                .join(Partner, HumanBook.partner_id == Partner.id)
                .where(Partner.slug == partner, _approved(HumanBook))
            )
        )
    events = db.session.scalars(query).all()
    if language:
        events = [e for e in events if language in event_languages(e)]
    return list(events)


def all_published_events() -> list[Event]:
    """Every published event, for the API list, soonest first."""
    return list(
        db.session.scalars(
            sa.select(Event)
            .where(Event.status == EventStatus.PUBLISHED)
            .options(selectinload(Event.hosts).selectinload(EventHost.partner))
            .order_by(Event.starts_at, Event.id)
        )
    )


def visible_event(slug: str) -> Event | None:
    """An event the public may see, by slug."""
    return db.session.scalar(
        sa.select(Event)
        .where(Event.slug == slug, Event.status.in_(VISIBLE_EVENT_STATUSES))
        .options(selectinload(Event.hosts).selectinload(EventHost.partner))
    )


def event_books(event: Event) -> list[HumanBook]:
    """Approved human books that give readings at the event, by title."""
    return list(
        db.session.scalars(
            sa.select(HumanBook)
            .where(
                HumanBook.id.in_(sa.select(Slot.book_id).where(Slot.event_id == event.id)),
                _approved(HumanBook),
            )
            .options(selectinload(HumanBook.partner))
            .order_by(HumanBook.title, HumanBook.id)
        )
    )


def event_sessions(event: Event) -> list[ProgramSession]:
    """Approved program sessions of the event."""
    return list(
        db.session.scalars(
            sa.select(ProgramSession)
            .where(ProgramSession.event_id == event.id, _approved(ProgramSession))
            .options(selectinload(ProgramSession.presenter))
            .order_by(ProgramSession.id)
        )
    )


def event_slots(event: Event) -> list[SlotView]:
    """Public slots of the event (not cancelled, approved resources), in time order."""
    waiting = (
        sa.select(Booking.slot_id, sa.func.count().label("n"))
        .where(waiting_in_line(), Booking.event_id == event.id)
        .group_by(Booking.slot_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Slot, sa.func.coalesce(waiting.c.n, 0))
        .outerjoin(waiting, waiting.c.slot_id == Slot.id)
        .outerjoin(HumanBook, Slot.book_id == HumanBook.id)
        .outerjoin(ProgramSession, Slot.session_id == ProgramSession.id)
        .where(Slot.event_id == event.id, Slot.status != SlotStatus.CANCELLED)
        .where(
            sa.or_(
                HumanBook.listing_status == ListingStatus.APPROVED,
                ProgramSession.listing_status == ListingStatus.APPROVED,
            )
        )
        .options(selectinload(Slot.book), selectinload(Slot.session))
        .order_by(Slot.starts_at, Slot.id)
    ).all()
    return [SlotView(slot=slot, waitlist=n) for slot, n in rows]


def public_slot(slot_id: int) -> Slot | None:
    """A slot the public may see (its event visible, its resource approved)."""
    slot = db.session.get(Slot, slot_id)
    if slot is None or slot.event.status not in VISIBLE_EVENT_STATUSES:
        return None
    resource = slot.book if slot.book is not None else slot.session
    if resource.listing_status != ListingStatus.APPROVED:
        return None
    return slot


def waitlist_length(slot_id: int) -> int:
    """How many people wait in line for a seat in the slot."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(Booking.slot_id == slot_id, waiting_in_line())
    )


def event_languages(event: Event) -> set[str]:
    """Languages spoken at the event's readings and sessions."""
    langs: set[str] = set()
    for book in event_books(event):
        langs.update(book.languages or [])
    for session in event_sessions(event):
        if session.language:
            langs.add(session.language)
    return langs


def filter_choices(now: datetime) -> dict[str, list[tuple[str, str]]]:
    """Languages and partners found among upcoming events, for the home page filters."""
    events = upcoming_events(now)
    languages: set[str] = set()
    for event in events:
        languages |= event_languages(event)
    partners = db.session.scalars(
        sa.select(Partner)
        .where(Partner.id.in_(
            sa.select(EventHost.partner_id).join(Event)
            .where(Event.status == EventStatus.PUBLISHED, Event.ends_at > now)
        ))
        .order_by(Partner.name)
    ).all()
    return {
        "languages": sorted((code, language_name(code)) for code in languages),
        "partners": [(p.slug, p.name) for p in partners],
    }


LANGUAGE_NAMES = {
    "ar": "Arabic", "de": "German", "en": "English", "es": "Spanish", "fa": "Persian",
    "fr": "French", "hi": "Hindi", "it": "Italian", "ko": "Korean", "pl": "Polish",
    "pt": "Portuguese", "ru": "Russian", "so": "Somali", "sw": "Swahili", "tl": "Tagalog",
    "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese", "asl": "American Sign Language",
}


def language_name(code: str) -> str:
    """A language code's name as pages show it (the code itself when unknown)."""
    return LANGUAGE_NAMES.get(code, code)


def _approved(model):
    return model.listing_status == ListingStatus.APPROVED


def waitlist_rank(booking: Booking) -> int | None:
    """A waiting booking's place in line (1 = next to be confirmed), else None; holds
    waiting in the line count, as they take their turn."""
    if not booking.on_waitlist or booking.waitlist_position is None:
        return None
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(
            Booking.slot_id == booking.slot_id,
            waiting_in_line(),
            Booking.waitlist_position <= booking.waitlist_position,
        )
    )


@dataclass
class Alternatives:
    """What to offer instead of the waitlist when a reading is full."""

    #: The same book's next readings with a free seat.
    later: list[Slot]
    #: Other books, sharing a topic or a language with this one, free at the same time.
    alike: list[Slot]


def alternatives(slot: Slot, now: datetime, *, limit: int = 3) -> Alternatives:
    """Free readings to offer a patron who finds `slot` full: the same book later, and books
    with a topic or language in common at the same time (none already started)."""
    if slot.book is None:
        return Alternatives(later=[], alike=[])
    # Readings only (both lists are of books), so the event's held-back seats all apply.
    free = Slot.capacity - Slot.booked > slot.event.walk_in_seats_per_reading
    bookable = sa.and_(Slot.event_id == slot.event_id, Slot.id != slot.id,
                       Slot.status == SlotStatus.OPEN, Slot.starts_at > now, free)
    later = list(db.session.scalars(
        sa.select(Slot).where(bookable, Slot.book_id == slot.book_id)
        .order_by(Slot.starts_at, Slot.id).limit(limit)))
    # A day has a few dozen books: their tags are compared here rather than in SQL, where
    # JSON lists are read differently by SQLite and PostgreSQL.
    overlapping = db.session.scalars(
        sa.select(Slot).join(HumanBook, Slot.book_id == HumanBook.id)
        .where(bookable, Slot.book_id != slot.book_id, _approved(HumanBook),
               Slot.starts_at < slot.ends_at, Slot.ends_at > slot.starts_at)
        .options(selectinload(Slot.book))
        .order_by(Slot.starts_at, Slot.id))
    topics, languages = set(slot.book.topics or []), set(slot.book.languages or [])
    alike = [other for other in overlapping
             if topics & set(other.book.topics or []) or languages & set(other.book.languages or [])]
    return Alternatives(later=later, alike=alike[:limit])
