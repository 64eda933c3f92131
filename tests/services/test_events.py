"""Staff event management as services: events, clones, cancellations, hosts and the audit log."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from support import AFTER_BOOKING, event_fields, local_day
from booking.services import audit, availability, events, listings, reservations
from booking.domain.errors import DomainError, Forbidden, SpanConflict, ValidationFailed
from booking.domain.models import AuditEntry, AvailabilityWindow, Booking, BookingStatus, Event, EventHost, EventStatus, HostRole, ListingStatus, OutboxMessage, ProgramSession, Role, Slot, SlotStatus, User
from booking.domain.commands import Cancellation, CloneEvent, Hosts, Patron, Schedule, Window


def reason(text: str) -> Cancellation:
    return Cancellation.parse(reason=text)


def host_roles(*pairs) -> Hosts:
    return Hosts.parse(hosts=pairs)


def starting(local: datetime) -> CloneEvent:
    return CloneEvent.parse(starts=local)


def count(db, model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def an_hour_of_readings(event, book, local_start: datetime, now) -> None:
    """The book's availability at the event: one window, an hour from `local_start`."""
    availability.save(None, event, book, Schedule(windows=[Window(
        starts=local_start, ends=local_start + timedelta(hours=1))]), now=now)


def book_reader(slot, n: int, now, **kwargs):
    return reservations.book(
        slot.id,
        Patron.parse(name=f"Reader Person {n}", email=f"reader{n}@example.org", accept_agreement=True, **kwargs),
        now=now,
    ).booking


def test_creating_an_event_stores_utc_and_makes_a_unique_slug(staff, now):
    first = events.create_event(staff, event_fields(), now)
    second = events.create_event(staff, event_fields(), now)

    assert first.status == EventStatus.DRAFT and first.slug == "spring-human-library"
    assert second.slug == "spring-human-library-2"
    assert first.starts_at.utcoffset() == timedelta(0)
    assert events.to_local(first.starts_at, "America/Chicago") == local_day()


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"timezone": "Mars/Olympus"}, "timezone", "from the list"),
    ({"ends": local_day() - timedelta(hours=1)}, "ends", "end after it starts"),
    ({"registration_opens": local_day() - timedelta(days=2),
      "registration_closes": local_day() - timedelta(days=3)}, "registration_closes", "close after"),
    ({"max_bookings_per_patron": 0}, "max_bookings_per_patron", "1 to 50"),
    ({"max_seats_per_booking": -3}, "max_seats_per_booking", "1 to 50"),
    ({"max_seats_per_booking": 10**30}, "max_seats_per_booking", "1 to 50"),
    ({"title": "  "}, "title", "Give the event a title"),
    ({"title": "x" * 5000}, "title", "at most 200 characters"),
    ({"venue": "Room\x001"}, "venue", "control characters"),
    ({"slug": "Not A Slug!"}, "slug", "lower-case"),
    ({"slug": "audit"}, "slug", "already uses"),
    ({"starts": None}, "starts", "Enter when the event starts"),
    ({"starts": "tomorrow"}, "starts", "Enter a date and time such as"),
    ({"starts": datetime(9999, 12, 31, 23), "ends": datetime(9999, 12, 31, 23, 30)}, "starts",
     "between the years 1900 and 2999"),
    ({"registration_opens": datetime(1, 1, 1)}, "registration_opens", "between the years"),
])
def test_bad_event_fields_get_clear_messages_and_nothing_is_stored(db, staff, now, changes,
                                                                    field, message):
    with pytest.raises(ValidationFailed) as caught:
        events.create_event(staff, event_fields(**changes), now)

    assert message in " ".join(caught.value.errors[field])
    assert count(db, Event) == 0 and count(db, AuditEntry) == 0


