"""`flask --app app create-user`: the first staff account, and clear refusals."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from booking.services import accounts
from booking.domain.models import Role, User
from booking.services import passwords

PASSWORD = "a long enough secret"


def users(db) -> list[User]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(User)))


def create(runner, *args, password: str = PASSWORD):
    return runner.invoke(args=["create-user", *args], input=password + "\n")


def test_create_user_makes_a_staff_account_that_signs_in(runner, db):
    result = create(runner, " Sam@Library.example ", "--role", "staff", "--name", "Sam Staff")

    assert result.exit_code == 0, result.output
    assert "Created the staff account sam@library.example" in result.output
    [user] = users(db)
    assert (user.role, user.name, user.partner_id) == (Role.STAFF, "Sam Staff", None)
    assert accounts.authenticate("sam@library.example", PASSWORD) == user


def test_a_coordinator_is_created_for_the_partner_named(runner, db, make_partner):
    partner = make_partner(slug="literacy-council")

    result = create(runner, "cora@example.org", "--role", "coordinator",
                    "--partner", "literacy-council")

    assert result.exit_code == 0, result.output
    [user] = users(db)
    assert user.role == Role.COORDINATOR and user.partner_id == partner.id


def test_the_password_is_asked_twice_on_a_terminal(runner, db, monkeypatch):
    monkeypatch.setattr("booking.cli._stdin_is_terminal", lambda: True)

    mismatch = runner.invoke(args=["create-user", "a@example.org", "--role", "staff"],
                             input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")

    assert mismatch.exit_code == 0, mismatch.output
    assert "do not match" in mismatch.output and PASSWORD not in mismatch.output
    assert [u.email for u in users(db)] == ["a@example.org"]


@pytest.mark.parametrize("args, password, complaint", [
    (["not-an-address", "--role", "staff"], PASSWORD, "valid e-mail address"),
    (["a@example.org", "--role", "staff"], "short", "at least 8 characters"),
    (["a@example.org", "--role", "coordinator"], PASSWORD, "needs the partner"),
    (["a@example.org", "--role", "volunteer", "--partner", "nope"], PASSWORD, "no partner"),
    (["a@example.org", "--role", "staff", "--partner", "any"], PASSWORD, "belong to the library"),
    (["a@example.org", "--role", "admin"], PASSWORD, "'admin' is not one of"),
])
def test_bad_input_is_refused_clearly_and_creates_nothing(runner, db, args, password, complaint):
    result = create(runner, *args, password=password)

    assert result.exit_code != 0
    assert complaint in result.output
    assert users(db) == []


def test_an_existing_account_is_not_created_twice(runner, db):
    assert create(runner, "sam@example.org", "--role", "staff").exit_code == 0

    again = create(runner, "SAM@example.org", "--role", "staff", password="another secret")

    assert again.exit_code == 1 and "already has an account" in again.output
    [user] = users(db)
    assert passwords.matches(user.password_hash, PASSWORD)
