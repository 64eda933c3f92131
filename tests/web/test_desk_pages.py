"""The desk over HTTP: a staff member runs a day of readings from a tablet."""
from __future__ import annotations

from datetime import timedelta

import pytest

from booking.services import reservations
from booking.domain.models import Booking, BookingStatus, Slot, utcnow
from support import csrf_token_from, sign_in_as as sign_in
from booking.domain.commands import Patron


@pytest.fixture
def today(make_event, make_book, make_slot, world):
    """An event on now, a reading that started five minutes ago (3 seats, 1 held for walk-ins)
    with two online bookings, and a later reading of the same book."""
    now = utcnow().replace(microsecond=0)
    event = make_event(starts_at=now - timedelta(hours=1), walk_in_seats_per_reading=1)
    book = make_book(title="Retired firefighter")
    reading = make_slot(event, book=book, starts_at=now - timedelta(minutes=5), capacity=3)
    later = make_slot(event, book=book, starts_at=now + timedelta(hours=2), capacity=2)
    before = now - timedelta(hours=3)
    ann = reservations.book(
        reading.id,
        Patron.parse(name="Ann Reader", email="ann@example.org"),
        now=before,
    )
    bob = reservations.book(
        reading.id,
        Patron.parse(name="Bob Reader", email="bob@example.org"),
        now=before,
    )
    return {"event": event, "reading": reading, "later": later, "ann": ann.booking.id,
            "bob": bob.booking.id, "bob_token": bob.token}


@pytest.fixture
def staff_client(client, world):
    sign_in(client, world["staff"])
    return client


def post_from_desk(client, event, action, fields):
    page = client.get(f"/desk/{event.slug}")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **fields})


def status_of(db, booking_id):
    db.session.expire_all()
    return db.session.get(Booking, booking_id).status


def test_staff_run_the_desk_check_ins_no_shows_undo_and_walk_ins(staff_client, today, db):
    event, reading = today["event"], today["reading"]
    page = staff_client.get(f"/desk/{event.slug}").get_data(as_text=True)
    assert "Retired firefighter" in page and "On loan" in page
    assert "Ann Reader" in page and "Bob Reader" in page
    assert "Refresh" in page and "State at" in page

    mark = f"/desk/{event.slug}/bookings/{today['ann']}"
    response = post_from_desk(staff_client, event, mark, {"mark": "attended"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"reading={reading.id}#reading-{reading.id}")
    assert status_of(db, today["ann"]) == BookingStatus.ATTENDED
    assert "Ann Reader is checked in." in staff_client.get(
        response.headers["Location"]).get_data(as_text=True)

    post_from_desk(staff_client, event, f"/desk/{event.slug}/bookings/{today['bob']}",
                   {"mark": "no_show"})
    assert status_of(db, today["bob"]) == BookingStatus.NO_SHOW
    post_from_desk(staff_client, event, f"/desk/{event.slug}/bookings/{today['bob']}",
                   {"mark": "undo"})
    assert status_of(db, today["bob"]) == BookingStatus.CONFIRMED

    prefix = f"walk-in-{reading.id}-"
    response = post_from_desk(
        staff_client, event, f"/desk/{event.slug}/readings/{reading.id}/walk-ins",
        {prefix + "name": "Walk In", prefix + "seats": "1", prefix + "check_in": "y"})
    assert response.status_code == 303
    walk_in = db.session.query(Booking).filter_by(patron_name="Walk In").one()
    assert walk_in.walk_in and walk_in.status == BookingStatus.ATTENDED
    assert db.session.get(Slot, reading.id).booked == 3  # the held seat, taken at the desk

    state = staff_client.get(f"/desk/{event.slug}/state")
    assert state.status_code == 200
    fragment = state.get_data(as_text=True)
    assert "<html" not in fragment and "Walk In" in fragment and "data-desk-card" in fragment


def test_the_desk_lists_todays_events(staff_client, today):
    page = staff_client.get("/desk/").get_data(as_text=True)
    assert f'/desk/{today["event"].slug}' in page


def bad_marks(today):
    return [
        (f"bookings/987654", {"mark": "attended"}, "There is no such booking at this event."),
        (f"bookings/{today['ann']}", {"mark": "dance"}, "Choose Checked in, No-show or Undo."),
    ]


def test_bad_marks_get_a_clear_message_and_change_nothing(staff_client, today, db):
    event = today["event"]
    for path, fields, message in bad_marks(today):
        response = post_from_desk(staff_client, event, f"/desk/{event.slug}/{path}", fields)
        assert response.status_code in (303, 400)
        body = (staff_client.get(response.headers["Location"]) if response.status_code == 303
                else response).get_data(as_text=True)
        assert message in body
    reservations.cancel(today["bob_token"], now=today["reading"].starts_at - timedelta(hours=1))
    response = post_from_desk(staff_client, event, f"/desk/{event.slug}/bookings/{today['bob']}",
                              {"mark": "attended", "reading": str(today["reading"].id)})
    assert "This booking was cancelled" in staff_client.get(
        response.headers["Location"]).get_data(as_text=True)
    assert status_of(db, today["ann"]) == BookingStatus.CONFIRMED
    assert status_of(db, today["bob"]) == BookingStatus.CANCELLED


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "email": "kept@example.org", "seats": "1"}, "Enter the walk-in&#39;s name."),
        ({"name": "Big family", "seats": "5"}, "Only 1 seat is free in this reading."),
        ({"name": "Typo", "seats": "two"}, "Enter a whole number"),
        ({"name": "Bad mail", "email": "not-an-address", "seats": "1"}, "Enter a valid e-mail"),
    ],
)
def test_bad_walk_ins_are_refused_clearly_keeping_what_was_typed(staff_client, today, db,
                                                                  fields, message):
    event, reading = today["event"], today["reading"]
    prefix = f"walk-in-{reading.id}-"
    response = post_from_desk(staff_client, event,
                              f"/desk/{event.slug}/readings/{reading.id}/walk-ins",
                              {prefix + k: v for k, v in fields.items()})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    for value in fields.values():
        assert f'value="{value}"' in body
    assert db.session.query(Booking).count() == 2


