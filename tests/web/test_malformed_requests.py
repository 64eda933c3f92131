"""Malformed anonymous input is refused at the edge with a 4xx, never a 500; logs stay
one line per entry and never hold SQL parameters."""
from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from support import PASSWORD, csrf_token_from, sign_in_as as sign_in

from booking.domain.models import Booking, Role


def booking_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking))


@pytest.fixture
def staff_member(make_user):
    return make_user("desk@example.org", Role.STAFF)


@pytest.mark.parametrize("url", [
    "/events/%00", "/desk/%00", "/bookings/%00", "/events/%00/schedule.ics",
    "/api/v1/events/%00", "/api/v1/events/%00/slots", "/feedback/%00",
    "/?q=%00", "/staff/reports/?event=%00", "/login?next=%00", "/api/v1/events?x%00=1",
])
def test_a_nul_in_an_address_is_a_bad_request(client, staff_member, make_event, url):
    make_event()
    anonymous = client.get(url)
    sign_in(client, staff_member)
    signed_in = client.get(url)  # past the desk's and the reports' sign-in too

    for response in (anonymous, signed_in):
        assert response.status_code == 400
        assert "NUL" in response.get_data(as_text=True)


def test_a_nul_in_the_sign_in_address_is_a_form_error(client, staff_member):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": csrf_token_from(page),
                                           "email": "desk@example.org\x00", "password": PASSWORD})

    assert response.status_code == 422
    assert "control characters" in response.get_data(as_text=True)


@pytest.mark.parametrize(("body", "reason"), [
    ('{"name": "\\ud800", "email": "ada@example.org"}', "lone surrogate"),
    ('{"name": "Ada", "email": "ada@example.org", "\\udfff": 1}', "lone surrogate"),
    ('{"name": "Ada", "email": "ada@example.org", "seats": ' + "[" * 100_000 + "]" * 100_000
     + "}", "nested too deeply"),
    ('{"name": "Ada", "email": "ada@example.org"', "not valid JSON"),
    (b'{"name": "Ad\xff", "email": "ada@example.org"}', "not valid JSON"),
])
def test_json_that_is_not_text_is_a_bad_request_and_books_nothing(client, db, make_slot, body,
                                                                   reason):
    slot = make_slot(capacity=2)

    response = client.post(f"/api/v1/slots/{slot.id}/bookings", data=body,
                           content_type="application/json")

    assert response.status_code == 400
    assert reason in response.get_json()["error"]
    assert booking_count(db) == 0


def test_a_surrogate_pair_is_text_and_books(client, db, make_slot):
    slot = make_slot(capacity=2)

    response = client.post(f"/api/v1/slots/{slot.id}/bookings",
                           data='{"name": "Ada \\ud83d\\udcda", "email": "ada@example.org"}',
                           content_type="application/json")

    assert response.status_code == 201
    assert db.session.scalar(sa.select(Booking.patron_name)) == "Ada \U0001F4DA"


@pytest.fixture
def failing_app(app):
    """The app with two views that fail as a bug would: a plain exception, and a statement
    the database refuses, with personal data among its parameters."""

    def broken(**values):
        raise RuntimeError("a bug")

    def broken_query():
        from booking.extensions import db
        db.session.execute(sa.text("INSERT INTO no_such_table (email) VALUES (:email)"),
                           {"email": "ada.secret@example.org"})

    app.add_url_rule("/broken/<rest>", "broken", broken)
    app.add_url_rule("/bookings/<token>/broken", "broken_booking", broken)
    app.add_url_rule("/broken-query", "broken_query", broken_query)
    return app


def test_a_logged_path_cannot_forge_a_log_line(failing_app, caplog):
    client = failing_app.test_client()

    with caplog.at_level(logging.ERROR):
        response = client.get("/broken/x%0A2026-01-01 INFO forged entry%0D%0Ax")

    assert response.status_code == 500
    [record] = [r for r in caplog.records if "Unhandled error" in r.getMessage()]
    assert "\n" not in record.getMessage() and "\r" not in record.getMessage()
    assert "\\n2026-01-01 INFO forged entry\\r\\n" in record.getMessage()


def test_a_logged_path_hides_its_secret(failing_app, caplog):
    with caplog.at_level(logging.ERROR):
        failing_app.test_client().get("/bookings/Qx7-s3cret/broken")

    assert "s3cret" not in caplog.text and "/bookings/[secret]/broken" in caplog.text


def test_sql_parameters_never_reach_the_log(failing_app, caplog):
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get("/broken-query")

    assert response.status_code == 500
    assert "no_such_table" in caplog.text  # the statement is logged, for the bug report
    assert "ada.secret@example.org" not in caplog.text
    assert "ada.secret@example.org" not in response.get_data(as_text=True)
