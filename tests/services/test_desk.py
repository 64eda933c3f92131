"""The desk's services: book states across a day, check-in and no-show, walk-ins, held seats."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.services import desk, reservations
from booking.services.desk import BookState
from booking.domain.errors import AttendanceRefused, DeskBookingNotFound, Forbidden, PatronLimitReached, SlotUnavailable, ValidationFailed
from booking.domain.models import AuditEntry, AvailabilityWindow, Booking, BookingStatus, OutboxMessage, Role, Slot, User
from booking.domain.commands import Attendance, Patron, SeatsHeldBack, WalkIn

MIN = timedelta(minutes=1)


def held(seats) -> SeatsHeldBack:
    return SeatsHeldBack.parse(walk_in_seats=seats)


@pytest.fixture
def day(make_event, make_book, make_slot, db):
    """One book with readings 10:00, 10:40 and (after a rest) 11:40, 30 minutes each, in UTC
    wall time of the event's start; a 10-minute break in its availability window."""
    event = make_event(max_bookings_per_patron=5)
    book = make_book(title="Refugee")
    base = event.starts_at
    slots = [make_slot(event, book=book, starts_at=base + offset, capacity=2)
             for offset in (timedelta(0), 40 * MIN, 100 * MIN)]
    local = datetime(2026, 1, 1, 10, 0)
    db.session.add(AvailabilityWindow(event_id=event.id, book_id=book.id, starts_local=local,
                                      ends_local=local + timedelta(hours=3), break_minutes=10,
                                      rest_after=2, rest_minutes=30))
    db.session.commit()
    return {"event": event, "book": book, "slots": slots, "base": base}


def state_of(event, now):
    [book_desk] = desk.book_states(event, now)
    return book_desk


def test_a_book_goes_free_on_loan_free_resting_and_done_through_the_day(day, db):
    event, base, slots = day["event"], day["base"], day["slots"]
    reservations.book(
        slots[0].id,
        Patron.parse(name="Ann", email="ann@example.org"),
        now=base - 60 * MIN,
    )

    assert state_of(event, base - 60 * MIN).state == BookState.FREE
    on_loan = state_of(event, base + 5 * MIN)
    assert on_loan.state == BookState.ON_LOAN
    assert on_loan.until == slots[0].ends_at
    assert on_loan.next.slot.id == slots[1].id
    # The normal 10-minute break between the first two readings: free.
    assert state_of(event, base + 35 * MIN).state == BookState.FREE
    # The second reading has nobody in it: the book is free, and that reading is the next one.
    empty_now = state_of(event, base + 45 * MIN)
    assert empty_now.state == BookState.FREE and empty_now.next.slot.id == slots[1].id
    resting = state_of(event, base + 80 * MIN)
    assert resting.state == BookState.RESTING
    assert resting.until == slots[2].starts_at
    assert state_of(event, base + 200 * MIN).state == BookState.DONE


def test_a_no_show_only_reading_leaves_the_book_free(day, db):
    event, base, slots = day["event"], day["base"], day["slots"]
    booking = reservations.book(
        slots[0].id,
        Patron.parse(name="Ann", email="ann@example.org"),
        now=base - 60 * MIN,
    ).booking
    reservations.mark_no_show(booking.id, now=base + 5 * MIN)
    assert state_of(event, base + 6 * MIN).state == BookState.FREE


def test_without_windows_a_long_gap_is_a_rest(make_event, make_book, make_slot):
    event = make_event()
    book = make_book()
    base = event.starts_at
    make_slot(event, book=book, starts_at=base)
    make_slot(event, book=book, starts_at=base + 35 * MIN)  # 5-minute break: normal
    make_slot(event, book=book, starts_at=base + 95 * MIN)  # 30-minute gap: a rest
    assert state_of(event, base + 32 * MIN).state == BookState.FREE
    assert state_of(event, base + 70 * MIN).state == BookState.RESTING