def test_a_local_time_skipped_by_daylight_saving_is_refused(staff, now):
    gap = datetime(now.year + 1, 3, 14, 2, 30)  # US clocks jump from 02:00 to 03:00 around here
    while gap.weekday() != 6:  # back to the second Sunday of March
        gap -= timedelta(days=1)
    with pytest.raises(ValidationFailed) as caught:
        events.create_event(staff, event_fields(starts=gap, ends=gap + timedelta(hours=5)), now)
    assert "does not exist" in caught.value.errors["starts"][0]


def test_a_taken_slug_is_refused_but_an_event_may_keep_its_own(db, staff, now):
    first = events.create_event(staff, event_fields(slug="spring"), now)
    with pytest.raises(ValidationFailed):
        events.create_event(staff, event_fields(slug="spring"), now)
    events.update_event(staff, first, event_fields(slug="spring", title="Renamed"), now)
    events.update_event(staff, first, event_fields(slug="", title="Renamed again"), now)
    assert first.slug == "spring" and first.title == "Renamed again"


def test_only_staff_manage_events(db, now):
    coordinator = User(email="c@example.org", role=Role.COORDINATOR)
    db.session.add(coordinator)
    db.session.commit()
    with pytest.raises(Forbidden):
        events.create_event(coordinator, event_fields(), now)


def test_a_new_place_is_e_mailed_to_every_patron_with_an_upcoming_booking(
        db, staff, make_event, make_slot, now):
    event = make_event(venue="Main Library, Room 1")
    slot = make_slot(event, capacity=3)
    kept = [book_reader(slot, n, now) for n in (1, 2)]
    gone = book_reader(make_slot(event, starts_at=event.starts_at + timedelta(hours=3)), 3, now)
    events.cancel_slot(staff, gone.slot, reason("The book is ill."), now)
    same_times = dict(title=event.title, slug=event.slug, timezone=event.timezone,
                      venue=event.venue,
                      starts=events.to_local(event.starts_at, event.timezone),
                      ends=events.to_local(event.ends_at, event.timezone))

    events.update_event(staff, event, event_fields(**same_times, description="New words."), now)
    assert count(db, OutboxMessage, OutboxMessage.kind == "schedule_changed") == 0

    events.update_event(staff, event, event_fields(**{**same_times, "venue": "Annex, Hall B"}), now)
    messages = db.session.scalars(sa.select(OutboxMessage)
                                  .where(OutboxMessage.kind == "schedule_changed")).all()
    assert sorted(m.booking_id for m in messages) == sorted(b.id for b in kept)
    assert messages[0].payload["what_changed"] == "It now takes place at Annex, Hall B."


def test_a_new_agreement_applies_to_new_bookings_only(db, staff, make_event, make_slot, now):
    event = make_event(agreement_text="Be kind.")
    slot = make_slot(event, capacity=3)
    earlier = book_reader(slot, 1, now)
    fields = event_fields(title=event.title, slug=event.slug,
                          starts=events.to_local(event.starts_at, event.timezone),
                          ends=events.to_local(event.ends_at, event.timezone),
                          timezone=event.timezone, agreement_text="Be kind. No recording.")

    events.update_event(staff, event, fields, now)
    later = book_reader(slot, 2, now)
    events.update_event(staff, event, fields, now)  # same text again: no new version

    db.session.expire_all()
    assert db.session.get(Event, event.id).agreement_version == 2
    assert db.session.get(Booking, earlier.id).agreement_version == 1
    assert db.session.get(Booking, later.id).agreement_version == 2


def test_moving_the_event_away_from_booked_readings_is_refused(db, staff, make_event,
                                                               make_slot, now):
    event = make_event()
    booked = make_slot(event, starts_at=event.starts_at + timedelta(hours=1))
    free = make_slot(event, starts_at=event.starts_at + timedelta(hours=5))
    book_reader(booked, 1, now)
    local_start = events.to_local(event.starts_at, event.timezone)
    later = event_fields(title=event.title, timezone=event.timezone,
                         starts=local_start + timedelta(hours=2),
                         ends=local_start + timedelta(hours=8))

    with pytest.raises(SpanConflict) as caught:
        events.update_event(staff, event, later, now)
    assert booked.resource_title in caught.value.message and "1 booked" in caught.value.message
    db.session.expire_all()
    assert db.session.get(Event, event.id).starts_at == event.starts_at

    shorter = event_fields(title=event.title, timezone=event.timezone, starts=local_start,
                           ends=local_start + timedelta(hours=3))
    events.update_event(staff, event, shorter, now)
    db.session.expire_all()
    assert db.session.get(Slot, free.id).status == SlotStatus.CANCELLED
    assert db.session.get(Slot, booked.id).booked == 1


