"""Garbage in every field of every POST route: a refusal (never a 500) that changes nothing.

The routes come from the app's URL map, so a POST route added later fails here until it has a
scenario below: who may use it, what it acts on, and a valid submission. The valid submission
is sent first and must succeed (so the scenario is known to reach the service); then each of
its fields, one at a time and then all at once, is replaced by each kind of garbage. Whatever
is refused must leave every table's row count as it was; whatever is accepted renews the
scenario when it consumed what it acted on (a booking cancelled, an invitation used).
"""
from __future__ import annotations

import functools
import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import request, request_finished
from werkzeug.datastructures import MultiDict

from booking import create_app
from booking.demo import DEMO_EVENT_SLUG, seed_demo
from booking.domain.commands import Patron, Schedule, Window
from booking.domain.models import (Event, EventStatus, HostRole, ListingStatus, Partner,
                                   ProgramSession, Role, User)
from booking.services import availability, reservations, tokens
from support import PASSWORD, csrf_token_from, sign_in

#: What a refusal may answer (a target adds 401 where signing in fails).
REFUSALS = frozenset({400, 403, 404, 405, 409, 410, 413, 422, 429})

STAFF = "staff@demo.example"
COORDINATOR = "partner@demo.example"
VOLUNTEER = "volunteer@demo.example"


# -- the garbage -----------------------------------------------------------------------------

class Omitted:
    """The field is left out."""

    def __repr__(self):
        return "<omitted>"


OMITTED = Omitted()


class Upload:
    """A file sent where the field's text goes (the whole form goes as multipart)."""

    def __repr__(self):
        return "<file>"


UPLOAD = Upload()


@dataclass(frozen=True)
class Repeated:
    """The field sent twice: `first`, then `second` (None: the field's valid value)."""

    first: object = None
    second: object = None


#: What every form field gets in turn: str as typed, bytes as raw (percent-encoded) octets.
EVERY_FIELD = [
    "",
    "x" * 10_000,
    "a\x00b",
    "\x01\x1b[2J\x7f line\r\nbreak\u2028",  # control characters, line breaks, separators
    # A lone surrogate as UTF-8 would spell it (no client sends one as text), and an octet
    # that is not UTF-8 at all.
    b"\xed\xa0\x80\xff",
    OMITTED,
    # Sent twice: a value that passes, then a NUL, for whatever reads the last or every value.
    Repeated(second="a\x00b"),
    UPLOAD,
]
NUMBERS = ["not-a-number", "1e309", "-1", str(10**40), "\u00b2"]  # ² is a digit to isdigit only
DATES = ["0000-00-00", "99999-01-01", "9999-12-31T23:59", "25:61"]
CHOICES = ["not-an-option", str(10**40), "\u00b2"]
#: What a field also gets, by how its page renders it; a field the page does not render (a
#: probe, a query parameter) or a hidden one gets all of it.
BY_KIND = {"number": NUMBERS, "date": DATES, "time": DATES, "datetime-local": DATES,
           "select": CHOICES, "radio": CHOICES, "checkbox": CHOICES, "button": CHOICES,
           "text": [], "email": [], "password": [], "url": [], "textarea": []}
ALL_GARBAGE = EVERY_FIELD + NUMBERS + DATES + CHOICES[:1]


def garbage_for(kind: str | None) -> list:
    """The garbage a field of this kind gets."""
    return EVERY_FIELD + BY_KIND[kind] if kind in BY_KIND else ALL_GARBAGE


class Raw(str):
    """JSON text written as it is: a number no float holds, a lone surrogate's escape."""


#: What each JSON field gets in turn: every JSON type, numbers out of range, odd text.
JSON_GARBAGE = [
    None, True, False, 0, -1, 1.5, 10**40, -(10**40), Raw("1e309"), Raw("-1e309"),
    "", "x" * 10_000, "a\x00b", "\u202e", Raw('"\\ud800"'), "1", [], [1, 2], {},
    {"$gt": ""}, OMITTED,
]
#: What each field gets in a JSON body sent where its form is expected (no field reads one).
FORM_JSON_GARBAGE = [[1, "a\x00b"]]
#: Whole JSON bodies, not objects, sent where a form is expected.
FORM_JSON_BODIES = ["1", "[]", "null", '{"a": ']
#: Whole bodies that are not a JSON object of fields.
JSON_BODIES = ["[]", "null", "1", '"text"', "{}", "1e309", '{"a": ', "\u00ff", "", "[" * 5000]


