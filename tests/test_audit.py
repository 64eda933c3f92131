"""The staff audit log covers every change staff make, also when they act for a partner."""
from __future__ import annotations

import sqlalchemy as sa

from booking import availability, listings, partners, programme, reservations
from booking.availability import WindowSpec
from booking.models import AuditEntry, ListingStatus
from test_programme import create, fields, local, place  # noqa: F401 (fixture)


def entries(db) -> list[tuple[str, str, int]]:
    db.session.expire_all()
    return [(e.action, e.target_type, e.user_id) for e in
            db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


def book_fields(title: str) -> listings.BookFields:
    return listings.BookFields(title=title, blurb="Ask me anything.")


def test_staff_reviewing_a_session_is_audited_like_a_book(db, place, now):
    session = create(place, now)
    programme.submit_session(place["coordinator"], session, now=now)

    programme.review_session(place["staff"], session, approve=False, now=now)

    [entry] = db.session.scalars(sa.select(AuditEntry)).all()
    assert (entry.action, entry.target_type, entry.target_id, entry.event_id) == (
        "listing.send_back", "session", session.id, session.event_id)
    assert entry.changes == {"listing_status": ["submitted", "draft"]}


def test_staff_editing_a_partners_session_are_audited_and_the_coordinator_is_not(
    db, place, now
):
    session = create(place, now)
    programme.update_session(place["coordinator"], session, fields(title="Tales"), now=now)
    assert entries(db) == []

    programme.update_session(place["staff"], session,
                             fields(title="Tales", start=(12, 0), end=(13, 0)), now=now)

    [entry] = db.session.scalars(sa.select(AuditEntry)).all()
    assert entry.action == "session.update" and entry.user_id == place["staff"].id
    assert set(entry.changes) == {"starts_at", "ends_at", "bookings_cancelled"}


def test_staff_retiring_a_session_with_bookings_is_audited_with_the_count(db, place, now):
    session = create(place, now)
    slot = programme.session_slot(session)
    booking = reservations.book(slot.id, name="Ada", email="ada@example.org", now=now).booking

    programme.retire_session(place["staff"], session, now=now, confirmed=[booking.id])

    [entry] = db.session.scalars(sa.select(AuditEntry)).all()
    assert entry.action == "session.retire"
    assert entry.changes == {"listing_status": ["draft", "retired"], "bookings_cancelled": 1}


def test_staff_creating_editing_and_retiring_a_book_are_audited(db, place, now):
    staff = place["staff"]
    book = listings.create_book(staff, place["partner"], book_fields("Nurse"), now=now)
    listings.update_book(staff, book, book_fields("Retired nurse"), now=now)
    listings.update_book(staff, book, book_fields("Retired nurse"), now=now)  # no change
    listings.update_book(place["coordinator"], book, book_fields("Nurse, retired"), now=now)
    listings.retire_book(staff, book, now=now)

    assert entries(db) == [("book.create", "book", staff.id), ("book.update", "book", staff.id),
                           ("book.retire", "book", staff.id)]
    update = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "book.update")).one()
    assert update.changes == {"title": ["Nurse", "Retired nurse"]}
    assert db.session.get(type(book), book.id).listing_status == ListingStatus.RETIRED


def test_staff_saving_a_books_availability_is_audited_on_the_event(db, place, now):
    event, book = place["event"], place["book"]
    availability.save(event, book, [WindowSpec(local(10), local(11))], now=now)
    assert entries(db) == []  # no one named: not a staff change

    availability.save(event, book, [WindowSpec(local(10), local(12))], now=now,
                      user=place["staff"])

    [entry] = db.session.scalars(sa.select(AuditEntry)).all()
    assert (entry.action, entry.target_type, entry.event_id) == (
        "availability.save", "event", event.id)
    assert entry.changes["book"] == "Refugee" and entry.changes["readings_added"] == 2


def test_staff_submitting_listings_and_editing_a_partners_profile_are_audited(db, place, now):
    staff, partner = place["staff"], place["partner"]
    book = listings.create_book(place["coordinator"], partner, book_fields("Nurse"), now=now)
    session = create(place, now)

    listings.submit_book(staff, book, now=now)
    programme.submit_session(staff, session, now=now)
    partners.update_profile(staff, partner, partners.ProfileFields(
        name=partner.name, website="https://lit.example.org"), now=now)
    partners.update_profile(place["coordinator"], partner, partners.ProfileFields(
        name=partner.name, website="https://lit.example.org/about"), now=now)

    assert entries(db) == [("listing.submit", "book", staff.id),
                           ("listing.submit", "session", staff.id),
                           ("partner.update", "partner", staff.id)]
    update = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "partner.update")).one()
    assert update.changes == {"website": ["", "https://lit.example.org"]}