def test_cloning_shifts_windows_and_sessions_and_copies_no_bookings(
        db, staff, make_event, make_book, make_session, make_slot, make_partner, now):
    host, sponsor = make_partner("Library"), make_partner("Bank")
    event = make_event(hosts=[(host, HostRole.HOST), (sponsor, HostRole.SPONSOR)],
                       agreement_text="Be kind.", max_bookings_per_patron=2)
    book = make_book(host)
    local_start = events.to_local(event.starts_at, event.timezone)
    availability.save(None, event, book,
                      Schedule(windows=[Window(starts=local_start + timedelta(hours=1),
                                               ends=local_start + timedelta(hours=2),
                                               break_minutes=0)]),
                      now=now)
    session = make_session(event, host, title="Storytime")
    make_slot(event, session=session, starts_at=event.starts_at + timedelta(hours=3), capacity=20)
    reading = db.session.scalars(sa.select(Slot).where(Slot.book_id == book.id)).first()
    book_reader(reading, 1, now)

    copy, problems = events.clone_event(staff, event, starting(local_start + timedelta(days=14)),
                                        now)

    assert problems == []
    assert copy.status == EventStatus.DRAFT and copy.slug != event.slug
    assert copy.agreement_text == "Be kind." and copy.max_bookings_per_patron == 2
    assert sorted((h.partner_id, h.role) for h in copy.hosts) == sorted(
        (h.partner_id, h.role) for h in event.hosts)
    assert events.to_local(copy.starts_at, copy.timezone) == local_start + timedelta(days=14)
    [window] = db.session.scalars(sa.select(AvailabilityWindow)
                                  .where(AvailabilityWindow.event_id == copy.id)).all()
    assert window.starts_local == local_start + timedelta(days=14, hours=1)
    copied = db.session.scalars(sa.select(Slot).where(Slot.event_id == copy.id)
                                .order_by(Slot.starts_at)).all()
    originals = db.session.scalars(sa.select(Slot).where(Slot.event_id == event.id)
                                   .order_by(Slot.starts_at)).all()
    assert [events.to_local(s.starts_at, copy.timezone) for s in copied] == [
        events.to_local(s.starts_at, event.timezone) + timedelta(days=14) for s in originals]
    assert all(s.booked == 0 for s in copied)
    [twin] = db.session.scalars(sa.select(ProgramSession)
                                .where(ProgramSession.event_id == copy.id)).all()
    assert twin.title == "Storytime" and twin.id != session.id
    assert count(db, Booking, Booking.event_id == copy.id) == 0


@pytest.mark.parametrize("starts", [datetime(9999, 12, 31, 23), datetime(3000, 1, 1, 10)])
def test_a_clone_in_a_far_off_year_is_refused_not_overflowed(db, staff, make_event, now, starts):
    event = make_event()
    with pytest.raises(ValidationFailed) as caught:
        events.clone_event(staff, event, starting(starts), now)
    assert "between the years 1900 and 2999" in caught.value.errors["starts"][0]
    assert count(db, Event) == 1


def test_a_clone_holds_back_the_same_walk_in_seats(staff, make_event, now):
    event = make_event(walk_in_seats_per_reading=2)
    copy, _ = events.clone_event(staff, event, starting(
        events.to_local(event.starts_at, event.timezone) + timedelta(days=7)), now)
    assert copy.walk_in_seats_per_reading == 2