def spoiled(fields: dict, name: str, garbage, valid) -> dict:
    """`fields` with `name` replaced by `garbage` (`valid`: the value that passes)."""
    fields = dict(fields)
    if garbage is OMITTED:
        fields.pop(name, None)
    elif isinstance(garbage, Repeated):
        first = valid if garbage.first is None else garbage.first
        second = valid if garbage.second is None else garbage.second
        fields[name] = [*_values(first), *_values(second)]
    else:
        fields[name] = garbage
    return fields


def _values(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def json_text(body: dict) -> str:
    """A JSON object's text, its Raw values written as they are."""
    raws = {}
    for name, value in body.items():
        if isinstance(value, Raw):
            raws[name] = value
    text = json.dumps({name: f"@raw:{name}@" if name in raws else value
                       for name, value in body.items()})
    for name, value in raws.items():
        text = text.replace(json.dumps(f"@raw:{name}@"), str(value))
    return text


# -- the submissions -----------------------------------------------------------------------------

@dataclass
class Target:
    """One submission to spoil: who sends it (the e-mail to sign in with; None: anonymous),
    where it goes, and its valid fields. `page` is where a browser finds the form: its fields
    as rendered are the base, over which `fields` go. `probes` are fields the form does not
    carry but the view reads (spoiled by adding them), `query` the query string the view
    reads. With `confirm`, the valid submission is asked to be confirmed first (409): the
    base is then that confirmation page's form, of which only the fields in `spoil` are
    spoiled (the others repeat what was entered, spoiled by the target without `confirm`).
    `json`: the API's body instead of a form."""

    role: str | None
    url: str
    page: str | None = None
    fields: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    json: dict | None = None
    confirm: bool = False
    spoil: tuple[str, ...] | None = None
    also: frozenset = frozenset()
    renew: Callable[[], Target] | None = None


def fresh(make: Callable[[], Target]) -> Target:
    """A target made anew whenever an accepted submission consumed it."""
    target = make()
    target.renew = lambda: fresh(make)
    return target


class _Forms(HTMLParser):
    """The forms of a page, each as a browser submits it (its first named button pressed)."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs.get("action") or "", {}, {}))
            return
        if not self.forms:
            return
        _action, fields, kinds = self.forms[-1]
        name = attrs.get("name")
        if name and tag in ("input", "button", "select", "textarea"):
            kind = attrs.get("type", "text") if tag == "input" else tag
            kinds.setdefault(name, "number" if attrs.get("inputmode") == "numeric" else kind)
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    fields[name] = [*fields.get(name, []), attrs.get("value") or "on"]
            elif kind not in ("submit", "button", "image", "file", "reset"):
                fields[name] = [*fields.get(name, []), attrs.get("value") or ""]
        elif tag == "button" and name:
            fields.setdefault(name, [attrs.get("value") or ""])
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select:
            if self._select not in fields or "selected" in attrs:
                fields[self._select] = [attrs.get("value") or ""]
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            fields = self.forms[-1][1]
            fields[self._textarea] = [fields[self._textarea][0] + data]


def form_fields(html: str, action: str, page: str) -> tuple[dict, dict] | None:
    """The fields of the page's form posting to `action` (the largest, if several), and the
    kind of each (its input's type, or select, textarea, button)."""
    parser = _Forms()
    parser.feed(html)
    wanted = urlsplit(action).path
    found = [(fields, kinds) for target, fields, kinds in parser.forms
             if urlsplit(target or page).path == wanted]
    if not found:
        return None
    fields, kinds = max(found, key=lambda form: len(form[0]))
    return ({name: values[0] if len(values) == 1 else values for name, values in fields.items()},
            kinds)


# -- the people sending them ---------------------------------------------------------------------

#: Stands for the visitor's CSRF token, fetched as the submission is sent.
CSRF = "<csrf>"


class Visitor:
    """A browser signed in as `role` (an e-mail), or anonymous, with its CSRF token."""

    def __init__(self, app, role: str | None):
        self.app, self.role = app, role
        self.start()

    def start(self) -> None:
        self.client = self.app.test_client()
        self.token = self.secret = None
        if self.role is not None:
            assert sign_in(self.client, self.role).status_code == 303, self.role

    def csrf(self) -> str:
        if self.token is None:
            home = "/account/" if self.role else "/login"
            page = self.client.get(home)
            if page.status_code != 200:  # signed out, or signed in, by what was sent
                self.start()
                page = self.client.get(home)
            self.token = csrf_token_from(page.get_data(as_text=True))
            self.secret = self._session().get("csrf_token")
        return self.token

    def _session(self) -> dict:
        with self.client.session_transaction() as session:
            return dict(session)

    def answered(self) -> bool:
        """After an answer: whether it flashed a refusal (how the desk says no). Forgets the
        flashed messages, and the CSRF token if the session has a new secret (signed in or
        out)."""
        with self.client.session_transaction() as session:
            flashed = session.pop("_flashes", [])
            if self.token is not None and session.get("csrf_token") != self.secret:
                self.token = None
        return any(category == "error" for category, _message in flashed)


def row_counts(db) -> dict[str, int]:
    """Every table's row count, in one query."""
    db.session.rollback()  # a fresh look, past anything the test's session holds
    row = db.session.execute(_counts(tuple(db.metadata.sorted_tables))).one()
    db.session.rollback()
    return dict(row._mapping)


@functools.cache
def _counts(tables) -> sa.Select:
    return sa.select(*(sa.select(sa.func.count()).select_from(table).scalar_subquery()
                       .label(table.name) for table in tables))


class Run:
    """Every submission to one route, and what each must answer."""

    def __init__(self, app, db, endpoint: str):
        self.app, self.db, self.endpoint = app, db, endpoint
        self.visitors: dict[str | None, Visitor] = {}
        self.counts: dict | None = None
        self.last = None
        self.posted = self.refused = 0
        #: How the pages render each field (garbage_for).
        self.kinds: dict[str, str] = {}
        #: Whether a submission is on its way (not a page or a sign-in on the side).
        self.sending = False

    def visitor(self, role: str | None) -> Visitor:
        if role not in self.visitors:
            self.visitors[role] = Visitor(self.app, role)
        return self.visitors[role]

    def base(self, target: Target) -> dict:
        """The valid submission: the page's form as rendered, with the target's fields."""
        fields = {}
        if target.page is not None:
            visitor = self.visitor(target.role)
            page = visitor.client.get(target.page)
            if page.status_code != 200:  # signed out, or signed in, by what was sent
                visitor.start()
                page = visitor.client.get(target.page)
            assert page.status_code == 200, (self.endpoint, target.page, page.status_code)
            found = form_fields(page.get_data(as_text=True), target.url, target.page)
            assert found is not None, f"{target.page} has no form posting to {target.url}"
            fields, kinds = found
            self.kinds.update(kinds)
        fields = {name: CSRF if name.endswith("csrf_token") else value
                  for name, value in {**fields, **target.fields}.items()}
        if target.confirm:
            assert self.post(target, fields), f"{self.endpoint}: nothing to confirm"
            assert self.last.status_code == 409, (self.endpoint, self.last.status_code)
            html = self.last.get_data(as_text=True)
            confirmation = form_fields(html, target.url, target.url)
            assert confirmation, f"{self.endpoint}: the confirmation page has no form"
            fields = {name: CSRF if name.endswith("csrf_token") else value
                      for name, value in confirmation[0].items()}
            self.kinds.update(confirmation[1])
        return fields

    def post(self, target: Target, fields: dict | None = None, *, query: dict | None = None,
             body: str | None = None) -> bool:
        """Send a form's `fields` (or a JSON `body`, with the CSRF token in its header as a
        script would send it) and check the answer; True if refused."""
        visitor = self.visitor(target.role)
        if self.counts is None:
            self.counts = row_counts(self.db)
        query = target.query if query is None else query
        url = target.url + ("?" + urlencode([(name, value) for name, values in query.items()
                                             for value in _values(values)]) if query else "")
        if body is None:
            pairs = [(name, visitor.csrf() if value == CSRF else value)
                     for name, values in fields.items() for value in _values(values)]
            body, kind = urlencode(pairs), "application/x-www-form-urlencoded"
            if any(value is UPLOAD for _name, value in pairs):
                body = MultiDict([(name, (io.BytesIO(b"garbage"), "garbage.txt")
                                   if value is UPLOAD else value) for name, value in pairs])
                kind = "multipart/form-data"
        else:
            kind = "application/json"
        headers = {"X-CSRFToken": visitor.csrf()} if target.json is None and fields is None \
            else {}
        self.sending = True
        try:
            answer = visitor.client.post(url, data=body, content_type=kind, headers=headers)
        finally:
            self.sending = False
        self.last = answer
        self.posted += 1
        status = answer.status_code
        sent = fields if kind != "application/json" else body
        what = f"{self.endpoint}: POST {url[:200]} {str(sent)[:300]!r} answered {status}"
        assert status != 500, what
        assert 200 <= status < 400 or status in REFUSALS | target.also, what
        refused = status >= 400 or visitor.answered() and 300 <= status
        if refused:
            self.refused += 1
            assert row_counts(self.db) == self.counts, f"a refusal changed rows: {what}"
        else:
            self.counts = None
        return refused


class Exercise:
    """One target: its valid submission, then each field spoiled with each kind of garbage."""

    def __init__(self, run: Run, target: Target):
        self.run, self.target = run, target
        self.fields: dict = {}

    def renew(self) -> None:
        """After an accepted submission: the target anew if it consumed what it acted on."""
        if self.target.renew is not None:
            self.target = self.target.renew()
            if self.target.json is None:
                self.fields = self.run.base(self.target)

    def send(self, fields: dict | None = None, *, query: dict | None = None,
             body: str | None = None) -> None:
        if not self.run.post(self.target, fields, query=query, body=body):
            self.renew()

    def valid(self) -> None:
        body = None if self.target.json is None else json_text(self.target.json)
        if body is None:
            self.fields = self.run.base(self.target)
        refused = self.run.post(self.target, self.fields, body=body)
        answer = self.run.last
        assert not refused, (f"{self.run.endpoint}: the valid submission was refused "
                             f"({answer.status_code}):\n{answer.get_data(as_text=True)[:3000]}")
        self.renew()
        if self.target.json is None and self.target.renew is None:
            self.fields = self.run.base(self.target)  # as the page now shows it

    def _valid_value(self, name: str):
        return self.fields.get(name, self.target.probes.get(name, ""))

    def form(self) -> None:
        names = [*self.fields, *(name for name in self.target.probes if name not in self.fields)]
        if self.target.spoil is not None:
            names = [name for name in names if name in self.target.spoil]
        for name in names:
            kind = "text" if name.endswith("csrf_token") else self.run.kinds.get(name)
            for garbage in garbage_for(kind):
                self.send(spoiled(self.fields, name, garbage, self._valid_value(name)))
        for garbage in EVERY_FIELD if len(names) > 2 else ():
            everything = dict(self.fields)
            for name in names:
                if not name.endswith("csrf_token"):
                    everything = spoiled(everything, name, garbage, self._valid_value(name))
            self.send(everything)
        for name, garbage in itertools.product(list(self.target.query), ALL_GARBAGE):
            self.send(self.fields, query=spoiled(self.target.query, name, garbage,
                                                 self.target.query[name]))
        # JSON where the form is expected: every field as typed, then each as another type.
        typed = {name: value for name, value in self.fields.items()
                 if not name.endswith("csrf_token")}
        self.send(body=json_text(typed))
        for name, garbage in itertools.product(names, FORM_JSON_GARBAGE):
            if not name.endswith("csrf_token"):
                self.send(body=json_text({**typed, name: garbage}))
        for text in FORM_JSON_BODIES:
            self.send(body=text)

    def json(self) -> None:
        for name, garbage in itertools.product(list(self.target.json), JSON_GARBAGE):
            body = {**self.target.json}
            if garbage is OMITTED:
                del body[name]
            else:
                body[name] = garbage
            self.send(body=json_text(body))
        for text in JSON_BODIES:
            self.send(body=text)
        # A form's body where JSON is expected.
        self.send({name: str(value) for name, value in self.target.json.items()})


# -- the world they act on -----------------------------------------------------------------------

class World:
    """The demo data (staff, a coordinator and a volunteer of Riverside Literacy, its event a
    fortnight ahead), with an event on today for the desk, and makers of what a scenario
    consumes."""

    def __init__(self, db, now, make_event, make_slot, make_book, make_session, make_user):
        self.db, self.now = db, now
        self.make_event, self.make_slot, self.make_book = make_event, make_slot, make_book
        self.make_session, self.make_user = make_session, make_user
        self.numbers = itertools.count(1)
        seed_demo(password=PASSWORD, today=now)
        self.demo = db.session.scalar(sa.select(Event).where(Event.slug == DEMO_EVENT_SLUG))
        self.literacy = db.session.scalar(
            sa.select(Partner).where(Partner.slug == "riverside-literacy"))
        self.staff = self._user(STAFF)
        self.volunteer = self._user(VOLUNTEER)
        self.book = self.volunteer.human_book
        self.zone = ZoneInfo(self.demo.timezone)
        self.demo_day = self.demo.starts_at.astimezone(self.zone).date()
        # Today's event: a reading of the volunteer's book that is over (its survey, the
        # reflection), and one about to start (check-in is open, walk-ins are seated).
        self.today = make_event(starts_at=now - timedelta(hours=3),
                                ends_at=now + timedelta(hours=5),
                                hosts=[(self.literacy, HostRole.HOST)],
                                max_bookings_per_patron=5)
        self.over = make_slot(self.today, book=self.book, starts_at=now - timedelta(hours=2),
                              capacity=500)
        self.starting = make_slot(self.today, book=self.book,
                                  starts_at=now + timedelta(minutes=10), capacity=500)

    def _user(self, email: str) -> User:
        return self.db.session.scalar(sa.select(User).where(User.email == email))

    def n(self) -> int:
        return next(self.numbers)

    def email(self) -> str:
        return f"reader{self.n()}@example.org"

    def booking(self, slot, *, now: datetime | None = None, seats: int = 1, hold=None):
        """A booking of a new patron (made a day before `now` by default)."""
        return reservations.book(
            slot.id, Patron.parse(name="Ada Reader", email=self.email(), seats=seats,
                                  accept_agreement=True),
            now=now or self.now - timedelta(days=1), hold=hold)

    def demo_slot(self, **fields):
        """A new reading at the demo event (its own book, so nothing overlaps)."""
        book = self.make_book(self.literacy)
        return self.make_slot(self.demo, book=book, starts_at=self.demo.starts_at
                              + timedelta(hours=1), **fields)

    def scheduled_book(self, volunteer: bool = False):
        """A new book of the partner with a window at the demo event and one booking in it;
        with `volunteer`, the volunteer who is that book (their e-mail), else None."""
        book = self.make_book(self.literacy, listing_status=ListingStatus.APPROVED)
        starts = datetime.combine(self.demo_day, time(10, 0))
        availability.save(self.staff, self.demo, book, Schedule.parse(windows=[Window.parse(
            starts=starts, ends=starts + timedelta(hours=1))]), now=self.now)
        slot = availability.book_slots(self.demo, book)[0]
        self.booking(slot, now=self.now)
        email = None
        if volunteer:
            email = f"volunteer{self.n()}@example.org"
            self.make_user(email, Role.VOLUNTEER, self.literacy, book)
        return book, email

    def session(self, status=ListingStatus.APPROVED, *, booked: int = 0) -> ProgramSession:
        """A new session of the partner at the demo event, with `booked` readers."""
        session = self.make_session(self.demo, self.literacy, listing_status=status)
        slot = self.make_slot(self.demo, session=session, capacity=5, minutes=60,
                              starts_at=self.demo.starts_at + timedelta(hours=2))
        for _ in range(booked):
            self.booking(slot, now=self.now)
        return session

    def event(self, **fields) -> Event:
        """A new event of the partner's, a month ahead, with one reading."""
        starts = self.now.replace(microsecond=0) + timedelta(days=30)
        event = self.make_event(starts_at=starts, hosts=[(self.literacy, HostRole.HOST)],
                                max_bookings_per_patron=3, max_seats_per_booking=2, **fields)
        self.make_slot(event, book=self.book, capacity=3)
        return event


# -- the scenarios: one per POST route -----------------------------------------------------------

def _account(url: str) -> Callable[[World], list[Target]]:
    return lambda w: [Target(STAFF, url, page="/account/")]


def _api_booking(w: World) -> list[Target]:
    slot = w.demo_slot(capacity=500)
    return [fresh(lambda: Target(None, f"/api/v1/slots/{slot.id}/bookings", json={
        "name": "Ada Reader", "email": w.email(), "seats": 1, "accessibility_needs": "",
        "accept_agreement": True}))]


def _api_cancel(w: World) -> list[Target]:
    slot = w.demo_slot(capacity=500)
    return [fresh(lambda: Target(
        None, f"/api/v1/bookings/{w.booking(slot, now=w.now).token}/cancel", json={}))]


def _manage_cancel(w: World) -> list[Target]:
    slot = w.demo_slot(capacity=500)

    def target():
        url = f"/bookings/{w.booking(slot, now=w.now).token}/cancel"
        return Target(None, url, page=url)

    return [fresh(target)]


def _confirm_hold(w: World) -> list[Target]:
    slot = w.demo_slot(capacity=500)

    def target():
        hold = reservations.Hold(expires_at=w.now + timedelta(hours=1), client="garbage",
                                 client_limit=10_000)
        reservation = w.booking(slot, now=w.now, hold=hold)
        code = reservations.hold_code(reservation.booking.manage_token_hash)
        url = f"/bookings/{reservation.token}/confirm/{code}"
        return Target(None, url, page=url, probes={"remember": "y"})

    return [fresh(target)]


def _desk(w: World) -> str:
    return f"/desk/{w.today.slug}"


def _desk_mark(w: World) -> list[Target]:
    def target():
        booking = w.booking(w.starting).booking
        return Target(STAFF, f"{_desk(w)}/bookings/{booking.id}", page=_desk(w))

    return [fresh(target)]


def _desk_walk_in(w: World) -> list[Target]:
    prefix = f"walk-in-{w.starting.id}-"
    return [Target(STAFF, f"{_desk(w)}/readings/{w.starting.id}/walk-ins", page=_desk(w),
                   fields={f"{prefix}name": "Walk In"},
                   probes={f"{prefix}accept_agreement": "y"})]


def _survey(w: World) -> list[Target]:
    def target():
        url = f"/feedback/{tokens.feedback_token(w.booking(w.over).booking.id)}"
        return Target(None, url, page=url, fields={
            "rating": "5", "would_recommend": "yes", "changed_view": "a_little"})

    return [fresh(target)]


def _accept_invitation(w: World) -> list[Target]:
    def target():
        token = tokens.invitation_token(tokens.Invitation(
            email=f"invited{w.n()}@example.org", role=Role.VOLUNTEER,
            partner_id=w.literacy.id, human_book_id=None, inviter_id=w.staff.id))
        return Target(None, f"/invitations/{token}", page=f"/invitations/{token}", fields={
            "name": "Ina Vited", "password": PASSWORD, "confirm": PASSWORD})

    return [fresh(target)]


def _reset_password(w: World) -> list[Target]:
    email = f"forgetful{w.n()}@example.org"
    w.make_user(email, Role.STAFF)

    def target():
        token = tokens.reset_token(w._user(email))
        return Target(None, f"/password/reset/{token}", page=f"/password/reset/{token}",
                      fields={"password": PASSWORD, "confirm": PASSWORD})

    return [fresh(target)]


def _availability(w: World, who: str) -> list[Target]:
    def page(book, volunteer):
        if who == "volunteer":
            return volunteer, f"/me/events/{DEMO_EVENT_SLUG}/availability"
        return COORDINATOR, f"/partner/books/{book.id}/events/{DEMO_EVENT_SLUG}/availability"

    def adding():
        role, url = page(*w.scheduled_book(volunteer=who == "volunteer"))
        # After the window the book has (10:00-11:00): a second one, apart.
        return Target(role, url, page=url, fields={"starts": "12:00", "ends": "13:00"})

    def removing():
        role, url = page(*w.scheduled_book(volunteer=who == "volunteer"))
        return Target(role, url, page=url, fields={"remove": "0"}, confirm=True,
                      spoil=("remove", "confirm_booking", "reason", "csrf_token"))

    # Changing the window the book has to the same times: nothing changes, nothing is used up;
    # the window's own fields are spoiled when adding one.
    role, url = page(*w.scheduled_book(volunteer=who == "volunteer"))
    replacing = Target(role, url, page=f"{url}?edit=0", spoil=("replace", "replace_start"))
    return [fresh(adding), fresh(removing), replacing]


def _reflection(w: World) -> list[Target]:
    url = f"/me/events/{w.today.slug}/reflection"
    return [Target(VOLUNTEER, url, page=url, fields={"rating": "4", "would_return": "yes"})]


def _edit_book(w: World) -> list[Target]:
    url = f"/partner/books/{w.make_book(w.literacy).id}"
    return [Target(COORDINATOR, url, page=url)]


def _new_book(w: World) -> list[Target]:
    return [Target(COORDINATOR, "/partner/books/new", page="/partner/books/new",
                   fields={"title": "A new book"})]


def _retire_book(w: World) -> list[Target]:
    def target():
        book, _volunteer = w.scheduled_book()
        return Target(COORDINATOR, f"/partner/books/{book.id}/retire", page="/partner/",
                      confirm=True)

    return [fresh(target)]


def _submit_book(w: World) -> list[Target]:
    def target():
        book = w.make_book(w.literacy, listing_status=ListingStatus.DRAFT)
        return Target(COORDINATOR, f"/partner/books/{book.id}/submit", page="/partner/")

    return [fresh(target)]


def _new_session(w: World) -> list[Target]:
    url = f"/partner/events/{DEMO_EVENT_SLUG}/sessions/new"
    return [Target(COORDINATOR, url, page=url,
                   fields={"title": "A talk", "starts": "11:00", "ends": "12:00"})]


def _edit_session(w: World) -> list[Target]:
    def editing():
        url = f"/partner/sessions/{w.session().id}"
        return Target(COORDINATOR, url, page=url)

    def fewer_seats():
        url = f"/partner/sessions/{w.session(booked=2).id}"
        return Target(COORDINATOR, url, page=url, fields={"seats": "1"}, confirm=True,
                      spoil=("seats", "confirm_booking", "reason", "csrf_token"))

    return [fresh(editing), fresh(fewer_seats)]


def _retire_session(w: World) -> list[Target]:
    def target():
        return Target(COORDINATOR, f"/partner/sessions/{w.session(booked=1).id}/retire",
                      page="/partner/", confirm=True)

    return [fresh(target)]


def _submit_session(w: World) -> list[Target]:
    def target():
        session = w.session(ListingStatus.DRAFT)
        return Target(COORDINATOR, f"/partner/sessions/{session.id}/submit", page="/partner/")

    return [fresh(target)]


def _profile(w: World) -> list[Target]:
    acting = f"/partner/profile?partner={w.literacy.id}"
    return [Target(COORDINATOR, "/partner/profile", page="/partner/profile"),
            Target(STAFF, "/partner/profile", page=acting,
                   query={"partner": str(w.literacy.id)})]


def _book(w: World) -> list[Target]:
    slot = w.demo_slot(capacity=500)
    url = f"/slots/{slot.id}/book"
    return [fresh(lambda: Target(None, url, page=url, fields={
        "name": "Ada Reader", "email": w.email(), "accept_agreement": "y"}))]


def _review(kind: str) -> Callable[[World], list[Target]]:
    def scenario(w: World) -> list[Target]:
        def target():
            if kind == "books":
                listing = w.make_book(w.literacy, listing_status=ListingStatus.SUBMITTED)
            else:
                listing = w.session(ListingStatus.SUBMITTED)
            return Target(STAFF, f"/staff/{kind}/{listing.id}/review", page="/staff/")

        return [fresh(target)]

    return scenario


def _cancel_event(w: World) -> list[Target]:
    def target():
        url = f"/staff/events/{w.event().slug}/cancel"
        return Target(STAFF, url, page=url, fields={"reason": "The library is closed."})

    return [fresh(target)]


def _cancel_reading(w: World) -> list[Target]:
    def target():
        slot = w.demo_slot(capacity=3)
        url = f"/staff/events/{DEMO_EVENT_SLUG}/cancel-reading"
        return Target(STAFF, url, page=f"{url}?slot={slot.id}", query={"slot": str(slot.id)},
                      fields={"reason": "The book is ill."})

    return [fresh(target)]


def _clone(w: World) -> list[Target]:
    event = w.event()
    starts = (event.starts_at + timedelta(days=7)).astimezone(ZoneInfo(event.timezone))
    url = f"/staff/events/{event.slug}/clone"
    return [Target(STAFF, url, page=url, fields={"starts": f"{starts:%Y-%m-%dT%H:%M}"})]


def _edit_event(w: World) -> list[Target]:
    event = w.event()

    def target():
        url = f"/staff/events/{event.slug}/edit"
        return Target(STAFF, url, page=url, renew=renew)

    def renew():
        # A slug accepted is the event's new address; the edited event keeps its readings.
        w.db.session.refresh(event)
        return target()

    return [target()]


def _hosts(w: World) -> list[Target]:
    url = f"/staff/events/{w.event().slug}/hosts"
    return [Target(STAFF, url, page=url)]


def _publish(w: World) -> list[Target]:
    def target():
        url = f"/staff/events/{w.event(status=EventStatus.DRAFT).slug}/publish"
        return Target(STAFF, url, page=url)

    return [fresh(target)]


def _new_event(w: World) -> list[Target]:
    # Without a slug, each new event takes a free one made from its title.
    starts = (w.now + timedelta(days=40)).astimezone(w.zone).replace(hour=10, minute=0)
    return [Target(STAFF, "/staff/events/new", page="/staff/events/new", fields={
        "title": "Human Library", "starts": f"{starts:%Y-%m-%dT%H:%M}",
        "ends": f"{starts + timedelta(hours=6):%Y-%m-%dT%H:%M}",
        "max_bookings_per_patron": "3", "max_seats_per_booking": "2"})]


def _staff_invite(w: World) -> list[Target]:
    return [Target(STAFF, "/staff/invitations/new",
                   page=f"/staff/invitations/new?partner={w.literacy.id}",
                   query={"partner": str(w.literacy.id)},
                   fields={"email": "new.coordinator@example.org"})]


def _new_partner(w: World) -> list[Target]:
    return [fresh(lambda: Target(
        STAFF, "/staff/partners/new", page=f"/staff/partners/new?event={w.today.slug}",
        query={"event": w.today.slug}, fields={"name": f"Partner number {w.n()}"}))]


SCENARIOS: dict[str, Callable[[World], list[Target]]] = {
    "account.rotate_feed": _account("/account/feed"),
    "account.change_password": lambda w: [Target(
        STAFF, "/account/password", page="/account/", fields={
            "current_password": PASSWORD, "password": PASSWORD, "confirm": PASSWORD})],
    "account.sign_out_everywhere": _account("/account/sign-out-everywhere"),
    "api.cancel_booking": _api_cancel,
    "api.create_booking": _api_booking,
    "manage.cancel": _manage_cancel,
    "manage.confirm_hold": _confirm_hold,
    "desk.mark": _desk_mark,
    "desk.walk_in": _desk_walk_in,
    "desk.walk_in_seats": lambda w: [Target(STAFF, f"{_desk(w)}/walk-in-seats",
                                            page=_desk(w))],
    "feedback.survey": _survey,
    "auth.accept_invitation": _accept_invitation,
    "auth.login": lambda w: [Target(None, "/login", page="/login", also=frozenset({401}),
                                    fields={"email": STAFF, "password": PASSWORD},
                                    probes={"remember": "y"})],
    "auth.logout": _account("/logout"),
    "me.book_availability": lambda w: _availability(w, "volunteer"),
    "me.reflection": _reflection,
    "partner.edit_book": _edit_book,
    "partner.book_availability": lambda w: _availability(w, "coordinator"),
    "partner.retire_book": _retire_book,
    "partner.submit_book": _submit_book,
    "partner.new_book": _new_book,
    "partner.new_session": _new_session,
    "partner.invite_volunteer": lambda w: [Target(
        COORDINATOR, "/partner/invitations/new", page="/partner/invitations/new",
        fields={"email": "new.volunteer@example.org"})],
    "partner.profile": _profile,
    "partner.edit_session": _edit_session,
    "partner.retire_session": _retire_session,
    "partner.submit_session": _submit_session,
    "auth.forgot_password": lambda w: [Target(None, "/password/forgot",
                                              page="/password/forgot",
                                              fields={"email": STAFF})],
    "auth.reset_password": _reset_password,
    "public.forget_browser": lambda w: [Target(None, "/patron/forget", fields={
        "forget-csrf_token": CSRF, "slot": str(w.starting.id)})],
    "public.book": _book,
    "staff.review_book": _review("books"),
    "staff_events.cancel": _cancel_event,
    "staff_events.cancel_reading": _cancel_reading,
    "staff_events.clone": _clone,
    "staff_events.edit": _edit_event,
    "staff_events.hosts": _hosts,
    "staff_events.publish": _publish,
    "staff_events.new": _new_event,
    "staff.invite": _staff_invite,
    "staff.new_partner": _new_partner,
    "staff.review_session": _review("sessions"),
}


def _post_routes() -> list[str]:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()
                   if "POST" in (rule.methods or ())})