def test_the_desk_lists_bookings_with_names_and_leaves_cancelled_ones_out(day):
    event, base, slots = day["event"], day["base"], day["slots"]
    kept = reservations.book(
        slots[0].id,
        Patron.parse(name="Ann", email="ann@example.org"),
        now=base - 2 * MIN,
    )
    gone = reservations.book(
        slots[0].id,
        Patron.parse(name="Bob", email="bob@example.org"),
        now=base - 2 * MIN,
    )
    reservations.cancel(gone.token, now=base - MIN)
    first = state_of(event, base).readings[0]
    assert [b.patron_name for b in first.bookings] == ["Ann"]
    assert kept.booking.id == first.bookings[0].id


# Check-in, no-show, undo ---------------------------------------------------------------------


def test_check_in_and_no_show_open_thirty_minutes_before_and_can_be_undone(day, db):
    base, slot = day["base"], day["slots"][0]
    booking = reservations.book(
        slot.id,
        Patron.parse(name="Ann", email="ann@example.org"),
        now=base - 120 * MIN,
    ).booking
    with pytest.raises(AttendanceRefused, match="30 minutes"):
        reservations.check_in(booking.id, now=base - 31 * MIN)
    assert reservations.check_in(booking.id, now=base - 30 * MIN).status == BookingStatus.ATTENDED
    with pytest.raises(AttendanceRefused, match="Undo"):
        reservations.mark_no_show(booking.id, now=base)
    assert reservations.undo_attendance(booking.id, now=base).status == BookingStatus.CONFIRMED
    assert reservations.mark_no_show(booking.id, now=base + MIN).status == BookingStatus.NO_SHOW
    db.session.expire_all()
    # Seats stay counted whatever the mark: a late patron's undo must find their seat.
    assert db.session.get(Slot, slot.id).booked == 1


def test_a_no_show_does_not_free_the_seat_for_the_waitlist(day, db):
    base, slot = day["base"], day["slots"][0]
    people = [reservations.book(
        slot.id,
        Patron.parse(name=f"P{n}", email=f"p{n}@example.org"),
        now=base - 60 * MIN,
    ).booking for n in range(3)]
    assert people[2].status == BookingStatus.WAITLISTED
    reservations.mark_no_show(people[0].id, now=base + 5 * MIN)
    db.session.expire_all()
    assert db.session.get(Booking, people[2].id).status == BookingStatus.WAITLISTED
    assert db.session.get(Slot, slot.id).booked == 2


@pytest.mark.parametrize("status", [BookingStatus.CANCELLED, BookingStatus.WAITLISTED])
def test_cancelled_and_waitlisted_bookings_cannot_be_checked_in(day, db, status):
    base, slot = day["base"], day["slots"][0]
    for n in range(2):
        reservations.book(
            slot.id,
            Patron.parse(name=f"P{n}", email=f"p{n}@example.org"),
            now=base - 9 * MIN,
        )
    reservation = reservations.book(
        slot.id,
        Patron.parse(name="Late", email="late@example.org"),
        now=base - 9 * MIN,
    )
    if status == BookingStatus.CANCELLED:
        reservations.cancel(reservation.token, now=base - 8 * MIN)
    with pytest.raises(AttendanceRefused):
        reservations.check_in(reservation.booking.id, now=base)
    db.session.expire_all()
    assert db.session.get(Booking, reservation.booking.id).status == status


def test_an_unknown_booking_or_one_of_another_event_is_not_found(day, make_event, now):
    booking = reservations.book(
        day["slots"][0].id,
        Patron.parse(name="Ann", email="ann@example.org"),
        now=day["base"] - 60 * MIN,
    ).booking
    with pytest.raises(DeskBookingNotFound):
        reservations.check_in(987654, now=now)
    with pytest.raises(DeskBookingNotFound):
        reservations.check_in(booking.id, now=now, event_id=make_event().id)


# Walk-ins ------------------------------------------------------------------------------------


