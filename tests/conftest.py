"""Shared fixtures: an app on a fresh database per test, clients, and factory helpers.

The suite runs on SQLite by default; set TEST_DATABASE_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test) to run it on PostgreSQL.

Where things live: every fixture two or more test modules use is here; plain helpers
(functions, constants) are in tests/support.py, imported as `from support import ...`. A test
module imports from neither conftest nor another test module (tests/test_suite_layout.py
checks this), so that each can be moved, run or read on its own.
"""
from __future__ import annotations

import copy
import itertools
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask, g
from jinja2 import BytecodeCache

from booking import create_app
from booking.web.clients import limiter
from booking.extensions import db as _db
from booking.domain.models import Event, EventHost, EventKind, EventStatus, HostRole, HumanBook, ListingStatus, Partner, ProgramSession, Role, Slot, User, utcnow
from booking.services import passwords
from support import (CHICAGO, PASSWORD, TEST_DATABASE_URL, csrf_token_from, empty_everything,
                     local, sign_in_as)


class Databases:
    """The database every test starts from, kept cheap to make afresh.

    SQLite: one file per test run (per worker) at a fixed path, which the app engines built
    once keep pointing at; a test gets it empty (database_url) or with the models' schema
    copied in from a template made once (app), instead of creating every table again.
    PostgreSQL: the one database, emptied, its schema made again only when a test dropped or
    changed it.
    """

    def __init__(self, folder: Path):
        self.url = TEST_DATABASE_URL or f"sqlite:///{folder / 'test.sqlite3'}"
        self.path = None if TEST_DATABASE_URL else folder / "test.sqlite3"
        self.template = folder / "template.sqlite3"
        self.has_schema = False
        # PostgreSQL: one engine to empty the database with, rather than one per test.
        self.engine = sa.create_engine(TEST_DATABASE_URL) if TEST_DATABASE_URL else None
        if self.engine is not None:
            create_if_missing(self.engine.url)

    def empty(self) -> str:
        """The database, empty (SQLite) or with its tables emptied (PostgreSQL)."""
        if self.engine is not None:
            self.has_schema = empty_everything(self.engine)
        else:
            # Unlinked, not truncated: a connection some test left open keeps the old file.
            for path in (self.path, *(self.path.with_name(self.path.name + suffix)
                                      for suffix in ("-wal", "-shm", "-journal"))):
                path.unlink(missing_ok=True)
            self.has_schema = False
        return self.url

    def fill(self) -> None:
        """Give the emptied database the models' schema (the app context's engine is unused)."""
        if self.has_schema:
            return
        if self.path is None:
            _db.create_all()
        else:
            if not self.template.exists():
                engine = sa.create_engine(f"sqlite:///{self.template}")
                try:
                    _db.metadata.create_all(engine)
                finally:
                    engine.dispose()  # the last connection's close writes the WAL back
                assert not self.template.with_name(self.template.name + "-wal").exists()
            shutil.copyfile(self.template, self.path)
        self.has_schema = True


def create_if_missing(url: sa.URL) -> None:
    """Create the PostgreSQL database `url` names (an xdist worker's, the first time)."""
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                     {"name": url.database}):
                connection.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    finally:
        server.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """The test run's database (see Databases)."""
    databases = Databases(tmp_path_factory.mktemp("database"))
    yield databases
    if databases.engine is not None:
        databases.engine.dispose()


@pytest.fixture
def database_url(databases) -> str:
    """A database of its own for this test: an empty SQLite file, or the emptied PostgreSQL
    one."""
    return databases.empty()


