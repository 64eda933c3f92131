"""New passwords: common, breached and easily guessed ones are refused with a clear message
wherever a password is set (invitation, reset, change, create-user); the length rule stays."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from support import PASSWORD, csrf_token_from, sign_in

from booking.services import accounts, tokens as auth
from booking.domain.errors import ValidationFailed
from booking.domain.commands import Invite
from booking.domain.models import User, utcnow

#: On zxcvbn's lists of common and breached passwords, or a common one with the usual changes.
COMMON = ["password1", "qwertyuiop", "iloveyou123", "Summer2024!", "P@ssw0rd1"]
REFUSAL = "too common or too easy to guess"


def post_form(client, url: str, fields: dict, *, action: str | None = None):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(action or url, data={"csrf_token": csrf_token_from(page.get_data(as_text=True)),
                                  **fields})


@pytest.mark.parametrize("password", COMMON)
def test_accepting_an_invitation_with_a_common_password_is_refused(client, db, staff,
                                                                   password):
    token = accounts.invite(staff, Invite.parse(email="new@example.org", role="staff"),
                            now=utcnow()).token

    response = post_form(client, f"/invitations/{token}",
                         {"name": "New Person", "password": password, "confirm": password})

    assert response.status_code == 422
    assert REFUSAL in response.get_data(as_text=True)
    assert accounts.find_user("new@example.org") is None


def test_a_password_made_of_the_persons_own_address_is_refused(client, db, staff):
    token = accounts.invite(staff, Invite.parse(email="riverside.reader@example.org",
                                                role="staff"), now=utcnow()).token

    response = post_form(client, f"/invitations/{token}", {
        "name": "Riverside Reader", "password": "riverside.reader",
        "confirm": "riverside.reader"})

    assert response.status_code == 422 and REFUSAL in response.get_data(as_text=True)


def test_a_reset_to_a_common_password_is_refused_and_the_link_still_works(client, make_user):
    user = make_user("sam@example.org")
    link = f"/password/reset/{auth.reset_token(user)}"

    response = post_form(client, link, {"password": "password1", "confirm": "password1"})

    assert response.status_code == 422
    assert REFUSAL in response.get_data(as_text=True)
    assert accounts.authenticate("sam@example.org", PASSWORD) is not None
    assert client.get(link).status_code == 200


def test_changing_to_a_common_password_is_refused(client, make_user):
    make_user("sam@example.org")
    sign_in(client, "sam@example.org")

    response = post_form(client, "/account/", {
        "current_password": PASSWORD, "password": "Summer2024!", "confirm": "Summer2024!",
    }, action="/account/password")

    assert response.status_code == 422
    assert REFUSAL in response.get_data(as_text=True)
    assert accounts.authenticate("sam@example.org", PASSWORD) is not None


def test_create_user_refuses_a_common_password_and_creates_nothing(runner, db):
    result = runner.invoke(args=["create-user", "sam@example.org", "--role", "staff"],
                           input="iloveyou123\n")

    assert result.exit_code == 1
    assert "No account was created" in result.output and REFUSAL in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_the_length_rule_still_applies_before_guessability():
    with pytest.raises(ValidationFailed) as short:
        accounts.check_password_rules("Xq7!")
    with pytest.raises(ValidationFailed) as long:
        accounts.check_password_rules("unusual words " * 10)

    assert short.value.errors == {"password": ["Use at least 8 characters."]}
    assert long.value.errors == {"password": ["Use at most 128 characters."]}


@pytest.mark.parametrize("password", ["correct horse battery", "a brand new secret",
                                      "tulip ledger 94 quietly", "x7#Lm2$qP9"])
def test_uncommon_passwords_are_accepted(password):
    accounts.check_password_rules(password, "sam@example.org", "Sam Staff")


def test_a_long_password_is_scored_quickly_and_fairly():
    accounts.check_password_rules("tulip ledger quietly " * 6)  # 126 characters


def test_a_new_password_is_kept_exactly_as_typed_spaces_and_all(client, db, staff):
    token = accounts.invite(staff, Invite.parse(email="new@example.org", role="staff"),
                            now=utcnow()).token
    spaced = "  tulip ledger quietly  "

    response = post_form(client, f"/invitations/{token}",
                         {"name": "  New Person ", "password": spaced, "confirm": spaced})

    assert response.status_code == 303
    assert accounts.find_user("new@example.org").name == "New Person"
    assert accounts.authenticate("new@example.org", spaced) is not None
    assert accounts.authenticate("new@example.org", spaced.strip()) is None


def test_every_problem_with_a_password_change_is_told_at_once(client, make_user):
    make_user("sam@example.org")
    sign_in(client, "sam@example.org")

    empty = post_form(client, "/account/", {"current_password": "", "password": "",
                                            "confirm": ""}, action="/account/password")
    different = post_form(client, "/account/", {"current_password": PASSWORD,
                                                "password": "tulip ledger quietly",
                                                "confirm": "tulip ledger quiet"},
                          action="/account/password")

    assert empty.status_code == different.status_code == 422
    page = empty.get_data(as_text=True)
    for sentence in ("Enter your current password.", "Choose a password.",
                     "Repeat the password."):
        assert sentence in page
    assert "The two passwords are not the same." in different.get_data(as_text=True)
    assert accounts.authenticate("sam@example.org", PASSWORD) is not None
