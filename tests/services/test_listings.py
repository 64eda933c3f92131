"""Human book listings: the rules, tested on the services directly."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from support import AFTER_BOOKING
from booking.services import availability, listings, reservations
from booking.domain.errors import ConfirmationNeeded, DomainError, Forbidden, ValidationFailed
from booking.domain.models import Booking, BookingStatus, HostRole, HumanBook, ListingStatus, OutboxMessage, Role, Slot, SlotStatus, User
from booking.domain.commands import BookListing, Patron, Schedule, Window


@pytest.fixture
def shelf(db, make_partner, make_event, make_book, make_slot, now):
    """A partner's book with readings at two events, one of them already over; its coordinator."""
    partner = make_partner("Literacy Council")
    book = make_book(partner, title="Refugee")
    first = make_event(hosts=[(partner, HostRole.HOST)], max_bookings_per_patron=5)
    second = make_event(hosts=[(partner, HostRole.HOST)], timezone="Europe/Berlin",
                        starts_at=first.starts_at + timedelta(days=3))
    past = make_event(hosts=[(partner, HostRole.HOST)], starts_at=now - timedelta(days=2))
    coordinator = User(email="c@example.org", name="Cora", role=Role.COORDINATOR,
                       partner_id=partner.id)
    db.session.add(coordinator)
    db.session.commit()
    return {
        "book": book, "coordinator": coordinator, "first": first, "second": second,
        "readings": [make_slot(first, book=book, capacity=1),
                     make_slot(second, book=book, capacity=2)],
        "past": make_slot(past, book=book, capacity=1),
    }


def booked(slot, email, now) -> Booking:
    return reservations.book(slot.id, Patron.parse(name="Reader " + email, email=email), now=now).booking


def statuses(db, bookings) -> list[BookingStatus]:
    db.session.expire_all()
    return [db.session.get(Booking, b.id).status for b in bookings]


def test_retiring_a_book_with_booked_readings_asks_first_and_changes_nothing(db, shelf, now):
    first, second = shelf["readings"]
    bookings = [booked(first, "a@example.org", now), booked(first, "b@example.org", now),
                booked(second, "c@example.org", now)]
    with pytest.raises(ConfirmationNeeded) as asked:
        listings.retire_book(shelf["coordinator"], shelf["book"], now=now)
    assert {b.id for b in asked.value.plan.lost} == {b.id for b in bookings}
    assert "3 bookings" in asked.value.message
    assert statuses(db, bookings) == [BookingStatus.CONFIRMED, BookingStatus.WAITLISTED,
                                      BookingStatus.CONFIRMED]
    assert db.session.get(HumanBook, shelf["book"].id).listing_status == ListingStatus.APPROVED
    assert {db.session.get(Slot, s.id).status for s in shelf["readings"]} == {SlotStatus.OPEN}


def test_retiring_a_booked_book_once_confirmed_cancels_its_readings_with_a_reason(
    db, shelf, now
):
    first, second = shelf["readings"]
    bookings = [booked(first, "a@example.org", now), booked(first, "b@example.org", now),
                booked(second, "c@example.org", now)]
    lost = listings.retire_book(shelf["coordinator"], shelf["book"], now=now,
                                confirmed={b.id for b in bookings},
                                reason="Our volunteer moved away.")
    assert sorted(b.id for b in lost) == sorted(b.id for b in bookings)
    assert statuses(db, bookings) == [BookingStatus.CANCELLED] * 3
    assert {db.session.get(Booking, b.id).cancel_reason for b in bookings} == {
        "Our volunteer moved away."}
    for slot in shelf["readings"]:
        slot = db.session.get(Slot, slot.id)
        assert (slot.status, slot.booked, slot.sequence) == (SlotStatus.CANCELLED, 0, 1)
    cancelled = db.session.scalars(sa.select(OutboxMessage.booking_id).where(
        AFTER_BOOKING, OutboxMessage.kind == "booking_cancelled")).all()
    assert sorted(cancelled) == sorted(b.id for b in bookings)
    assert db.session.get(HumanBook, shelf["book"].id).listing_status == ListingStatus.RETIRED
    # The past is not rewritten.
    assert db.session.get(Slot, shelf["past"].id).status == SlotStatus.OPEN


