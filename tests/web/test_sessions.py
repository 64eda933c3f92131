"""Sessions that end: signing out, a new password or deactivation end every copy of a session
and remember cookie; remember cookies differ per sign-in and expire on the server; cookie flags;
CSRF tokens renewed at sign-in and expiring."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask_login.utils import encode_cookie
from itsdangerous.timed import TimestampSigner

from booking.services import accounts, tokens as auth
from booking import create_app
from booking.extensions import db as _db
from support import PASSWORD, csrf_token_from, sign_in

HOST = "library.test"
COOKIES = ("session", "remember_token")


def cookies_of(client) -> dict[str, str]:
    """The session and remember cookies a browser holds, as a thief would copy them."""
    held = {}
    for name in COOKIES:
        cookie = client.get_cookie(name, domain=HOST)
        if cookie is not None:
            held[name] = cookie.value
    return held


def opens_staff_pages(app, **cookies) -> bool:
    """Whether a fresh browser given only these cookies gets into /staff/."""
    browser = app.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value, domain=HOST)
    return browser.get("/staff/").status_code == 200


def sign_out(client) -> None:
    token = csrf_token_from(client.get("/account/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303


def later(monkeypatch, **elapsed) -> None:
    """Move every signed timestamp's clock (sessions, sign-ins, CSRF tokens) forward."""
    offset = int(timedelta(**elapsed).total_seconds())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) + offset)


@pytest.fixture
def browser(app, make_user):
    """A staff member's browser, signed in with "keep me signed in"."""
    make_user("sam@example.org")
    client = app.test_client()
    assert sign_in(client, "sam@example.org", remember=True).status_code == 303
    return client


def test_copies_of_the_session_and_remember_cookies_work_until_signing_out(app, browser):
    stolen = cookies_of(browser)
    assert set(stolen) == {"session", "remember_token"}
    assert opens_staff_pages(app, session=stolen["session"])
    assert opens_staff_pages(app, remember_token=stolen["remember_token"])

    sign_out(browser)

    assert not opens_staff_pages(app, session=stolen["session"])
    assert not opens_staff_pages(app, remember_token=stolen["remember_token"])
    assert browser.get("/staff/").status_code == 302


def test_sign_out_everywhere_ends_other_copies_and_keeps_this_browser_signed_in(app, browser):
    stolen = cookies_of(browser)
    page = browser.get("/account/").get_data(as_text=True)
    assert "Sign out everywhere" in page

    response = browser.post("/account/sign-out-everywhere",
                            data={"csrf_token": csrf_token_from(page)})

    assert response.status_code == 303
    assert "still signed in here" in browser.get("/account/").get_data(as_text=True)
    assert not opens_staff_pages(app, session=stolen["session"])
    assert not opens_staff_pages(app, remember_token=stolen["remember_token"])
    fresh = cookies_of(browser)
    assert fresh["remember_token"] != stolen["remember_token"]
    assert opens_staff_pages(app, remember_token=fresh["remember_token"])


def test_a_password_reset_ends_every_session_of_the_account(app, browser, db):
    stolen = cookies_of(browser)
    user = accounts.find_user("sam@example.org")
    link = f"/password/reset/{auth.reset_token(user)}"
    elsewhere = app.test_client()
    page = elsewhere.get(link).get_data(as_text=True)

    response = elsewhere.post(link, data={"csrf_token": csrf_token_from(page),
                                          "password": "a brand new secret",
                                          "confirm": "a brand new secret"})

    assert response.status_code == 303
    assert elsewhere.get("/staff/").status_code == 200  # the person who reset it is signed in
    assert browser.get("/staff/").status_code == 302
    assert not opens_staff_pages(app, session=stolen["session"])
    assert not opens_staff_pages(app, remember_token=stolen["remember_token"])


def test_changing_the_password_ends_other_sessions_but_not_this_one(app, browser, make_user):
    stolen = cookies_of(browser)
    page = browser.get("/account/").get_data(as_text=True)

    response = browser.post("/account/password", data={
        "csrf_token": csrf_token_from(page), "current_password": PASSWORD,
        "password": "a brand new secret", "confirm": "a brand new secret"})

    assert response.status_code == 303
    # Its own fragment: the form's #password would otherwise land below the message.
    assert response.headers["Location"].endswith("/account/#main")
    assert "Your new password is saved" in browser.get("/account/").get_data(as_text=True)
    assert browser.get("/staff/").status_code == 200
    assert not opens_staff_pages(app, session=stolen["session"])
    assert not opens_staff_pages(app, remember_token=stolen["remember_token"])
    assert accounts.authenticate("sam@example.org", PASSWORD) is None
    assert accounts.authenticate("sam@example.org", "a brand new secret") is not None


def test_a_wrong_current_password_changes_nothing(app, browser):
    stolen = cookies_of(browser)
    page = browser.get("/account/").get_data(as_text=True)

    response = browser.post("/account/password", data={
        "csrf_token": csrf_token_from(page), "current_password": "not my password",
        "password": "a brand new secret", "confirm": "a brand new secret"})

    assert response.status_code == 422
    assert "not your current password" in response.get_data(as_text=True)
    assert accounts.authenticate("sam@example.org", PASSWORD) is not None
    assert opens_staff_pages(app, session=stolen["session"])


def test_deactivating_an_account_signs_it_out_everywhere(app, browser, runner):
    stolen = cookies_of(browser)

    result = runner.invoke(args=["deactivate-user", "Sam@Example.org"])

    assert result.exit_code == 0, result.output
    assert "signed out everywhere" in result.output
    assert browser.get("/staff/").status_code == 302
    assert not opens_staff_pages(app, remember_token=stolen["remember_token"])
    assert sign_in(app.test_client(), "sam@example.org").status_code == 401


