"""Every booking rule, tested on the service directly."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.services import reservations
from booking.domain.errors import AlreadyBooked, BookingNotFound, NotCancellable, OverlappingBooking, PatronLimitReached, RegistrationClosed, SlotNotFound, SlotUnavailable, ValidationFailed
from booking.domain.models import Booking, BookingStatus, EventKind, EventStatus, OutboxMessage, Slot, SlotStatus
from booking.domain.commands import Patron
from booking.domain.text import has_control_characters


def book(slot_id, email="ada@example.org", *, now, **fields):
    fields.setdefault("name", "Ada Reader")
    return reservations.book(slot_id, Patron.parse(email=email, **fields), now=now)


def state(db, slot_id):
    """What a refused request must leave untouched."""
    db.session.expire_all()
    return (
        db.session.get(Slot, slot_id).booked,
        db.session.scalar(sa.select(sa.func.count()).select_from(Booking)),
    )


@pytest.fixture
def slot(make_slot):
    return make_slot(capacity=2)


def test_booking_a_free_seat_confirms_it_and_counts_the_seat(db, slot, now):
    reservation = book(slot.id, now=now)
    assert reservation.status == BookingStatus.CONFIRMED
    assert db.session.get(Slot, slot.id).booked == 1
    assert reservation.booking.email_normalized == "ada@example.org"


def test_the_manage_token_is_stored_only_as_a_hash(db, slot, now):
    reservation = book(slot.id, now=now)
    stored = db.session.get(Booking, reservation.booking.id).manage_token_hash
    assert stored == reservations.hash_token(reservation.token)
    assert reservation.token not in stored
    assert reservations.find_booking(reservation.token).id == reservation.booking.id


@pytest.mark.parametrize("status", [EventStatus.DRAFT, EventStatus.CANCELLED, EventStatus.FINISHED])
def test_only_published_events_take_bookings(db, make_event, make_slot, now, status):
    slot = make_slot(make_event(status=status))
    before = state(db, slot.id)
    with pytest.raises(RegistrationClosed):
        book(slot.id, now=now)
    assert state(db, slot.id) == before


def test_registration_window_is_respected(db, make_event, make_slot, now):
    early = make_slot(make_event(registration_opens_at=now + timedelta(days=1)))
    late = make_slot(make_event(registration_closes_at=now - timedelta(minutes=1)))
    with pytest.raises(RegistrationClosed, match="not opened yet"):
        book(early.id, now=now)
    with pytest.raises(RegistrationClosed, match="closed"):
        book(late.id, now=now)


@pytest.mark.parametrize(("status", "message"), [(SlotStatus.CLOSED, "closed"),
                                                 (SlotStatus.CANCELLED, "cancelled")])
def test_closed_and_cancelled_slots_refuse_bookings(db, make_slot, now, status, message):
    slot = make_slot(status=status)
    with pytest.raises(SlotUnavailable, match=message):
        book(slot.id, now=now)
    assert state(db, slot.id) == (0, 0)


def test_a_slot_that_has_started_cannot_be_booked(db, make_event, make_slot, now):
    event = make_event(starts_at=now - timedelta(hours=1))
    slot = make_slot(event, starts_at=now - timedelta(minutes=5))
    with pytest.raises(SlotUnavailable, match="already started"):
        book(slot.id, now=now)


@pytest.mark.parametrize("slot_id", [999999, "1", None, True])
def test_unknown_slots_are_not_found(db, slot_id, now):
    with pytest.raises(SlotNotFound):
        book(slot_id, now=now)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"email": "nobody"}, "email"),
        ({"email": "a@" + "b" * 260 + ".org"}, "email"),
        ({"seats": 0}, "seats"),
        ({"seats": -1}, "seats"),
        ({"seats": "1"}, "seats"),
        ({"seats": True}, "seats"),
        ({"accessibility_needs": "x" * 501}, "accessibility_needs"),
        ({"accessibility_needs": None}, "accessibility_needs"),
    ],
)
def test_invalid_fields_are_refused_with_a_message_and_change_nothing(
    db, slot, now, fields, field
):
    before = state(db, slot.id)
    with pytest.raises(ValidationFailed) as refused:
        book(slot.id, now=now, **fields)
    assert refused.value.errors[field]
    assert state(db, slot.id) == before


@pytest.mark.parametrize(("text", "refused"), [
    ("Line one\nline two\tand a tab\r\n", False), ("Ada", False),
    ("Ada\x00", True), ("Ada\x1b[31m", True), ("Ada\x7f", True),
])
def test_control_characters_are_refused_but_line_breaks_and_tabs_pass(text, refused):
    # Events and bookings share this check (booking.domain.text).
    assert has_control_characters(text) is refused


def test_a_locked_slot_is_read_fresh_and_unknown_ids_are_not_found(db, slot):
    db.session.execute(sa.update(Slot).where(Slot.id == slot.id).values(capacity=9))
    assert reservations.locked_slot(slot.id).capacity == 9
    db.session.rollback()
    with pytest.raises(SlotNotFound):
        reservations.locked_slot(str(slot.id))


def test_every_bad_field_is_reported_at_once(db, slot, now):
    with pytest.raises(ValidationFailed) as refused:
        reservations.book(slot.id, Patron.parse(name="", email="x", seats=0), now=now)
    assert set(refused.value.errors) == {"name", "email", "seats"}


def test_seats_are_limited_by_the_event_and_the_slot(db, make_event, make_slot, now):
    event = make_event(max_seats_per_booking=3)
    small = make_slot(event, capacity=2)
    with pytest.raises(ValidationFailed) as refused:
        book(small.id, now=now, seats=3)
    assert "at most 2 seats" in refused.value.errors["seats"][0]
    assert book(small.id, now=now, seats=2).status == BookingStatus.CONFIRMED


def test_one_seat_per_booking_unless_the_event_allows_more(db, slot, now):
    with pytest.raises(ValidationFailed) as refused:
        book(slot.id, now=now, seats=2)
    assert "at most 1 seat here" in refused.value.errors["seats"][0]


def test_the_reader_agreement_must_be_accepted_and_its_version_is_kept(
    db, make_event, make_slot, now
):
    event = make_event(agreement_text="Be kind.", agreement_version=4)
    slot = make_slot(event)
    with pytest.raises(ValidationFailed) as refused:
        book(slot.id, now=now)
    assert "accept_agreement" in refused.value.errors
    assert state(db, slot.id) == (0, 0)
    reservation = book(slot.id, now=now, accept_agreement=True)
    assert reservation.booking.agreement_version == 4


def test_program_events_need_no_agreement(db, make_event, make_slot, make_session, now):
    event = make_event(kind=EventKind.PROGRAM, agreement_text="Rules")
    slot = make_slot(event, session=make_session(event))
    reservation = book(slot.id, now=now)
    assert reservation.booking.agreement_version is None


def test_a_full_slot_puts_patrons_on_a_first_come_waitlist(db, make_slot, now):
    slot = make_slot(capacity=1)
    book(slot.id, "a@example.org", now=now)
    second = book(slot.id, "b@example.org", now=now)
    third = book(slot.id, "c@example.org", now=now)
    assert second.status == third.status == BookingStatus.WAITLISTED
    assert (second.booking.waitlist_position, third.booking.waitlist_position) == (1, 2)
    assert db.session.get(Slot, slot.id).booked == 1


def test_the_same_patron_cannot_book_the_same_slot_twice(db, make_slot, now):
    slot = make_slot(capacity=1)
    book(slot.id, "a@example.org", now=now)
    book(slot.id, "b@example.org", now=now)  # waitlisted
    for email in ("A@Example.org ", "b@example.org"):
        before = state(db, slot.id)
        with pytest.raises(AlreadyBooked):
            book(slot.id, email, now=now)
        assert state(db, slot.id) == before


def test_per_patron_limit_counts_active_bookings_by_normalised_email(
    db, make_event, make_book, make_slot, now
):
    event = make_event(max_bookings_per_patron=2)
    times = [event.starts_at + timedelta(hours=h) for h in range(3)]
    slots = [make_slot(event, book=make_book(), starts_at=t) for t in times]
    first = book(slots[0].id, "Ada@Example.org", now=now)
    book(slots[1].id, " ada@example.org", now=now)
    with pytest.raises(PatronLimitReached, match="limit of 2 bookings"):
        book(slots[2].id, "ADA@EXAMPLE.ORG", now=now)
    reservations.cancel(first.token, now=now)
    assert book(slots[2].id, "ada@example.org", now=now).status == BookingStatus.CONFIRMED


def test_overlapping_bookings_are_refused_and_adjacent_ones_allowed(
    db, make_event, make_book, make_slot, now
):
    event = make_event(max_bookings_per_patron=5)
    start = event.starts_at + timedelta(hours=1)
    first = make_slot(event, book=make_book(), starts_at=start)
    overlapping = make_slot(event, book=make_book(), starts_at=start + timedelta(minutes=15))
    adjacent = make_slot(event, book=make_book(), starts_at=start + timedelta(minutes=30))
    book(first.id, now=now)
    with pytest.raises(OverlappingBooking):
        book(overlapping.id, now=now)
    assert book(adjacent.id, now=now).status == BookingStatus.CONFIRMED


def test_overlap_is_checked_across_events(db, make_event, make_slot, now):
    one, two = make_event(), make_event()
    book(make_slot(one).id, now=now)
    with pytest.raises(OverlappingBooking):
        book(make_slot(two, starts_at=one.starts_at + timedelta(hours=1, minutes=10)).id, now=now)


def test_cancelling_frees_the_seat_and_promotes_the_first_waitlisted_patron(db, make_slot, now):
    slot = make_slot(capacity=1)
    first = book(slot.id, "a@example.org", now=now)
    second = book(slot.id, "b@example.org", now=now)
    third = book(slot.id, "c@example.org", now=now)
    reservations.cancel(first.token, now=now)
    db.session.expire_all()
    assert db.session.get(Booking, first.booking.id).status == BookingStatus.CANCELLED
    assert db.session.get(Booking, second.booking.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Booking, third.booking.id).status == BookingStatus.WAITLISTED
    assert db.session.get(Slot, slot.id).booked == 1
    # Joining the waitlist is remembered through promotion, for waitlist demand in reports.
    assert db.session.get(Booking, first.booking.id).waitlisted_at is None
    assert db.session.get(Booking, second.booking.id).waitlisted_at is not None


def test_promotion_skips_a_waitlisted_booking_that_does_not_fit(db, make_event, make_slot, now):
    event = make_event(max_seats_per_booking=2)
    slot = make_slot(event, capacity=2)
    pair = book(slot.id, "a@example.org", now=now, seats=2)
    book(slot.id, "b@example.org", now=now, seats=2)  # waits for 2 seats
    single = book(slot.id, "c@example.org", now=now, seats=1)
    another = book(slot.id, "d@example.org", now=now, seats=1)
    reservations.cancel(pair.token, now=now)
    db.session.expire_all()
    # Two seats free: the first waitlisted booking (2 seats) fits and goes first.
    statuses = [db.session.get(Booking, r.booking.id).status for r in (single, another)]
    assert statuses == [BookingStatus.WAITLISTED, BookingStatus.WAITLISTED]
    assert db.session.get(Slot, slot.id).booked == 2


def test_a_waitlisted_booking_that_does_not_fit_lets_a_smaller_one_through(
    db, make_event, make_slot, now
):
    event = make_event(max_seats_per_booking=2)
    slot = make_slot(event, capacity=2)
    one = book(slot.id, "a@example.org", now=now, seats=1)
    book(slot.id, "b@example.org", now=now, seats=1)
    big = book(slot.id, "c@example.org", now=now, seats=2)
    small = book(slot.id, "d@example.org", now=now, seats=1)
    reservations.cancel(one.token, now=now)
    db.session.expire_all()
    assert db.session.get(Booking, big.booking.id).status == BookingStatus.WAITLISTED
    assert db.session.get(Booking, small.booking.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Slot, slot.id).booked == 2


def test_cancelling_a_waitlisted_booking_leaves_the_seats_alone(db, make_slot, now):
    slot = make_slot(capacity=1)
    book(slot.id, "a@example.org", now=now)
    waiting = book(slot.id, "b@example.org", now=now)
    reservations.cancel(waiting.token, now=now)
    assert db.session.get(Slot, slot.id).booked == 1


def test_a_booking_cannot_be_cancelled_twice_or_after_the_reading_started(db, slot, now):
    reservation = book(slot.id, now=now)
    reservations.cancel(reservation.token, now=now)
    with pytest.raises(NotCancellable, match="already cancelled"):
        reservations.cancel(reservation.token, now=now)
    other = book(slot.id, "b@example.org", now=now)
    with pytest.raises(NotCancellable, match="already started"):
        reservations.cancel(other.token, now=slot.starts_at + timedelta(minutes=1))
    assert db.session.get(Booking, other.booking.id).status == BookingStatus.CONFIRMED


@pytest.mark.parametrize("token", ["", "short", "x" * 43, "a" * 500, None])
def test_unknown_tokens_find_no_booking(db, slot, now, token):
    book(slot.id, now=now)
    with pytest.raises(BookingNotFound):
        reservations.cancel(token, now=now)


@pytest.mark.parametrize("field", ["name", "accessibility_needs"])
def test_control_characters_are_refused_rather_than_stored(db, slot, now, field):
    with pytest.raises(ValidationFailed) as refused:
        book(slot.id, now=now, **{field: "Ada\x00Reader"})
    assert "control characters" in refused.value.errors[field][0]
    assert state(db, slot.id) == (0, 0)


def test_a_seat_left_free_with_people_waiting_goes_to_them_before_a_newcomer(
        db, make_slot, now):
    slot = make_slot(capacity=1)
    reservations.book(slot.id, Patron.parse(name="Ann", email="ann@example.org"), now=now)
    waiting = reservations.book(slot.id, Patron.parse(name="Bo", email="bo@example.org"), now=now)
    # A seat appears without the queue moving (as when sessions stopped holding walk-in seats).
    db.session.execute(sa.update(Slot).where(Slot.id == slot.id).values(capacity=2))
    db.session.commit()

    newcomer = reservations.book(slot.id, Patron.parse(name="Cy", email="cy@example.org"), now=now)

    db.session.expire_all()
    assert db.session.get(Booking, waiting.booking.id).status == BookingStatus.CONFIRMED
    assert newcomer.status == BookingStatus.WAITLISTED
    assert db.session.scalars(sa.select(OutboxMessage.to_email).where(
        OutboxMessage.kind == "waitlist_promoted")).all() == ["bo@example.org"]
