"""When a reading is full: the same book's next free readings, and books with a topic or a
language in common that are free at the same time; nothing started, full or unrelated."""
from __future__ import annotations

from datetime import timedelta

from booking.domain.commands import Patron
from booking.services import reservations
from booking.services.queries import catalogue


def fill(slot, now):
    for n in range(slot.capacity):
        reservations.book(slot.id, Patron.parse(name=f"P{n}",
                                                email=f"p{slot.id}-{n}@example.org"), now=now)


def test_a_full_reading_offers_later_readings_and_alike_books_at_the_same_time(
        db, make_event, make_book, make_slot, now):
    event = make_event()
    at = event.starts_at + timedelta(hours=1)
    refugee = make_book(title="Refugee", topics=["migration"], languages=["ar", "en"])
    wanted = make_slot(event, book=refugee, starts_at=at)
    later = make_slot(event, book=refugee, starts_at=at + timedelta(hours=1))
    make_slot(event, book=refugee, starts_at=at + timedelta(hours=2), status="closed")
    same_language = make_slot(event, book=make_book(title="Nurse", topics=["health"],
                                                    languages=["ar"]), starts_at=at)
    same_topic = make_slot(event, book=make_book(title="Exile", topics=["migration"],
                                                 languages=["fr"]),
                           starts_at=at + timedelta(minutes=15))
    make_slot(event, book=make_book(title="Chef", topics=["food"], languages=["es"]),
              starts_at=at)  # nothing in common
    make_slot(event, book=make_book(title="Poet", topics=["migration"]),
              starts_at=at + timedelta(hours=3))  # alike, but not at that time
    full_alike = make_slot(event, book=make_book(title="Teacher", languages=["en"]),
                           starts_at=at)
    for slot in (wanted, full_alike):
        fill(slot, now)

    offered = catalogue.alternatives(wanted, now)

    assert [s.id for s in offered.later] == [later.id]
    assert [s.id for s in offered.alike] == [same_language.id, same_topic.id]


def test_readings_already_started_are_not_offered(db, make_event, make_book, make_slot, now):
    event = make_event()
    book = make_book()
    wanted = make_slot(event, book=book)
    make_slot(event, book=book, starts_at=event.starts_at + timedelta(hours=2))
    fill(wanted, now)

    later_in_the_day = event.starts_at + timedelta(hours=2, minutes=5)
    assert catalogue.alternatives(wanted, later_in_the_day).later == []


def test_the_full_booking_page_offers_them_before_the_waitlist(
        client, db, make_event, make_book, make_slot, now):
    event = make_event()
    book = make_book(title="Refugee")
    wanted = make_slot(event, book=book)
    later = make_slot(event, book=book, starts_at=event.starts_at + timedelta(hours=2))
    fill(wanted, now)

    html = client.get(f"/slots/{wanted.id}/book").get_data(as_text=True)

    offer = html.index(f'href="/slots/{later.id}/book"')
    assert html.index("Free instead") < offer < html.index("Join the waitlist</button>")
