"""Bookings confirmed by e-mail (BOOKING_CONFIRMATION=email, the default): holds, the
confirmation link, remembered browsers, lapsing holds, and the caps that keep one client from
taking an event's seats or mail-bombing an address. Rule 8: the answer to a booking attempt
never depends on what the address already holds."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.services import reservations
from booking.config import ConfigError
from booking.domain.models import Booking, BookingStatus, OutboxMessage, RememberedPatron
from booking.web.holds import COOKIE

from support import csrf_token_from, sign_in
from booking.domain.commands import Patron, SessionListing, WalkIn


@pytest.fixture
def app_config(app_config):
    return {**app_config, "BOOKING_CONFIRMATION": "email"}


def api_book(client, slot_id, email, name="Ada Reader", **extra):
    return client.post(f"/api/v1/slots/{slot_id}/bookings",
                       json={"name": name, "email": email, **extra})


def page_book(client, slot_id, email, name="Ada Reader", **extra):
    page = client.get(f"/slots/{slot_id}/book")
    assert page.status_code == 200
    return client.post(f"/slots/{slot_id}/book", data={
        "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        "name": name, "email": email, "seats": 1, **extra})


def messages(db, kind=None, to=None):
    db.session.expire_all()
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    if to:
        query = query.where(sa.func.lower(OutboxMessage.to_email) == to.lower())
    return db.session.scalars(query).all()


def confirm_link(db, to):
    """The confirmation link of the newest hold e-mailed to `to`, as a path."""
    held = messages(db, "booking_held", to)
    assert held, f"no hold e-mail to {to}"
    return urlsplit(held[-1].payload["confirm_url"]).path


def confirm(client, path, *, remember=False):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    fields = {"csrf_token": csrf_token_from(page.get_data(as_text=True))}
    if remember:
        fields["remember"] = "y"
    return client.post(path, data=fields)


def booking_of(db, booking_id) -> Booking:
    db.session.expire_all()
    return db.session.get(Booking, booking_id)


# -- the default, and what a booking without proof of the address is ------------------------

def test_bookings_are_confirmed_by_email_unless_the_library_chooses_instant(monkeypatch):
    monkeypatch.delenv("BOOKING_CONFIRMATION", raising=False)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["BOOKING_CONFIRMATION"] == "email"
    monkeypatch.setenv("BOOKING_CONFIRMATION", "Instant")
    assert create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
                      ).config["BOOKING_CONFIRMATION"] == "instant"
    monkeypatch.setenv("BOOKING_CONFIRMATION", "sometimes")
    with pytest.raises(ConfigError, match="BOOKING_CONFIRMATION must be email or instant"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_an_api_booking_is_a_hold_that_keeps_its_seat_and_says_when_it_lapses(client, db,
                                                                               make_slot):
    slot = make_slot(capacity=1)

    answer = api_book(client, slot.id, "ada@example.org")

    assert answer.status_code == 201
    body = answer.get_json()
    assert body["status"] == "pending"
    assert set(body) == {"id", "status", "manage_url", "ics_url", "hold_expires_at"}
    booking = booking_of(db, body["id"])
    assert booking.status == BookingStatus.PENDING and booking.waitlist_position is None
    assert db.session.get(type(slot), slot.id).booked == 1  # the seat is held
    assert datetime.fromisoformat(body["hold_expires_at"]) == booking.hold_expires_at
    assert booking.hold_expires_at - booking.created_at == timedelta(minutes=20)
    # The only e-mail is the one that proves the address: no invitation before that.
    assert [m.kind for m in messages(db)] == ["booking_held"]
    # The next reader, seeing no seat, gets a hold on the waitlist.
    second = api_book(client, slot.id, "bea@example.org").get_json()
    assert second["status"] == "pending"
    assert booking_of(db, second["id"]).waitlist_position == 1


def test_the_answer_does_not_depend_on_what_the_address_already_holds(client, db, make_event,
                                                                      make_slot, make_book, now):
    event = make_event(max_bookings_per_patron=1)
    first = make_slot(event, capacity=3)
    same_time = make_slot(event, capacity=3, starts_at=first.starts_at)
    # Ada already holds a confirmed booking (proven address): overlap, same slot and limit.
    reservations.book(first.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)

    answers = {
        "fresh address": api_book(client, same_time.id, "zed@example.org"),
        "overlapping booking": api_book(client, same_time.id, "ada@example.org"),
        "same slot": api_book(client, first.id, "ADA@example.org"),
    }

    shapes = {label: (a.status_code, tuple(sorted(a.get_json())), a.get_json()["status"])
              for label, a in answers.items()}
    assert len(set(shapes.values())) == 1, shapes
    assert shapes["fresh address"] == (
        201, ("hold_expires_at", "ics_url", "id", "manage_url", "status"), "pending")


def test_the_booking_page_answers_the_same_for_a_fresh_and_a_busy_address(
        app, client, db, make_event, make_slot, now):
    event = make_event()
    first = make_slot(event, capacity=3)
    same_time = make_slot(event, capacity=3, starts_at=first.starts_at)
    reservations.book(first.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)

    pages = []
    for email in ("zed@example.org", "ada@example.org"):
        answer = page_book(client, same_time.id, email)
        assert answer.status_code == 303
        assert re.fullmatch(r"/bookings/[A-Za-z0-9_-]+/confirmation",
                            urlsplit(answer.headers["Location"]).path)
        page = client.get(answer.headers["Location"]).get_data(as_text=True)
        page = page.replace(email, "ADDRESS")
        page = re.sub(r"/bookings/[A-Za-z0-9_-]+", "/bookings/TOKEN", page)
        page = re.sub(r'name="csrf_token"[^>]*>', "", page)
        pages.append(page)

    assert "Check your e-mail to confirm" in pages[0]
    assert pages[0] == pages[1]


# -- confirming by the e-mailed link --------------------------------------------------------

def test_the_emailed_link_confirms_the_hold_and_the_browser_books_at_once_next_time(
        client, db, make_event, make_slot):
    event = make_event()
    slot, later = make_slot(event, capacity=2), make_slot(event, capacity=2,
                                                          starts_at=event.starts_at
                                                          + timedelta(hours=3))
    booking_id = api_book(client, slot.id, "Ada@Example.org").get_json()["id"]
    link = confirm_link(db, "ada@example.org")

    # Opening the link (as a mail scanner does) changes nothing.
    assert client.get(link).status_code == 200
    assert booking_of(db, booking_id).status == BookingStatus.PENDING

    answer = confirm(client, link, remember=True)

    assert answer.status_code == 303
    booking = booking_of(db, booking_id)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.hold_expires_at is None and booking.hold_client is None
    assert [m.kind for m in messages(db, to="ada@example.org")] == [
        "booking_held", "booking_confirmed"]
    assert COOKIE in answer.headers.get("Set-Cookie", "")
    assert "HttpOnly" in answer.headers["Set-Cookie"]
    assert "SameSite=Lax" in answer.headers["Set-Cookie"]
    # A second click on the link changes nothing and shows the booking.
    assert client.get(link).status_code == 303
    assert len(messages(db, "booking_confirmed")) == 1

    # This browser now books for that address in one step, in any casing...
    at_once = page_book(client, later.id, "ada@example.org")
    made = booking_of(db, db.session.scalar(sa.select(sa.func.max(Booking.id))))
    assert at_once.status_code == 303 and made.status == BookingStatus.CONFIRMED
    # ...but another address still needs its own proof.
    page_book(client, later.id, "someone.else@example.org")
    other = booking_of(db, db.session.scalar(sa.select(sa.func.max(Booking.id))))
    assert other.status == BookingStatus.PENDING


def test_confirming_remembers_the_browser_only_when_asked(client, db, make_event, make_slot):
    event = make_event()
    slot = make_slot(event, capacity=2)
    later = make_slot(event, capacity=2, starts_at=event.starts_at + timedelta(hours=3))
    api_book(client, slot.id, "ada@example.org")
    link = confirm_link(db, "ada@example.org")
    assert "shared or public computer" in client.get(link).get_data(as_text=True)

    answer = confirm(client, link)  # the box left unticked, as on a library's computer

    assert answer.status_code == 303 and COOKIE not in answer.headers.get("Set-Cookie", "")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RememberedPatron)) == 0
    # The next person at this browser neither sees the address nor books as it.
    page = client.get(f"/slots/{later.id}/book").get_data(as_text=True)
    assert "ada@example.org" not in page
    page_book(client, later.id, "ada@example.org")
    assert booking_of(db, db.session.scalar(sa.select(sa.func.max(Booking.id)))).status == \
        BookingStatus.PENDING


def test_the_manage_link_alone_cannot_confirm_a_hold(client, db, make_slot):
    slot = make_slot(capacity=1)
    answer = api_book(client, slot.id, "victim@example.org").get_json()
    token = urlsplit(answer["manage_url"]).path.rsplit("/", 1)[-1]

    for code in ("forged", "x" * 27, confirm_link(db, "victim@example.org").rsplit("/", 1)[-1]
                 + "x"):
        assert client.get(f"/bookings/{token}/confirm/{code}").status_code == 404
        assert client.post(f"/bookings/{token}/confirm/{code}").status_code in (400, 404)
    assert booking_of(db, answer["id"]).status == BookingStatus.PENDING


def test_a_conflict_found_on_confirming_is_explained_and_changes_nothing(client, db,
                                                                        make_event, make_slot, now):
    event = make_event()
    first = make_slot(event, capacity=2)
    same_time = make_slot(event, capacity=2, starts_at=first.starts_at)
    reservations.book(first.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    hold_id = api_book(client, same_time.id, "ada@example.org").get_json()["id"]

    answer = confirm(client, confirm_link(db, "ada@example.org"))

    assert answer.status_code == 409
    text = answer.get_data(as_text=True)
    assert "overlapping time" in text and "Nothing has changed" in text
    assert booking_of(db, hold_id).status == BookingStatus.PENDING
    assert COOKIE not in answer.headers.get("Set-Cookie", "")


def test_a_hold_confirmed_too_late_has_lapsed(client, db, make_slot, now, monkeypatch):
    slot = make_slot(capacity=1)
    hold_id = api_book(client, slot.id, "ada@example.org").get_json()["id"]
    link = confirm_link(db, "ada@example.org")
    page = client.get(link).get_data(as_text=True)  # opened in time, pressed too late
    later = now + timedelta(minutes=21)
    monkeypatch.setattr("booking.web.manage.utcnow", lambda: later)

    answer = client.post(link, data={"csrf_token": csrf_token_from(page)})

    assert answer.status_code == 410
    assert "not confirmed in time" in answer.get_data(as_text=True)
    booking = booking_of(db, hold_id)
    assert booking.status == BookingStatus.CANCELLED
    assert db.session.get(type(slot), slot.id).booked == 0


def test_opening_the_link_of_an_ended_hold_says_so_and_offers_to_book_again(
        client, db, make_slot, now, monkeypatch):
    slot = make_slot(capacity=1)
    answer = api_book(client, slot.id, "ada@example.org").get_json()
    link = confirm_link(db, "ada@example.org")
    monkeypatch.setattr("booking.web.manage.utcnow", lambda: now + timedelta(minutes=21))

    late = client.get(link)  # time is up, not swept yet: nothing changes on opening

    text = late.get_data(as_text=True)
    assert late.status_code == 410 and "This hold has ended" in text
    assert f'href="/slots/{slot.id}/book"' in text and "Confirm my booking</button>" not in text
    assert booking_of(db, answer["id"]).status == BookingStatus.PENDING
    # Released by its manage link: the same page, and the booking page says it never started.
    monkeypatch.setattr("booking.web.manage.utcnow", lambda: now)
    token = urlsplit(answer["manage_url"]).path.rsplit("/", 1)[-1]
    client.post(f"/api/v1/bookings/{token}/cancel")
    assert "This hold has ended" in client.get(link).get_data(as_text=True)
    manage = client.get(f"/bookings/{token}").get_data(as_text=True)
    assert "Ended without being confirmed" in manage and "Released before it was confirmed" in manage


def test_the_check_your_email_page_offers_to_release_a_mistyped_hold_and_no_calendar(
        client, db, make_slot):
    slot = make_slot(capacity=1)

    answer = page_book(client, slot.id, "ada@exampel.org")

    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    token = urlsplit(answer.headers["Location"]).path.split("/")[2]
    assert f'href="/bookings/{token}/cancel">Release this hold</a>' in page
    assert "booking-feed" not in page and ".ics" not in page
    assert "CST" in page  # the deadline says its day and zone, like every event time


# -- holds lapse by themselves ----------------------------------------------------------------

def test_lapsed_holds_free_their_seats_and_move_the_waitlist_up(app, client, db, make_slot,
                                                                now, runner):
    slot = make_slot(capacity=1)
    hold_id = api_book(client, slot.id, "ada@example.org").get_json()["id"]
    waiting = reservations.book(slot.id, Patron.parse(name="Bea", email="bea@example.org"), now=now).booking
    assert waiting.status == BookingStatus.WAITLISTED

    assert reservations.expire_holds(now + timedelta(minutes=19)) == 0
    assert reservations.expire_holds(now + timedelta(minutes=21)) == 1

    assert booking_of(db, hold_id).status == BookingStatus.CANCELLED
    assert booking_of(db, waiting.id).status == BookingStatus.CONFIRMED
    assert [m.kind for m in messages(db, to="bea@example.org")][-1] == "waitlist_promoted"
    # The address that never proved itself hears nothing more than its one hold e-mail.
    assert [m.kind for m in messages(db, to="ada@example.org")] == ["booking_held"]
    assert db.session.get(type(slot), slot.id).booked == 1
    assert "0 holds lapsed." in runner.invoke(args=["expire-holds"]).output


def test_booking_a_slot_lets_its_overdue_holds_lapse_first(client, db, make_slot, now):
    slot = make_slot(capacity=1)
    api_book(client, slot.id, "ada@example.org")

    late = reservations.book(
        slot.id,
        Patron.parse(name="Bea", email="bea@example.org"),
        now=now + timedelta(minutes=25),
    )

    assert late.status == BookingStatus.CONFIRMED


def test_a_hold_on_the_waitlist_takes_its_turn_but_stays_a_hold(client, db, make_slot, now):
    slot = make_slot(capacity=1)
    seated = reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    hold_id = api_book(client, slot.id, "bea@example.org").get_json()["id"]
    behind = reservations.book(slot.id, Patron.parse(name="Cy", email="cy@example.org"), now=now).booking

    reservations.cancel(seated.token, now=now)

    hold = booking_of(db, hold_id)
    assert hold.status == BookingStatus.PENDING and hold.waitlist_position is None
    assert booking_of(db, behind.id).status == BookingStatus.WAITLISTED
    confirm(client, confirm_link(db, "bea@example.org"))
    assert booking_of(db, hold_id).status == BookingStatus.CONFIRMED


def test_releasing_a_hold_frees_its_seat_without_an_email(client, db, make_slot):
    slot = make_slot(capacity=1)
    answer = api_book(client, slot.id, "ada@example.org").get_json()
    token = urlsplit(answer["manage_url"]).path.rsplit("/", 1)[-1]

    assert client.post(f"/api/v1/bookings/{token}/cancel").status_code == 200

    assert db.session.get(type(slot), slot.id).booked == 0
    assert [m.kind for m in messages(db)] == ["booking_held"]


# -- one client cannot take the seats; nobody is mail-bombed ---------------------------------

@pytest.mark.parametrize("limit", [3])
def test_one_client_keeps_a_capped_number_of_open_holds_per_event(app, client, db, make_event,
                                                                  make_slot, limit):
    app.config["HOLDS_PER_CLIENT_PER_EVENT"] = limit
    event = make_event()
    slot = make_slot(event, capacity=50)

    answers = [api_book(client, slot.id, f"fake{n}@example.org") for n in range(limit + 2)]

    assert [a.status_code for a in answers] == [201] * limit + [429, 429]
    assert "waiting for their e-mail confirmation" in answers[-1].get_json()["error"]
    assert db.session.get(type(slot), slot.id).booked == limit
    # Another client is not held back by it.
    other = client.post(f"/api/v1/slots/{slot.id}/bookings",
                        json={"name": "Real", "email": "real@example.org"},
                        environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert other.status_code == 201
    # Confirming a hold frees one place under the cap.
    confirm(client, confirm_link(db, "fake0@example.org"))
    assert api_book(client, slot.id, "fake9@example.org").status_code == 201


def test_the_addresses_of_one_ipv6_network_are_one_client_for_the_hold_cap(app, client, db,
                                                                          make_slot):
    app.config["HOLDS_PER_CLIENT_PER_EVENT"] = 2
    slot = make_slot(capacity=50)

    codes = [client.post(f"/api/v1/slots/{slot.id}/bookings",
                         json={"name": "Fake", "email": f"fake{n}@example.org"},
                         environ_base={"REMOTE_ADDR": f"2001:db8:0:7::{n + 1:x}"}).status_code
             for n in range(3)]

    assert codes == [201, 201, 429]
    assert db.session.get(type(slot), slot.id).booked == 2


def test_holds_whose_time_is_up_leave_the_cap_before_the_sweep(app, client, db, make_event,
                                                              make_slot, now, monkeypatch):
    app.config["HOLDS_PER_CLIENT_PER_EVENT"] = 1
    event = make_event()
    first, second = (make_slot(event, capacity=5, starts_at=event.starts_at + timedelta(hours=n))
                     for n in (1, 2))
    assert api_book(client, first.id, "ada@example.org").status_code == 201
    assert api_book(client, second.id, "ada@example.org").status_code == 429
    monkeypatch.setattr("booking.web.api.utcnow", lambda: now + timedelta(minutes=21))

    # The hold in the other reading has lapsed in all but name: it no longer counts.
    assert api_book(client, second.id, "ada@example.org").status_code == 201


def test_an_address_gets_a_capped_number_of_anonymous_emails_per_hour(app, client, db,
                                                                       make_event, make_slot):
    app.config["MAIL_ANONYMOUS_PER_RECIPIENT_PER_HOUR"] = 3
    event = make_event()
    slots = [make_slot(event, capacity=5, starts_at=event.starts_at + timedelta(hours=n))
             for n in range(5)]

    answers = [api_book(client, s.id, "Victim@Example.org" if n % 2 else "victim@example.org")
               for n, s in enumerate(slots)]

    assert {a.status_code for a in answers} == {201}  # the answers do not show the cap
    assert len(messages(db, to="victim@example.org")) == 3
    assert len(messages(db, to="bystander@example.org")) == 0
    api_book(client, slots[0].id, "bystander@example.org")
    assert len(messages(db, to="bystander@example.org")) == 1


def test_sub_addresses_and_dotted_spellings_of_one_mailbox_share_its_cap(app, client, db,
                                                                          make_slot):
    app.config["MAIL_ANONYMOUS_PER_RECIPIENT_PER_HOUR"] = 3
    slot = make_slot(capacity=20)
    # Mail for each of these reaches victim@gmail.com (a +tag, or Gmail's ignored dots).
    spellings = ["victim+1@gmail.com", "v.ictim@gmail.com", "Victim+x.y@Gmail.com",
                 "vic.tim+2@gmail.com", "victim@gmail.com", "victim+%_@gmail.com"]

    answers = [api_book(client, slot.id, address) for address in spellings]

    assert {a.status_code for a in answers} == {201}
    held = messages(db, "booking_held")
    assert [m.to_email for m in held] == spellings[:3]
    for other in ("victims@gmail.com", "victim@gmail.org", "victim_@gmail.com"):
        api_book(client, slot.id, other)
        assert messages(db, to=other), other


def test_booking_and_cancelling_in_a_loop_cannot_mail_bomb_an_address(app, client, db,
                                                                       make_slot):
    app.config["BOOKING_CONFIRMATION"] = "instant"
    app.config["MAIL_ANONYMOUS_PER_RECIPIENT_PER_HOUR"] = 5
    slot = make_slot(capacity=5)

    for _ in range(20):
        answer = api_book(client, slot.id, "victim@example.org").get_json()
        token = urlsplit(answer["manage_url"]).path.rsplit("/", 1)[-1]
        assert client.post(f"/api/v1/bookings/{token}/cancel").status_code == 200

    assert len(messages(db, to="victim@example.org")) == 5


def test_messages_staff_cause_are_never_capped(app, client, db, make_slot, staff, now):
    from booking.domain.commands import Cancellation
    from booking.services import events

    app.config["MAIL_ANONYMOUS_PER_RECIPIENT_PER_HOUR"] = 1
    app.config["BOOKING_CONFIRMATION"] = "instant"
    slot = make_slot(capacity=5)
    api_book(client, slot.id, "ada@example.org")
    api_book(client, make_slot(slot.event, capacity=5,
                               starts_at=slot.starts_at + timedelta(hours=2)).id,
             "ada@example.org")
    assert len(messages(db, to="ada@example.org")) == 1  # the second was over the cap

    events.cancel_event(staff, db.session.get(type(slot.event), slot.event_id),
                        Cancellation.parse(reason="The building is closed."), now)

    assert [m.kind for m in messages(db, to="ada@example.org")].count("booking_cancelled") == 2


def test_password_resets_are_capped_per_account(app, client, db):
    from booking.domain.models import Role, User

    db.session.add(User(email="sam@example.org", name="Sam", role=Role.STAFF))
    db.session.commit()
    for _ in range(6):
        page = client.get("/password/forgot")
        answer = client.post("/password/forgot", data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)), "email": "sam@example.org"})
        assert answer.status_code == 303

    assert len(messages(db, "password_reset", "sam@example.org")) == 3


# -- remembered browsers ---------------------------------------------------------------------

def test_a_forgotten_browser_cookie_no_longer_books_at_once(client, db, make_event, make_slot):
    event = make_event()
    slot = make_slot(event, capacity=3)
    later = make_slot(event, capacity=3, starts_at=event.starts_at + timedelta(hours=3))
    api_book(client, slot.id, "ada@example.org")
    confirm(client, confirm_link(db, "ada@example.org"), remember=True)
    cookie = client.get_cookie(COOKIE, domain="library.test")
    assert cookie is not None
    page = client.get(f"/slots/{later.id}/book").get_data(as_text=True)
    assert "Forget this browser" in page and "ada@example.org" in page

    answer = client.post("/patron/forget", data={
        "forget-csrf_token": csrf_token_from(page.replace('name="forget-csrf_token"',
                                                          'name="csrf_token"', 1)),
        "slot": later.id})

    assert answer.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RememberedPatron)) == 0
    # Even replayed, the old cookie is revoked: the next booking is a hold again.
    client.set_cookie(COOKIE, cookie.value, domain="library.test")
    page_book(client, later.id, "ada@example.org")
    assert booking_of(db, db.session.scalar(sa.select(sa.func.max(Booking.id)))).status == \
        BookingStatus.PENDING


def test_a_tampered_cookie_is_ignored(client, db, make_slot):
    slot = make_slot(capacity=3)
    client.set_cookie(COOKIE, "not-a-signed-token", domain="library.test")

    assert page_book(client, slot.id, "ada@example.org").status_code == 303
    assert booking_of(db, db.session.scalar(sa.select(sa.func.max(Booking.id)))).status == \
        BookingStatus.PENDING


# -- what others see of holds ----------------------------------------------------------------

def test_holds_never_confirmed_are_not_bookings_in_reports(client, db, make_slot, now):
    from booking.services.queries.reports import ReportFilter, build_report

    slot = make_slot(capacity=3)
    api_book(client, slot.id, "ada@example.org")  # lapses
    api_book(client, slot.id, "cy@example.org")   # still waiting
    reservations.book(slot.id, Patron.parse(name="Bea", email="bea@example.org"), now=now)
    reservations.expire_holds(now + timedelta(minutes=30))
    api_book(client, slot.id, "dee@example.org")

    totals = build_report(ReportFilter(event_id=slot.event_id), now=now).totals

    assert (totals.bookings, totals.seats, totals.cancelled) == (1, 1, 0)


def test_the_desk_shows_a_hold_but_cannot_check_it_in(client, db, make_slot, now):
    from booking.domain.errors import AttendanceRefused

    slot = make_slot(capacity=2, starts_at=now + timedelta(minutes=10))
    hold_id = api_book(client, slot.id, "ada@example.org").get_json()["id"]

    with pytest.raises(AttendanceRefused, match="not confirmed yet"):
        reservations.check_in(hold_id, now=now)


def test_moving_a_session_leaves_a_hold_to_be_judged_when_it_is_confirmed(
        client, db, make_event, make_session, make_slot, staff, now):
    from zoneinfo import ZoneInfo

    from booking.services import programme

    event = make_event()
    session = make_session(event)
    slot = make_slot(event, session=session, capacity=5)
    elsewhere = make_slot(event, capacity=5, starts_at=event.starts_at + timedelta(hours=3))
    reservations.book(elsewhere.id, Patron.parse(name="Vic", email="victim@example.org"), now=now)
    # A stranger holds a seat in the session with Vic's address, and keeps the manage link.
    answer = api_book(client, slot.id, "victim@example.org").get_json()
    manage_path = urlsplit(answer["manage_url"]).path
    new_start = elsewhere.starts_at.astimezone(ZoneInfo(event.timezone)).replace(tzinfo=None)

    # The session moves onto the time of Vic's other booking: nothing to confirm, no loss.
    programme.update_session(staff, session, SessionListing.parse(
        title=session.title, starts=new_start,
        ends=new_start + timedelta(minutes=30), seats=5), now=now)

    hold = booking_of(db, answer["id"])
    assert hold.status == BookingStatus.PENDING
    page = client.get(manage_path).get_data(as_text=True)
    assert "overlaps" not in page and "Cancelled" not in page
    # Vic, confirming, learns of the overlap; the stranger never does.
    refused = confirm(client, confirm_link(db, "victim@example.org"))
    assert refused.status_code == 409 and "overlapping time" in refused.get_data(as_text=True)


def test_a_walk_in_takes_the_seat_of_a_hold_whose_time_is_up(client, db, make_slot, now):
    slot = make_slot(capacity=1, starts_at=now + timedelta(minutes=40))
    hold_id = api_book(client, slot.id, "ada@example.org").get_json()["id"]

    # Before the minute's sweep has run: the desk seats the walk-in all the same.
    walk_in = reservations.book(
        slot.id,
        WalkIn.parse(name="Walk-in", email=""),
        now=now + timedelta(minutes=25),
    )

    assert walk_in.status == BookingStatus.CONFIRMED
    assert booking_of(db, hold_id).status == BookingStatus.CANCELLED


def test_the_desk_lists_seated_readers_then_the_waitlist_in_line(client, db, make_slot, now):
    from booking.services import desk

    slot = make_slot(capacity=2, starts_at=now + timedelta(minutes=10))
    reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    api_book(client, slot.id, "bea@example.org", name="Bea")  # a hold on the last seat
    reservations.book(slot.id, Patron.parse(name="Cy", email="cy@example.org"), now=now)  # waitlist, 1st
    api_book(client, slot.id, "dee@example.org", name="Dee")  # a hold in line, 2nd
    reservations.book(slot.id, Patron.parse(name="Eve", email="eve@example.org"), now=now)  # waitlist, 3rd

    [card] = desk.book_states(slot.event, now)
    [reading] = card.readings

    assert [b.patron_name for b in reading.bookings] == ["Ada", "Bea", "Cy", "Dee", "Eve"]


def test_the_staff_feed_names_holds_apart_from_readers(client, db, make_event, make_slot,
                                                      make_user, now):
    from booking.services import calendars
    from booking.domain.models import Role

    slot = make_slot(make_event(max_seats_per_booking=2), capacity=3)
    reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    api_book(client, slot.id, "bea@example.org", name="Bea", seats=2)
    token = calendars.issue_feed_token(make_user("boss@example.org", Role.STAFF))

    text = client.get(f"/feeds/u/{token}.ics").get_data(as_text=True).replace("\r\n ", "")

    assert "Booked: 3 of 3.\\nReaders: Ada\\nNot confirmed by e-mail yet: Bea (2 seats)" in text


def test_staff_asked_to_cancel_a_hold_are_told_it_is_unconfirmed_and_not_emailed(
        client, db, make_partner, make_event, make_book, make_slot, make_user):
    from booking.domain.models import HostRole

    partner = make_partner()
    book = make_book(partner)
    slot = make_slot(make_event(hosts=[(partner, HostRole.HOST)]), book=book, capacity=2)
    api_book(client, slot.id, "ada@example.org")
    make_user("boss@example.org")
    sign_in(client, "boss@example.org")
    dashboard = client.get(f"/partner/?partner={partner.id}").get_data(as_text=True)

    asked = client.post(f"/partner/books/{book.id}/retire?partner={partner.id}",
                        data={"csrf_token": csrf_token_from(dashboard)})

    page = asked.get_data(as_text=True)
    assert asked.status_code == 409 and "would cancel 1 booking" in page
    assert "<td>not confirmed by e-mail yet</td>" in page
    assert "released without one: nobody has proven its address" in page
