"""Availability windows turn into readings; changes never drop a booking silently."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from support import AFTER_BOOKING
from booking.services import availability, reservations
from booking.services.availability import ConfirmationNeeded, VolunteerConflict
from booking.domain.errors import DomainError, Forbidden, ValidationFailed
from booking.domain.models import AvailabilityWindow, Booking, BookingStatus, HostRole, OutboxMessage, Role, Slot, SlotStatus, User
from booking.domain.commands import Patron, Schedule, Window

CHICAGO = ZoneInfo("America/Chicago")
DAY = datetime(2031, 6, 14)  # a Saturday well in the future, CDT (UTC-5)


def local(hour: int, minute: int = 0, day: datetime = DAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


def window(starts: datetime, ends: datetime, **settings) -> Window:
    """A window from `starts` to `ends` (local times), with the Window command's defaults."""
    return Window(starts=starts, ends=ends, **settings)


def schedule(*windows: Window) -> Schedule:
    return Schedule(windows=windows)


@pytest.fixture
def event(make_event):
    return make_event(
        starts_at=local(9).replace(tzinfo=CHICAGO).astimezone(timezone.utc),
        ends_at=local(17).replace(tzinfo=CHICAGO).astimezone(timezone.utc),
        max_bookings_per_patron=5,
    )


@pytest.fixture
def book(make_book):
    return make_book(title="Refugee")


def slots_of(db, book) -> list[Slot]:
    return list(db.session.scalars(sa.select(Slot).where(Slot.book_id == book.id)
                                   .order_by(Slot.starts_at)))


def open_times(db, book) -> list[str]:
    return [f"{s.starts_at.astimezone(CHICAGO):%H:%M}" for s in slots_of(db, book)
            if s.status == SlotStatus.OPEN]


def snapshot(db):
    """Everything about slots and bookings, to prove a refused change changed nothing."""
    db.session.expire_all()
    slots = db.session.execute(sa.select(Slot.id, Slot.status, Slot.capacity, Slot.booked,
                                         Slot.sequence).order_by(Slot.id)).all()
    bookings = db.session.execute(sa.select(Booking.id, Booking.status, Booking.slot_id)
                                  .order_by(Booking.id)).all()
    windows = db.session.execute(sa.select(AvailabilityWindow.starts_local,
                                           AvailabilityWindow.ends_local)).all()
    outbox = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    return slots, bookings, sorted(windows), outbox


def test_a_window_becomes_readings_at_local_wall_clock_times(db, event, book, now):
    availability.save(None, event, book, schedule(window(local(10), local(12), readers=2)), now=now)
    assert open_times(db, book) == ["10:00", "10:40", "11:20"]
    first = slots_of(db, book)[0]
    assert first.starts_at == datetime(2031, 6, 14, 15, 0, tzinfo=timezone.utc)
    assert first.capacity == 2


def test_rest_after_n_readings_is_respected(db, event, book, now):
    spec = window(local(10), local(13), reading_minutes=20, break_minutes=5, rest_after=2,
                  rest_minutes=30)
    availability.save(None, event, book, schedule(spec), now=now)
    assert open_times(db, book) == ["10:00", "10:25", "11:15", "11:40", "12:30"]


def test_saving_the_same_windows_again_keeps_slots_and_bookings(db, event, book, now):
    spec = [window(local(10), local(12))]
    availability.save(None, event, book, schedule(*spec), now=now)
    ids = [s.id for s in slots_of(db, book)]
    reservation = reservations.book(
        ids[0],
        Patron.parse(name="Ada", email="ada@example.org", accept_agreement=True),
        now=now,
    )
    before = snapshot(db)
    plan = availability.save(None, event, book, schedule(*spec), now=now)
    assert not plan.changes_anything
    assert snapshot(db) == before
    assert db.session.get(Booking, reservation.booking.id).status == BookingStatus.CONFIRMED


def test_extending_a_window_adds_readings_and_keeps_the_existing_ones(db, event, book, now):
    availability.save(None, event, book, schedule(window(local(10), local(11))), now=now)
    [first] = slots_of(db, book)
    availability.save(None, event, book, schedule(window(local(10), local(12))), now=now)
    assert open_times(db, book) == ["10:00", "10:40", "11:20"]
    assert slots_of(db, book)[0].id == first.id


def test_shrinking_a_window_with_a_booking_asks_first_and_changes_nothing(db, event, book, now):
    availability.save(None, event, book, schedule(window(local(10), local(12))), now=now)
    last = slots_of(db, book)[-1]
    reservations.book(
        last.id,
        Patron.parse(name="Ada", email="ada@example.org", accept_agreement=True),
        now=now,
    )
    before = snapshot(db)
    with pytest.raises(ConfirmationNeeded) as refused:
        availability.save(None, event, book, schedule(window(local(10), local(11))), now=now)
    assert [b.patron_name for b in refused.value.plan.lost] == ["Ada"]
    assert snapshot(db) == before