def test_a_clone_must_start_in_the_future(staff, make_event, now):
    event = make_event()
    with pytest.raises(ValidationFailed):
        events.clone_event(staff, event, starting(events.to_local(now, event.timezone)
                                                  - timedelta(days=1)), now)


def test_cancelling_an_event_cancels_every_booking_with_a_reason_and_one_message_each(
        db, staff, make_event, make_slot, now):
    event, elsewhere = make_event(), make_event()
    first = make_slot(event, starts_at=event.starts_at + timedelta(hours=1))
    second = make_slot(event, starts_at=event.starts_at + timedelta(hours=2), capacity=2)
    kept_slot = make_slot(elsewhere)
    book_reader(first, 1, now)
    book_reader(first, 2, now)  # waitlisted
    book_reader(second, 3, now, seats=1)
    kept = book_reader(kept_slot, 4, now)
    sequences = {first.id: first.sequence, second.id: second.sequence}

    cancelled = events.cancel_event(staff, event, reason("The library is flooded."), now)

    assert cancelled == 3
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == EventStatus.CANCELLED
    for slot_id, sequence in sequences.items():
        slot = db.session.get(Slot, slot_id)
        assert slot.status == SlotStatus.CANCELLED and slot.booked == 0
        assert slot.sequence == sequence + 1
    bookings = db.session.scalars(sa.select(Booking).where(Booking.event_id == event.id)).all()
    assert {(b.status, b.cancel_reason) for b in bookings} == {
        (BookingStatus.CANCELLED, "The library is flooded.")}
    messages = db.session.scalars(sa.select(OutboxMessage).where(AFTER_BOOKING)).all()
    assert sorted(m.booking_id for m in messages) == sorted(b.id for b in bookings)
    assert {(m.kind, m.payload["reason"]) for m in messages} == {
        ("booking_cancelled", "The library is flooded.")}
    assert db.session.get(Booking, kept.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Event, elsewhere.id).status == EventStatus.PUBLISHED
    with pytest.raises(DomainError):
        events.cancel_event(staff, event, reason("Again."), now)


def test_cancelling_an_event_under_way_keeps_the_readings_held_and_in_progress(
        db, staff, make_event, make_slot, now):
    event = make_event()
    held = make_slot(event, starts_at=event.starts_at + timedelta(hours=1))
    in_progress = make_slot(event, starts_at=event.starts_at + timedelta(minutes=90))
    to_come = make_slot(event, starts_at=event.starts_at + timedelta(hours=2))
    readers = {slot.id: book_reader(slot, n, now)
               for n, slot in enumerate((held, in_progress, to_come))}
    clock = event.starts_at + timedelta(minutes=105)
    assert events.active_booking_count(event, starting_after=clock) == 1

    assert events.cancel_event(staff, event, reason("A storm is coming."), clock) == 1

    db.session.expire_all()
    status = {slot.id: (db.session.get(Slot, slot.id).status,
                        db.session.get(Booking, readers[slot.id].id).status)
              for slot in (held, in_progress, to_come)}
    assert status == {held.id: (SlotStatus.OPEN, BookingStatus.CONFIRMED),
                      in_progress.id: (SlotStatus.OPEN, BookingStatus.CONFIRMED),
                      to_come.id: (SlotStatus.CANCELLED, BookingStatus.CANCELLED)}
    assert db.session.get(Event, event.id).status == EventStatus.CANCELLED


def test_cancelling_needs_a_reason(db, staff, make_event, now):
    event = make_event()
    with pytest.raises(ValidationFailed):
        events.cancel_event(staff, event, reason("   "), now)
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == EventStatus.PUBLISHED


