"""Flask commands."""
from __future__ import annotations

import sys
from datetime import timedelta

import click
import sqlalchemy as sa
from flask import Flask

from booking.domain import messages
from booking.domain.commands import PASSWORD_MIN, NewAccount
from booking.domain.errors import ValidationFailed
from .extensions import db
from booking.domain.models import Role, utcnow


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--password", default="demo-password", show_default=True,
                  help="Password for the demo accounts.")
    def seed_demo_command(password: str) -> None:
        """Load demo data (idempotent): an event, partners, books, slots and accounts."""
        from .demo import DEMO_ACCOUNTS, seed_demo

        if len(password) < PASSWORD_MIN:
            raise click.BadParameter(messages.PASSWORD_TOO_SHORT.format(limit=PASSWORD_MIN),
                                     param_hint="--password")
        created = seed_demo(password=password, today=utcnow())
        summary = ", ".join(f"{n} {what}" for what, n in created.items())
        click.echo(f"Demo data ready ({summary} created).")
        click.echo("Demo accounts: " + ", ".join(DEMO_ACCOUNTS) + f" (password: {password})")

    @app.cli.command("db-is-empty")
    def db_is_empty_command() -> None:
        """Exit 0 when no event exists yet (used by `make run` to decide on demo data)."""
        from booking.domain.models import Event

        if db.session.scalar(sa.select(sa.func.count()).select_from(Event)):
            raise SystemExit(1)

    @app.cli.command("send-emails")
    @click.option("--limit", type=click.IntRange(min=1), default=None,
                  help="Send at most this many messages.")
    def send_emails_command(limit: int | None) -> None:
        """Send the e-mails that are due (for cron); exit 1 when some failed (they wait to
        retry) or could not be written (they are never tried again; staff see them)."""
        _report_drain(limit)

    @app.cli.command("send-reminders")
    @click.option("--hours-before", type=click.FloatRange(min=0, min_open=True), default=24.0,
                  show_default=True, help="Remind of readings starting within this many hours.")
    def send_reminders_command(hours_before: float) -> None:
        """Queue one reminder per confirmed booking starting soon, then send (for cron)."""
        from booking.services.outbox.notifications import queue_reminders

        queued = queue_reminders(utcnow(), within=timedelta(hours=hours_before))
        click.echo(f"{queued} reminder{'s' if queued != 1 else ''} queued.")
        _report_drain(None)

    @app.cli.command("send-feedback-requests")
    @click.option("--minutes-after", type=click.IntRange(min=0), default=15, show_default=True,
                  help="Ask once a reading has been over for this many minutes.")
    def send_feedback_requests_command(minutes_after: int) -> None:
        """Queue one survey request per reading that is over, then send (for cron)."""
        from booking.services.feedback import queue_feedback_requests

        queued = queue_feedback_requests(utcnow(), after=timedelta(minutes=minutes_after))
        click.echo(f"{queued} feedback request{'s' if queued != 1 else ''} queued.")
        _report_drain(None)

    @app.cli.command("expire-holds")
    def expire_holds_command() -> None:
        """Release the holds not confirmed in time and move the waitlists up (for cron)."""
        from booking.services.reservations import expire_holds

        lapsed = expire_holds(utcnow())
        click.echo(f"{lapsed} hold{'s' if lapsed != 1 else ''} lapsed.")
        _report_drain(None)

    @app.cli.command("purge-personal-data")
    @click.option("--days", type=click.IntRange(0, 3650), default=None,
                  help="Anonymise patrons of events that ended more than this many days ago "
                       "(default: PERSONAL_DATA_RETENTION_DAYS, 180).")
    @click.option("--dry-run", is_flag=True, help="Count what would be anonymised; change nothing.")
    def purge_personal_data_command(days: int | None, dry_run: bool) -> None:
        """Anonymise patrons' personal data some days after their event (for cron)."""
        from flask import current_app

        from booking.services.retention import purge_personal_data

        if days is None:
            days = current_app.config["PERSONAL_DATA_RETENTION_DAYS"]
        result = purge_personal_data(now=utcnow(), days=days, dry_run=dry_run)
        verb = "would be anonymised" if dry_run else "anonymised"
        click.echo(f"Events that ended before {result.cutoff:%Y-%m-%d %H:%M} UTC "
                   f"({days} days ago): "
                   f"{result.bookings} booking{'s' if result.bookings != 1 else ''} {verb}, "
                   f"{result.messages} e-mail record{'s' if result.messages != 1 else ''} cleared, "
                   f"{result.files} e-mail file{'s' if result.files != 1 else ''} "
                   f"{'would be deleted' if dry_run else 'deleted'}, "
                   f"{result.browsers} remembered browser{'s' if result.browsers != 1 else ''} "
                   f"{'would be forgotten' if dry_run else 'forgotten'}"
                   f"{' (dry run: nothing changed)' if dry_run else ''}.")

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--role", type=click.Choice([r.value for r in Role]), required=True,
                  help="staff, coordinator (needs --partner) or volunteer (needs --partner).")
    @click.option("--partner", "partner_slug", default=None, help="The partner's slug.")
    @click.option("--name", default="", help="The person's name.")
    def create_user_command(email: str, role: str, partner_slug: str | None, name: str) -> None:
        """Create an account; the password is asked for, or read from standard input."""
        from booking.services.accounts import create_account

        if _stdin_is_terminal():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        entered = {"email": email, "role": role, "password": password, "name": name}
        if partner_slug is not None:
            entered["partner"] = partner_slug
        try:
            user = create_account(NewAccount.parse(entered), now=utcnow())
        except ValidationFailed as exc:
            problems = "\n".join(f"  {field}: {message}" for field, messages in exc.errors.items()
                                  for message in messages)
            raise click.ClickException(f"No account was created:\n{problems}")
        click.echo(f"Created the {user.role.value} account {user.email}.")

    @app.cli.command("deactivate-user")
    @click.argument("email")
    def deactivate_user_command(email: str) -> None:
        """Stop an account from signing in and end its sessions on every device."""
        from booking.services.accounts import deactivate

        try:
            user = deactivate(email)
        except ValidationFailed as exc:
            raise click.ClickException(" ".join(exc.errors["email"]))
        click.echo(f"Deactivated the {user.role.value} account {user.email}; "
                   "it is signed out everywhere.")


def _report_drain(limit: int | None) -> None:
    from booking.services.outbox.mailer import drain

    result = drain(utcnow(), limit)
    click.echo(f"E-mails: {result.sent} sent, {result.skipped} skipped, {result.failed} failed, "
               f"{result.unwritable} could not be written.")
    if result.failed or result.unwritable:
        raise SystemExit(1)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()