@pytest.fixture
def app_config(database_url) -> dict:
    """Settings for the test app; tests may override entries before `app` is built."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "library.test",
        "PUBLIC_BASE_URL": "http://library.test",
        # Tests send (or write) e-mails only when they ask to.
        "MAIL_SEND_ON_COMMIT": False,
        "MAIL_SERVER": "",
        "MAIL_DEFAULT_SENDER": "Riverside Library <events@library.test>",
        # Most tests book and expect a booking at once; holds confirmed by e-mail (the
        # production default) are tested by tests/web/test_holds.py, which asks for them.
        "BOOKING_CONFIRMATION": "instant",
    }


@dataclass
class Built:
    """An app as it was built, to be lent to test after test."""

    app: Flask
    config: dict
    shape: tuple


#: Apps built so far, by configuration and environment. Building one costs more than most
#: tests take (its routes compiled; then its templates and SQL statements compiled on first
#: use, and kept), so one app per configuration serves every test that asks for it, reset
#: to what it was built as. A test that changed the app itself (added a route, a hook, a
#: client class) leaves it changed: such an app is built anew for the next test.
BUILT: dict[str, Built] = {}


def shape(app: Flask) -> tuple:
    """What a test could add to an app beyond its config."""
    hooks = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs,
             app.teardown_appcontext_funcs, app.url_value_preprocessors,
             app.url_default_functions, app.template_context_processors,
             app.error_handler_spec)
    return (
        len(list(app.url_map.iter_rules())), len(app.view_functions),
        tuple(leaves(hook) for hook in hooks),
        app.wsgi_app, app.json, app.session_interface, app.test_client_class,
        app.test_cli_runner_class, tuple(app.extensions), len(app.jinja_env.globals),
        len(app.jinja_env.filters), len(app.jinja_env.tests),
    )


def leaves(tree) -> int:
    """How many functions a hook table (dicts of lists or dicts, nested) holds."""
    if isinstance(tree, dict):
        return sum(leaves(value) for value in tree.values())
    if isinstance(tree, list):
        return len(tree)
    return 1


def configuration_key(config: dict) -> str:
    """What tells one app from another: its config, and the environment (create_app reads
    settings from it)."""
    environment = {name: value for name, value in os.environ.items()
                   if name != "PYTEST_CURRENT_TEST"}
    return repr((sorted(config.items(), key=lambda item: item[0]),
                 sorted(environment.items())))


class TemplateCode(BytecodeCache):
    """Compiled templates, kept in memory for every app the suite builds: each app compiles
    the same templates on first use otherwise. Jinja checks each against its source."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = TemplateCode()


def lend_app(config: dict, key: str) -> Flask:
    """The app for `config` (whose configuration_key is `key`), built now or reset to what
    it was built as."""
    built = BUILT.get(key)
    if built is None:
        app = create_app(config)
        app.jinja_env.bytecode_cache = TEMPLATE_CODE

        @app.teardown_request
        def forget_signed_in_user(exc):
            # Requests share the test's app context, hence `g`; Flask-Login caches the user
            # there, and a real server would start every request afresh.
            g.pop("_login_user", None)
            g.pop("csrf_token", None)  # Flask-WTF caches the session's token there too

        built = BUILT[key] = Built(app, copy.deepcopy(dict(app.config)), shape(app))
        return app
    app = built.app
    app.config.clear()
    app.config.update(copy.deepcopy(built.config))
    # One limiter serves every app, set up by the last create_app: set it up for this one
    # again, which also forgets what earlier tests counted.
    limiter.init_app(app)
    # Flask refuses new routes and hooks once an app has answered; a test may still add its
    # own (it then gets an app built anew next time, see BUILT). Flask's own app.run() resets
    # the flag the same way when a server stops.
    app._got_first_request = False
    return app


@pytest.fixture
def app(app_config, databases, tmp_path):
    """The app for this test's configuration, on a fresh database, its context pushed."""
    key = configuration_key(app_config)
    app = lend_app(app_config, key)
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        if app_config["SQLALCHEMY_DATABASE_URI"] == databases.url:
            databases.fill()
        else:
            _db.create_all()
        yield app
        _db.session.remove()
        _db.engine.dispose()
    if key in BUILT and shape(app) != BUILT[key].shape:
        del BUILT[key]


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def submit(client):
    """Open a page, then POST its form with the page's own CSRF token, like a browser."""

    def submit(page_url: str, fields: dict, *, action: str | None = None, **kwargs):
        page = client.get(page_url)
        assert page.status_code == 200, page.status_code
        data = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), **fields}
        return client.post(action or page_url, data=data, **kwargs)

    return submit