def test_confirmed_shrink_cancels_with_reason_and_notification_and_nothing_else(
    db, event, book, make_book, now
):
    other = make_book(title="Other book")
    availability.save(None, event, other, schedule(window(local(10), local(12))), now=now)
    availability.save(None, event, book, schedule(window(local(10), local(12))), now=now)
    kept, _, dropped = slots_of(db, book)
    keep_booking = reservations.book(
        kept.id,
        Patron.parse(name="Bo", email="bo@example.org", accept_agreement=True),
        now=now,
    ).booking
    lost_booking = reservations.book(
        dropped.id,
        Patron.parse(name="Ada", email="ada@example.org", accept_agreement=True),
        now=now,
    ).booking
    other_before = [(s.id, s.status, s.booked) for s in slots_of(db, other)]

    availability.save(None, event, book, schedule(window(local(10), local(11, 30))), now=now,
                      confirmed={lost_booking.id}, reason="The volunteer has to leave early.")

    db.session.expire_all()
    lost = db.session.get(Booking, lost_booking.id)
    assert lost.status == BookingStatus.CANCELLED
    assert lost.cancel_reason == "The volunteer has to leave early."
    assert db.session.get(Slot, dropped.id).status == SlotStatus.CANCELLED
    assert db.session.get(Slot, dropped.id).booked == 0
    assert db.session.get(Booking, keep_booking.id).status == BookingStatus.CONFIRMED
    assert [(s.id, s.status, s.booked) for s in slots_of(db, other)] == other_before
    [message] = db.session.scalars(sa.select(OutboxMessage).where(AFTER_BOOKING)).all()
    assert message.kind == "booking_cancelled" and message.to_email == "ada@example.org"
    assert message.booking_id == lost.id
    assert message.payload["reason"] == "The volunteer has to leave early."


def test_removing_every_window_cancels_the_slots_and_a_waitlist_too(db, event, book, now):
    availability.save(None, event, book, schedule(window(local(10), local(10, 30))), now=now)
    [slot] = slots_of(db, book)
    reservations.book(
        slot.id,
        Patron.parse(name="Ada", email="ada@example.org", accept_agreement=True),
        now=now,
    )
    waiting = reservations.book(
        slot.id,
        Patron.parse(name="Cy", email="cy@example.org", accept_agreement=True),
        now=now,
    ).booking
    assert waiting.status == BookingStatus.WAITLISTED
    with pytest.raises(ConfirmationNeeded) as asked:
        availability.save(None, event, book, schedule(), now=now)
    availability.save(None, event, book, schedule(), now=now,
                      confirmed={b.id for b in asked.value.plan.lost})
    db.session.expire_all()
    assert db.session.get(Booking, waiting.id).status == BookingStatus.CANCELLED
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage).where(AFTER_BOOKING)) == 2


def test_offering_a_removed_time_again_reopens_the_same_slot(db, event, book, now):
    availability.save(None, event, book, schedule(window(local(10), local(10, 30))), now=now)
    [slot] = slots_of(db, book)
    availability.save(None, event, book, schedule(), now=now)
    availability.save(None, event, book, schedule(window(local(10), local(10, 30))), now=now)
    [again] = slots_of(db, book)
    assert again.id == slot.id and again.status == SlotStatus.OPEN
    assert again.sequence == 2


def test_fewer_readers_cancels_the_newest_booking_after_confirmation(db, event, book, now):
    availability.save(None, event, book, schedule(window(local(10), local(10, 30), readers=2)),
                      now=now)
    [slot] = slots_of(db, book)
    first = reservations.book(
        slot.id,
        Patron.parse(name="Ada", email="ada@example.org", accept_agreement=True),
        now=now,
    ).booking
    second = reservations.book(
        slot.id,
        Patron.parse(name="Bo", email="bo@example.org", accept_agreement=True),
        now=now + timedelta(seconds=1),
    ).booking
    with pytest.raises(ConfirmationNeeded) as refused:
        availability.save(None, event, book, schedule(window(local(10), local(10, 30), readers=1)),
                          now=now)
    assert [b.id for b in refused.value.plan.lost] == [second.id]
    availability.save(None, event, book, schedule(window(local(10), local(10, 30), readers=1)),
                      now=now, confirmed={second.id})
    db.session.expire_all()
    assert db.session.get(Booking, first.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Booking, second.id).status == BookingStatus.CANCELLED
    assert db.session.get(Slot, slot.id).capacity == 1
    assert db.session.get(Slot, slot.id).booked == 1