def test_retiring_a_book_without_bookings_takes_its_empty_readings_off_at_once(
    db, client, shelf, now
):
    assert listings.retire_book(shelf["coordinator"], shelf["book"], now=now) == []
    db.session.expire_all()
    assert db.session.get(HumanBook, shelf["book"].id).listing_status == ListingStatus.RETIRED
    assert {db.session.get(Slot, s.id).status for s in shelf["readings"]} == {
        SlotStatus.CANCELLED}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    slots = client.get(f"/api/v1/events/{shelf['first'].slug}/slots").get_json()
    assert all(s["resource"]["type"] != "book" for s in slots)


def test_only_the_books_own_partner_or_staff_retire_it(db, shelf, make_partner, now):
    stranger = User(email="o@example.org", role=Role.COORDINATOR, partner_id=make_partner().id)
    db.session.add(stranger)
    db.session.commit()
    with pytest.raises(Forbidden):
        listings.retire_book(stranger, shelf["book"], now=now)
    db.session.expire_all()
    assert db.session.get(HumanBook, shelf["book"].id).listing_status == ListingStatus.APPROVED


def test_a_retired_book_gets_no_new_readings(db, shelf, now):
    listings.retire_book(shelf["coordinator"], shelf["book"], now=now)
    event, book = shelf["first"], db.session.get(HumanBook, shelf["book"].id)
    start = datetime.combine(
        event.starts_at.astimezone(ZoneInfo(event.timezone)).date(),
        datetime.min.time()).replace(hour=11)
    with pytest.raises(DomainError, match="retired"):
        availability.save(None, event, book,
                          Schedule(windows=[Window(starts=start, ends=start + timedelta(hours=1))]),
                          now=now)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Slot).where(
        Slot.book_id == book.id, Slot.status != SlotStatus.CANCELLED,
        Slot.starts_at > now)) == 0


def test_retiring_a_book_does_not_cancel_a_booking_made_after_the_list_was_shown(
        db, shelf, now):
    first, second = shelf["readings"]
    shown = booked(first, "a@example.org", now)
    with pytest.raises(ConfirmationNeeded) as asked:
        listings.retire_book(shelf["coordinator"], shelf["book"], now=now)
    unseen = booked(second, "c@example.org", now)
    with pytest.raises(ConfirmationNeeded) as again:
        listings.retire_book(shelf["coordinator"], shelf["book"], now=now,
                             confirmed={b.id for b in asked.value.plan.lost})
    assert {b.id for b in again.value.plan.lost} == {shown.id, unseen.id}
    assert again.value.unseen == {unseen.id}
    assert statuses(db, [shown, unseen]) == [BookingStatus.CONFIRMED] * 2
    assert db.session.get(HumanBook, shelf["book"].id).listing_status == ListingStatus.APPROVED
    assert {db.session.get(Slot, s.id).status for s in shelf["readings"]} == {SlotStatus.OPEN}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(AFTER_BOOKING)) == 0


def test_a_book_is_stored_as_entered_with_its_topics_and_languages_as_lists(db, shelf, now):
    book = listings.create_book(shelf["coordinator"], shelf["book"].partner, BookListing.parse(
        title=" Retired nurse ", topics="care, night shifts ,care,", languages="en, es",
        volunteer_email=" Vera@Example.org "), now=now)
    db.session.expire_all()
    stored = db.session.get(HumanBook, book.id)
    assert (stored.title, stored.topics, stored.languages, stored.volunteer_email) == (
        "Retired nurse", ["care", "night shifts"], ["en", "es"], "Vera@Example.org")


@pytest.mark.parametrize(("entered", "field"), [
    ({"title": "  "}, "title"), ({"title": "x" * 121}, "title"),
    ({"topics": ", ".join(f"topic {n}" for n in range(13))}, "topics"),
    ({"languages": "x" * 41}, "languages"), ({"volunteer_name": "x" * 201}, "volunteer_name"),
    ({"volunteer_email": "vera-at-example"}, "volunteer_email"),
])
def test_a_bad_book_is_refused_field_by_field_before_anything_is_stored(
    db, shelf, now, entered, field
):
    with pytest.raises(ValidationFailed) as refused:
        listings.create_book(shelf["coordinator"], shelf["book"].partner,
                             BookListing.parse(**{"title": "Nurse", **entered}), now=now)
    assert list(refused.value.errors) == [field]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HumanBook)) == 1
