"""Accounts, the partner dashboard and volunteer pages over HTTP, with CSRF on."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from booking.services import accounts, tokens as auth, reservations
from support import (PASSWORD, area_urls, confirmation_fields, csrf_token_from, local_hour,
                     sign_in_as as sign_in, window_form)

from booking.domain.models import HumanBook, ListingStatus, OutboxMessage, Role, Slot, User, utcnow
from booking.domain.errors import Forbidden
from booking.domain.commands import Invite, Patron


def test_signing_in_takes_each_role_to_its_home(app, world):
    for role, home in (("coordinator", "/partner/"), ("volunteer", "/me/"), ("staff", "/staff/")):
        client = app.test_client()
        response = sign_in(client, world[role])
        assert response.headers["Location"] == home
        assert client.get(home).status_code == 200


def test_a_wrong_password_is_refused_with_one_message(client, submit, world):
    response = submit("/login", {"email": "coord@example.org", "password": "nope-nope"})
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)
    unknown = submit("/login", {"email": "nobody@example.org", "password": "nope-nope"})
    assert "do not match an account" in unknown.get_data(as_text=True)


def test_remember_me_sets_a_lasting_cookie(client, submit, world):
    response = submit("/login", {"email": "coord@example.org", "password": PASSWORD,
                                 "remember": "y"})
    assert "remember_token" in response.headers.get("Set-Cookie", "") or any(
        "remember_token" in h for h in response.headers.getlist("Set-Cookie"))


def test_signing_out_is_a_post(client, login, world):
    login(world["coordinator"])
    page = client.get("/partner/").get_data(as_text=True)
    token = re.search(r'type="hidden" name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/partner/").status_code == 302


def test_an_invitation_creates_the_account_once(client, submit, world, db):
    token = accounts.invite(world["coordinator"], Invite.parse(
        email="New.Vol@example.org", role="volunteer", human_book_id=world["own_book"].id),
        now=utcnow()).token
    response = submit(f"/invitations/{token}", {"name": "New Volunteer", "password": "a good password",
                                                "confirm": "a good password"})
    assert response.status_code == 303 and response.headers["Location"] == "/me/"
    user = db.session.scalar(sa.select(User).where(User.email == "new.vol@example.org"))
    assert user.role == Role.VOLUNTEER and user.partner_id == world["own"].id
    assert user.human_book_id == world["own_book"].id
    again = client.get(f"/invitations/{token}")
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)


def test_tampered_and_expired_links_are_refused(client, world, app, monkeypatch):
    token = accounts.invite(world["staff"], Invite.parse(
        email="c2@example.org", role="coordinator", partner_id=world["other"].id),
        now=utcnow()).token
    tampered = client.get(f"/invitations/{token[:-3]}abc")
    assert tampered.status_code == 400 and "not valid" in tampered.get_data(as_text=True)
    monkeypatch.setattr(auth, "INVITATION_MAX_AGE", -1)
    expired = client.get(f"/invitations/{token}")
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)


def test_invitation_rules(world):
    def invite(inviter, **fields):
        return accounts.invite(inviter, Invite.parse(**fields), now=utcnow())

    with pytest.raises(Forbidden):
        invite(world["volunteer"], email="x@example.org", role="volunteer")
    with pytest.raises(Forbidden):
        invite(world["coordinator"], email="x@example.org", role="staff")
    with pytest.raises(accounts.ValidationFailed):
        invite(world["coordinator"], email="x@example.org", role="volunteer",
               human_book_id=world["other_book"].id)
    with pytest.raises(accounts.ValidationFailed):
        invite(world["staff"], email="coord@example.org", role="coordinator",
               partner_id=world["own"].id)


def test_a_retired_book_gets_no_new_volunteer_even_by_a_crafted_post(client, submit, login,
                                                                      world, db):
    book = world["own_book"]
    book.listing_status = ListingStatus.RETIRED
    db.session.commit()
    login(world["coordinator"])
    page = client.get("/partner/invitations/new").get_data(as_text=True)
    assert f'value="{book.id}"' not in page  # not offered

    with pytest.raises(accounts.ValidationFailed) as refused:
        accounts.invite(world["coordinator"], Invite.parse(
            email="late@example.org", role="volunteer", human_book_id=book.id), now=utcnow())

    assert refused.value.errors == {"human_book_id": ["Choose one of your partner's human books."]}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_a_password_reset_link_works_once(client, submit, world, db, caplog):
    page = submit("/password/forgot", {"email": "coord@example.org"}, follow_redirects=True)
    [message] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert message.kind == "password_reset" and message.to_email == "coord@example.org"
    link = re.search(r"http://library\.test(/password/reset/\S+)", message.payload["link"]).group(1)
    assert link not in page.get_data(as_text=True) and link not in caplog.text
    response = submit(link, {"password": "brand new secret", "confirm": "brand new secret"})
    assert response.status_code == 303
    assert accounts.authenticate("coord@example.org", "brand new secret") is not None
    assert client.get(link).status_code == 400


def test_forgot_password_does_not_reveal_whether_an_account_exists(submit, world):
    known = submit("/password/forgot", {"email": "coord@example.org"}, follow_redirects=True)
    unknown = submit("/password/forgot", {"email": "nobody@example.org"}, follow_redirects=True)
    assert "If an account uses that address" in known.get_data(as_text=True)
    assert "If an account uses that address" in unknown.get_data(as_text=True)


# Who may reach what ------------------------------------------------------------------------


def names_own_listing(url, world):
    return (f"/books/{world['own_book'].id}" in url
            or f"/sessions/{world['own_session'].id}" in url)


ALLOWED = (200, 303, 400, 409, 422)


@pytest.mark.parametrize(
    ("prefix", "allowed"),
    [("/partner", {"coordinator"}), ("/me", {"volunteer"}), ("/staff", {"staff"}),
     ("/desk", {"staff"})],
)
def test_every_area_route_refuses_the_wrong_people(app, world, prefix, allowed):
    for who in (None, "volunteer", "other_coordinator", "coordinator", "staff"):
        client = app.test_client()
        if who:
            sign_in(client, world[who])
        # A genuine CSRF token, so that what refuses a POST is the access check.
        token = csrf_token_from(client.get("/login" if who is None else "/password/forgot")
                                .get_data(as_text=True))
        for url, methods in area_urls(app, world, prefix):
            for method in methods:
                response = client.open(url, method=method, data={"csrf_token": token})
                code = response.status_code
                if who is None:
                    assert code == 302 and "/login" in response.headers["Location"], (url, method)
                elif who == "other_coordinator" and prefix == "/partner":
                    # Another partner's book, session and event answer as if they did not exist.
                    if names_own_listing(url, world):
                        assert code == 404, (url, method, code)
                    else:  # their own dashboard and forms, posted empty
                        assert code in ALLOWED, (url, method, code)
                elif who in allowed:
                    assert code in ALLOWED, (who, url, method, code)
                elif who == "staff" and prefix == "/partner":
                    # Without `?partner` staff act for the partner of the book or session named.
                    assert code in ALLOWED + (404,), (url, method, code)
                else:
                    assert code == 403, (who, url, method, code)


def test_staff_reach_every_partner_route_when_acting_for_a_partner(app, world):
    client = app.test_client()
    sign_in(client, world["staff"])
    token = csrf_token_from(client.get("/password/forgot").get_data(as_text=True))
    for url, methods in area_urls(app, world, "/partner", partner=world["own"].id):
        for method in methods:
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code in ALLOWED, (url, method, response.status_code)


def test_staff_acting_for_one_partner_cannot_reach_anothers_listings(app, world):
    client = app.test_client()
    sign_in(client, world["staff"])
    for url, methods in area_urls(app, world, "/partner", partner=world["other"].id):
        if names_own_listing(url, world):
            assert client.get(url).status_code in (404, 405), url


def test_a_forged_post_is_refused(client, login, world, db):
    login(world["coordinator"])
    response = client.post(f"/partner/books/{world['own_book'].id}/retire")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(HumanBook, world["own_book"].id).listing_status == ListingStatus.APPROVED


@pytest.mark.parametrize(("who", "sees_names"), [("coordinator", False), ("staff", True)])
def test_retiring_a_booked_book_shows_what_it_cancels_then_cancels_on_confirmation(
    client, login, world, db, make_slot, now, who, sees_names
):
    book = world["own_book"]
    slot = make_slot(world["event"], book=book, capacity=2)
    booking = reservations.book(slot.id, Patron.parse(name="Reader Name", email="r1@example.org"), now=now).booking
    login(world[who])
    url = f"/partner/books/{book.id}/retire?partner={world['own'].id}"
    token = csrf_token_from(client.get(f"/partner/?partner={world['own'].id}").get_data(as_text=True))
    asked = client.post(url, data={"csrf_token": token})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 409 and "This change would cancel 1 booking." in page
    assert ("Reader Name" in page) is sees_names
    assert 'href="/partner/' in page  # "Keep things as they are" leads back to the dashboard
    db.session.expire_all()
    assert db.session.get(HumanBook, book.id).listing_status == ListingStatus.APPROVED
    done = client.post(url, data=confirmation_fields(page, reason="The volunteer is ill."))
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(HumanBook, book.id).listing_status == ListingStatus.RETIRED
    assert db.session.get(Slot, slot.id).status.value == "cancelled"
    cancelled = db.session.get(type(booking), booking.id)
    assert (cancelled.status.value, cancelled.cancel_reason) == ("cancelled", "The volunteer is ill.")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "booking_cancelled")) == 1


# Listings and availability -----------------------------------------------------------------


def test_a_new_listing_goes_public_only_after_staff_approve_it(client, submit, login, world, db):
    login(world["coordinator"])
    response = submit("/partner/books/new", {"title": "Beekeeper", "topics": "bees, honey",
                                             "languages": "en", "volunteer_name": "Private Person"})
    assert response.status_code == 303
    book = db.session.scalar(sa.select(HumanBook).where(HumanBook.title == "Beekeeper"))
    assert book.topics == ["bees", "honey"] and book.listing_status == ListingStatus.DRAFT
    submit("/partner/", {}, action=f"/partner/books/{book.id}/submit")
    db.session.expire_all()
    assert db.session.get(HumanBook, book.id).listing_status == ListingStatus.SUBMITTED
    client = client.application.test_client()
    sign_in(client, world["staff"])
    page = client.get("/staff/").get_data(as_text=True)
    assert "Beekeeper" in page
    client.post(f"/staff/books/{book.id}/review",
                data={"decision": "approve", "csrf_token": csrf_token_from(page)})
    db.session.expire_all()
    assert db.session.get(HumanBook, book.id).listing_status == ListingStatus.APPROVED


def test_a_volunteer_adds_a_window_and_the_readings_go_public(client, submit, login, world, db):
    event = world["event"]
    login(world["volunteer"])
    url = f"/me/events/{event.slug}/availability"
    response = submit(url, window_form(event, local_hour(event, 1), local_hour(event, 2),
                                       break_minutes="0"))
    assert response.status_code == 303, response.get_data(as_text=True)
    slots = client.get(f"/api/v1/events/{event.slug}/slots").get_json()
    mine = [s for s in slots
            if s["resource"]["type"] == "book" and s["resource"]["id"] == world["own_book"].id]
    assert len(mine) == 2 and mine[0]["capacity"] == 2
    assert "Learned to read at 40" in client.get(f"/events/{event.slug}").get_data(as_text=True)


def test_removing_a_booked_window_asks_first_then_cancels(client, submit, login, world, db, now):
    event = world["event"]
    login(world["coordinator"])
    url = f"/partner/books/{world['own_book'].id}/events/{event.slug}/availability"
    submit(url, window_form(event, local_hour(event, 1), local_hour(event, 2)))
    slot = db.session.scalar(sa.select(Slot).where(Slot.book_id == world["own_book"].id)
                             .order_by(Slot.starts_at))
    reservations.book(slot.id, Patron.parse(name="Reader Name", email="r@example.org"), now=now)
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    asked = client.post(url, data={"csrf_token": token, "remove": "0"})
    assert asked.status_code == 409
    html = asked.get_data(as_text=True)
    assert "would cancel 1 booking" in html
    assert "Reader Name" not in html  # coordinators see counts, not readers
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).booked == 1
    confirmed = client.post(url, data=confirmation_fields(html, reason="Volunteer is ill."))
    assert confirmed.status_code == 303
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).booked == 0


def test_removing_a_window_with_a_stale_confirmation_asks_again_and_changes_nothing(
        client, submit, login, world, db, now):
    event = world["event"]
    login(world["volunteer"])
    url = f"/me/events/{event.slug}/availability"
    submit(url, window_form(event, local_hour(event, 1), local_hour(event, 2), break_minutes="0"))
    first, second = db.session.scalars(sa.select(Slot).where(Slot.book_id == world["own_book"].id)
                                       .order_by(Slot.starts_at)).all()
    reservations.book(first.id, Patron.parse(name="Reader Name", email="r@example.org"), now=now)
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    asked = client.post(url, data={"csrf_token": token, "remove": "0"}).get_data(as_text=True)
    assert asked.count('name="confirm_booking"') == 1
    reservations.book(
        second.id,
        Patron.parse(name="Late Reader", email="late@example.org"),
        now=now,
    )
    again = client.post(url, data=confirmation_fields(asked, reason="Volunteer is ill."))
    html = again.get_data(as_text=True)
    assert again.status_code == 409 and "changed since you looked" in html
    assert html.count('name="confirm_booking"') == 2
    assert html.count('name="reason"') == 1  # the typed reason is not posted twice
    db.session.expire_all()
    assert [db.session.get(Slot, s.id).booked for s in (first, second)] == [1, 1]
    done = client.post(url, data=confirmation_fields(html, reason="Volunteer is ill."))
    assert done.status_code == 303
    db.session.expire_all()
    assert [db.session.get(Slot, s.id).booked for s in (first, second)] == [0, 0]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"starts": "12:00", "ends": "10:00"}, "ends before it starts"),
        ({"readers": "4"}, "1 to 3"),
        ({"starts": "25:00"}, "hours and minutes"),
        ({"day": "2001-01-01"}, "Not a valid choice"),
    ],
)
def test_bad_windows_get_a_clear_message(client, submit, login, world, db, fields, message):
    event = world["event"]
    login(world["coordinator"])
    url = f"/partner/books/{world['own_book'].id}/events/{event.slug}/availability"
    response = submit(url, window_form(event, local_hour(event, 1), local_hour(event, 2), **fields))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Slot)
                             .where(Slot.book_id.is_not(None))) == 0


def test_editing_a_public_listing_keeps_it_public(client, submit, login, world, db):
    book = world["own_book"]
    login(world["coordinator"])
    page = client.get(f"/partner/books/{book.id}").get_data(as_text=True)
    assert 'value="life"' in page  # topics shown as the text the form takes
    response = submit(f"/partner/books/{book.id}", {"title": "Learned to read at 41",
                                                    "topics": "literacy, courage",
                                                    "languages": "en, es"})
    assert response.status_code == 303
    db.session.expire_all()
    edited = db.session.get(HumanBook, book.id)
    assert edited.title == "Learned to read at 41"
    assert edited.topics == ["literacy", "courage"] and edited.languages == ["en", "es"]
    assert edited.listing_status == ListingStatus.APPROVED
