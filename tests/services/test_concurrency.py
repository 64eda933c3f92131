"""Races with real threads, each with its own session and connection: no overbooking, ever,
and no volunteer in two places at once."""
from __future__ import annotations

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.services import availability, programme, reservations
from booking.domain.errors import Busy, DomainError
from booking.extensions import db as _db
from booking.domain.models import Booking, BookingStatus, OutboxMessage, Event, HostRole, HumanBook, Partner, ProgramSession, Role, Slot, SlotStatus, User

from support import TEST_DATABASE_URL, race
from booking.domain.commands import Patron, Schedule, SessionListing, WalkIn, Window

THREADS = 24


def seats_by_status(db, slot_id):
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(Booking.status, sa.func.coalesce(sa.func.sum(Booking.seats), 0))
        .where(Booking.slot_id == slot_id).group_by(Booking.status)
    ).all()
    return {status: int(seats) for status, seats in rows}


def test_many_patrons_racing_for_a_slot_never_overbook_it(app, db, make_slot, now):
    slot_id = make_slot(capacity=5).id  # plain ids only: ORM objects belong to this thread
    attempts = [
        (lambda n=n: reservations.book(
            slot_id,
            Patron.parse(name=f"Reader {n}", email=f"r{n}@example.org"),
            now=now,
        ))
        for n in range(THREADS)
    ]
    outcomes = race(app, attempts)
    statuses = [o for o in outcomes if isinstance(o, BookingStatus)]
    assert statuses.count(BookingStatus.CONFIRMED) == 5
    assert statuses.count(BookingStatus.WAITLISTED) == THREADS - 5
    assert db.session.get(Slot, slot_id).booked == 5
    positions = sorted(db.session.scalars(
        sa.select(Booking.waitlist_position).where(Booking.status == BookingStatus.WAITLISTED)))
    assert positions == list(range(1, THREADS - 5 + 1))


def test_mixed_seat_counts_never_exceed_capacity(app, db, make_event, make_slot, now):
    event = make_event(max_seats_per_booking=2)
    slot_id = make_slot(event, capacity=7).id
    attempts = [
        (lambda n=n: reservations.book(
            slot_id,
            Patron.parse(name=f"R{n}", email=f"m{n}@example.org", seats=1 + n % 2),
            now=now,
        ))
        for n in range(THREADS)
    ]
    race(app, attempts)
    seats = seats_by_status(db, slot_id)
    assert seats[BookingStatus.CONFIRMED] <= 7
    assert db.session.get(Slot, slot_id).booked == seats[BookingStatus.CONFIRMED]


def test_one_patron_racing_at_overlapping_slots_gets_at_most_one(
    app, db, make_event, make_book, make_slot, now
):
    event = make_event(max_bookings_per_patron=10)
    start = event.starts_at + timedelta(hours=1)
    slot_ids = [make_slot(event, book=make_book(), starts_at=start + timedelta(minutes=5 * i),
                          capacity=3).id for i in range(6)]
    attempts = [
        (lambda s=s, n=n: reservations.book(
            s,
            Patron.parse(name="Same Reader", email="same@example.org" if n % 2 else " SAME@Example.org"),
            now=now,
        ))
        for n in range(THREADS) for s in [slot_ids[n % len(slot_ids)]]
    ]
    outcomes = race(app, attempts)
    successes = [o for o in outcomes if isinstance(o, BookingStatus)]
    assert len(successes) == 1
    refusals = {type(o).__name__ for o in outcomes if isinstance(o, DomainError)}
    assert refusals <= {"OverlappingBooking", "AlreadyBooked"}
    active = db.session.scalar(sa.select(sa.func.count()).select_from(Booking)
                               .where(Booking.status != BookingStatus.CANCELLED))
    assert active == 1


def _hold(now, client="racer"):
    return reservations.Hold(expires_at=now + timedelta(minutes=20), client=client,
                             client_limit=THREADS)