def test_a_walk_in_needs_only_a_name_and_can_join_until_the_reading_ends(day, db):
    base, slot = day["base"], day["slots"][0]
    first = reservations.book(
        slot.id,
        WalkIn.parse(name="Walker", email="", check_in=True),
        now=base + 25 * MIN,
    ).booking
    second = reservations.book(slot.id, WalkIn.parse(name="Walker", email=""), now=base + 26 * MIN).booking
    assert first.walk_in and first.status == BookingStatus.ATTENDED
    assert second.status == BookingStatus.CONFIRMED
    # Each placeholder is its own identity, reserved and never e-mailed.
    assert first.patron_email != second.patron_email
    assert first.patron_email.endswith("@walk-in.invalid")
    with pytest.raises(SlotUnavailable, match="ended"):
        reservations.book(
            day["slots"][1].id,
            WalkIn.parse(name="Too late", email=""),
            now=day["slots"][1].ends_at,
        )
    with pytest.raises(SlotUnavailable, match="started"):
        reservations.book(slot.id, Patron.parse(name="Online", email="o@example.org"), now=base + MIN)


def test_a_walk_in_without_an_email_is_never_written_to(day, db):
    from booking.services import availability
    from booking.domain.commands import Schedule
    from booking.domain.models import OutboxMessage

    base, slot = day["base"], day["slots"][1]
    booking = reservations.book(slot.id, WalkIn.parse(name="Walker", email=""), now=base).booking
    # The book's schedule changes and the walk-in's reading goes: cancelled, with its reason,
    # but no message queued to the placeholder address.
    availability.save(None, day["event"], day["book"], Schedule(), now=base, confirmed={booking.id})
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED
    assert db.session.scalars(sa.select(OutboxMessage.to_email)).all() == []


def test_a_walk_in_with_an_email_still_cannot_be_in_two_readings_at_once(day, make_book,
                                                                        make_slot):
    base = day["base"]
    other = make_slot(day["event"], book=make_book(), starts_at=base)
    reservations.book(
        day["slots"][0].id,
        WalkIn.parse(name="Ann", email="ann@example.org"),
        now=base,
    )
    with pytest.raises(Exception, match="overlapping"):
        reservations.book(other.id, WalkIn.parse(name="Ann", email="ANN@example.org"), now=base)


def test_a_walk_in_with_an_email_is_held_to_the_per_patron_limit(make_event, make_slot, db,
                                                                 now):
    event = make_event(max_bookings_per_patron=1)
    first, second = (make_slot(event, starts_at=event.starts_at + timedelta(hours=h))
                     for h in (1, 2))
    reservations.book(first.id, Patron.parse(name="Pat", email="pat@example.org"), now=now)

    with pytest.raises(PatronLimitReached):
        reservations.book(
            second.id,
            WalkIn.parse(name="Pat", email="PAT@example.org"),
            now=second.starts_at,
        )
    walk_in = reservations.book(second.id, WalkIn.parse(name="Pat", email=""), now=second.starts_at)

    assert walk_in.status == BookingStatus.CONFIRMED  # without an e-mail, no one to count
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 2


def test_bad_walk_ins_get_clear_messages_and_change_nothing(day, db):
    base, slot = day["base"], day["slots"][0]
    with pytest.raises(ValidationFailed) as no_name:
        reservations.book(slot.id, WalkIn.parse(name="  ", email=""), now=base)
    # The desk's form and the service say the same sentence (it was "Enter your name." here).
    assert no_name.value.errors == {"name": ["Enter the walk-in's name."]}
    with pytest.raises(ValidationFailed) as too_many:
        reservations.book(slot.id, WalkIn.parse(name="Big family", email="", seats=3), now=base)
    assert too_many.value.errors == {"seats": ["Only 2 seats are free in this reading."]}
    with pytest.raises(ValidationFailed) as early:
        reservations.book(
            day["slots"][2].id,
            WalkIn.parse(name="Keen", email="", check_in=True),
            now=base,
        )
    assert "check_in" in early.value.errors
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    assert db.session.get(Slot, slot.id).booked == 0


