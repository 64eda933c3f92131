"""The audit log covers every change to a public listing, whoever makes it: staff (also when
they act for a partner), a partner's coordinator, a volunteer."""
from __future__ import annotations

import sqlalchemy as sa

from booking.services import availability, listings, partners, programme, reservations
from booking.domain.models import AuditEntry, ListingStatus
from support import create, fields, local, sign_in_as as sign_in
from booking.domain.commands import BookListing, Patron, Profile, Schedule, Window


def entries(db) -> list[tuple[str, str, int]]:
    db.session.expire_all()
    return [(e.action, e.target_type, e.user_id) for e in
            db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


def book_fields(title: str) -> BookListing:
    return BookListing.parse(title=title, blurb="Ask me anything.")


def recorded(db, action: str) -> list[AuditEntry]:
    """The entries of one action, oldest first."""
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).all()


def last_entry(db) -> AuditEntry:
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()


def test_staff_reviewing_a_session_is_audited_like_a_book(db, place, now):
    session = create(place, now)
    programme.submit_session(place["coordinator"], session, now=now)

    programme.review_session(place["staff"], session, approve=False, now=now)

    entry = last_entry(db)
    assert (entry.action, entry.target_type, entry.target_id, entry.event_id) == (
        "listing.send_back", "session", session.id, session.event_id)
    assert entry.changes == {"listing_status": ["submitted", "draft"]}


def test_a_coordinators_changes_to_a_session_are_audited_as_staffs_are(db, place, now):
    coordinator, staff = place["coordinator"], place["staff"]
    session = create(place, now)
    programme.update_session(coordinator, session, fields(title="Tales"), now=now)
    programme.submit_session(coordinator, session, now=now)

    programme.update_session(staff, session,
                             fields(title="Tales", start=(12, 0), end=(13, 0)), now=now)
    programme.retire_session(coordinator, session, now=now)

    assert entries(db) == [("session.add", "session", coordinator.id),
                           ("session.update", "session", coordinator.id),
                           ("listing.submit", "session", coordinator.id),
                           ("session.update", "session", staff.id),
                           ("session.retire", "session", coordinator.id)]
    updates = recorded(db, "session.update")
    assert updates[0].changes == {"title": ["Storytime", "Tales"], "bookings_cancelled": 0}
    assert set(updates[1].changes) == {"starts_at", "ends_at", "bookings_cancelled"}
    assert {entry.event_id for entry in updates} == {place["event"].id}


def test_staff_retiring_a_session_with_bookings_is_audited_with_the_count(db, place, now):
    session = create(place, now)
    slot = programme.session_slot(session)
    booking = reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now).booking

    programme.retire_session(place["staff"], session, now=now, confirmed=[booking.id])

    entry = last_entry(db)
    assert entry.action == "session.retire"
    assert entry.changes == {"listing_status": ["draft", "retired"], "bookings_cancelled": 1}


def test_creating_editing_and_retiring_a_book_are_audited_whoever_does_it(db, place, now):
    staff, coordinator = place["staff"], place["coordinator"]
    book = listings.create_book(staff, place["partner"], book_fields("Nurse"), now=now)
    listings.update_book(staff, book, book_fields("Retired nurse"), now=now)
    listings.update_book(staff, book, book_fields("Retired nurse"), now=now)  # no change
    listings.update_book(coordinator, book, book_fields("Nurse, retired"), now=now)
    listings.retire_book(staff, book, now=now)
    own = listings.create_book(coordinator, place["partner"], book_fields("Teacher"), now=now)
    listings.retire_book(coordinator, own, now=now)

    assert entries(db) == [
        ("book.create", "book", staff.id), ("book.update", "book", staff.id),
        ("book.update", "book", coordinator.id), ("book.retire", "book", staff.id),
        ("book.create", "book", coordinator.id), ("book.retire", "book", coordinator.id)]
    updates = recorded(db, "book.update")
    assert [update.changes for update in updates] == [
        {"title": ["Nurse", "Retired nurse"]}, {"title": ["Retired nurse", "Nurse, retired"]}]
    assert db.session.get(type(book), book.id).listing_status == ListingStatus.RETIRED


def test_saving_a_books_availability_is_audited_on_the_event_as_whoever_saved_it(
    db, place, now
):
    event, book = place["event"], place["book"]
    availability.save(None, event, book,
                      Schedule(windows=[Window(starts=local(10), ends=local(11))]), now=now)
    assert entries(db) == []  # no one named: part of another change (a copied event)

    for hours, who in ((12, "staff"), (13, "coordinator"), (14, "volunteer")):
        availability.save(place[who], event, book,
                          Schedule(windows=[Window(starts=local(10), ends=local(hours))]), now=now)

    assert entries(db) == [("availability.save", "event", place[who].id)
                           for who in ("staff", "coordinator", "volunteer")]
    entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).first()
    assert (entry.target_id, entry.event_id) == (event.id, event.id)
    assert entry.changes["book"] == "Refugee" and entry.changes["readings_added"] == 2


def test_submitting_listings_and_editing_a_partners_profile_are_audited(db, place, now):
    staff, coordinator, partner = place["staff"], place["coordinator"], place["partner"]
    book = listings.create_book(coordinator, partner, book_fields("Nurse"), now=now)
    session = create(place, now)

    listings.submit_book(staff, book, now=now)
    programme.submit_session(coordinator, session, now=now)
    partners.update_profile(staff, partner, Profile.parse(
        name=partner.name, website="https://lit.example.org"), now=now)
    partners.update_profile(coordinator, partner, Profile.parse(
        name=partner.name, website="https://lit.example.org/about"), now=now)

    assert entries(db) == [("book.create", "book", coordinator.id),
                           ("session.add", "session", coordinator.id),
                           ("listing.submit", "book", staff.id),
                           ("listing.submit", "session", coordinator.id),
                           ("partner.update", "partner", staff.id),
                           ("partner.update", "partner", coordinator.id)]
    assert [update.changes["website"] for update in recorded(db, "partner.update")] == [
        ["", "https://lit.example.org"],
        ["https://lit.example.org", "https://lit.example.org/about"]]


def test_a_coordinators_edit_on_the_dashboard_shows_on_the_staff_audit_page_with_who(
    app, submit, login, world
):
    book, session = world["own_book"], world["own_session"]
    login(world["coordinator"])
    edited = submit(f"/partner/books/{book.id}", {"title": "Learned to read at forty",
                                                  "blurb": "Ask me anything."})
    retired = submit("/partner/", {}, action=f"/partner/sessions/{session.id}/retire")
    assert (edited.status_code, retired.status_code) == (303, 303)

    staff = app.test_client()
    sign_in(staff, world["staff"])
    page = staff.get("/staff/events/audit").get_data(as_text=True)
    who = 'coord <span class="muted">(coordinator of Literacy Council)</span>'
    assert page.count(who) == 2
    assert f"book {book.id}" in page and "Learned to read at forty" in page
    # The event filter still works: a book belongs to no event, a session to its own.
    filtered = staff.get(f"/staff/events/audit?event={world['event'].id}").get_data(as_text=True)
    assert "session.retire" in filtered and "book.update" not in filtered and who in filtered
