"""Plain helpers shared by the test modules (fixtures are in conftest.py): databases, forms,
signing in, outbox messages, races, page structure, and the programme's and events' inputs.

Imported as `from support import ...` (tests/ is on sys.path: conftest.py lives there). Not a
test module, so pytest collects nothing here.
"""
from __future__ import annotations

import os
import re
import threading
from datetime import datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from booking.domain.commands import EventDetails, Patron, SessionListing
from booking.domain.errors import DomainError
from booking.domain.models import OutboxMessage, ProgramSession, Slot
from booking.extensions import db as _db
from booking.services import programme, reservations
from booking.services.outbox import mailer


def worker_database(url: str | None) -> str | None:
    """The database of this pytest-xdist worker: the URL's, suffixed with the worker's id
    (test_gw0, test_gw1, ...), so that workers running at once never share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = sa.engine.make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(
        hide_password=False)


#: PostgreSQL to run on, when given (each xdist worker on a database of its own), else SQLite.
TEST_DATABASE_URL = worker_database(os.environ.get("TEST_DATABASE_URL"))

#: Messages other than the confirmation or waitlist notice every booking queues: what a
#: change to the schedule itself sent.
AFTER_BOOKING = OutboxMessage.kind.not_in(("booking_confirmed", "booking_waitlisted"))


# -- databases -------------------------------------------------------------------------------

def drop_everything(url: str) -> None:
    """Drop every table in the database, including ones the models do not know."""
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
    finally:
        engine.dispose()


def empty_everything(engine: sa.Engine) -> bool:
    """Empty the models' tables, ids restarting at 1 (PostgreSQL); drop everything when the
    database holds anything else (a migration test's schema, a table the models do not know).
    True when every table of the models is there afterwards, emptied.

    Emptying costs a few milliseconds where dropping and creating every table costs most of a
    second. DELETE, children first, rather than TRUNCATE: a test leaves a few rows, which
    DELETE removes in a millisecond or two where TRUNCATE, which makes every table's files
    anew, takes some 50 ms; over the suite, a minute.
    """
    known = set(_db.metadata.tables)
    with engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())
    if not present <= known:
        drop_everything(engine.url.render_as_string(hide_password=False))
        return False
    with engine.begin() as connection:
        for table in reversed(_db.metadata.sorted_tables):
            if table.name in present:
                connection.execute(table.delete())
        connection.exec_driver_sql(
            "SELECT setval(oid::regclass, 1, false) FROM pg_class"
            " WHERE relkind = 'S' AND relnamespace = current_schema()::regnamespace")
    return present == known


# -- forms -----------------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class _HiddenInputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields.append((attrs["name"], attrs.get("value") or ""))


def confirmation_fields(html: str, **extra) -> MultiDict:
    """What a browser posts from the confirmation page: its hidden fields, plus `extra`."""
    form = html.rindex("<form", 0, html.index('name="confirm_booking"'))
    parser = _HiddenInputs()
    parser.feed(html[form:html.index("</form>", form)])
    fields = MultiDict(parser.fields)
    for name, value in extra.items():
        fields[name] = value
    return fields


# -- signing in ------------------------------------------------------------------------------

#: The password `make_user` gives: long and uncommon enough for the password rules.
PASSWORD = "correct horse battery"


def sign_in(client, email: str, password: str = PASSWORD, *, remember: bool = False,
            next: str | None = None):
    """Sign in through the form, like a person; the answer is the form's response."""
    url = "/login" if next is None else f"/login?next={next}"
    page = client.get(url).get_data(as_text=True)
    fields = {"csrf_token": csrf_token_from(page), "email": email, "password": password}
    if remember:
        fields["remember"] = "y"
    return client.post(url, data=fields)


def sign_in_as(client, user):
    """Sign `user` (made by `make_user`) in through the form, and check that it worked."""
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": csrf_token_from(page),
                                           "email": user.email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def area_urls(app, world, prefix, **query):
    """Every route of an area, with its parameters filled from `world` (plus `query`)."""
    values = {"book_id": world["own_book"].id, "slug": world["event"].slug,
              "session_id": world["own_session"].id, "partner_id": world["own"].id,
              "table": "events"}
    if prefix == "/desk":
        if "desk_reading" not in world:
            world["desk_reading"] = desk_reading(world)
        values.update(world["desk_reading"])
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix):
            with app.test_request_context():
                from flask import url_for
                urls.append((url_for(rule.endpoint, **{a: values[a] for a in rule.arguments},
                                     **query),
                             sorted(rule.methods - {"HEAD", "OPTIONS"})))
    assert urls, prefix
    return urls


def desk_reading(world):
    """A reading of the world's event with one booking in it, for the /desk routes."""
    event = world["event"]
    slot = Slot(event_id=event.id, book_id=world["own_book"].id, capacity=2,
                starts_at=event.starts_at, ends_at=event.starts_at + timedelta(minutes=30))
    _db.session.add(slot)
    _db.session.commit()
    booking = reservations.book(
        slot.id,
        Patron.parse(name="Reader", email="reader@example.org"),
        now=event.starts_at - timedelta(hours=1),
    ).booking
    return {"slot_id": slot.id, "booking_id": booking.id}


