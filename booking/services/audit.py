"""The audit log: who changed what (staff, coordinators, volunteers), written by one helper
inside the change's own transaction; staff read it."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from booking.extensions import db
from booking.domain.models import AuditEntry, Event, HumanBook, Partner, ProgramSession, Slot, User

#: Long texts (descriptions, agreements) are cut to this length in the log.
VALUE_MAX = 120
PAGE_SIZE = 50

TARGET_TYPES = {Event: "event", Slot: "slot", HumanBook: "book", ProgramSession: "session",
                Partner: "partner"}


def record(user: User, action: str, target, changes: dict, now: datetime) -> AuditEntry:
    """Add an entry for `target` (flushed, so it has an id); the caller commits."""
    db.session.flush()
    entry = AuditEntry(
        at=now,
        user_id=user.id,
        action=action,
        target_type=TARGET_TYPES[type(target)],
        target_id=target.id,
        event_id=target.id if isinstance(target, Event) else getattr(target, "event_id", None),
        changes={name: _plain(value) for name, value in changes.items()},
    )
    db.session.add(entry)
    return entry


def snapshot(row, names) -> dict:
    """The named attributes of a row, for `diff`."""
    return {name: getattr(row, name) for name in names}


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} for the fields whose value changed."""
    return {name: [before.get(name), after[name]] for name in after
            if before.get(name) != after[name]}


def entries(*, event_id: int | None = None, page: int = 1) -> tuple[list[AuditEntry], bool]:
    """A page of entries, newest first, and whether an older page exists."""
    # Who acted, and their partner: a query each rather than one per row.
    query = sa.select(AuditEntry).options(
        selectinload(AuditEntry.user).selectinload(User.partner))
    if event_id is not None:
        query = query.where(AuditEntry.event_id == event_id)
    rows = list(db.session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def _plain(value):
    """JSON-ready and short: enums by value, times in ISO 8601, long text cut."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value) > VALUE_MAX:
        return value[:VALUE_MAX - 1] + "…"
    return value
