"""Flask commands."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask

from .extensions import db
from .models import utcnow


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--password", default="demo-password", show_default=True,
                  help="Password for the demo accounts.")
    def seed_demo_command(password: str) -> None:
        """Load demo data (idempotent): an event, partners, books, slots and accounts."""
        from .demo import DEMO_ACCOUNTS, seed_demo

        if len(password) < 8:
            raise click.BadParameter("use at least 8 characters", param_hint="--password")
        created = seed_demo(password=password, today=utcnow())
        summary = ", ".join(f"{n} {what}" for what, n in created.items())
        click.echo(f"Demo data ready ({summary} created).")
        click.echo("Demo accounts: " + ", ".join(DEMO_ACCOUNTS) + f" (password: {password})")

    @app.cli.command("db-is-empty")
    def db_is_empty_command() -> None:
        """Exit 0 when no event exists yet (used by `make run` to decide on demo data)."""
        from .models import Event

        if db.session.scalar(sa.select(sa.func.count()).select_from(Event)):
            raise SystemExit(1)