def test_cancelling_a_reading_cancels_only_its_bookings(db, staff, make_event, make_slot, now):
    event = make_event()
    doomed = make_slot(event, starts_at=event.starts_at + timedelta(hours=1))
    other = make_slot(event, starts_at=event.starts_at + timedelta(hours=2))
    gone, stays = book_reader(doomed, 1, now), book_reader(other, 2, now)

    assert events.cancel_slot(staff, doomed, reason("The book is ill."), now) == 1

    db.session.expire_all()
    assert db.session.get(Slot, doomed.id).status == SlotStatus.CANCELLED
    assert db.session.get(Booking, gone.id).cancel_reason == "The book is ill."
    assert db.session.get(Booking, stays.id).status == BookingStatus.CONFIRMED
    assert db.session.scalar(sa.select(sa.func.count()).where(AFTER_BOOKING)) == 1
    assert db.session.get(Event, event.id).status == EventStatus.PUBLISHED


def test_hosts_need_one_host_and_keep_partners_whose_books_are_booked(
        db, staff, make_event, make_partner, make_book, make_slot, now):
    library, museum, bank = make_partner("Library"), make_partner("Museum"), make_partner("Bank")
    event = make_event(hosts=[(library, HostRole.HOST), (museum, HostRole.CO_HOST)])
    book_reader(make_slot(event, book=make_book(museum)), 1, now)

    with pytest.raises(ValidationFailed):
        events.set_hosts(staff, event, host_roles((museum.id, "sponsor")), now)
    with pytest.raises(ValidationFailed):
        events.set_hosts(staff, event, host_roles((library.id, "chief")), now)
    with pytest.raises(DomainError) as caught:
        events.set_hosts(staff, event, host_roles((library.id, "host")), now)
    assert "Museum (1 booking)" in caught.value.message

    events.set_hosts(staff, event, host_roles((library.id, "co-host"), (museum.id, "host"),
                                    (bank.id, "sponsor")), now)
    db.session.expire_all()
    hosts = {h.partner.name: h.role for h in db.session.get(Event, event.id).hosts}
    assert hosts == {"Library": HostRole.CO_HOST, "Museum": HostRole.HOST,
                     "Bank": HostRole.SPONSOR}
    events.set_hosts(staff, event, host_roles((museum.id, "host")), now)
    db.session.expire_all()
    assert [h.partner.name for h in db.session.get(Event, event.id).hosts] == ["Museum"]


def test_publishing_takes_a_draft_with_a_host(db, staff, make_partner, now):
    event = events.create_event(staff, event_fields(), now)
    with pytest.raises(DomainError):
        events.publish_event(staff, event, now)
    events.set_hosts(staff, event, host_roles((make_partner().id, "host")), now)
    events.publish_event(staff, event, now)
    assert event.status == EventStatus.PUBLISHED
    with pytest.raises(DomainError):
        events.publish_event(staff, event, now)


def test_every_staff_change_is_audited_without_patron_data(
        db, staff, make_partner, make_book, now):
    partner = make_partner()
    event = events.create_event(staff, event_fields(), now)
    events.set_hosts(staff, event, host_roles((partner.id, "host")), now)
    events.publish_event(staff, event, now)
    book = make_book(partner, listing_status=ListingStatus.SUBMITTED)
    listings.review_book(staff, book, approve=True, now=now)
    local_start = events.to_local(event.starts_at, event.timezone)
    availability.save(None, event, book,
                      Schedule(windows=[Window(starts=local_start,
                                               ends=local_start + timedelta(hours=1))]),
                      now=now)
    slot = db.session.scalars(sa.select(Slot).where(Slot.event_id == event.id)).first()
    book_reader(slot, 7, now)
    events.cancel_slot(staff, slot, reason("Sorry."), now)
    events.cancel_event(staff, event, reason("Closed."), now)

    rows, more = audit.entries()
    assert [r.action for r in rows] == ["event.cancel", "slot.cancel", "listing.approve",
                                       "event.publish", "hosts.set", "event.create"]
    assert not more and all(r.user_id == staff.id and r.at == now for r in rows)
    assert rows[1].changes["bookings_cancelled"] == 1 and rows[1].event_id == event.id
    assert rows[2].event_id is None and rows[2].changes == {
        "listing_status": ["submitted", "approved"]}
    logged = json.dumps([r.changes for r in rows])
    assert "reader7" not in logged and "Reader Person" not in logged
    assert "Secret Volunteer" not in logged and "secret.volunteer" not in logged
    assert [r.action for r in audit.entries(event_id=event.id)[0]] == [
        "event.cancel", "slot.cancel", "event.publish", "hosts.set", "event.create"]