def test_holds_and_bookings_racing_for_a_slot_never_overbook_it(app, db, make_slot, now):
    slot_id = make_slot(capacity=5).id
    attempts = [
        (lambda n=n: reservations.book(
            slot_id,
            Patron.parse(name=f"H{n}", email=f"h{n}@example.org"),
            now=now,
            hold=_hold(now) if n % 2 else None,
        ))
        for n in range(THREADS)
    ]
    race(app, attempts)
    db.session.expire_all()
    bookings = db.session.scalars(sa.select(Booking).where(Booking.slot_id == slot_id)).all()
    seated = [b for b in bookings if b.holds_seats]
    assert sum(b.seats for b in seated) == 5 == db.session.get(Slot, slot_id).booked
    in_line = sorted(b.waitlist_position for b in bookings if b.on_waitlist)
    assert in_line == list(range(1, THREADS - 5 + 1))


def test_a_hold_confirmed_as_it_lapses_ends_one_way_only(app, db, make_slot, now):
    """Confirming just before the deadline races the sweep just after it: the hold ends
    either confirmed or lapsed, never both, and the seat is counted once."""
    slot_id = make_slot(capacity=1).id
    for round_ in range(6):
        db.session.execute(sa.update(Slot).where(Slot.id == slot_id).values(booked=0))
        db.session.execute(sa.delete(OutboxMessage))
        db.session.execute(sa.delete(Booking))
        db.session.commit()
        made = reservations.book(
            slot_id,
            Patron.parse(name="Ada", email=f"ada{round_}@example.org"),
            now=now,
            hold=_hold(now),
        )
        token, code = made.token, reservations.hold_code(made.booking.manage_token_hash)
        deadline = made.booking.hold_expires_at
        waiting = reservations.book(slot_id, Patron.parse(name="Bea", email=f"bea{round_}@example.org"), now=now).booking.id
        outcomes = race(app, [
            lambda: reservations.confirm_hold(token, code, now=deadline - timedelta(seconds=1)),
            lambda: reservations.expire_holds(deadline + timedelta(seconds=1)),
        ])
        db.session.expire_all()
        hold = db.session.scalar(sa.select(Booking).where(
            Booking.email_normalized == f"ada{round_}@example.org"))
        other = db.session.get(Booking, waiting)
        if hold.status == BookingStatus.CONFIRMED:
            assert outcomes[1] == 0 and other.status == BookingStatus.WAITLISTED
        else:
            assert hold.status == BookingStatus.CANCELLED
            assert type(outcomes[0]).__name__ == "HoldLapsed"
            assert other.status == BookingStatus.CONFIRMED
        assert db.session.get(Slot, slot_id).booked == 1


def test_cancellations_racing_bookings_keep_the_counter_true(app, db, make_slot, now):
    slot_id = make_slot(capacity=4).id
    tokens = [reservations.book(slot_id, Patron.parse(name=f"E{n}", email=f"e{n}@example.org"), now=now).token
              for n in range(8)]  # 4 confirmed, 4 waitlisted
    attempts = [(lambda t=t: reservations.cancel(t, now=now)) for t in tokens[:6]] + [
        (lambda n=n: reservations.book(slot_id, Patron.parse(name=f"N{n}", email=f"n{n}@example.org"), now=now))
        for n in range(THREADS - 6)
    ]
    race(app, attempts)
    seats = seats_by_status(db, slot_id)
    booked = db.session.get(Slot, slot_id).booked
    assert booked == seats.get(BookingStatus.CONFIRMED, 0)
    assert booked <= 4
    # Freed seats never stay empty while someone waits.
    if seats.get(BookingStatus.WAITLISTED):
        assert booked == 4


