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
from booking.models import Event, utcnow
from conftest import TEST_DATABASE_URL, drop_everything


@pytest.fixture
def bare_app(database_url):
    """An app on an empty database: no create_all, the migrations must build everything."""
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
    assert "booking.models" not in text and "UTCDateTime" not in text