def test_more_readers_promotes_the_waitlist(db, event, book, now):
    availability.save(None, event, book, schedule(window(local(10), local(10, 30), readers=1)),
                      now=now)
    [slot] = slots_of(db, book)
    reservations.book(
        slot.id,
        Patron.parse(name="Ada", email="ada@example.org", accept_agreement=True),
        now=now,
    )
    waiting = reservations.book(
        slot.id,
        Patron.parse(name="Bo", email="bo@example.org", accept_agreement=True),
        now=now,
    ).booking
    availability.save(None, event, book, schedule(window(local(10), local(10, 30), readers=2)),
                      now=now)
    db.session.expire_all()
    assert db.session.get(Booking, waiting.id).status == BookingStatus.CONFIRMED
    kinds = db.session.scalars(sa.select(OutboxMessage.kind).where(AFTER_BOOKING)).all()
    assert kinds == ["waitlist_promoted"]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([dict(starts=local(12), ends=local(10))], "ends before it starts"),
        ([dict(starts=local(10), ends=local(12)), dict(starts=local(11), ends=local(13))],
         "overlap"),
        ([dict(starts=local(7), ends=local(10))], "outside the event"),
        ([dict(starts=local(16), ends=local(18))], "outside the event"),
        ([dict(starts=local(10), ends=local(11), readers=0)], "1 to 3"),
        ([dict(starts=local(10), ends=local(11), readers=4)], "1 to 3"),
        ([dict(starts=local(10), ends=local(10, 20))], "No 30-minute reading fits"),
        ([dict(starts=local(10), ends=local(11), reading_minutes=0)], "5 to 240 minutes"),
    ],
)
def test_bad_windows_are_refused_with_a_reason_and_change_nothing(
    db, event, book, now, specs, message
):
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as refused:
        availability.save(None, event, book, Schedule.parse(windows=specs), now=now)
    assert any(message in text for text in refused.value.errors["windows"])
    assert snapshot(db) == before


def test_a_volunteer_cannot_read_at_two_overlapping_events(db, event, book, make_event, now):
    other = make_event(starts_at=event.starts_at, ends_at=event.ends_at, title="Other library")
    availability.save(None, other, book, schedule(window(local(10), local(11, 30))),
                      now=now)  # to 11:10
    before = snapshot(db)
    with pytest.raises(VolunteerConflict) as refused:
        availability.save(None, event, book, schedule(window(local(10, 30), local(12))), now=now)
    assert "Other library" in refused.value.message
    assert snapshot(db) == before
    availability.save(None, event, book, schedule(window(local(11, 10), local(12))),
                      now=now)  # adjacent


def test_readings_follow_the_wall_clock_across_the_spring_change(db, make_event, book, now):
    night = datetime(2031, 3, 9)  # clocks go 02:00 -> 03:00 in Chicago
    event = make_event(
        starts_at=datetime(2031, 3, 9, 0, 0, tzinfo=CHICAGO).astimezone(timezone.utc),
        ends_at=datetime(2031, 3, 9, 6, 0, tzinfo=CHICAGO).astimezone(timezone.utc),
    )
    availability.save(None, event, book,
                      schedule(window(local(1, 0, night), local(4, 0, night), break_minutes=0)),
                      now=now)
    slots = slots_of(db, book)
    # 01:30-02:00 would end in the hour the clock skips, so it is not offered.
    assert [f"{s.starts_at.astimezone(CHICAGO):%H:%M}" for s in slots] == [
        "01:00", "03:00", "03:30"]
    assert slots[0].starts_at == datetime(2031, 3, 9, 7, 0, tzinfo=timezone.utc)  # CST
    assert slots[1].starts_at == datetime(2031, 3, 9, 8, 0, tzinfo=timezone.utc)  # CDT


def test_a_booking_made_after_the_confirmation_page_is_not_cancelled_but_asked_about(
        db, event, book, now):
    availability.save(None, event, book, schedule(window(local(10), local(12))), now=now)
    _, second, third = slots_of(db, book)
    shown = reservations.book(third.id, Patron.parse(name="Ada", email="ada@example.org"), now=now).booking
    with pytest.raises(ConfirmationNeeded) as asked:
        availability.save(None, event, book, schedule(window(local(10), local(10, 30))), now=now)
    confirmed = {b.id for b in asked.value.plan.lost}
    assert confirmed == {shown.id}
    # Someone books a reading the change also removes while the page is on screen.
    unseen = reservations.book(second.id, Patron.parse(name="Bo", email="bo@example.org"), now=now).booking
    before = snapshot(db)
    with pytest.raises(ConfirmationNeeded) as again:
        availability.save(None, event, book, schedule(window(local(10), local(10, 30))), now=now,
                          confirmed=confirmed)
    assert {b.id for b in again.value.plan.lost} == {shown.id, unseen.id}
    assert again.value.unseen == {unseen.id}
    assert "changed since you looked" in again.value.message
    assert snapshot(db) == before
    availability.save(None, event, book, schedule(window(local(10), local(10, 30))), now=now,
                      confirmed={shown.id, unseen.id})
    db.session.expire_all()
    assert {db.session.get(Booking, b.id).status for b in (shown, unseen)} == {
        BookingStatus.CANCELLED}