def test_the_desks_marks_are_the_attendance_command_and_nothing_else(day, db):
    base, slot = day["base"], day["slots"][0]
    booking = reservations.book(slot.id, Patron.parse(name="Ann", email="ann@example.org"),
                                now=base - 120 * MIN).booking

    marked = [reservations.mark_attendance(booking.id, Attendance.parse(mark=mark),
                                           now=base).status
              for mark in ("attended", "undo", "no_show")]

    assert marked == [BookingStatus.ATTENDED, BookingStatus.CONFIRMED, BookingStatus.NO_SHOW]
    for mark in ("dance", "", None, 1):
        with pytest.raises(ValidationFailed) as refused:
            Attendance.parse(mark=mark)
        assert refused.value.errors == {"mark": ["Choose Checked in, No-show or Undo."]}


# Held seats ----------------------------------------------------------------------------------


def test_held_seats_stop_online_booking_early_and_walk_ins_use_them(
    make_event, make_slot, db, now
):
    event = make_event(walk_in_seats_per_reading=1)
    slot = make_slot(event, capacity=3)
    statuses = [reservations.book(slot.id, Patron.parse(name=f"P{n}", email=f"p{n}@example.org"), now=now).status for n in range(3)]
    assert statuses == [BookingStatus.CONFIRMED, BookingStatus.CONFIRMED,
                        BookingStatus.WAITLISTED]
    db.session.refresh(slot)
    assert (slot.available, slot.free_seats) == (0, 1)
    walk_in = reservations.book(slot.id, WalkIn.parse(name="Walker", email=""), now=slot.starts_at + MIN)
    assert walk_in.status == BookingStatus.CONFIRMED
    db.session.refresh(slot)
    assert slot.booked == 3 and slot.free_seats == 0


def test_a_freed_seat_goes_to_the_waitlist_only_outside_the_held_ones(make_event, make_slot,
                                                                      db, now):
    event = make_event(walk_in_seats_per_reading=1)
    slot = make_slot(event, capacity=3)
    tokens = [reservations.book(slot.id, Patron.parse(name=f"P{n}", email=f"p{n}@example.org"), now=now).token for n in range(4)]
    reservations.cancel(tokens[0], now=now)
    db.session.expire_all()
    statuses = [reservations.find_booking(t).status for t in tokens]
    assert statuses == [BookingStatus.CANCELLED, BookingStatus.CONFIRMED,
                        BookingStatus.CONFIRMED, BookingStatus.WAITLISTED]
    assert db.session.get(Slot, slot.id).booked == 2


def test_public_pages_and_the_api_show_online_seats(client, make_event, make_slot, db, app,
                                                    staff):
    event = make_event(walk_in_seats_per_reading=1)
    slot = make_slot(event, capacity=3)
    [row] = client.get(f"/api/v1/events/{event.slug}/slots").get_json()
    assert (row["capacity"], row["available"]) == (3, 2)
    assert "2 of 3 seats left" in client.get(f"/events/{event.slug}").get_data(as_text=True)
    desk.set_walk_in_seats(staff, event, held(3), event.starts_at)
    [row] = client.get(f"/api/v1/events/{event.slug}/slots").get_json()
    assert row["available"] == 0
    assert "Join the waitlist" in client.get(f"/slots/{slot.id}/book").get_data(as_text=True)


def test_only_staff_hold_seats_back(make_event, db, now):
    coordinator = User(email="c@example.org", role=Role.COORDINATOR)
    db.session.add(coordinator)
    db.session.commit()
    event = make_event()
    with pytest.raises(Forbidden):
        desk.set_walk_in_seats(coordinator, event, held(2), now)
    db.session.expire_all()
    assert event.walk_in_seats_per_reading == 0


@pytest.mark.parametrize("seats", [-1, 11, "2", True])
def test_held_seats_must_be_a_sensible_whole_number(make_event, db, now, seats, staff):
    event = make_event()
    with pytest.raises(ValidationFailed):
        desk.set_walk_in_seats(staff, event, held(seats), now)
    db.session.expire_all()
    assert event.walk_in_seats_per_reading == 0