def window_form(event, start="10:00", end="11:00", **extra):
    """The availability form's fields for a window on the event's first day."""
    zone_day = event.starts_at.astimezone(__import__("zoneinfo").ZoneInfo(event.timezone)).date()
    return {"day": zone_day.isoformat(), "starts": start, "ends": end, "reading_minutes": "30",
            "break_minutes": "10", "readers": "2", "rest_minutes": "20", **extra}


def local_hour(event, hours):
    """"HH:MM" in the event's zone, `hours` after it starts."""
    from zoneinfo import ZoneInfo
    return (event.starts_at + timedelta(hours=hours)).astimezone(ZoneInfo(event.timezone)).strftime("%H:%M")


# -- races and the outbox --------------------------------------------------------------------

def race(app, attempts):
    """Run each attempt in its own thread and app context, all released at once."""
    # End this thread's transaction: on SQLite it would hold the write lock all race long.
    _db.session.rollback()
    barrier = threading.Barrier(len(attempts))
    outcomes: list = [None] * len(attempts)

    def run(index, attempt):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                result = attempt()
                # Read what the test needs while the thread's session is still open.
                outcomes[index] = result.status if isinstance(result, reservations.Reservation) else result
            except DomainError as exc:
                outcomes[index] = exc
            except Exception as exc:  # pragma: no cover - reported by the assertion below
                outcomes[index] = exc
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, DomainError)]
    assert not unexpected, unexpected
    return outcomes


def messages(db, kind: str | None = None) -> list[OutboxMessage]:
    """The outbox's messages (of `kind`, when given), oldest first, read afresh."""
    db.session.expire_all()
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def parts(message) -> dict[str, object]:
    """The leaf parts of an e-mail by content type."""
    return {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}


def record_sends(monkeypatch) -> list[tuple[str, str]]:
    """(To, Subject) of every e-mail the file transport writes, from any thread."""
    sent, lock = [], threading.Lock()
    original = mailer.FileTransport.send

    def recording_send(self, composed, name):
        with lock:
            sent.append((composed["To"], composed["Subject"]))
        original(self, composed, name)

    monkeypatch.setattr(mailer.FileTransport, "send", recording_send)
    return sent


def crons_at_once(app, db, monkeypatch, queue_due, *, now, kind, subject, runs=4):
    """Four cron jobs at once, each queueing what is due then sending: what each queued,
    who got an e-mail whose subject starts with `subject`, and the outbox rows of `kind`."""
    sent = record_sends(monkeypatch)

    def run_cron():
        queued_here = queue_due()
        mailer.drain(now)
        return queued_here

    outcomes = race(app, [run_cron for _ in range(runs)])
    return outcomes, [to for to, title in sent if title.startswith(subject)], messages(db, kind)


# -- pages -----------------------------------------------------------------------------------

class PageStructure(HTMLParser):
    """Headings, form controls with their labels, and external asset references of a page."""

    def __init__(self):
        super().__init__()
        self.headings: list[int] = []
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.assets: list[str] = []
        self._label_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "label":
            self._label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append({**attrs, "_wrapped": self._label_depth > 0})
        if tag == "link" and attrs.get("href"):
            self.assets.append(attrs["href"])
        if tag in ("script", "img") and attrs.get("src"):
            self.assets.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_depth -= 1


def check_accessible_structure(html: str) -> None:
    """One h1, no skipped heading levels, a label for every control, no third-party assets."""
    page = PageStructure()
    page.feed(html)
    assert page.headings.count(1) == 1, page.headings
    assert page.headings[0] == 1
    for before, after in zip(page.headings, page.headings[1:]):
        assert after <= before + 1, f"heading jumps from h{before} to h{after}"
    for control in page.controls:
        labelled = (
            control.get("id") in page.label_for
            or control["_wrapped"]
            or control.get("aria-label")
            or control.get("aria-labelledby")
        )
        assert labelled, f"control without a label: {control}"
    for asset in page.assets:
        assert asset.startswith("/static/"), f"asset not served by the app: {asset}"
    assert '<html lang="en">' in html
    assert 'name="viewport"' in html


# -- events and the programme ----------------------------------------------------------------

def local_day(days: int = 30) -> datetime:
    """10:00 on the day `days` from today, naive (the event's wall clock)."""
    day = (datetime.now() + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, 10, 0)


def event_fields(**changes) -> EventDetails:
    """A valid new event a month ahead, with `changes`."""
    start = local_day()
    return EventDetails.parse(**{
        "title": "Spring Human Library", "timezone": "America/Chicago", "starts": start,
        "ends": start + timedelta(hours=6), "venue": "Main Library", "agreement_text": "Be kind.",
        "max_bookings_per_patron": 3, "max_seats_per_booking": 1, **changes})


CHICAGO = ZoneInfo("America/Chicago")
DAY = datetime(2031, 6, 14)  # a Saturday well in the future, CDT (UTC-5)


def local(hour: int, minute: int = 0) -> datetime:
    """That time of DAY, naive (the `place` fixture's event's wall clock)."""
    return DAY.replace(hour=hour, minute=minute)


def fields(title="Storytime", start=(10, 0), end=(11, 0), seats=2, **extra):
    """A program session's fields on DAY, 10:00–11:00 with two seats unless told."""
    return SessionListing.parse(title=title, starts=local(*start), ends=local(*end),
                                seats=seats, **extra)


def create(place, now, **extra) -> ProgramSession:
    """A session of `fields(**extra)` created by the `place` fixture's coordinator."""
    return programme.create_session(place["coordinator"], place["partner"], place["event"],
                                    fields(**extra), now=now)