def test_online_bookers_and_walk_ins_racing_respect_held_seats(app, db, make_event, make_slot,
                                                               now):
    event = make_event(walk_in_seats_per_reading=2)
    slot_id = make_slot(event, capacity=4).id
    half = THREADS // 2
    attempts = [
        (lambda n=n: reservations.book(slot_id, Patron.parse(name=f"O{n}", email=f"o{n}@example.org"), now=now))
        for n in range(half)
    ] + [
        (lambda n=n: reservations.book(slot_id, WalkIn.parse(name=f"W{n}", email=""), now=now))
        for n in range(half)
    ]
    outcomes = race(app, attempts)
    online, walk_ins = outcomes[:half], outcomes[half:]
    online_confirmed = online.count(BookingStatus.CONFIRMED)
    walk_ins_confirmed = walk_ins.count(BookingStatus.CONFIRMED)
    assert online_confirmed <= 2  # never into the held seats
    assert online_confirmed + walk_ins_confirmed == 4
    assert BookingStatus.WAITLISTED not in walk_ins  # walk-ins are seated or told it is full
    assert online.count(BookingStatus.WAITLISTED) == half - online_confirmed
    assert db.session.get(Slot, slot_id).booked == 4
    assert seats_by_status(db, slot_id)[BookingStatus.CONFIRMED] == 4


ROUNDS = 8


def test_a_volunteer_racing_between_readings_and_sessions_is_never_in_two_places(
    app, db, make_partner, make_event, make_book, now
):
    """A volunteer's availability and the sessions they present, saved at the same moment.

    Each round races one availability save (a reading 11:00–11:30) against three sessions
    the same volunteer would present (11:00–11:30, 11:15–11:45, 11:30–12:00, local time).
    """
    for _ in range(ROUNDS):
        partner = make_partner()
        event = make_event(hosts=[(partner, HostRole.HOST)])
        book = make_book(partner)
        volunteer = User(email=f"v{book.id}@example.org", name="Vera", role=Role.VOLUNTEER,
                         partner_id=partner.id, human_book_id=book.id)
        coordinator = User(email=f"c{book.id}@example.org", role=Role.COORDINATOR,
                           partner_id=partner.id)
        db.session.add_all([volunteer, coordinator])
        db.session.commit()
        ids = {"event": event.id, "book": book.id, "partner": partner.id,
               "volunteer": volunteer.id, "coordinator": coordinator.id}
        day = event.starts_at.astimezone(ZoneInfo(event.timezone)).replace(tzinfo=None)

        def at(hour, minute):
            return day.replace(hour=hour, minute=minute)

        def save_window():
            return availability.save(None, _db.session.get(Event, ids["event"]),
                                     _db.session.get(HumanBook, ids["book"]),
                                     Schedule(windows=[Window(starts=at(11, 0), ends=at(11, 30))]),
                                     now=now)

        def present(start, end):
            return lambda: programme.create_session(
                _db.session.get(User, ids["coordinator"]),
                _db.session.get(Partner, ids["partner"]), _db.session.get(Event, ids["event"]),
                SessionListing.parse(title="Talk", starts=start, ends=end,
                                     seats=5, presenter_user_id=ids["volunteer"]), now=now)

        outcomes = race(app, [save_window, present(at(11, 0), at(11, 30)),
                              present(at(11, 15), at(11, 45)), present(at(11, 30), at(12, 0))])
        refusals = {type(o).__name__ for o in outcomes if isinstance(o, DomainError)}
        assert refusals <= {"VolunteerConflict"}, outcomes
        assert len(refusals) < len(outcomes)
        db.session.expire_all()
        busy = db.session.execute(
            sa.select(Slot.starts_at, Slot.ends_at)
            .where(Slot.status != SlotStatus.CANCELLED,
                   sa.or_(Slot.book_id == ids["book"], Slot.session_id.in_(
                       sa.select(ProgramSession.id)
                       .where(ProgramSession.presenter_user_id == ids["volunteer"]))))
            .order_by(Slot.starts_at)
        ).all()
        assert busy, "something must have been saved"
        for before, after in zip(busy, busy[1:]):
            assert after.starts_at >= before.ends_at, f"the volunteer is in two places: {busy}"


