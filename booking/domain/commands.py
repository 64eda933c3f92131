"""One typed command per write, validated once.

A command is what a person asks to change, checked field by field before any service runs:
the booking form, the API and the desk build the same command, so a rule (a limit, a
required field, the text rule) and the sentence that tells it (domain/messages.py) exist once.
Forms take their limits from here (`rule_of`), and the OpenAPI document its schemas
(`Command.model_json_schema`).

Each field is declared with one of the field types below (`Line`, `Text`, `EmailAddress`,
`Whole`, `Flag`, `Choice`, and for answers and passwords `Scale`, `YesNo`, `Secret`): a
pydantic type carrying a `Rule` that checks the value before pydantic does, so that every
refusal is one of our sentences, never pydantic's.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      ValidationInfo, field_validator)
from pydantic_core import PydanticCustomError

from booking.domain import messages
from booking.domain.errors import ValidationFailed
from booking.domain.models import ChangedView, Role
from booking.domain.text import breaks_line, has_control_characters

C = TypeVar("C", bound="Command")


class Command(BaseModel):
    """A validated request to change something; immutable once made."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def parse(cls: type[C], data: Mapping[str, Any] | None = None, /, *,
              context: Mapping[str, Any] | None = None, **fields: Any) -> C:
        """The command from `data` (a form's or a JSON body's fields) and `fields`; every
        problem at once as ValidationFailed({field: [sentence]}). `context` tells a rule what
        the request concerns (whether the event asks for the reader agreement, say)."""
        if data is not None and not isinstance(data, Mapping):
            raise ValidationFailed({"body": [messages.NOT_AN_OBJECT]})
        values = {**(data or {}), **fields}
        try:
            return cls.model_validate(values, context=dict(context or {}))
        except ValidationError as exc:
            raise ValidationFailed(field_errors(cls, exc)) from None


def field_errors(command: type[Command], exc: ValidationError) -> dict[str, list[str]]:
    """Pydantic's errors as our sentences, one per field (the first found)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else "body"
        if name in errors:
            continue
        if error["type"] == "missing":
            rule = rule_of(command, name)
            message = rule.missing_message() if rule else messages.REQUIRED.format(label=name)
        else:
            # Our rules raise our sentences; anything else (a cross-field check) says its own.
            message = error["msg"]
        errors[name] = [message]
    return errors


def rule_of(command: type[Command], name: str) -> Rule | None:
    """The rule declared for a command's field (forms read their limits from it)."""
    field = command.model_fields.get(name)
    if field is None:
        return None
    return next((m for m in field.metadata if isinstance(m, Rule)), None)


def refuse(message: str) -> PydanticCustomError:
    """A refusal with one of our sentences, for a rule's check or a cross-field validator."""
    return PydanticCustomError("rule", message)