def test_an_event_that_is_over_cannot_be_cancelled(db, staff, make_event, now):
    event = make_event(starts_at=now - timedelta(hours=8), ends_at=now - timedelta(hours=2))
    with pytest.raises(DomainError):
        events.cancel_event(staff, event, reason("Too late."), now)
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == EventStatus.PUBLISHED


def test_a_clone_reports_readings_it_could_not_copy(db, staff, make_event, make_book, now):
    event = make_event()
    book = make_book()
    local_start = events.to_local(event.starts_at, event.timezone)
    an_hour_of_readings(event, book, local_start, now)
    # The same book is busy at the copy's time elsewhere: the copy is made, its readings not.
    busy = make_event(starts_at=event.starts_at + timedelta(days=7))
    an_hour_of_readings(busy, book, local_start + timedelta(days=7), now)

    copy, problems = events.clone_event(staff, event, starting(local_start + timedelta(days=7)),
                                        now)

    assert copy.status == EventStatus.DRAFT
    assert len(problems) == 1 and "two places at once" in problems[0]
    assert count(db, Slot, Slot.event_id == copy.id) == 0


def test_a_clone_copies_the_books_it_can_and_undoes_only_the_part_of_one_it_cannot(
        db, staff, make_event, make_book, now):
    event = make_event()
    free, busy_book = make_book(title="Free"), make_book(title="Busy")
    local_start = events.to_local(event.starts_at, event.timezone)
    for book in (free, busy_book):
        an_hour_of_readings(event, book, local_start, now)
    elsewhere = make_event(starts_at=event.starts_at + timedelta(days=7))
    an_hour_of_readings(elsewhere, busy_book, local_start + timedelta(days=7), now)

    copy, problems = events.clone_event(staff, event, starting(local_start + timedelta(days=7)),
                                        now)

    assert len(problems) == 1 and "“Busy”" in problems[0]
    db.session.expire_all()
    copied = db.session.scalars(sa.select(Slot).where(Slot.event_id == copy.id)).all()
    assert copied and {slot.book_id for slot in copied} == {free.id}
    assert {w.book_id for w in db.session.scalars(sa.select(AvailabilityWindow).where(
        AvailabilityWindow.event_id == copy.id))} == {free.id}


def test_a_clone_that_fails_half_way_leaves_nothing_behind(
        db, staff, make_event, make_book, make_session, make_slot, make_partner, monkeypatch,
        now):
    host = make_partner("Library")
    event = make_event(hosts=[(host, HostRole.HOST)])
    make_slot(event, session=make_session(event, host), capacity=20,
              starts_at=event.starts_at + timedelta(hours=3))
    first, second = make_book(host), make_book(host)
    local_start = events.to_local(event.starts_at, event.timezone)
    for book in (first, second):
        an_hour_of_readings(event, book, local_start, now)
    tables = (Event, EventHost, ProgramSession, Slot, AvailabilityWindow, AuditEntry)
    before = [count(db, table) for table in tables]
    replace_windows = availability.replace_windows

    def fails_at_the_second_book(user, copy, book, schedule, **kwargs):
        if book.id == second.id:
            raise RuntimeError("the database went away")
        return replace_windows(user, copy, book, schedule, **kwargs)

    monkeypatch.setattr(availability, "replace_windows", fails_at_the_second_book)
    with pytest.raises(RuntimeError):
        events.clone_event(staff, event, starting(local_start + timedelta(days=7)), now)

    db.session.expire_all()
    assert [count(db, table) for table in tables] == before
