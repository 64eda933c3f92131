"""Absolute links come from PUBLIC_BASE_URL: a forged Host header never reaches them."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from support import csrf_token_from, sign_in_as as sign_in
from flask.testing import FlaskClient

from booking.services import reservations
from booking.domain.models import Role
from booking.domain.commands import Patron

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "https://events.library.test"
FORGED = "evil.example"


@pytest.fixture
def app_config(app_config):
    # As in production: no SERVER_NAME, so links would follow the request's Host.
    return {**app_config, "SERVER_NAME": None, "PUBLIC_BASE_URL": PUBLIC}


class ForgedHostClient(FlaskClient):
    """A client whose every request names another host in its Host header."""

    def open(self, *args, headers=None, **kwargs):
        return super().open(*args, headers={"Host": FORGED, **dict(headers or {})}, **kwargs)


@pytest.fixture
def forged(app):
    app.test_client_class = ForgedHostClient
    return app.test_client()


def absolute_links(text: str) -> set[str]:
    return set(re.findall(r"(?:https?|webcal)://[^\s\"'<>\\]+", text))


def assert_public(links: set[str]):
    assert links
    for link in links:
        assert FORGED not in link
        assert link.startswith((PUBLIC, "webcal://events.library.test", "https://calendar.google",
                                "https://outlook.live.com/", "https://outlook.office.com/"))


def test_api_booking_links_and_openapi_servers_ignore_a_forged_host(forged, make_slot):
    slot = make_slot(capacity=2)

    booked = forged.post(f"/api/v1/slots/{slot.id}/bookings",
                         json={"name": "Ada", "email": "ada@example.org"})
    event = forged.get(f"/api/v1/events/{slot.event.slug}")
    document = forged.get("/api/v1/openapi.json").get_json()

    assert booked.status_code == 201
    assert booked.get_json()["manage_url"].startswith(PUBLIC + "/bookings/")
    assert booked.get_json()["ics_url"].startswith(PUBLIC + "/bookings/")
    assert event.get_json()["url"] == f"{PUBLIC}/events/{slot.event.slug}"
    assert document["servers"][0]["url"] == PUBLIC + "/api/v1"


def test_feeds_and_subscribe_links_ignore_a_forged_host(forged, make_slot, now):
    slot = make_slot(capacity=2)
    token = reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now).token
    slug = slot.event.slug

    for url in ("/", f"/events/{slug}", f"/bookings/{token}", f"/bookings/{token}/confirmation",
                "/feeds/events.ics", f"/events/{slug}/schedule.ics", f"/bookings/{token}.ics"):
        response = forged.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True).replace("\r\n ", "")  # unfold iCalendar lines
        assert_public(absolute_links(text))


def test_the_private_feed_address_ignores_a_forged_host(forged, make_user):
    sign_in(forged, make_user("vol@example.org", Role.VOLUNTEER))
    account = forged.get("/account/").get_data(as_text=True)

    page = forged.post("/account/feed", data={"csrf_token": csrf_token_from(account)},
                       follow_redirects=True).get_data(as_text=True)

    assert f'value="{PUBLIC}/feeds/u/' in page
    assert_public(absolute_links(page))


@pytest.mark.parametrize("host", [FORGED, "events.library.test.evil.example"])
def test_with_trusted_hosts_a_forged_host_is_refused(app_config, db, host):
    from booking import create_app

    guarded = create_app({**app_config, "TRUSTED_HOSTS": ["events.library.test"]})
    client = guarded.test_client()
    try:
        assert client.get("/", headers={"Host": "events.library.test"}).status_code == 200
        refused = client.get("/api/v1/events", headers={"Host": host})
    finally:
        with guarded.app_context():
            db.engine.dispose()

    assert refused.status_code == 400
    assert "not trusted" in refused.get_json()["error"]


def test_trusted_hosts_are_read_from_a_comma_separated_setting(monkeypatch, database_url):
    from booking import create_app

    monkeypatch.setenv("TRUSTED_HOSTS", "events.library.test, .library.test")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x"})

    assert app.config["TRUSTED_HOSTS"] == ["events.library.test", ".library.test"]


def test_no_code_builds_an_absolute_link_from_the_request():
    """Guard: url_for(..., _external=True) and request.host_url follow the Host header; use
    notifications.public_url (public_url in templates) instead."""
    sources = [*(ROOT / "booking").rglob("*.py"), *(ROOT / "templates").rglob("*.html")]
    offenders = [str(path.relative_to(ROOT)) for path in sources
                 if re.search(r"\b_external\s*=\s*True|host_url|url_root", path.read_text())]
    assert offenders == []