_counter = itertools.count(1)


@pytest.fixture
def make_partner(db):
    def make_partner(name: str | None = None, **fields) -> Partner:
        n = next(_counter)
        partner = Partner(
            slug=fields.pop("slug", f"partner-{n}"),
            name=name or f"Partner {n}",
            **fields,
        )
        db.session.add(partner)
        db.session.commit()
        return partner

    return make_partner


@pytest.fixture
def make_event(db, make_partner):
    """A published Human Library event a week ahead, 10:00–16:00 local, hosted by one partner.

    A fixed local start keeps "an hour after it starts" on the event's first day whatever the
    time of day the suite runs.
    """

    def make_event(**fields) -> Event:
        n = next(_counter)
        zone = ZoneInfo(fields.get("timezone", "America/Chicago"))
        week_ahead = (utcnow() + timedelta(days=7)).astimezone(zone)
        starts = fields.pop("starts_at", datetime.combine(
            week_ahead.date(), time(10, 0), tzinfo=zone).astimezone(timezone.utc))
        hosts = fields.pop("hosts", None)
        event = Event(
            slug=fields.pop("slug", f"event-{n}"),
            title=fields.pop("title", f"Human Library {n}"),
            venue=fields.pop("venue", "Main Library, Room 1"),
            starts_at=starts,
            ends_at=fields.pop("ends_at", starts + timedelta(hours=6)),
            timezone=fields.pop("timezone", "America/Chicago"),
            status=fields.pop("status", EventStatus.PUBLISHED),
            kind=fields.pop("kind", EventKind.HUMAN_LIBRARY),
            **fields,
        )
        db.session.add(event)
        db.session.flush()
        for partner, role in hosts or [(make_partner(), HostRole.HOST)]:
            db.session.add(EventHost(event_id=event.id, partner_id=partner.id, role=role))
        db.session.commit()
        return event

    return make_event


@pytest.fixture
def make_book(db, make_partner):
    def make_book(partner: Partner | None = None, **fields) -> HumanBook:
        book = HumanBook(
            partner_id=(partner or make_partner()).id,
            title=fields.pop("title", f"Book {next(_counter)}"),
            blurb=fields.pop("blurb", "Ask me anything."),
            topics=fields.pop("topics", ["life"]),
            languages=fields.pop("languages", ["en"]),
            volunteer_name=fields.pop("volunteer_name", "Secret Volunteer Name"),
            volunteer_email=fields.pop("volunteer_email", "secret.volunteer@example.org"),
            listing_status=fields.pop("listing_status", ListingStatus.APPROVED),
            **fields,
        )
        db.session.add(book)
        db.session.commit()
        return book

    return make_book


@pytest.fixture
def make_session(db, make_partner):
    def make_session(event: Event, partner: Partner | None = None, **fields) -> ProgramSession:
        session = ProgramSession(
            event_id=event.id,
            presenter_partner_id=(partner or make_partner()).id,
            title=fields.pop("title", f"Workshop {next(_counter)}"),
            listing_status=fields.pop("listing_status", ListingStatus.APPROVED),
            **fields,
        )
        db.session.add(session)
        db.session.commit()
        return session

    return make_session


@pytest.fixture
def make_slot(db, make_event, make_book):
    """A reading of 30 minutes, an hour after the event starts unless told otherwise."""

    def make_slot(
        event: Event | None = None,
        *,
        book: HumanBook | None = None,
        session: ProgramSession | None = None,
        starts_at: datetime | None = None,
        minutes: int = 30,
        capacity: int = 1,
        **fields,
    ) -> Slot:
        event = event or make_event()
        if session is None and book is None:
            book = make_book()
        starts = starts_at or event.starts_at + timedelta(hours=1)
        slot = Slot(
            event_id=event.id,
            book_id=book.id if book is not None else None,
            session_id=session.id if session is not None else None,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=minutes),
            capacity=capacity,
            **fields,
        )
        db.session.add(slot)
        db.session.commit()
        return slot

    return make_slot