@dataclass(frozen=True)
class Rule:
    """How one field is checked, and the sentences that tell what to fix.

    `missing`: the sentence when the field is required and empty (None: optional).
    `too_short`, `overlong`: the sentences for a text outside `min_length`, `max_length`
    (blanks: `{label}`, `{limit}`, and `{length}`, the text's), instead of TOO_SHORT, TOO_LONG.
    """

    kind: str
    label: str
    missing: str | None = None
    min_length: int | None = None
    too_short: str | None = None
    max_length: int | None = None
    overlong: str | None = None
    minimum: int | None = None
    too_small: str | None = None
    maximum: int | None = None
    too_large: str | None = None
    invalid: str | None = None
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.missing is not None

    def missing_message(self) -> str:
        return self.missing or messages.REQUIRED.format(label=self.label.lower())

    def too_long(self, length: int | None = None) -> str:
        return (self.overlong or messages.TOO_LONG).format(
            label=self.label, limit=self.max_length, length=length)

    def check(self, value):
        """The value to store, or a refusal (PydanticCustomError) with our sentence."""
        return getattr(self, f"_check_{self.kind}")(value)

    def _empty(self, default):
        if self.required:
            raise refuse(self.missing_message())
        return default

    def _text(self, value, *, multiline: bool):
        # None is refused like any non-text: an absent field is left out, not sent as None.
        if not isinstance(value, str):
            raise refuse(self.missing_message() if self.required
                         else messages.NOT_TEXT.format(label=self.label))
        value = value.strip()
        if not value:
            return self._empty("")
        if self.max_length is not None and len(value) > self.max_length:
            raise refuse(self.too_long(len(value)))
        if multiline and has_control_characters(value):
            raise refuse(messages.CONTROL_CHARACTERS)
        if not multiline and breaks_line(value):
            raise refuse(messages.ONE_LINE)
        return value

    def _check_line(self, value):
        return self._text(value, multiline=False)

    def _check_text(self, value):
        return self._text(value, multiline=True)

    def _check_email(self, value):
        value = self._text(value, multiline=False)
        if value:
            try:
                validate_email(value, check_deliverability=False)
            except EmailNotValidError:
                raise refuse(self.invalid or messages.INVALID_EMAIL) from None
        return value

    def _check_whole(self, value):
        if value is None or value == "":
            return self._empty(None)
        if isinstance(value, bool) or not isinstance(value, int):
            raise refuse(self.invalid or messages.WHOLE_NUMBER)
        if self.minimum is not None and value < self.minimum:
            raise refuse(self.too_small or self.invalid or messages.WHOLE_NUMBER)
        if self.maximum is not None and value > self.maximum:
            raise refuse(self.too_large or self.invalid or messages.WHOLE_NUMBER)
        return value

    def _check_flag(self, value):
        if value is None:
            return False
        if not isinstance(value, bool):
            raise refuse(self.invalid or messages.NOT_YES_OR_NO.format(label=self.label))
        return value

    def _check_choice(self, value):
        if value is None or value == "":
            return self._empty(None)
        if not isinstance(value, str) or value not in self.choices:
            raise refuse(self.invalid or messages.NOT_A_CHOICE)
        return value

    def _check_scale(self, value):
        # A radio button sends its value as text: "4" is read as 4. isdecimal, not isdigit:
        # int() cannot read every digit ("²"), but it reads every decimal.
        if isinstance(value, str) and value.strip().isdecimal():
            value = int(value)
        return self._check_whole(value)

    def _check_yes_no(self, value):
        if value is None or value == "":
            return self._empty(None)
        answer = _YES_NO.get(value) if isinstance(value, (bool, str)) else None
        if answer is None:
            raise refuse(self.invalid or messages.NOT_YES_OR_NO.format(label=self.label))
        return answer

    def _check_secret(self, value):
        # Taken exactly as typed: a space is part of a password, so nothing is trimmed.
        if value is None or value == "":
            return self._empty("")
        if not isinstance(value, str):
            raise refuse(self.missing_message() if self.required
                         else messages.NOT_TEXT.format(label=self.label))
        if self.min_length is not None and len(value) < self.min_length:
            raise refuse((self.too_short or messages.TOO_SHORT).format(
                label=self.label, limit=self.min_length, length=len(value)))
        if self.max_length is not None and len(value) > self.max_length:
            raise refuse(self.too_long(len(value)))
        return value


#: What a yes-or-no question accepts: JSON's booleans, or a radio button's "yes" and "no".
_YES_NO = {True: True, False: False, "yes": True, "no": False}


def _field(rule: Rule, python_type, **schema):
    return Annotated[python_type, Field(**schema), rule, BeforeValidator(rule.check)]


def Line(label: str, *, max_length: int, missing: str | None = None):
    """One line of text (titles, names, reasons): trimmed, no control characters."""
    rule = Rule("line", label, missing=missing, max_length=max_length)
    return _field(rule, str, max_length=max_length, min_length=1 if missing else None)


def Text(label: str, *, max_length: int, missing: str | None = None,
         overlong: str | None = None):
    """Free text (descriptions, notes, needs): trimmed, line breaks kept."""
    rule = Rule("text", label, missing=missing, max_length=max_length, overlong=overlong)
    return _field(rule, str, max_length=max_length, min_length=1 if missing else None)


def EmailAddress(label: str = "E-mail", *, max_length: int = 254, missing: str | None = None,
                 invalid: str = messages.INVALID_EMAIL):
    """An e-mail address as typed (trimmed); its case is kept, identity is normalised later."""
    rule = Rule("email", label, missing=missing, max_length=max_length, invalid=invalid)
    return _field(rule, str, max_length=max_length, json_schema_extra={"format": "email"})


def Whole(label: str, *, missing: str | None = None, minimum: int | None = None,
          too_small: str | None = None, maximum: int | None = None,
          too_large: str | None = None, invalid: str | None = None):
    """A whole number (seats, minutes); booleans are refused, not read as 0 and 1."""
    rule = Rule("whole", label, missing=missing, minimum=minimum, too_small=too_small,
                maximum=maximum, too_large=too_large, invalid=invalid)
    python_type = int if missing else int | None
    return _field(rule, python_type, ge=minimum, le=maximum)


def Flag(label: str, *, invalid: str | None = None):
    """A yes-or-no (a tick box): absent is no."""
    return _field(Rule("flag", label, invalid=invalid), bool)