def test_readers_racing_a_session_move_never_hold_two_overlapping_bookings(
    app, db, make_partner, make_event, make_book, make_slot, now
):
    """Each round moves a session onto a reading while its readers book that reading.

    Whichever comes first, no reader ends up with two overlapping bookings (rule 2): either
    the move sees the reading and cancels their seat in the session, or the booking sees the
    session at its new time and is refused.
    """
    readers = 6
    for _ in range(ROUNDS):
        partner = make_partner()
        event = make_event(hosts=[(partner, HostRole.HOST)], max_bookings_per_patron=5)
        coordinator = User(email=f"c{event.id}@example.org", role=Role.COORDINATOR,
                           partner_id=partner.id)
        db.session.add(coordinator)
        db.session.commit()
        day = event.starts_at.astimezone(ZoneInfo(event.timezone)).replace(tzinfo=None)

        def at(hour, minute=0):
            return day.replace(hour=hour, minute=minute)

        def fields(start, end):
            return SessionListing.parse(title="Talk", starts=start, ends=end, seats=readers)

        emails = [f"r{n}.{event.id}@example.org" for n in range(readers)]  # plain strings
        session = programme.create_session(coordinator, partner, event,
                                           fields(at(10), at(11)), now=now)
        slot_id = programme.session_slot(session).id
        held = {reservations.book(slot_id, Patron.parse(name="Reader", email=email), now=now).booking.id
                for email in emails}
        reading_id = make_slot(event, book=make_book(partner), capacity=readers,
                               starts_at=event.starts_at + timedelta(hours=3)).id  # 13:00
        ids = {"session": session.id, "coordinator": coordinator.id}

        def move():
            return programme.update_session(
                _db.session.get(User, ids["coordinator"]),
                _db.session.get(ProgramSession, ids["session"]), fields(at(13), at(14)),
                now=now, confirmed=held).moved

        bookings = [(lambda email=email: reservations.book(reading_id, Patron.parse(name="Reader", email=email), now=now))
                    for email in emails]
        outcomes = race(app, [move, *bookings])
        assert outcomes[0] is True, outcomes  # held ids cover whoever clashes
        refusals = {type(o).__name__ for o in outcomes if isinstance(o, DomainError)}
        assert refusals <= {"OverlappingBooking"}, outcomes
        db.session.expire_all()
        for email in emails:
            times = db.session.execute(
                sa.select(Slot.starts_at, Slot.ends_at).join(Booking, Booking.slot_id == Slot.id)
                .where(Booking.email_normalized == email,
                       Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.WAITLISTED]))
                .order_by(Slot.starts_at)
            ).all()
            for before, after in zip(times, times[1:]):
                assert after.starts_at >= before.ends_at, f"{email} is in two places: {times}"


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL's advisory locks")
def test_a_patron_locked_elsewhere_is_busy_rather_than_waited_for_against_the_order(app, db):
    """Locking a patron while holding a slot lock must not wait: that order could deadlock."""
    db.session.rollback()
    holding, release = threading.Event(), threading.Event()

    def hold():
        with app.app_context():
            reservations.lock_patrons(["late@example.org"])
            holding.set()
            release.wait(timeout=30)
            _db.session.rollback()
            _db.session.remove()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        with pytest.raises(Busy):
            reservations.lock_patrons(["early@example.org", "late@example.org"], wait=False)
        db.session.rollback()
    finally:
        release.set()
        holder.join(timeout=30)
    reservations.lock_patrons(["late@example.org"], wait=False)  # free again
    db.session.rollback()


def test_a_constraint_failing_in_a_transaction_is_busy_logged_and_rolled_back(
        app, db, make_partner, caplog):
    from booking.extensions import transaction
    from booking.domain.models import Partner

    make_partner("Museum", slug="museum")
    with pytest.raises(Busy):
        with transaction():
            db.session.add(Partner(name="Museum again", slug="museum",
                                   contact_email="secret@example.org"))
            db.session.flush()

    assert "refused as busy" in caplog.text and "secret@example.org" not in caplog.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Partner)) == 1