POST_ROUTES = _post_routes()


def test_every_post_route_has_a_scenario():
    assert not set(POST_ROUTES) - set(SCENARIOS), "POST routes no scenario exercises"
    assert not set(SCENARIOS) - set(POST_ROUTES), "scenarios of routes that are gone"


@pytest.fixture
def world(db, now, make_event, make_slot, make_book, make_session, make_user):
    return World(db, now, make_event, make_slot, make_book, make_session, make_user)


@pytest.mark.parametrize("endpoint", POST_ROUTES)
def test_garbage_in_every_field_is_refused_without_a_500_and_changes_nothing(
        app, db, world, endpoint):
    if endpoint not in SCENARIOS:
        pytest.fail(f"{endpoint} is a POST route that no scenario exercises")
    reached = []

    def record(sender, response, **extra):
        if run.sending:
            reached.append((request.endpoint, response.status_code))

    run = Run(app, db, endpoint)
    with request_finished.connected_to(record, app):
        for target in SCENARIOS[endpoint](world):
            exercise = Exercise(run, target)
            exercise.valid()
            if target.json is not None:
                exercise.json()
            else:
                exercise.form()

    # Every submission reached the route (none lost to a wrong address or a sign-in page).
    assert [name for name, _status in reached] == [endpoint] * run.posted
    # Garbage was refused (a route that reads no field, the API's cancel, has none to refuse).
    assert run.refused >= len(EVERY_FIELD) - 2 or endpoint == "api.cancel_booking", \
        f"{endpoint} refused {run.refused} submissions"


def test_a_file_or_a_json_body_in_place_of_a_form_is_read_as_the_form_left_empty(client, db):
    """Flask-WTF hands a form's fields an uploaded file, or a JSON body's values, as they come;
    the fields could not read them (a 500). Our forms read the posted text fields only."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    upload = client.post("/login", content_type="multipart/form-data", data={
        "csrf_token": token, "email": (io.BytesIO(b"staff@example.org"), "email.txt"),
        "password": PASSWORD})
    not_an_object = client.post("/login", data="1", content_type="application/json",
                                headers={"X-CSRFToken": token})

    for answer in (upload, not_an_object):
        assert answer.status_code == 422
        assert "Enter your e-mail address." in answer.get_data(as_text=True)