def test_a_walk_in_for_a_reading_of_another_event_is_not_found(staff_client, today, make_slot):
    other = make_slot()
    prefix = f"walk-in-{other.id}-"
    response = post_from_desk(staff_client, today["event"],
                              f"/desk/{today['event'].slug}/readings/{other.id}/walk-ins",
                              {prefix + "name": "Someone", prefix + "seats": "1"})
    assert response.status_code == 404


def test_a_forged_desk_post_is_refused(staff_client, today, db):
    event = today["event"]
    response = staff_client.post(f"/desk/{event.slug}/bookings/{today['ann']}",
                                 data={"mark": "attended"})
    assert response.status_code == 400
    assert status_of(db, today["ann"]) == BookingStatus.CONFIRMED


def test_freeing_held_seats_at_the_desk_moves_the_waitlist_up_and_says_so(
    staff_client, today, db
):
    """The later reading: 2 seats, 1 held; one patron booked it and one waits."""
    event, later = today["event"], today["later"]
    before = later.starts_at - timedelta(hours=4)
    reservations.book(later.id, Patron.parse(name="Cy", email="cy@example.org"), now=before)
    waiting = reservations.book(later.id, Patron.parse(name="Di", email="di@example.org"), now=before)
    assert waiting.status == BookingStatus.WAITLISTED

    response = post_from_desk(staff_client, event, f"/desk/{event.slug}/walk-in-seats",
                              {"walk_in_seats": "0"})

    assert "1 patron(s) moved up from the waitlist" in staff_client.get(
        response.headers["Location"]).get_data(as_text=True)
    assert status_of(db, waiting.booking.id) == BookingStatus.CONFIRMED


def test_staff_set_the_seats_held_for_walk_ins(staff_client, today, db):
    event = today["event"]
    response = post_from_desk(staff_client, event, f"/desk/{event.slug}/walk-in-seats",
                              {"walk_in_seats": "2"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(type(event), event.id).walk_in_seats_per_reading == 2
    refused = post_from_desk(staff_client, event, f"/desk/{event.slug}/walk-in-seats",
                             {"walk_in_seats": "-3"})
    assert "between 0 and 10" in staff_client.get(refused.headers["Location"]).get_data(
        as_text=True)
    db.session.expire_all()
    assert db.session.get(type(event), event.id).walk_in_seats_per_reading == 2
