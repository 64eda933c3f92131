"""Settings from the environment, and the SQLite settings the booking rules rely on."""
from __future__ import annotations

import os
import sqlite3

import pytest
import sqlalchemy as sa

from booking import create_app
from booking.config import ConfigError
from booking.extensions import db
from booking.domain.models import HumanBook, Partner


@pytest.fixture
def environ(monkeypatch):
    """The process environment with no SECRET_KEY, DATABASE_URL or FLASK_* setting in it."""
    for name in list(os.environ):
        if name.startswith("FLASK_") or name in ("SECRET_KEY", "DATABASE_URL"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_starting_without_a_secret_key_is_refused_with_a_message_naming_it(environ, database_url):
    with pytest.raises(ConfigError) as refused:
        create_app({"SQLALCHEMY_DATABASE_URI": database_url})

    assert "SECRET_KEY" in str(refused.value)


@pytest.mark.parametrize(("name", "value"), [
    ("MAIL_PORT", "smtp"), ("MAIL_PORT", "70000"), ("MAIL_USE_TLS", "maybe"),
    ("FEED_CANCELLED_GRACE_DAYS", "-1"), ("FEED_CANCELLED_GRACE_DAYS", "a month"),
])
def test_a_malformed_setting_is_refused_with_a_message_naming_it(environ, database_url, name,
                                                                 value):
    environ.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x"})
    assert name in str(refused.value) and repr(value) in str(refused.value)


def test_debugging_starts_without_a_secret_key(environ, database_url):
    environ.setenv("FLASK_DEBUG", "1")

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})

    assert app.debug and app.secret_key


def test_the_secret_key_comes_from_the_environment(environ, database_url):
    environ.setenv("SECRET_KEY", "from-the-environment")

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})

    assert app.secret_key == "from-the-environment"


def test_database_url_from_the_environment_is_the_database_used(environ, database_url):
    environ.setenv("SECRET_KEY", "x")
    environ.setenv("DATABASE_URL", database_url)

    app = create_app()

    with app.app_context():
        assert db.engine.url.render_as_string(hide_password=False) == database_url
        db.engine.dispose()


def test_without_database_url_an_sqlite_file_under_instance_is_used(environ):
    environ.setenv("SECRET_KEY", "x")

    app = create_app()

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///") and uri.endswith(".sqlite3")
    assert os.path.dirname(uri.removeprefix("sqlite:///")) == app.instance_path


def test_flask_prefixed_variables_land_in_the_config(environ, database_url):
    environ.setenv("FLASK_SECRET_KEY", "prefixed-secret")
    environ.setenv("FLASK_MAX_CONTENT_LENGTH", "2048")
    environ.setenv("FLASK_BOOKING_RATE_LIMIT", "5 per minute")

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})

    assert app.secret_key == "prefixed-secret"
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert app.config["BOOKING_RATE_LIMIT"] == "5 per minute"


def test_a_test_config_overrides_the_environment(environ, database_url):
    environ.setenv("SECRET_KEY", "x")
    environ.setenv("FLASK_BOOKING_RATE_LIMIT", "5 per minute")

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "BOOKING_RATE_LIMIT": "1 per day"})

    assert app.config["BOOKING_RATE_LIMIT"] == "1 per day"


# SQLite: these run on an SQLite file whatever TEST_DATABASE_URL says ------------------------


@pytest.fixture
def sqlite_app(tmp_path):
    path = tmp_path / "settings.sqlite3"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        db.create_all()
        app.sqlite_path = path
        yield app
        db.session.remove()
        db.engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_app):
    with db.engine.connect() as connection:
        def pragma(name: str):
            return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") > 0


def test_sqlite_refuses_rows_that_point_at_nothing(sqlite_app):
    db.session.add(HumanBook(partner_id=999, title="Orphan"))

    with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
        db.session.commit()


NEW_PARTNER = (
    "INSERT INTO partners (slug, name, kind, website, description, contact_email, created_at)"
    " VALUES ('p', 'P', '', '', '', '', '2030-01-01 00:00:00')"
)


def test_a_transaction_that_has_only_read_already_holds_the_write_lock(sqlite_app):
    db.session.scalar(sa.select(sa.func.count()).select_from(Partner))  # read only
    other = sqlite3.connect(sqlite_app.sqlite_path, timeout=0, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute(NEW_PARTNER)

        db.session.rollback()

        other.execute(NEW_PARTNER)
    finally:
        other.close()
    assert db.session.scalar(sa.select(Partner.slug)) == "p"


def test_transactions_begin_immediate(sqlite_app):
    statements = []
    sa.event.listen(db.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *args: statements.append(statement))

    db.session.scalar(sa.select(sa.func.count()).select_from(Partner))
    db.session.rollback()

    assert statements[0] == "BEGIN IMMEDIATE"
