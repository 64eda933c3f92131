"""Flask commands: demo data and the empty-database check that `make run` relies on."""
from __future__ import annotations

import sqlalchemy as sa

from booking.demo import DEMO_EVENT_SLUG
from booking.domain.models import Booking, Event, EventHost, EventStatus, HumanBook, ListingStatus, Partner, ProgramSession, Slot, User
from booking.services import passwords

DEMO_PASSWORD = "correct horse battery"


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def table_counts(db) -> dict[str, int]:
    models = (Partner, Event, EventHost, HumanBook, ProgramSession, Slot, User, Booking)
    return {model.__tablename__: count(db, model) for model in models}


def seed(runner, password: str = DEMO_PASSWORD):
    return runner.invoke(args=["seed-demo", "--password", password])


def demo_event(db) -> Event:
    return db.session.scalar(sa.select(Event).where(Event.slug == DEMO_EVENT_SLUG))


def test_seed_demo_creates_a_published_human_library_event_ready_to_book(runner, db, now):
    result = seed(runner)

    assert result.exit_code == 0, result.output
    assert "Demo data ready" in result.output
    event = demo_event(db)
    assert event.status == EventStatus.PUBLISHED
    assert len(event.hosts) >= 3
    slots = event.slots
    books = {slot.book for slot in slots if slot.book is not None}
    assert len([b for b in books if b.listing_status == ListingStatus.APPROVED]) >= 8
    assert [s for s in event.sessions if s.listing_status == ListingStatus.APPROVED]
    assert any(slot.capacity == 1 for slot in slots)
    assert any(slot.session is not None for slot in slots)
    assert all(slot.starts_at > now for slot in slots)
    assert event.starts_at <= min(s.starts_at for s in slots)
    assert max(s.ends_at for s in slots) <= event.ends_at


def test_seed_demo_creates_accounts_that_sign_in_with_the_given_password(runner, db):
    seed(runner)

    for email in ("staff@demo.example", "partner@demo.example", "volunteer@demo.example"):
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert user is not None, email
        assert passwords.matches(user.password_hash, DEMO_PASSWORD)
        assert not passwords.matches(user.password_hash, "demo-password")


def test_seeding_twice_creates_nothing_new(runner, db):
    assert seed(runner).exit_code == 0
    first = table_counts(db)

    again = seed(runner)

    assert again.exit_code == 0, again.output
    assert table_counts(db) == first
    assert first["events"] == 1 and first["human_books"] >= 8


def test_a_short_demo_password_is_refused_with_a_clear_message(runner, db):
    result = seed(runner, password="short")

    assert result.exit_code != 0
    assert "--password" in result.output and "8 characters" in result.output
    assert count(db, User) == 0 and count(db, Event) == 0


def test_db_is_empty_says_so_until_an_event_exists(runner):
    assert runner.invoke(args=["db-is-empty"]).exit_code == 0

    seed(runner)

    assert runner.invoke(args=["db-is-empty"]).exit_code == 1


def test_the_demo_event_is_listed_and_bookable_through_the_api(runner, client, db):
    seed(runner)
    single_seat = db.session.scalar(
        sa.select(Slot.id).where(Slot.capacity == 1).order_by(Slot.starts_at)
    )

    listed = client.get("/api/v1/events").get_json()
    first = client.post(f"/api/v1/slots/{single_seat}/bookings",
                        json={"name": "Ada", "email": "ada@example.org", "accept_agreement": True})
    second = client.post(f"/api/v1/slots/{single_seat}/bookings",
                         json={"name": "Bo", "email": "bo@example.org", "accept_agreement": True})

    assert [e["slug"] for e in listed] == [DEMO_EVENT_SLUG]
    assert first.status_code == 201 and first.get_json()["status"] == "confirmed"
    assert second.status_code == 201 and second.get_json()["status"] == "waitlisted"