def test_a_confirmed_booking_that_is_gone_since_does_not_hold_the_change_up(
        db, event, book, now):
    availability.save(None, event, book, schedule(window(local(10), local(11, 10))), now=now)
    _, last = slots_of(db, book)
    listed = reservations.book(last.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    left = reservations.book(last.id, Patron.parse(name="Bo", email="bo@example.org"), now=now)
    reservations.cancel(left.token, now=now)  # after the page listed both
    availability.save(None, event, book, schedule(window(local(10), local(10, 30))), now=now,
                      confirmed={listed.booking.id, left.booking.id})
    db.session.expire_all()
    assert db.session.get(Booking, listed.booking.id).status == BookingStatus.CANCELLED


def test_a_bare_yes_is_not_a_confirmation(db, event, book, now):
    availability.save(None, event, book, schedule(window(local(10), local(10, 30))), now=now)
    [slot] = slots_of(db, book)
    reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    before = snapshot(db)
    with pytest.raises(TypeError):
        availability.save(None, event, book, schedule(), now=now, confirmed=True)
    assert snapshot(db) == before


# Who may change a book's availability, and where: rules the pages used to hold alone -------


def test_only_staff_the_books_coordinator_or_its_volunteer_change_its_availability(
    db, make_event, make_partner, book, staff, now
):
    event = make_event(starts_at=local(9).replace(tzinfo=CHICAGO).astimezone(timezone.utc),
                       ends_at=local(17).replace(tzinfo=CHICAGO).astimezone(timezone.utc),
                       hosts=[(book.partner, HostRole.HOST)])
    other = make_partner("Museum")
    people = {
        "coordinator": User(email="c@example.org", role=Role.COORDINATOR,
                            partner_id=book.partner_id),
        "volunteer": User(email="v@example.org", role=Role.VOLUNTEER,
                          partner_id=book.partner_id, human_book_id=book.id),
        "other coordinator": User(email="o@example.org", role=Role.COORDINATOR,
                                  partner_id=other.id),
        "other volunteer": User(email="w@example.org", role=Role.VOLUNTEER,
                                partner_id=book.partner_id),
    }
    db.session.add_all(people.values())
    db.session.commit()
    for who in ("other coordinator", "other volunteer"):
        with pytest.raises(Forbidden):
            availability.save(people[who], event, book, schedule(window(local(10), local(11))),
                              now=now)
    assert slots_of(db, book) == []
    for hours, user, last in ((11, staff, "10:00"), (12, people["coordinator"], "11:20"),
                              (13, people["volunteer"], "12:00")):
        availability.save(user, event, book, schedule(window(local(10), local(hours))),
                          now=now)
        assert open_times(db, book)[-1] == last


def test_a_person_schedules_a_book_only_at_an_event_its_partner_co_hosts(
    db, event, book, staff, now
):
    before = snapshot(db)
    with pytest.raises(DomainError, match="does not co-host an upcoming event"):
        availability.save(staff, event, book, schedule(window(local(10), local(11))), now=now)
    assert snapshot(db) == before
    # A copy of an event's schedule, made by the system as part of another change, is not
    # a person's choice: it follows the event it copies.
    availability.save(None, event, book, schedule(window(local(10), local(11))), now=now)
    assert open_times(db, book) == ["10:00"]


def test_a_reason_longer_than_the_box_takes_asks_again_and_changes_nothing(
    db, event, book, now
):
    availability.save(None, event, book, schedule(window(local(10), local(10, 30))), now=now)
    [slot] = slots_of(db, book)
    booking = reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"),
                                now=now).booking
    before = snapshot(db)
    with pytest.raises(ConfirmationNeeded) as asked:
        availability.save(None, event, book, schedule(), now=now, confirmed={booking.id},
                          reason="x" * (availability.REASON_MAX + 1))
    assert "at most 300 characters" in asked.value.message
    assert snapshot(db) == before
    availability.save(None, event, book, schedule(), now=now, confirmed={booking.id},
                      reason="x" * availability.REASON_MAX)
    assert snapshot(db) != before
