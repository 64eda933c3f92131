"""Commands: every refusal is one of our sentences, every problem is told at once, and the
limits forms and the OpenAPI document read are the ones the command enforces."""
from __future__ import annotations

import pytest

from booking.domain import messages
from booking.domain.commands import (
    ACCESSIBILITY_MAX,
    PATRON_NAME_MAX,
    Patron,
    WalkIn,
    rule_of,
)
from booking.domain.errors import ValidationFailed


def refusals(command, data=None, **fields) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as refused:
        command.parse(data, **fields)
    return refused.value.errors


def test_a_command_trims_what_people_type_and_fills_defaults():
    patron = Patron.parse({"name": "  Ada Reader ", "email": " ada@example.org "})
    assert (patron.name, patron.email, patron.seats, patron.accessibility_needs,
            patron.accept_agreement) == ("Ada Reader", "ada@example.org", 1, "", False)


def test_every_problem_is_told_at_once_each_on_its_field():
    assert refusals(Patron, {"name": "", "email": "not an address", "seats": 0,
                             "accessibility_needs": "x" * (ACCESSIBILITY_MAX + 1)}) == {
        "name": [messages.PATRON_NAME_MISSING],
        "email": [messages.INVALID_EMAIL],
        "seats": [messages.SEATS_TOO_FEW],
        "accessibility_needs": [messages.TOO_LONG.format(label="Accessibility needs",
                                                         limit=ACCESSIBILITY_MAX)],
    }


def test_a_missing_field_and_a_field_of_the_wrong_type_get_our_sentences_not_pydantics():
    assert refusals(Patron, {}) == {"name": [messages.PATRON_NAME_MISSING],
                                    "email": [messages.PATRON_EMAIL_MISSING]}
    assert refusals(Patron, {"name": 5, "email": ["a@b.org"], "seats": "2",
                             "accessibility_needs": None, "accept_agreement": "yes"}) == {
        "name": [messages.PATRON_NAME_MISSING],
        "email": [messages.PATRON_EMAIL_MISSING],
        "seats": [messages.SEATS_NOT_WHOLE],
        "accessibility_needs": [messages.NOT_TEXT.format(label="Accessibility needs")],
        "accept_agreement": [messages.AGREEMENT_NOT_YES_OR_NO],
    }


@pytest.mark.parametrize("seats", [True, 1.5, None])
def test_seats_are_a_whole_number_and_a_boolean_is_not_one(seats):
    assert "seats" in refusals(Patron, name="Ada", email="ada@example.org", seats=seats)


def test_the_text_rules_hold_in_commands():
    assert refusals(Patron, name="Ada\nLovelace", email="ada@example.org",
                    accessibility_needs="ramp\x1b[31m") == {
        "name": [messages.ONE_LINE], "accessibility_needs": [messages.CONTROL_CHARACTERS]}
    kept = Patron.parse(name="Ada", email="ada@example.org",
                        accessibility_needs="Step-free access.\nA quiet seat.")
    assert kept.accessibility_needs == "Step-free access.\nA quiet seat."


def test_the_agreement_is_asked_for_only_where_the_event_requires_it():
    fields = {"name": "Ada", "email": "ada@example.org"}
    assert Patron.parse(fields).accept_agreement is False
    assert refusals(Patron, fields, context={"agreement_required": True}) == {
        "accept_agreement": [messages.AGREEMENT_NEEDED]}
    assert Patron.parse(fields, accept_agreement=True,
                        context={"agreement_required": True}).accept_agreement is True


def test_a_walk_in_needs_only_a_name_and_is_told_in_the_desks_words():
    walk_in = WalkIn.parse(name="Sam")
    assert (walk_in.email, walk_in.seats, walk_in.check_in) == ("", 1, False)
    assert refusals(WalkIn, name=" ", email="nope", seats=0) == {
        "name": [messages.WALK_IN_NAME_MISSING],
        "email": [messages.INVALID_EMAIL_OR_EMPTY],
        "seats": [messages.WALK_IN_SEATS_TOO_FEW],
    }


def test_a_body_that_is_not_a_set_of_fields_is_refused_with_a_sentence():
    assert refusals(Patron, ["Ada", "ada@example.org"]) == {"body": [messages.NOT_AN_OBJECT]}


def test_unknown_fields_are_ignored_and_a_command_cannot_be_changed_once_made():
    patron = Patron.parse(name="Ada", email="ada@example.org", csrf_token="x", submit="Book")
    assert not hasattr(patron, "csrf_token")
    with pytest.raises(Exception):
        patron.seats = 5


def test_forms_and_the_schema_read_the_limits_the_command_enforces():
    rule = rule_of(Patron, "name")
    assert (rule.required, rule.max_length) == (True, PATRON_NAME_MAX)
    assert "name" in refusals(Patron, name="x" * (PATRON_NAME_MAX + 1), email="a@b.org")
    schema = Patron.model_json_schema()
    assert schema["required"] == ["name", "email"]
    assert schema["properties"]["name"]["maxLength"] == PATRON_NAME_MAX
    assert schema["properties"]["seats"]["minimum"] == 1
    assert schema["properties"]["email"]["format"] == "email"
    assert rule_of(Patron, "no_such_field") is None


def test_the_years_sentence_names_the_years_a_date_may_have():
    from booking.domain.scheduling import YEARS

    assert messages.YEARS_MESSAGE == (
        f"Enter a date between the years {YEARS[0]} and {YEARS[-1]}.")
