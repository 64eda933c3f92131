"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import shutil
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from booking import MIGRATIONS_DIR, create_app
from booking.extensions import db
from booking.domain.models import Event, utcnow
from support import TEST_DATABASE_URL, drop_everything


@pytest.fixture
def bare_app(database_url):
    """An app on an empty database: no create_all, the migrations must build everything."""
    if TEST_DATABASE_URL:
        drop_everything(TEST_DATABASE_URL)
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url}
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if TEST_DATABASE_URL:
        drop_everything(TEST_DATABASE_URL)


def schema_drift() -> list:
    """What autogenerate would change to make the database match the models, types included."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_upgrading_an_empty_database_gives_exactly_the_models_schema(bare_app):
    assert table_names() == set()

    flask_migrate.upgrade()

    assert table_names() == set(db.metadata.tables) | {"alembic_version"}
    assert schema_drift() == []


def test_the_drift_check_notices_a_column_the_migrations_lack(bare_app):
    flask_migrate.upgrade()
    with db.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE partners DROP COLUMN website"))

    drift = schema_drift()

    assert [(d[0], d[2], d[3].name) for d in drift] == [("add_column", "partners", "website")]


def test_downgrading_to_base_and_upgrading_again_restores_a_working_schema(bare_app):
    flask_migrate.upgrade()

    flask_migrate.downgrade(revision="base")
    assert table_names() <= {"alembic_version"}

    flask_migrate.upgrade()
    assert schema_drift() == []
    start = utcnow()
    db.session.add(Event(slug="after-round-trip", title="Works", timezone="UTC",
                         starts_at=start, ends_at=start.replace(year=start.year + 1)))
    db.session.commit()
    assert db.session.scalar(sa.select(Event.slug)) == "after-round-trip"


def copy_migrations(tmp_path: Path, *, keep_versions: bool) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory, ignore=shutil.ignore_patterns("__pycache__"))
    if not keep_versions:
        for version in (directory / "versions").glob("*.py"):
            version.unlink()
    return directory


def test_autogenerate_after_upgrade_proposes_no_new_migration(bare_app, tmp_path):
    directory = copy_migrations(tmp_path, keep_versions=True)
    flask_migrate.upgrade(directory=str(directory))
    before = sorted(p.name for p in (directory / "versions").glob("*.py"))

    flask_migrate.migrate(directory=str(directory), message="nothing to do")

    assert sorted(p.name for p in (directory / "versions").glob("*.py")) == before


def test_autogenerate_writes_utc_datetimes_as_plain_timezone_aware_columns(bare_app, tmp_path):
    directory = copy_migrations(tmp_path, keep_versions=False)

    flask_migrate.migrate(directory=str(directory), message="from scratch")

    [script] = (directory / "versions").glob("*.py")
    text = script.read_text()
    assert "sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False)" in text
    assert "booking.domain.models" not in text and "UTCDateTime" not in text


def test_bookings_that_joined_a_waitlist_before_0009_are_remembered(bare_app):
    flask_migrate.upgrade(revision="0008")
    at = "2031-01-01 10:00:00"
    with db.engine.begin() as connection:
        run = lambda sql: connection.execute(sa.text(sql))  # noqa: E731
        run("INSERT INTO partners (id, slug, name, kind, website, description, contact_email, "
            f"created_at) VALUES (1, 'p', 'P', '', '', '', '', '{at}')")
        run("INSERT INTO human_books (id, partner_id, title, blurb, topics, languages, "
            "content_notes, volunteer_name, volunteer_email, listing_status, sequence, "
            f"created_at, updated_at) VALUES (1, 1, 'B', '', '[]', '[]', '', '', '', "
            f"'approved', 0, '{at}', '{at}')")
        run("INSERT INTO events (id, slug, title, description, venue, accessibility_notes, "
            "starts_at, ends_at, timezone, status, kind, max_bookings_per_patron, "
            "max_seats_per_booking, agreement_text, agreement_version, sequence, "
            "walk_in_seats_per_reading, created_at, updated_at) VALUES (1, 'e', 'E', '', '', '', "
            f"'{at}', '2031-01-01 16:00:00', 'UTC', 'published', 'human_library', 3, 1, '', 1, "
            f"0, 0, '{at}', '{at}')")
        run("INSERT INTO slots (id, event_id, book_id, starts_at, ends_at, capacity, booked, "
            f"status, sequence, created_at, updated_at) VALUES (1, 1, 1, '{at}', "
            f"'2031-01-01 10:30:00', 1, 1, 'open', 0, '{at}', '{at}')")
        for n, status in enumerate(("confirmed", "confirmed", "waitlisted"), start=1):
            run("INSERT INTO bookings (id, slot_id, event_id, patron_name, patron_email, "
                "email_normalized, seats, status, manage_token_hash, accessibility_needs, "
                "walk_in, cancel_reason, sequence, created_at, updated_at) VALUES "
                f"({n}, 1, 1, 'R', 'r{n}@x.org', 'r{n}@x.org', 1, '{status}', 'h{n}', '', "
                f"false, '', 0, '{at}', '{at}')")
        # Booking 2 was promoted from the waitlist: only its outbox row says so.
        run("INSERT INTO outbox (kind, to_email, booking_id, payload, created_at, "
            f"next_attempt_at, attempts, last_error) VALUES ('booking_waitlisted', 'r2@x.org', "
            f"2, '{{}}', '{at}', '{at}', 0, '')")

    flask_migrate.upgrade()

    remembered = db.session.execute(sa.text(
        "SELECT id FROM bookings WHERE waitlisted_at IS NOT NULL ORDER BY id")).scalars().all()
    assert remembered == [2, 3]


def test_downgrading_past_holds_frees_the_seats_they_held(bare_app):
    from datetime import timedelta

    from booking.domain.models import Booking, BookingStatus, HumanBook, Partner, Slot

    flask_migrate.upgrade()
    at, later = utcnow(), utcnow() + timedelta(hours=1)
    partner = Partner(slug="p", name="P")
    book = HumanBook(partner=partner, title="B")
    event = Event(slug="e", title="E", starts_at=at, ends_at=later, timezone="UTC")
    slot = Slot(event=event, book=book, starts_at=at, ends_at=later, capacity=3, booked=3)
    db.session.add_all([partner, book, event, slot])
    db.session.flush()
    for n, (status, waiting) in enumerate([(BookingStatus.CONFIRMED, None),
                                           (BookingStatus.PENDING, None),
                                           (BookingStatus.PENDING, None),
                                           (BookingStatus.PENDING, 1)]):
        db.session.add(Booking(slot=slot, event=event, patron_name="R", patron_email=f"r{n}@x.org",
                               email_normalized=f"r{n}@x.org", seats=1, status=status,
                               waitlist_position=waiting, manage_token_hash=f"h{n}",
                               created_at=at, updated_at=at))
    db.session.commit()
    db.session.remove()

    flask_migrate.downgrade(revision="0010")

    with db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT booked FROM slots")).scalar() == 1
        assert connection.execute(sa.text(
            "SELECT status, count(*) FROM bookings GROUP BY status ORDER BY status")).all() == [
            ("cancelled", 3), ("confirmed", 1)]
