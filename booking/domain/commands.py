"""One typed command per write, validated once.

A command is what a person asks to change, checked field by field before any service runs:
the booking form, the API and the desk build the same command, so a rule (a limit, a
required field, the text rule) and the sentence that tells it (domain/messages.py) exist once.
Forms take their limits from here (`rule_of`), and the OpenAPI document its schemas
(`Command.model_json_schema`).

Each field is declared with one of the field types below (`Line`, `Text`, `EmailAddress`,
`Whole`, `Flag`, `Choice`, `LocalMoment`, `Tags`, and for answers and passwords `Scale`,
`YesNo`, `Secret`): a pydantic type carrying a `Rule` that checks the value before pydantic
does, so that every refusal is one of our sentences, never pydantic's.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      ValidationInfo, field_validator, model_validator)
from pydantic_core import PydanticCustomError

from booking.domain import messages
from booking.domain.errors import ValidationFailed
from booking.domain.models import ChangedView, EventKind, HostRole, Role
from booking.domain.scheduling import YEARS, readings
from booking.domain.text import breaks_line, has_control_characters
from booking.domain.timezones import TIMEZONES, skipped, to_utc

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

    def _check_moment(self, value):
        if value is None or value == "":
            return self._empty(None)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise refuse(self.invalid or messages.LOCAL_MOMENT) from None
        # An offset would say which instant is meant; a wall-clock value takes its zone's.
        if not isinstance(value, datetime) or value.tzinfo is not None:
            raise refuse(self.invalid or messages.LOCAL_MOMENT)
        if value.year not in YEARS:  # refused, never overflowed when converted or shifted
            raise refuse(messages.YEARS_MESSAGE)
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


def LocalMoment(label: str, *, missing: str | None = None, invalid: str | None = None):
    """A wall-clock date and time without a zone (a datetime, or ISO text such as
    2026-12-05T10:00), in the years people plan for. The zone is another field's: a command
    that has one checks, across fields, that its clocks show the time (see `EventDetails`)."""
    rule = Rule("moment", label, missing=missing, invalid=invalid)
    python_type = datetime if missing else datetime | None
    return _field(rule, python_type)


@dataclass(frozen=True)
class TagsRule(Rule):
    """A short list of words: at most `max_items`, each at most `item_length` characters;
    `max_length` bounds the text as typed (comma-separated)."""

    max_items: int = 0
    item_length: int = 0

    def _check_tags(self, value):
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            if len(value) > self.max_length:
                raise refuse(self.too_long())
            value = value.split(",")
        if not isinstance(value, (list, tuple)) or not all(isinstance(t, str) for t in value):
            raise refuse(messages.NOT_TEXT.format(label=self.label))
        # Repeats are dropped, first one kept, so "family, Family" stays as typed once.
        tags = tuple(dict.fromkeys(t.strip() for t in value if t.strip()))
        if any(breaks_line(tag) for tag in tags):
            raise refuse(messages.ONE_LINE)
        if len(tags) > self.max_items or any(len(tag) > self.item_length for tag in tags):
            raise refuse(messages.TOO_MANY_TAGS.format(items=self.max_items,
                                                       length=self.item_length))
        return tags


def Tags(label: str, *, max_length: int, max_items: int, item_length: int):
    """Words separated by commas (topics, language codes): trimmed, repeats dropped, each one
    line; a list of words is taken as well."""
    rule = TagsRule("tags", label, max_length=max_length, max_items=max_items,
                    item_length=item_length)
    return _field(rule, tuple[str, ...], max_length=max_items)


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
    #: Checked even when left out, since the event may require it.
    accept_agreement: AgreementAccepted = Field(
        default=False, validate_default=True,
        description="Required true for Human Library events with a reader agreement")

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


# -- events (staff) ----------------------------------------------------------------------------

EVENT_TITLE_MAX = 200
SLUG_MAX = 80
VENUE_MAX = 300
EVENT_TEXT_MAX = 5000
AGREEMENT_MAX = 10000
#: The most bookings per patron, and seats per booking, an event may allow.
EVENT_LIMIT_MAX = 50
REASON_MAX = 300
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _event_limit(label: str):
    range_message = messages.EVENT_LIMIT_RANGE.format(label=label, limit=EVENT_LIMIT_MAX)
    return Whole(label, missing=messages.EVENT_LIMIT_MISSING.format(label=label.lower()),
                 minimum=1, too_small=range_message, maximum=EVENT_LIMIT_MAX,
                 too_large=range_message, invalid=range_message)


EventTitle = Line("Title", max_length=EVENT_TITLE_MAX, missing=messages.EVENT_TITLE_MISSING)
EventSlug = Line("Web address", max_length=SLUG_MAX)
EventKindChoice = Choice("Kind", tuple(kind.value for kind in EventKind),
                         missing=messages.EVENT_KIND_UNKNOWN, invalid=messages.EVENT_KIND_UNKNOWN)
EventDescription = Text("Description", max_length=EVENT_TEXT_MAX)
Venue = Line("Venue", max_length=VENUE_MAX)
AccessibilityNotes = Text("Accessibility notes", max_length=EVENT_TEXT_MAX)
TimeZone = Choice("Time zone", tuple(TIMEZONES), missing=messages.TIMEZONE_UNKNOWN,
                  invalid=messages.TIMEZONE_UNKNOWN)
EventStarts = LocalMoment("Starts", missing=messages.EVENT_STARTS_MISSING)
EventEnds = LocalMoment("Ends", missing=messages.EVENT_ENDS_MISSING)
RegistrationOpens = LocalMoment("Registration opens")
RegistrationCloses = LocalMoment("Registration closes")
BookingsPerPatron = _event_limit("Bookings per patron")
SeatsPerBooking = _event_limit("Seats per booking")
AgreementText = Text("Reader agreement", max_length=AGREEMENT_MAX)
CopyStarts = LocalMoment("The copy starts", missing=messages.CLONE_STARTS_MISSING)
CancelReason = Line("Reason", max_length=REASON_MAX, missing=messages.CANCEL_REASON_MISSING)
HostPartner = Whole("Partner", missing=messages.HOST_PARTNER_UNKNOWN, minimum=1,
                    invalid=messages.HOST_PARTNER_UNKNOWN)
HostRoleChoice = Choice("Role", tuple(role.value for role in HostRole),
                        missing=messages.HOST_ROLE_UNKNOWN, invalid=messages.HOST_ROLE_UNKNOWN)


class EventDetails(Command):
    """An event as staff enter it (a new one, or an edit): its times are wall-clock times in
    its zone, `timezone`; `starts_at` and the other `*_at` give them in UTC.

    The rules that need the database (a free web address, readings left outside new times)
    are the service's.
    """

    title: EventTitle
    #: Empty: a new event takes one made from its title; an edited one keeps its own.
    slug: EventSlug = ""
    kind: EventKindChoice = EventKind.HUMAN_LIBRARY.value
    description: EventDescription = ""
    venue: Venue = ""
    accessibility_notes: AccessibilityNotes = ""
    # Before the times: their checks read it.
    timezone: TimeZone
    starts: EventStarts
    ends: EventEnds
    registration_opens: RegistrationOpens = None
    registration_closes: RegistrationCloses = None
    max_bookings_per_patron: BookingsPerPatron
    max_seats_per_booking: SeatsPerBooking
    agreement_text: AgreementText = ""

    @field_validator("slug")
    @classmethod
    def _slug_well_formed(cls, slug: str) -> str:
        if slug and not SLUG_PATTERN.fullmatch(slug):
            raise refuse(messages.SLUG_MALFORMED)
        return slug

    @field_validator("starts", "ends", "registration_opens", "registration_closes")
    @classmethod
    def _on_the_clock_and_in_order(cls, local: datetime | None,
                                   info: ValidationInfo) -> datetime | None:
        # Fields validate in declaration order: `info.data` holds the earlier ones that passed.
        zone = info.data.get("timezone")
        if local is None or zone is None:
            return local
        if skipped(local, zone):
            raise refuse(messages.SKIPPED_TIME.format(moment=f"{local:%Y-%m-%d %H:%M}",
                                                      zone=zone))
        instant = to_utc(local, zone)

        def earlier(name: str) -> datetime | None:
            value = info.data.get(name)
            return None if value is None else to_utc(value, zone)

        if info.field_name == "ends" and (starts := earlier("starts")) and instant <= starts:
            raise refuse(messages.EVENT_ENDS_BEFORE_START)
        if (info.field_name == "registration_opens" and (ends := earlier("ends"))
                and instant >= ends):
            raise refuse(messages.REGISTRATION_OPENS_AFTER_END)
        if (info.field_name == "registration_closes"
                and (opens := earlier("registration_opens")) and instant <= opens):
            raise refuse(messages.REGISTRATION_CLOSES_BEFORE_OPENING)
        return local

    @property
    def starts_at(self) -> datetime:
        return to_utc(self.starts, self.timezone)

    @property
    def ends_at(self) -> datetime:
        return to_utc(self.ends, self.timezone)

    @property
    def registration_opens_at(self) -> datetime | None:
        return self.registration_opens and to_utc(self.registration_opens, self.timezone)

    @property
    def registration_closes_at(self) -> datetime | None:
        return self.registration_closes and to_utc(self.registration_closes, self.timezone)


class CloneEvent(Command):
    """A draft copy of an event starting at `starts` (wall-clock, in the event's zone); the
    rest of it moves by as much."""

    starts: CopyStarts


class Cancellation(Command):
    """Cancelling an event or one of its readings: the reason each patron is told."""

    reason: CancelReason


class Host(Command):
    """One partner taking part in an event, and its role."""

    partner_id: HostPartner
    role: HostRoleChoice

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: Any) -> Any:
        # The hosts page and the services' callers name a host as a (partner id, role) pair.
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return {"partner_id": value[0], "role": value[1]}
        return value


class Hosts(Command):
    """The partners taking part in an event and their roles: one host at least, each once."""

    hosts: tuple[Host, ...] = ()

    @field_validator("hosts")
    @classmethod
    def _one_host_each_partner_once(cls, hosts: tuple[Host, ...]) -> tuple[Host, ...]:
        partner_ids = [host.partner_id for host in hosts]
        if len(set(partner_ids)) != len(partner_ids):
            raise refuse(messages.HOST_TWICE)
        if not any(host.role == HostRole.HOST for host in hosts):
            raise refuse(messages.HOST_NEEDED)
        return hosts


# -- the desk ----------------------------------------------------------------------------------

#: The most seats per reading an event may hold back for walk-ins.
MAX_WALK_IN_SEATS = 10
_HELD_SEATS_RANGE = messages.HELD_SEATS_RANGE.format(limit=MAX_WALK_IN_SEATS)
HeldSeats = Whole("Seats held back", missing=messages.HELD_SEATS_NOT_WHOLE, minimum=0,
                  too_small=_HELD_SEATS_RANGE, maximum=MAX_WALK_IN_SEATS,
                  too_large=_HELD_SEATS_RANGE, invalid=messages.HELD_SEATS_NOT_WHOLE)
#: What the desk's buttons post: checked in, a no-show, or back to confirmed.
MARKS = ("attended", "no_show", "undo")
Mark = Choice("Mark", MARKS, missing=messages.MARK_UNKNOWN, invalid=messages.MARK_UNKNOWN)


class SeatsHeldBack(Command):
    """How many seats of each reading an event holds back for walk-ins (0: none)."""

    walk_in_seats: HeldSeats


class Attendance(Command):
    """A mark the desk sets on a booking: checked in, a no-show, or undone."""

    mark: Mark


# -- confirmations -----------------------------------------------------------------------------


class Confirmation(Command):
    """A button pressed to go ahead (publish an event, cancel a booking, confirm a hold):
    nothing is entered; what it acts on comes from the address."""


# -- partner area: books, sessions, availability, profiles ----------------------------------

BOOK_TITLE_MAX = 120
LISTING_TEXT_MAX = 2000
SESSION_TITLE_MAX = 200
SESSION_SEATS_MAX = 500
PARTNER_NAME_MAX = 200
#: A language tag as BCP 47 spells it: en, es, pt-BR, asl.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")

BookTitle = Line("Title", max_length=BOOK_TITLE_MAX, missing=messages.BOOK_TITLE_MISSING)
Blurb = Text("Blurb", max_length=LISTING_TEXT_MAX)
Topics = Tags("Topics", max_length=500, max_items=12, item_length=40)
Languages = Tags("Languages", max_length=200, max_items=12, item_length=40)
ContentNotes = Text("Content notes", max_length=LISTING_TEXT_MAX)
VolunteerName = Line("Volunteer's name", max_length=200)
VolunteerEmail = EmailAddress("Volunteer's e-mail", max_length=EMAIL_MAX)


class BookListing(Command):
    """A human book as its partner's coordinator (or staff) describes it; the volunteer's
    name and address are private."""

    title: BookTitle
    blurb: Blurb = ""
    topics: Topics = ()
    languages: Languages = ()
    content_notes: ContentNotes = ""
    volunteer_name: VolunteerName = ""
    volunteer_email: VolunteerEmail = ""


SessionTitle = Line("Title", max_length=SESSION_TITLE_MAX,
                    missing=messages.SESSION_TITLE_MISSING)
SessionDescription = Text("Description", max_length=LISTING_TEXT_MAX)
Language = Line("Language", max_length=35, missing=messages.LANGUAGE_MISSING)
Audience = Line("Audience", max_length=120)
SessionStarts = LocalMoment("Starts", missing=messages.SESSION_STARTS_MISSING)
SessionEnds = LocalMoment("Ends", missing=messages.SESSION_ENDS_MISSING)
_SEATS_RANGE = messages.SESSION_SEATS_RANGE.format(maximum=SESSION_SEATS_MAX)
SessionSeats = Whole("Seats", missing=messages.SESSION_SEATS_MISSING, minimum=1,
                     too_small=_SEATS_RANGE, maximum=SESSION_SEATS_MAX, too_large=_SEATS_RANGE,
                     invalid=_SEATS_RANGE)
Presenter = Whole("Presenter", minimum=1, invalid=messages.PRESENTER_NOT_OURS)


class SessionListing(Command):
    """A program session as a coordinator enters it. `starts` and `ends` are wall-clock
    times in the event's zone; the service checks them against the event and the clock, and
    the presenter against the partner's volunteers."""

    title: SessionTitle
    starts: SessionStarts
    ends: SessionEnds
    seats: SessionSeats
    description: SessionDescription = ""
    language: Language = "en"
    audience: Audience = ""
    presenter_user_id: Presenter = None

    @field_validator("language")
    @classmethod
    def _a_language_tag(cls, language: str) -> str:
        if not LANGUAGE_TAG.match(language):
            raise refuse(messages.LANGUAGE_INVALID)
        return language

    @field_validator("ends")
    @classmethod
    def _ends_after_it_starts(cls, ends: datetime, info: ValidationInfo) -> datetime:
        starts = info.data.get("starts")
        if starts is not None and ends <= starts:
            raise refuse(messages.SESSION_ENDS_FIRST)
        return ends


WindowStarts = LocalMoment("From", missing=messages.WINDOW_STARTS_MISSING)
WindowEnds = LocalMoment("Until", missing=messages.WINDOW_ENDS_MISSING)
ReadingMinutes = Whole("Reading length", missing=messages.READING_MINUTES_MISSING, minimum=5,
                       maximum=240, invalid=messages.READING_MINUTES_RANGE)
BreakMinutes = Whole("Break", missing=messages.BREAK_MINUTES_MISSING, minimum=0, maximum=120,
                     invalid=messages.BREAK_MINUTES_RANGE)
Readers = Whole("Readers per reading", missing=messages.READERS_MISSING, minimum=1, maximum=3,
                invalid=messages.READERS_RANGE)
RestAfter = Whole("Rest after", minimum=1, maximum=50, invalid=messages.REST_AFTER_RANGE)
RestMinutes = Whole("Rest length", missing=messages.REST_MINUTES_MISSING, minimum=0,
                    maximum=240, invalid=messages.REST_MINUTES_RANGE)


class Window(Command):
    """One availability window of a book at an event: readings laid end to end from `starts`
    to `ends` (wall-clock times in the event's zone), with breaks, and a longer rest after
    every `rest_after` readings if given. The service checks it against the event."""

    starts: WindowStarts
    ends: WindowEnds
    reading_minutes: ReadingMinutes = 30
    break_minutes: BreakMinutes = 10
    readers: Readers = 1
    rest_after: RestAfter = None
    rest_minutes: RestMinutes = 20

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Window:
        if self.ends <= self.starts:
            raise refuse(messages.WINDOW_ENDS_FIRST.format(window=self.label))
        return self

    @classmethod
    def of(cls, window) -> Window:
        """A stored window (models.AvailabilityWindow) as it is: it was checked when saved."""
        return cls.model_construct(
            starts=window.starts_local, ends=window.ends_local,
            reading_minutes=window.reading_minutes, break_minutes=window.break_minutes,
            readers=window.readers, rest_after=window.rest_after,
            rest_minutes=window.rest_minutes)

    @property
    def label(self) -> str:
        """The window as its sentences name it: 2031-06-14 10:00–12:00."""
        return f"{self.starts:%Y-%m-%d %H:%M}–{self.ends:%H:%M}"

    def spans(self, zone: str) -> list[tuple[datetime, datetime]]:
        """The readings it gives, as (start, end) UTC pairs (scheduling.readings)."""
        return readings(
            self.starts, self.ends, zone,
            length=timedelta(minutes=self.reading_minutes),
            gap=timedelta(minutes=self.break_minutes),
            rest_every=self.rest_after, rest=timedelta(minutes=self.rest_minutes),
        )


class Schedule(Command):
    """A book's availability windows at one event, saved as a whole; none overlaps another."""

    windows: tuple[Window, ...] = ()

    @field_validator("windows")
    @classmethod
    def _apart(cls, windows: tuple[Window, ...]) -> tuple[Window, ...]:
        ordered = sorted(windows, key=lambda window: window.starts)
        for before, after in zip(ordered, ordered[1:]):
            if after.starts < before.ends:
                raise refuse(messages.WINDOWS_OVERLAP.format(
                    first=f"{before.starts:%H:%M}", second=f"{after.starts:%H:%M}"))
        return windows


PartnerName = Line("Organisation name", max_length=PARTNER_NAME_MAX,
                   missing=messages.PARTNER_NAME_MISSING)
PartnerKind = Line("Kind of organisation", max_length=80)
Website = Line("Website", max_length=300)
PartnerDescription = Text("Description", max_length=LISTING_TEXT_MAX)
ContactEmail = EmailAddress("Contact e-mail", max_length=EMAIL_MAX)


def reads_alike(name: str) -> str:
    """A partner's name as names are compared: case and repeated spaces ignored (casefold,
    beyond ASCII), so that the hosts list never offers two organisations that read alike."""
    return " ".join(name.split()).casefold()


def name_in_use(name: str, others, own: str | None = None) -> str | None:
    """The name among `others` that `name` reads alike, or None. A partner's `own` name stays
    its own even if another partner's reads alike (older data)."""
    key = reads_alike(name)
    if not key or (own is not None and reads_alike(own) == key):
        return None
    return next((other for other in others if reads_alike(other) == key), None)


class Profile(Command):
    """A partner organisation's public profile, as its coordinator or staff enter it.

    Context `partner_names` (the other partners' names) and `own_name` let the name be
    refused with the other problems at once; the service checks it again as it writes.
    """

    name: PartnerName
    kind: PartnerKind = ""
    website: Website = ""
    description: PartnerDescription = ""
    contact_email: ContactEmail = ""

    @field_validator("name")
    @classmethod
    def _name_free(cls, name: str, info: ValidationInfo) -> str:
        context = info.context or {}
        taken = name_in_use(name, context.get("partner_names", ()), context.get("own_name"))
        if taken is not None:
            raise refuse(messages.PARTNER_NAME_TAKEN.format(name=taken))
        return name

    @field_validator("website")
    @classmethod
    def _a_web_address(cls, website: str) -> str:
        if website:
            parts = urlsplit(website)
            if parts.scheme not in ("http", "https") or not parts.netloc \
                    or any(c.isspace() for c in website):
                raise refuse(messages.WEBSITE_INVALID)
        return website

    @field_validator("contact_email")
    @classmethod
    def _normalised(cls, email: str) -> str:
        # The public reads it: the domain in lower case, as e-mail_validator writes it.
        return validate_email(email, check_deliverability=False).normalized if email else email


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