def Choice(label: str, choices: tuple[str, ...], *, missing: str | None = None,
           invalid: str | None = None):
    """One of a fixed set of values (an enumeration's values, say)."""
    rule = Rule("choice", label, missing=missing, choices=tuple(choices), invalid=invalid)
    python_type = str if missing else str | None
    return _field(rule, python_type, json_schema_extra={"enum": list(choices)})


def Scale(label: str, low: int, high: int, *, missing: str | None = None,
          invalid: str | None = None):
    """A point on a scale (a rating from 1 to 5): a whole number from `low` to `high`, or its
    digits as text, as a radio button sends them; `invalid` tells anything else."""
    rule = Rule("scale", label, missing=missing, minimum=low, maximum=high, invalid=invalid)
    python_type = int if missing else int | None
    return _field(rule, python_type, ge=low, le=high)


def YesNo(label: str, *, missing: str | None = None, invalid: str | None = None):
    """A question answered yes or no: True or False, or "yes" or "no" as radio buttons send
    them. Unlike a `Flag` (a tick box, absent is no), leaving it unanswered is `missing`."""
    rule = Rule("yes_no", label, missing=missing, invalid=invalid)
    return _field(rule, bool if missing else bool | None)


def Secret(label: str, *, max_length: int | None = None, missing: str | None = None,
           min_length: int | None = None, too_short: str | None = None,
           overlong: str | None = None):
    """A password: kept exactly as typed (never trimmed), only its length checked here."""
    rule = Rule("secret", label, missing=missing, min_length=min_length, too_short=too_short,
                max_length=max_length, overlong=overlong)
    return _field(rule, str, min_length=min_length if missing else None, max_length=max_length,
                  json_schema_extra={"format": "password", "writeOnly": True})


# -- booking ---------------------------------------------------------------------------------

PATRON_NAME_MAX = 120
EMAIL_MAX = 254
ACCESSIBILITY_MAX = 500

PatronName = Line("Name", max_length=PATRON_NAME_MAX, missing=messages.PATRON_NAME_MISSING)
PatronEmail = EmailAddress(max_length=EMAIL_MAX, missing=messages.PATRON_EMAIL_MISSING)
Seats = Whole("Seats", missing=messages.SEATS_MISSING, minimum=1,
              too_small=messages.SEATS_TOO_FEW, invalid=messages.SEATS_NOT_WHOLE)
AccessibilityNeeds = Text("Accessibility needs", max_length=ACCESSIBILITY_MAX)
AgreementAccepted = Flag("accept_agreement", invalid=messages.AGREEMENT_NOT_YES_OR_NO)
WalkInName = Line("Name", max_length=PATRON_NAME_MAX, missing=messages.WALK_IN_NAME_MISSING)
WalkInEmail = EmailAddress(max_length=EMAIL_MAX, invalid=messages.INVALID_EMAIL_OR_EMPTY)
CheckedIn = Flag("check_in")
WalkInSeats = Whole("Seats", missing=messages.WALK_IN_SEATS_MISSING, minimum=1,
                    too_small=messages.WALK_IN_SEATS_TOO_FEW, invalid=messages.SEATS_NOT_WHOLE)


class Patron(Command):
    """A patron booking seats online (pages and API): who, how many, needs, the agreement."""

    name: PatronName
    email: PatronEmail
    seats: Seats = 1
    accessibility_needs: AccessibilityNeeds = ""
    accept_agreement: AgreementAccepted = False

    @field_validator("accept_agreement")
    @classmethod
    def _agreement_accepted(cls, accepted: bool, info: ValidationInfo) -> bool:
        # Told with the other fields at once; the booking service checks it again under the
        # slot's lock, against the event as it is then.
        if (info.context or {}).get("agreement_required") and not accepted:
            raise refuse(messages.AGREEMENT_NEEDED)
        return accepted


class WalkIn(Command):
    """A walk-in seated by the desk: a name is enough; the e-mail is optional."""

    name: WalkInName
    email: WalkInEmail = ""
    seats: WalkInSeats = 1
    accept_agreement: AgreementAccepted = False
    check_in: CheckedIn = False


# -- accounts --------------------------------------------------------------------------------
#
# How easy a new password is to guess is judged by the service (accounts.check_password_rules)
# against the account's own e-mail and name: those come from the signed invitation or the
# account itself, facts the service holds, not values the person typed here.

PASSWORD_MIN = 8
PASSWORD_MAX = 128
USER_NAME_MAX = 200
ROLES = tuple(role.value for role in Role)

ChosenPassword = Secret("Password", min_length=PASSWORD_MIN, max_length=PASSWORD_MAX,
                        missing=messages.PASSWORD_MISSING, too_short=messages.PASSWORD_TOO_SHORT,
                        overlong=messages.PASSWORD_TOO_LONG)
