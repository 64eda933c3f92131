"""Program sessions and partner profiles: the rules, tested on the services directly."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from support import AFTER_BOOKING, CHICAGO, create, fields, local
from booking.services.queries import catalogue
from booking.services import partners, programme, reservations
from booking.domain.errors import (
    ConfirmationNeeded,
    DomainError,
    Forbidden,
    ValidationFailed,
    VolunteerConflict,
)
from booking.domain.models import Booking, BookingStatus, HostRole, ListingStatus, OutboxMessage, ProgramSession, Slot, SlotStatus
from booking.domain.commands import Patron, Profile


def slot_of(db, session) -> Slot:
    db.session.expire_all()
    return programme.session_slot(db.session.get(ProgramSession, session.id))


def book_seat(slot, email, now):
    return reservations.book(slot.id, Patron.parse(name="Reader " + email, email=email), now=now).booking


def test_a_new_session_is_a_draft_with_one_slot_at_local_time(db, place, now):
    session = create(place, now)
    slot = slot_of(db, session)
    assert session.listing_status == ListingStatus.DRAFT
    assert slot.starts_at == datetime(2031, 6, 14, 15, 0, tzinfo=timezone.utc)
    assert slot.capacity == 2 and slot.session_id == session.id
    assert catalogue.public_slot(slot.id) is None  # not public before approval


def test_a_session_goes_public_once_staff_approve_it_and_edits_keep_it_public(db, place, now):
    session = create(place, now)
    programme.submit_session(place["coordinator"], session, now=now)
    with pytest.raises(Forbidden):
        programme.review_session(place["coordinator"], session, approve=True, now=now)
    programme.review_session(place["staff"], session, approve=True, now=now)
    programme.update_session(place["coordinator"], session, fields(title="Storytime in Spanish"),
                             now=now)
    assert session.listing_status == ListingStatus.APPROVED
    assert catalogue.public_slot(slot_of(db, session).id) is not None


@pytest.mark.parametrize(
    ("entered", "field"),
    [
        (dict(start=(8, 0), end=(9, 30)), "starts"),  # before the event opens
        (dict(start=(16, 30), end=(17, 30)), "starts"),  # after it closes
        (dict(start=(11, 0), end=(10, 0)), "ends"),
        (dict(seats=0), "seats"),
        (dict(title="  "), "title"),
        (dict(language="english!"), "language"),
    ],
)
def test_bad_session_fields_are_refused_and_nothing_is_stored(db, place, now, entered, field):
    with pytest.raises(ValidationFailed) as refused:
        create(place, now, **entered)
    assert field in refused.value.errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgramSession)) == 0


def test_the_presenter_must_be_one_of_the_partners_volunteers(db, place, now):
    with pytest.raises(ValidationFailed) as refused:
        create(place, now, presenter_user_id=place["other_volunteer"].id)
    assert "presenter_user_id" in refused.value.errors


def test_coordinator_cannot_edit_another_partners_session(db, place, now):
    session = create(place, now)
    with pytest.raises(Forbidden):
        programme.update_session(place["other_coordinator"], session, fields(title="Mine now"),
                                 now=now)
    with pytest.raises(Forbidden):
        programme.retire_session(place["other_coordinator"], session, now=now)
    with pytest.raises(Forbidden):
        programme.create_session(place["other_coordinator"], place["partner"], place["event"],
                                 fields(), now=now)
    assert slot_of(db, session).status == SlotStatus.OPEN


def test_a_presenter_cannot_give_two_overlapping_sessions_even_at_another_event(
        db, place, now, make_event):
    create(place, now, presenter_user_id=place["volunteer"].id)
    other_event = make_event(starts_at=place["event"].starts_at, ends_at=place["event"].ends_at,
                             hosts=[(place["partner"], HostRole.CO_HOST)])
    with pytest.raises(VolunteerConflict, match="two places at once"):
        programme.create_session(place["coordinator"], place["partner"], other_event,
                                 fields(start=(10, 30), end=(11, 30),
                                        presenter_user_id=place["volunteer"].id), now=now)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgramSession)) == 1


def test_a_presenter_cannot_present_during_their_own_reading(db, place, now, make_slot):
    make_slot(place["event"], book=place["book"],
              starts_at=local(14).replace(tzinfo=CHICAGO).astimezone(timezone.utc))
    session = create(place, now)  # nobody presents yet: fine
    with pytest.raises(VolunteerConflict):
        programme.update_session(place["coordinator"], session,
                                 fields(start=(13, 45), end=(14, 15),
                                        presenter_user_id=place["volunteer"].id), now=now)
    db.session.expire_all()
    assert db.session.get(ProgramSession, session.id).presenter_user_id is None


def two_readers_then_one_seat(db, place, now):
    """A 3-seat session with two readers, asked down to 1 seat: (session, slot, first, second)."""
    session = create(place, now, seats=3)
    slot = slot_of(db, session)
    first, second = book_seat(slot, "a@example.org", now), book_seat(slot, "b@example.org", now)
    with pytest.raises(ConfirmationNeeded) as asked:
        programme.update_session(place["coordinator"], session, fields(seats=1), now=now)
    assert [b.id for b in asked.value.plan.lost] == [second.id]
    return session, slot, first, second


def test_fewer_seats_than_booked_asks_first_then_cancels_the_latest_with_a_reason(db, place, now):
    session, _, first, second = two_readers_then_one_seat(db, place, now)
    assert slot_of(db, session).capacity == 3  # nothing changed yet
    programme.update_session(place["coordinator"], session, fields(seats=1), now=now,
                             confirmed={second.id}, reason="Smaller room.")
    db.session.expire_all()
    assert db.session.get(Booking, first.id).status == BookingStatus.CONFIRMED
    cancelled = db.session.get(Booking, second.id)
    assert cancelled.status == BookingStatus.CANCELLED and cancelled.cancel_reason == "Smaller room."
    assert slot_of(db, session).booked == 1
    outbox = db.session.scalars(sa.select(OutboxMessage).where(AFTER_BOOKING)).all()
    assert [(m.kind, m.booking_id, m.payload["reason"]) for m in outbox] == [
        ("booking_cancelled", second.id, "Smaller room.")]


def test_more_seats_promote_the_waitlist(db, place, now):
    session = create(place, now, seats=1)
    slot = slot_of(db, session)
    book_seat(slot, "a@example.org", now)
    waiting = book_seat(slot, "b@example.org", now)
    assert waiting.status == BookingStatus.WAITLISTED
    programme.update_session(place["coordinator"], session, fields(seats=2), now=now)
    db.session.expire_all()
    assert db.session.get(Booking, waiting.id).status == BookingStatus.CONFIRMED
    assert slot_of(db, session).booked == 2
    assert db.session.scalar(sa.select(OutboxMessage.kind).where(AFTER_BOOKING)) == "waitlist_promoted"


def test_moving_a_session_keeps_its_bookings_and_tells_each_reader(db, place, now):
    session = create(place, now, seats=1)
    slot = slot_of(db, session)
    confirmed = book_seat(slot, "a@example.org", now)
    waiting = book_seat(slot, "b@example.org", now)
    programme.update_session(place["coordinator"], session, fields(seats=1, start=(13, 0),
                                                                   end=(14, 0)), now=now)
    moved = slot_of(db, session)
    assert moved.id == slot.id and moved.sequence == 1
    assert moved.starts_at == datetime(2031, 6, 14, 18, 0, tzinfo=timezone.utc)
    assert db.session.get(Booking, confirmed.id).status == BookingStatus.CONFIRMED
    messages = db.session.scalars(sa.select(OutboxMessage)
                                  .where(OutboxMessage.kind == "schedule_changed")
                                  .order_by(OutboxMessage.id)).all()
    assert [m.booking_id for m in messages] == [confirmed.id, waiting.id]
    assert "13:00–14:00" in messages[0].payload["what_changed"]  # the event's local time


def test_a_session_that_started_cannot_move(db, place, now):
    session = create(place, now)
    with pytest.raises(DomainError, match="already started"):
        programme.update_session(place["coordinator"], session, fields(start=(12, 0), end=(13, 0)),
                                 now=local(10, 30).replace(tzinfo=CHICAGO))


def test_retiring_a_booked_session_asks_first_then_cancels_and_notifies(db, place, now):
    session = create(place, now)
    booking = book_seat(slot_of(db, session), "a@example.org", now)
    with pytest.raises(ConfirmationNeeded):
        programme.retire_session(place["coordinator"], session, now=now)
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    programme.retire_session(place["coordinator"], session, now=now, confirmed={booking.id},
                             reason="Presenter unavailable.")
    db.session.expire_all()
    assert db.session.get(ProgramSession, session.id).listing_status == ListingStatus.RETIRED
    assert slot_of(db, session).status == SlotStatus.CANCELLED
    assert db.session.get(Booking, booking.id).cancel_reason == "Presenter unavailable."
    assert db.session.scalar(sa.select(OutboxMessage.kind).where(AFTER_BOOKING)) == "booking_cancelled"


def test_fewer_seats_does_not_cancel_a_booking_made_after_the_list_was_shown(db, place, now):
    session, slot, first, second = two_readers_then_one_seat(db, place, now)
    third = book_seat(slot, "c@example.org", now)  # while the confirmation page is open
    with pytest.raises(ConfirmationNeeded) as again:
        programme.update_session(place["coordinator"], session, fields(seats=1), now=now,
                                 confirmed={second.id})
    assert [b.id for b in again.value.plan.lost] == [third.id, second.id]
    assert again.value.unseen == {third.id}
    db.session.expire_all()
    assert [db.session.get(Booking, b.id).status for b in (first, second, third)] == [
        BookingStatus.CONFIRMED] * 3
    assert slot_of(db, session).capacity == 3
    assert db.session.scalar(sa.select(sa.func.count()).where(AFTER_BOOKING)) == 0


def test_retiring_a_session_does_not_cancel_a_booking_made_after_the_list_was_shown(
        db, place, now):
    session = create(place, now)
    shown = book_seat(slot_of(db, session), "a@example.org", now)
    with pytest.raises(ConfirmationNeeded):
        programme.retire_session(place["coordinator"], session, now=now)
    unseen = book_seat(slot_of(db, session), "b@example.org", now)
    with pytest.raises(ConfirmationNeeded) as again:
        programme.retire_session(place["coordinator"], session, now=now, confirmed={shown.id})
    assert [b.id for b in again.value.plan.lost] == [shown.id, unseen.id]
    assert "changed since you looked" in again.value.message
    db.session.expire_all()
    assert db.session.get(ProgramSession, session.id).listing_status == ListingStatus.DRAFT
    assert slot_of(db, session).status == SlotStatus.OPEN
    assert db.session.get(Booking, unseen.id).status == BookingStatus.CONFIRMED


# Moving a session: a reader cannot hold two overlapping bookings (rule 2) -----------------


def reading_at(place, make_slot, start, end, capacity=3) -> Slot:
    """A reading of the volunteer's book, at local times on the event's day."""
    return make_slot(place["event"], book=place["book"], capacity=capacity,
                     starts_at=local(*start).replace(tzinfo=CHICAGO).astimezone(timezone.utc),
                     minutes=(end[0] - start[0]) * 60 + end[1] - start[1])


def after_booking(db) -> list[tuple[str, str, str | None]]:
    db.session.expire_all()
    return sorted((m.kind, m.to_email, m.payload.get("reason")) for m in db.session.scalars(
        sa.select(OutboxMessage).where(AFTER_BOOKING)))


def test_moving_onto_a_readers_other_booking_asks_first_and_changes_nothing(
        db, place, now, make_slot):
    session = create(place, now)
    slot = slot_of(db, session)
    clash, fine = book_seat(slot, "a@example.org", now), book_seat(slot, "b@example.org", now)
    book_seat(reading_at(place, make_slot, (13, 0), (13, 30)), "a@example.org", now)
    book_seat(reading_at(place, make_slot, (12, 30), (13, 0)), "b@example.org", now)  # adjacent
    with pytest.raises(ConfirmationNeeded) as asked:
        programme.update_session(place["coordinator"], session,
                                 fields(start=(13, 0), end=(14, 0)), now=now)
    assert [b.id for b in asked.value.plan.lost] == [clash.id]
    assert [b.id for b in asked.value.plan.clashing] == [clash.id]
    moved = slot_of(db, session)
    assert moved.starts_at == datetime(2031, 6, 14, 15, 0, tzinfo=timezone.utc)
    assert {db.session.get(Booking, b.id).status for b in (clash, fine)} == {
        BookingStatus.CONFIRMED}
    assert after_booking(db) == []


def test_a_confirmed_move_cancels_only_the_clashing_seat_and_promotes_the_waitlist(
        db, place, now, make_slot):
    session = create(place, now, seats=2)
    slot = slot_of(db, session)
    clash, stays = book_seat(slot, "a@example.org", now), book_seat(slot, "b@example.org", now)
    waiting = book_seat(slot, "c@example.org", now)
    other = book_seat(reading_at(place, make_slot, (13, 30), (14, 0)), "a@example.org", now)
    programme.update_session(place["coordinator"], session, fields(seats=2, start=(13, 0),
                                                                   end=(14, 0)),
                             now=now, confirmed={clash.id}, reason="Not this reason.")
    db.session.expire_all()
    cancelled = db.session.get(Booking, clash.id)
    assert cancelled.status == BookingStatus.CANCELLED
    assert cancelled.cancel_reason == programme.OVERLAP_REASON
    assert db.session.get(Booking, other.id).status == BookingStatus.CONFIRMED  # untouched
    assert db.session.get(Booking, stays.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Booking, waiting.id).status == BookingStatus.CONFIRMED
    assert slot_of(db, session).booked == 2
    assert after_booking(db) == [
        ("booking_cancelled", "a@example.org", programme.OVERLAP_REASON),
        ("schedule_changed", "b@example.org", None),
        ("schedule_changed", "c@example.org", None),
        ("waitlist_promoted", "c@example.org", None),
    ]


def test_a_move_with_fewer_seats_counts_the_seat_a_clashing_reader_frees(
        db, place, now, make_slot):
    session = create(place, now, seats=2)
    slot = slot_of(db, session)
    clash, stays = book_seat(slot, "a@example.org", now), book_seat(slot, "b@example.org", now)
    book_seat(reading_at(place, make_slot, (13, 0), (13, 30)), "a@example.org", now)
    change = fields(seats=1, start=(13, 0), end=(14, 0))
    with pytest.raises(ConfirmationNeeded) as asked:
        programme.update_session(place["coordinator"], session, change, now=now)
    assert [b.id for b in asked.value.plan.lost] == [clash.id]  # not b as well
    programme.update_session(place["coordinator"], session, change, now=now,
                             confirmed={clash.id})
    db.session.expire_all()
    assert db.session.get(Booking, stays.id).status == BookingStatus.CONFIRMED
    moved = slot_of(db, session)
    assert (moved.capacity, moved.booked) == (1, 1)


def test_a_reader_who_books_the_new_time_after_the_list_was_shown_is_asked_about(
        db, place, now, make_slot):
    session = create(place, now)
    slot = slot_of(db, session)
    clash, late = book_seat(slot, "a@example.org", now), book_seat(slot, "b@example.org", now)
    reading = reading_at(place, make_slot, (13, 0), (13, 30))
    book_seat(reading, "a@example.org", now)
    change = fields(start=(13, 0), end=(14, 0))
    with pytest.raises(ConfirmationNeeded):
        programme.update_session(place["coordinator"], session, change, now=now)
    book_seat(reading, "b@example.org", now)  # b now clashes too
    with pytest.raises(ConfirmationNeeded) as again:
        programme.update_session(place["coordinator"], session, change, now=now,
                                 confirmed={clash.id})
    assert [b.id for b in again.value.plan.clashing] == [clash.id, late.id]
    assert again.value.unseen == {late.id}
    assert slot_of(db, session).starts_at == datetime(2031, 6, 14, 15, 0, tzinfo=timezone.utc)
    assert after_booking(db) == []


# Partner profile ---------------------------------------------------------------------------


def test_a_coordinator_edits_their_partners_profile(db, place, now):
    partners.update_profile(place["coordinator"], place["partner"], Profile.parse(
        name=" Riverside Literacy ", kind="literacy council", website="https://lit.example.org",
        description="We teach adults to read.", contact_email="Hello@Lit.Example.org"), now=now)
    db.session.expire_all()
    partner = db.session.get(type(place["partner"]), place["partner"].id)
    assert partner.name == "Riverside Literacy" and partner.website == "https://lit.example.org"


@pytest.mark.parametrize(
    ("entered", "field"),
    [({"website": "javascript:alert(1)"}, "website"), ({"website": "lit.example.org"}, "website"),
     ({"contact_email": "not-an-address"}, "contact_email"), ({"name": ""}, "name")],
)
def test_a_bad_profile_is_refused_and_nothing_changes(db, place, now, entered, field):
    profile = {"name": "New name", "website": "https://ok.example.org", **entered}
    with pytest.raises(ValidationFailed) as refused:
        partners.update_profile(place["coordinator"], place["partner"],
                                Profile.parse(**profile), now=now)
    assert field in refused.value.errors
    db.session.expire_all()
    assert db.session.get(type(place["partner"]), place["partner"].id).name == "Literacy Council"


def test_coordinator_cannot_edit_another_partners_profile(db, place, now):
    with pytest.raises(Forbidden):
        partners.update_profile(place["other_coordinator"], place["partner"],
                                Profile.parse(name="Taken over"), now=now)
