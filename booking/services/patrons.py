"""Remembered patrons: a browser that proved an address (by a hold's e-mailed link) books for
it in one step afterwards. The browser keeps the secret token; only its hash is stored, and
forgetting the browser deletes the row, which revokes the token.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.extensions import db, transaction
from booking.domain.models import RememberedPatron
from booking.services.reservations import TOKEN_BYTES, hash_token, normalize_email


def remember(email: str, *, now: datetime) -> str:
    """Remember a proven address for a browser; the token goes to that browser only."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction():
        db.session.add(RememberedPatron(email_normalized=normalize_email(email),
                                        token_hash=hash_token(token), created_at=now,
                                        last_used_at=now))
    return token


def recognise(token: str | None, *, max_age: timedelta, now: datetime) -> str | None:
    """The address a browser's token proves (normalised), or None: unknown, forgotten, or
    unused for longer than `max_age`."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    remembered = db.session.scalar(
        sa.select(RememberedPatron).where(RememberedPatron.token_hash == hash_token(token)))
    if remembered is None or remembered.last_used_at < now - max_age:
        return None
    return remembered.email_normalized


def used(token: str, *, now: datetime) -> None:
    """Note that the browser booked with it now (the purge forgets unused browsers)."""
    with transaction():
        db.session.execute(
            sa.update(RememberedPatron).where(RememberedPatron.token_hash == hash_token(token))
            .values(last_used_at=now).execution_options(synchronize_session=False))


def forget(token: str | None) -> None:
    """Forget the browser holding this token (nothing happens for an unknown token)."""
    if not isinstance(token, str):
        return
    with transaction():
        db.session.execute(
            sa.delete(RememberedPatron).where(RememberedPatron.token_hash == hash_token(token)))
