"""Signing in as an attacker would try it: no open redirect, no telling which addresses have an
account, and guesses throttled without locking the owner out."""
from __future__ import annotations

import pytest
from support import PASSWORD, csrf_token_from, sign_in

from booking.services import accounts, passwords
from booking.domain.models import Role

STRANGER, OWNER = "203.0.113.9", "198.51.100.7"


@pytest.fixture
def sam(make_user):
    return make_user("sam@example.org")


# Where to go after signing in ------------------------------------------------------------


@pytest.mark.parametrize("next_param", [
    "/%09/evil.example/",            # a tab that browsers drop: //evil.example/
    "//evil.example/",
    "/%5Cevil.example/",            # /\evil.example/, read as //evil.example/
    "%5C%5Cevil.example/",
    "https://evil.example/",
    "https:/evil.example/",
    "javascript:alert(1)",
    "/%0d%0a/evil.example/",        # CR LF, dropped as well
    "/%0A%0A/evil.example/",
    "/%09%0d%0a%09/evil.example/",
    "evil.example",
])
def test_sign_in_never_sends_the_browser_to_another_site(client, sam, next_param):
    response = sign_in(client, "sam@example.org", next=next_param)

    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"


@pytest.mark.parametrize(("next_param", "location"), [
    ("/staff/reports/?event=3", "/staff/reports/?event=3"),
    ("/staff/%0Areports", "/staff/reports"),        # a line break neither answers 500
    ("/staff/%0D%0Areports%0A", "/staff/reports"),  # nor reaches the Location header
    ("/staff/%01reports", "/staff/"),               # other control characters: not a path
])
def test_sign_in_returns_to_the_page_asked_for_on_this_site(client, sam, next_param, location):
    response = sign_in(client, "sam@example.org", next=next_param)

    assert response.status_code == 303
    assert response.headers["Location"] == location


def test_a_nul_in_next_is_refused_before_the_sign_in_page(client, sam):
    # NUL is refused at the edge for every request (hardening), so it never reaches a redirect.
    assert client.get("/login?next=/staff/%00reports").status_code == 400


def test_a_page_that_needs_signing_in_comes_back_after_it(client, sam):
    asked = client.get("/staff/reports/?event=3")
    assert asked.status_code == 302
    login_url = asked.headers["Location"]

    response = sign_in(client, "sam@example.org", next=login_url.split("next=", 1)[1])

    assert response.headers["Location"] == "/staff/reports/?event=3"


# Not telling which addresses have an account ---------------------------------------------


@pytest.fixture
def hash_checks(monkeypatch):
    """The password hashes checked, in order."""
    checked = []
    real = passwords.check_password_hash

    def check(password_hash, password):
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "check_password_hash", check)
    return checked


def method_of(password_hash: str) -> str:
    return password_hash.split("$", 1)[0]


def test_an_unknown_address_costs_a_password_check_like_a_known_one(client, sam, hash_checks):
    known = sign_in(client, "sam@example.org", "a wrong guess")
    unknown = sign_in(client, "nobody@example.org", "a wrong guess")

    assert known.status_code == unknown.status_code == 401
    assert len(hash_checks) == 2
    assert method_of(hash_checks[1]) == method_of(hash_checks[0]) == method_of(sam.password_hash)


def test_a_deactivated_account_costs_a_password_check_and_still_says_no(
        client, make_user, hash_checks):
    make_user("gone@example.org", active=False)

    response = sign_in(client, "gone@example.org")

    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)
    assert len(hash_checks) == 1


def test_outside_tests_the_dummy_hash_uses_the_real_method(app, hash_checks):
    app.config["TESTING"] = False
    try:
        assert accounts.authenticate("nobody@example.org", PASSWORD) is None
    finally:
        app.config["TESTING"] = True

    assert [method_of(h).split(":")[0] for h in hash_checks] == [passwords.HASH_METHOD]


def test_tests_hash_passwords_cheaply(sam):
    assert method_of(sam.password_hash) == passwords.TESTING_HASH_METHOD


# Throttling guesses ----------------------------------------------------------------------


@pytest.fixture
def app_config(app_config, request):
    return {**app_config, "RATELIMIT_ENABLED": True, **getattr(request, "param", {})}


def browser_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(app, address: str, password: str, email: str = "sam@example.org", *,
            browser=None) -> int:
    """One sign-in from `browser`, or from a new browser at `address`."""
    return sign_in(browser or browser_at(app, address), email, password).status_code


def test_a_strangers_guesses_do_not_lock_the_owner_out(app, sam):
    guesses = [attempt(app, STRANGER, f"guess number {n}") for n in range(12)]

    assert guesses == [401] * 10 + [429] * 2
    refused = sign_in(browser_at(app, STRANGER), "sam@example.org", "guess 13")
    assert "Too many failed sign-ins" in refused.get_data(as_text=True)
    assert attempt(app, OWNER, PASSWORD) == 303


@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_LIMIT": "3 per minute",
                                         "LOGIN_ACCOUNT_RATE_LIMIT": "5 per hour"}],
                         indirect=True)
def test_guesses_from_many_addresses_slow_new_devices_but_not_the_owners(app, sam):
    owners_browser = browser_at(app, OWNER)
    assert sign_in(owners_browser, "sam@example.org").status_code == 303
    page = owners_browser.get("/account/").get_data(as_text=True)
    owners_browser.post("/logout", data={"csrf_token": csrf_token_from(page)})
    addresses = [f"203.0.113.{n}" for n in range(1, 4)]

    guesses = [attempt(app, address, f"guess {n}") for address in addresses for n in range(2)]

    assert guesses == [401] * 5 + [429]
    assert attempt(app, "192.0.2.1", PASSWORD) == 429  # a device the account never used
    assert attempt(app, OWNER, PASSWORD, browser=owners_browser) == 303


@pytest.mark.parametrize("app_config", [{"LOGIN_ADDRESS_RATE_LIMIT": "4 per minute"}],
                         indirect=True)
def test_one_address_guessing_across_accounts_is_throttled(app, make_user):
    for n in range(5):
        make_user(f"person{n}@example.org", Role.VOLUNTEER)

    guesses = [attempt(app, STRANGER, "a common guess", f"person{n}@example.org")
               for n in range(5)]

    assert guesses == [401] * 4 + [429]
    assert attempt(app, OWNER, PASSWORD, "person4@example.org") == 303