def test_holding_fewer_seats_moves_the_waitlist_up_before_any_newcomer(
    make_event, make_slot, db, now, staff
):
    event = make_event(walk_in_seats_per_reading=2)
    readings = [make_slot(event, capacity=3) for _ in range(2)]
    waiting = {}
    for slot in readings:
        reservations.book(
            slot.id,
            Patron.parse(name="First", email=f"first{slot.id}@example.org"),
            now=now,
        )
        waiting[slot.id] = [
            reservations.book(
                slot.id,
                Patron.parse(name=f"W{n}", email=f"w{n}-{slot.id}@example.org"),
                now=now,
            ).booking.id for n in range(3)]

    promoted = desk.set_walk_in_seats(staff, event, held(0), now)

    db.session.expire_all()
    assert sorted(b.id for b in promoted) == sorted(
        waiting[readings[0].id][:2] + waiting[readings[1].id][:2])
    for slot in readings:
        statuses = [db.session.get(Booking, i).status for i in waiting[slot.id]]
        assert statuses == [BookingStatus.CONFIRMED, BookingStatus.CONFIRMED,
                            BookingStatus.WAITLISTED]
        assert db.session.get(Slot, slot.id).booked == 3
    told = db.session.scalars(sa.select(OutboxMessage.booking_id)
                              .where(OutboxMessage.kind == "waitlist_promoted")).all()
    assert sorted(told) == sorted(b.id for b in promoted)
    newcomer = reservations.book(readings[0].id, Patron.parse(name="New", email="new@example.org"), now=now)
    assert newcomer.status == BookingStatus.WAITLISTED
    [entry] = db.session.scalars(sa.select(AuditEntry)).all()
    assert (entry.action, entry.user_id, entry.changes) == (
        "event.walk_in_seats", staff.id, {"walk_in_seats_per_reading": [2, 0]})


def test_freeing_held_seats_moves_no_one_up_into_a_reading_begun_or_over(
    make_event, make_slot, db, now, staff
):
    event = make_event(walk_in_seats_per_reading=1)
    slot = make_slot(event, capacity=2)
    reservations.book(slot.id, Patron.parse(name="First", email="first@example.org"), now=now)
    waiting = reservations.book(slot.id, Patron.parse(name="Late", email="late@example.org"), now=now)

    for moment in (slot.starts_at + MIN, slot.ends_at + 10 * MIN):
        assert desk.set_walk_in_seats(staff, event, held(0), moment) == []
        desk.set_walk_in_seats(staff, event, held(1), moment)

    db.session.expire_all()
    assert db.session.get(Booking, waiting.booking.id).status == BookingStatus.WAITLISTED


def test_sessions_hold_no_seats_back_since_walk_ins_join_readings_only(
    make_event, make_slot, make_session, db, now
):
    event = make_event(walk_in_seats_per_reading=2)
    session_slot = make_slot(event, session=make_session(event), capacity=2)

    statuses = [reservations.book(
        session_slot.id,
        Patron.parse(name=f"P{n}", email=f"p{n}@example.org"),
        now=now,
    ).status for n in range(2)]

    assert statuses == [BookingStatus.CONFIRMED, BookingStatus.CONFIRMED]
    db.session.refresh(session_slot)
    assert session_slot.held_for_walk_ins == 0 and session_slot.available == 0


def test_holding_more_seats_keeps_every_booking_and_the_same_value_changes_nothing(
    make_event, make_slot, db, now, staff
):
    event = make_event()
    slot = make_slot(event, capacity=2)
    booked = [reservations.book(slot.id, Patron.parse(name=f"P{n}", email=f"p{n}@example.org"), now=now).booking.id for n in range(2)]

    assert desk.set_walk_in_seats(staff, event, held(2), now) == []
    assert desk.set_walk_in_seats(staff, event, held(2), now) == []

    db.session.expire_all()
    assert [db.session.get(Booking, i).status for i in booked] == [BookingStatus.CONFIRMED] * 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 1