RepeatedPassword = Secret("Repeat the password", missing=messages.CONFIRM_MISSING)
CurrentPassword = Secret("Current password", max_length=PASSWORD_MAX,
                         missing=messages.CURRENT_PASSWORD_MISSING)
UserName = Line("Name", max_length=USER_NAME_MAX, missing=messages.ACCOUNT_NAME_MISSING)
OptionalUserName = Line("Name", max_length=USER_NAME_MAX)
AccountRole = Choice("Role", ROLES, missing=messages.NOT_A_CHOICE)
InvitedEmail = EmailAddress(max_length=EMAIL_MAX, missing=messages.INVITE_EMAIL_MISSING)
OwnEmail = EmailAddress(max_length=EMAIL_MAX, missing=messages.ACCOUNT_EMAIL_MISSING)
#: The operator's create-user: an empty address is as wrong as a malformed one.
NewAccountEmail = EmailAddress(max_length=EMAIL_MAX, missing=messages.INVALID_EMAIL)
PartnerId = Whole("Partner")
HumanBookId = Whole("Human book")
PartnerSlug = Line("Partner", max_length=80)


class Invite(Command):
    """Inviting a person by e-mail: their role, the partner they work for (staff choose it; a
    coordinator invites for their own), and for a volunteer the human book they are."""

    email: InvitedEmail
    role: AccountRole
    partner_id: PartnerId = None
    human_book_id: HumanBookId = None


class NewPassword(Command):
    """A new password, typed twice (through a reset link, say): the two must be the same."""

    password: ChosenPassword
    confirm: RepeatedPassword

    @field_validator("confirm")
    @classmethod
    def _typed_twice_the_same(cls, confirm: str, info: ValidationInfo) -> str:
        # Compared only with a password that passed its own rule, which is told first.
        if "password" in info.data and confirm != info.data["password"]:
            raise refuse(messages.CONFIRM_DIFFERS)
        return confirm


class AcceptInvitation(NewPassword):
    """Accepting an invitation: the person's name and the password they choose."""

    name: UserName


class ChangePassword(NewPassword):
    """A signed-in person's new password, with their current one to prove it is them."""

    current_password: CurrentPassword


class ForgottenPassword(Command):
    """Asking for a reset link; the answer never tells whether an account has the address."""

    email: OwnEmail


class NewAccount(Command):
    """An account an operator creates on the command line (the first staff member, say)."""

    email: NewAccountEmail
    role: AccountRole
    password: ChosenPassword
    name: OptionalUserName = ""
    #: The slug of the partner a coordinator or volunteer works for; checked even when left
    #: out, since the role may need it.
    partner: PartnerSlug = Field(default="", validate_default=True)

    @field_validator("partner")
    @classmethod
    def _partner_fits_the_role(cls, partner: str, info: ValidationInfo) -> str:
        role = info.data.get("role")
        if role == Role.STAFF.value and partner:
            raise refuse(messages.STAFF_HAVE_NO_PARTNER)
        if role not in (None, Role.STAFF.value) and not partner:
            raise refuse(messages.PARTNER_NEEDED.format(role=role))
        return partner


# -- after a reading -------------------------------------------------------------------------

ANSWER_MAX = 2000


def _answer(label: str):
    # A free-text answer: optional, kept to ANSWER_MAX, told with the answer's own length.
    return Text(label, max_length=ANSWER_MAX, overlong=messages.ANSWER_TOO_LONG)


def _asked(field_type, *args, sentence: str):
    # A question that must be answered: left out or answered otherwise, the same sentence.
    return field_type(*args, missing=sentence, invalid=sentence)


ReadingRating = _asked(Scale, "Rating", 1, 5, sentence=messages.RATING_INVALID)
WouldRecommend = _asked(YesNo, "Would recommend", sentence=messages.RECOMMEND_INVALID)
ChangedViewAnswer = _asked(Choice, "Changed view", tuple(answer.value for answer in ChangedView),
                           sentence=messages.CHANGED_VIEW_INVALID)
Comment = _answer("Comment")
DayRating = _asked(Scale, "Rating", 1, 5, sentence=messages.DAY_RATING_INVALID)
WentWell = _answer("What went well")
WasHard = _answer("What was hard")
WouldReturn = _asked(YesNo, "Would return", sentence=messages.RETURN_INVALID)


class SurveyAnswer(Command):
    """A reader's answers to the short survey after a reading."""

    rating: ReadingRating
    would_recommend: WouldRecommend
    changed_view: ChangedViewAnswer
    comment: Comment = ""


class VolunteerReflection(Command):
    """A volunteer's reflection on their book's readings at an event."""

    rating: DayRating
    went_well: WentWell = ""
    was_hard: WasHard = ""
    would_return: WouldReturn
