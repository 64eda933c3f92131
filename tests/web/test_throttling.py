"""Throttles on sign-in and booking (Flask-Limiter, in memory in tests)."""
from __future__ import annotations

import pytest
from support import csrf_token_from

from booking.services import tokens as auth
from booking.domain.models import Role, User
from booking.services import passwords


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "5 per minute",
            "BOOKING_RATE_LIMIT": "3 per minute"}


def test_guessing_passwords_is_throttled_but_a_right_password_is_not_counted(app, db):
    user = User(email="coord@example.org", role=Role.COORDINATOR)
    passwords.set_password(user, "the right password")
    db.session.add(user)
    db.session.commit()
    def attempt(password):
        client = app.test_client()  # a new visitor each time, from the same address
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        return client.post("/login", data={"csrf_token": token, "email": "coord@example.org",
                                           "password": password}).status_code

    assert attempt("the right password") == 303
    assert [attempt(f"guess {n}") for n in range(6)] == [401] * 5 + [429]


def test_booking_through_the_api_is_throttled(client, make_slot):
    slot = make_slot(capacity=10)
    codes = [client.post(f"/api/v1/slots/{slot.id}/bookings",
                         json={"name": "A", "email": f"a{n}@example.org"}).status_code
             for n in range(4)]
    assert codes == [201, 201, 201, 429]


def test_booking_pages_and_the_api_share_one_throttle(client, make_slot):
    slot = make_slot(capacity=10)

    def page(n):
        token = csrf_token_from(client.get(f"/slots/{slot.id}/book").get_data(as_text=True))
        return client.post(f"/slots/{slot.id}/book", data={
            "csrf_token": token, "name": "A", "email": f"p{n}@example.org", "seats": 1}
        ).status_code

    def api(n):
        return client.post(f"/api/v1/slots/{slot.id}/bookings",
                           json={"name": "A", "email": f"a{n}@example.org"}).status_code

    assert [page(1), api(2), page(3), api(4), page(5)] == [303, 201, 303, 429, 429]


def test_posting_survey_answers_is_throttled(client, db):
    link = f"/feedback/{auth.feedback_token(1)}"  # no such booking: still counted
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    codes = [client.post(link, data={"csrf_token": token, "rating": "5"}).status_code
             for _ in range(4)]
    assert codes == [400, 400, 400, 429]


def test_addresses_of_one_ipv6_network_share_a_throttle(client, make_slot):
    slot = make_slot(capacity=10)

    def api(n, address):
        return client.post(f"/api/v1/slots/{slot.id}/bookings",
                           json={"name": "A", "email": f"a{n}@example.org"},
                           environ_base={"REMOTE_ADDR": address}).status_code

    # One subscriber's /64: a fresh address per request is still the same client.
    same_network = [api(n, f"2001:db8:1:2::{n + 1:x}") for n in range(4)]
    other_network = api(9, "2001:db8:1:3::1")

    assert (same_network, other_network) == ([201, 201, 201, 429], 201)