def test_deactivating_an_unknown_address_says_so_and_fails(runner, db):
    result = runner.invoke(args=["deactivate-user", "nobody@example.org"])

    assert result.exit_code == 1
    assert "no account with this e-mail address" in result.output


def test_each_sign_in_gets_a_different_remember_cookie(app, make_user):
    make_user("sam@example.org")
    first, second = app.test_client(), app.test_client()
    sign_in(first, "sam@example.org", remember=True)
    sign_in(second, "sam@example.org", remember=True)

    assert cookies_of(first)["remember_token"] != cookies_of(second)["remember_token"]
    assert cookies_of(first)["remember_token"].split("|")[0] != "1"


def test_a_remember_cookie_stops_working_on_the_server_after_its_lifetime(
        app, browser, monkeypatch):
    remember = cookies_of(browser)["remember_token"]
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)

    later(monkeypatch, days=29)
    assert opens_staff_pages(app, remember_token=remember)
    later(monkeypatch, days=31)
    assert not opens_staff_pages(app, remember_token=remember)


def test_a_session_cookie_not_written_for_its_lifetime_is_refused(app, make_user, monkeypatch):
    make_user("sam@example.org")
    client = app.test_client()
    sign_in(client, "sam@example.org")  # not remembered
    copied = cookies_of(client)["session"]

    later(monkeypatch, hours=11)
    assert opens_staff_pages(app, session=copied)
    later(monkeypatch, hours=13)
    assert not opens_staff_pages(app, session=copied)


def test_sessions_and_remember_cookies_from_before_session_versions_are_refused(app, make_user):
    user = make_user("sam@example.org")
    old_session = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": str(user.id), "_fresh": True})
    with app.test_request_context():
        old_remember = encode_cookie(str(user.id))

    assert not opens_staff_pages(app, session=old_session)
    assert not opens_staff_pages(app, remember_token=old_remember)


def test_a_session_taken_to_another_browser_is_emptied(app, browser):
    stolen = cookies_of(browser)
    thief = app.test_client()
    thief.environ_base["HTTP_USER_AGENT"] = "Another browser/1.0"
    thief.set_cookie("session", stolen["session"], domain=HOST)

    assert thief.get("/staff/").status_code == 302


# Cookie flags ----------------------------------------------------------------------------


def set_cookie_headers(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


@pytest.mark.parametrize(("base_url", "secure"), [("https://library.test", True),
                                                  ("http://library.test", False)])
def test_cookies_are_secure_when_the_site_is_https_and_always_lax_and_httponly(
        app_config, make_user, base_url, secure):
    make_user("sam@example.org")
    app = create_app({**app_config, "PUBLIC_BASE_URL": base_url})
    with app.app_context():  # on the same database as the fixtures' app
        response = sign_in(app.test_client(), "sam@example.org", remember=True)
        _db.session.remove()
        _db.engine.dispose()

    assert response.status_code == 303
    headers = set_cookie_headers(response)
    for name in ("session", "remember_token"):
        flags = [part.strip().lower() for part in headers[name].split(";")]
        assert "httponly" in flags and "samesite=lax" in flags
        assert ("secure" in flags) is secure
    assert app.config["SESSION_COOKIE_SECURE"] is secure
    assert app.config["REMEMBER_COOKIE_SECURE"] is secure


def test_secure_cookies_can_be_set_apart_from_the_base_url(monkeypatch, database_url):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "false")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "PUBLIC_BASE_URL": "https://library.test"})

    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["REMEMBER_COOKIE_SECURE"] is False


@pytest.mark.parametrize(("name", "value"), [
    ("SESSION_COOKIE_SECURE", "sometimes"), ("REMEMBER_COOKIE_DAYS", "0"),
    ("SESSION_LIFETIME_HOURS", "a day"), ("CSRF_TIME_LIMIT_MINUTES", "-5"),
    ("LOGIN_RATE_LIMIT", "lots"), ("LOGIN_ACCOUNT_RATE_LIMIT", "100 per fortnight"),
])
def test_a_malformed_session_setting_stops_the_app_with_a_message(monkeypatch, database_url,
                                                                  name, value):
    from booking.config import ConfigError

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    assert name in str(refused.value) and repr(value) in str(refused.value)


# CSRF ------------------------------------------------------------------------------------


def test_signing_in_renews_the_csrf_secret(app, make_user):
    make_user("sam@example.org")
    client = app.test_client()
    before = csrf_token_from(client.get("/login").get_data(as_text=True))
    with client.session_transaction() as cookie_session:
        secret_before = cookie_session["csrf_token"]

    response = client.post("/login", data={"csrf_token": before, "email": "sam@example.org",
                                           "password": PASSWORD})

    assert response.status_code == 303
    after = csrf_token_from(client.get("/account/").get_data(as_text=True))
    with client.session_transaction() as cookie_session:
        assert cookie_session["csrf_token"] != secret_before
    assert after != before
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert client.get("/staff/").status_code == 200  # the old token signed nobody out
    sign_out(client)
    assert client.get("/staff/").status_code == 302


def test_a_form_token_expires(app, client, make_user, monkeypatch):
    make_user("sam@example.org")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    fields = {"csrf_token": token, "email": "sam@example.org", "password": "a wrong guess"}

    later(monkeypatch, minutes=59)
    assert client.post("/login", data=fields).status_code == 401
    later(monkeypatch, minutes=61)
    expired = client.post("/login", data=fields)

    assert expired.status_code == 400
    assert "expired" in expired.get_data(as_text=True)
