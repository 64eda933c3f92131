"""Security headers on every answer; private pages and feeds kept out of caches."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from booking.services import calendars, reservations
from booking.domain.models import Role
from support import sign_in_as as sign_in
from booking.domain.commands import Patron

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture
def booked(make_slot, now):
    slot = make_slot(capacity=3)
    reservation = reservations.book(slot.id, Patron.parse(name="Ada Reader", email="ada@example.org"), now=now)
    return slot, reservation.token


@pytest.fixture
def staff_member(make_user):
    return make_user("desk@example.org", Role.STAFF)


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:])
            for part in (p.strip() for p in policy.split(";")) if part}


def assert_hardened(response):
    policy = directives(response)
    assert policy["script-src"] == "'self'" and "unsafe-inline" not in str(policy)
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    # PUBLIC_BASE_URL is http in these tests: no HSTS.
    assert "Strict-Transport-Security" not in response.headers


def is_no_store(response) -> bool:
    return response.headers.get("Cache-Control") == "private, no-store"


def test_public_answers_carry_the_headers_and_stay_cacheable(client, booked):
    slot, _ = booked
    answers = {
        "/": client.get("/"),
        "event page": client.get(f"/events/{slot.event.slug}"),
        "API": client.get("/api/v1/events"),
        "public feed": client.get("/feeds/events.ics"),
        "static": client.get("/static/css/site.css"),
    }
    for name, response in answers.items():
        assert response.status_code == 200, name
        assert_hardened(response)
        assert not is_no_store(response), name
    assert answers["API"].is_json


def test_a_public_feed_keeps_its_etag_and_304(client, booked):
    first = client.get("/feeds/events.ics")
    again = client.get("/feeds/events.ics", headers={"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304
    assert "no-store" not in again.headers.get("Cache-Control", "")
    assert "no-store" not in first.headers["Cache-Control"] and first.headers["ETag"]


def test_pages_and_feeds_with_personal_data_or_a_token_are_never_stored(
        app, client, booked, staff_member):
    slot, token = booked
    for url in (f"/bookings/{token}", f"/bookings/{token}/confirmation",
                f"/bookings/{token}.ics", f"/bookings/{token}/cancel"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_hardened(response)
        assert is_no_store(response), url
    feed_token = calendars.issue_feed_token(staff_member)
    personal_feed = client.get(f"/feeds/u/{feed_token}.ics")
    assert personal_feed.status_code == 200 and is_no_store(personal_feed)

    booking = client.post(f"/api/v1/slots/{slot.id}/bookings",
                          json={"name": "Bo", "email": "bo@example.org"})
    assert booking.status_code == 201 and is_no_store(booking)  # it names a manage link

    sign_in(client, staff_member)
    for url in ("/staff/", "/desk/", f"/desk/{slot.event.slug}", "/account/", "/staff/reports/",
                "/", f"/events/{slot.event.slug}"):  # public pages greet the signed-in person
        response = client.get(url)
        assert response.status_code == 200, url
        assert_hardened(response)
        assert is_no_store(response), url


def test_error_pages_carry_the_headers(client):
    for response in (client.get("/no-such-page"), client.get("/api/v1/no-such-thing"),
                     client.post("/login", data={"email": "x"})):  # no CSRF token: 400
        assert response.status_code in (400, 404)
        assert_hardened(response)
        assert is_no_store(response)


@pytest.fixture
def https_config(app_config):
    return {**app_config, "PUBLIC_BASE_URL": "https://library.test",
            "SESSION_COOKIE_SECURE": True}


def test_hsts_and_secure_cookies_when_the_public_address_is_https(https_config, db):
    from booking import create_app

    secure = create_app(https_config)
    client = secure.test_client()

    response = client.get("/login", base_url="https://library.test")

    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in response.headers["Set-Cookie"]  # the session, for the CSRF token
    with secure.app_context():
        db.engine.dispose()


def test_an_https_address_in_capitals_turns_on_hsts_and_secure_cookies_alike(app_config, db):
    from booking import create_app

    secure = create_app({**app_config, "PUBLIC_BASE_URL": "HTTPS://Library.test"})

    response = secure.test_client().get("/login", base_url="https://library.test")

    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    with secure.app_context():
        db.engine.dispose()


def test_plain_http_deployments_keep_cookies_without_secure(client):
    response = client.get("/login")

    assert "Secure" not in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in response.headers


def test_pages_have_no_inline_script_or_style_the_policy_would_block():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style\b",
                        re.IGNORECASE)
    pages = [p for p in TEMPLATES.rglob("*.html") if "emails" not in p.parts]
    assert pages
    offenders = [f"{p.relative_to(TEMPLATES)}: {m.group(0)}" for p in pages
                 for m in inline.finditer(p.read_text())]
    assert offenders == []