@pytest.fixture
def staff(db) -> User:
    """A member of library staff, for services that record who changed what."""
    user = User(email="staff@example.org", name="Sam Staff", role=Role.STAFF)
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def now() -> datetime:
    """The clock the services are given: the real current instant (events are relative to it)."""
    return datetime.now(timezone.utc)


@pytest.fixture
def make_user(db):
    """An account that signs in with PASSWORD (staff unless told otherwise), of `partner`
    and for `book` when given."""

    def make_user(email: str = "sam@example.org", role: Role = Role.STAFF,
                  partner: Partner | None = None, book: HumanBook | None = None, *,
                  password: str = PASSWORD, **fields) -> User:
        user = User(email=email, name=fields.pop("name", email.split("@")[0]), role=role,
                    partner_id=partner.id if partner else None,
                    human_book_id=book.id if book else None, **fields)
        passwords.set_password(user, password)
        db.session.add(user)
        db.session.commit()
        return user

    return make_user


@pytest.fixture
def world(make_partner, make_event, make_book, make_user, make_session, make_slot):
    """Two partners co-hosting an event, each with a coordinator, a book and a session;
    a volunteer; staff."""
    own, other = make_partner("Literacy Council"), make_partner("Museum")
    event = make_event(hosts=[(own, HostRole.HOST), (other, HostRole.CO_HOST)])
    own_book = make_book(own, title="Learned to read at 40")
    other_book = make_book(other, title="Museum guard")
    own_session = make_session(event, own, title="Family storytime")
    other_session = make_session(event, other, title="Behind the glass")
    for session in (own_session, other_session):
        make_slot(event, session=session, capacity=10, minutes=60,
                  starts_at=event.starts_at + timedelta(hours=4))
    return {
        "event": event, "own": own, "other": other, "own_book": own_book,
        "other_book": other_book, "own_session": own_session, "other_session": other_session,
        "staff": make_user("staff@example.org", Role.STAFF),
        "coordinator": make_user("coord@example.org", Role.COORDINATOR, own),
        "other_coordinator": make_user("other@example.org", Role.COORDINATOR, other),
        "volunteer": make_user("vol@example.org", Role.VOLUNTEER, own, own_book),
    }


@pytest.fixture
def login(client):
    """Sign a user of `world` (or made by `make_user`) in on the test's client."""
    return lambda user: sign_in_as(client, user)


@pytest.fixture
def place(make_partner, make_event, make_book, db):
    """A partner co-hosting a 09:00–17:00 event, its coordinator and a volunteer with a book."""
    partner, other = make_partner("Literacy Council"), make_partner("Museum")
    event = make_event(
        starts_at=local(9).replace(tzinfo=CHICAGO).astimezone(timezone.utc),
        ends_at=local(17).replace(tzinfo=CHICAGO).astimezone(timezone.utc),
        hosts=[(partner, HostRole.HOST), (other, HostRole.CO_HOST)], max_bookings_per_patron=5,
    )
    book = make_book(partner, title="Refugee")
    users = {
        "coordinator": User(email="c@example.org", name="Cora", role=Role.COORDINATOR,
                            partner_id=partner.id),
        "other_coordinator": User(email="o@example.org", name="Otto", role=Role.COORDINATOR,
                                  partner_id=other.id),
        "volunteer": User(email="v@example.org", name="Vera", role=Role.VOLUNTEER,
                          partner_id=partner.id, human_book_id=book.id),
        "other_volunteer": User(email="w@example.org", name="Walt", role=Role.VOLUNTEER,
                                partner_id=other.id),
        "staff": User(email="s@example.org", name="Sam", role=Role.STAFF),
    }
    db.session.add_all(users.values())
    db.session.commit()
    return {"partner": partner, "other": other, "event": event, "book": book, **users}
