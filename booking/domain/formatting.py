"""Dates and times as pages and e-mails write them, in the event's zone."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local(value: datetime, zone: str) -> datetime:
    return value.astimezone(ZoneInfo(zone))


def format_date(value: datetime, zone: str) -> str:
    """'Saturday 5 December 2026' in the event's zone."""
    d = local(value, zone)
    return f"{d:%A} {d.day} {d:%B %Y}"


def format_time(value: datetime, zone: str) -> str:
    """'14:30' in the event's zone."""
    return local(value, zone).strftime("%H:%M")


def format_datetime(value: datetime, zone: str) -> str:
    """'Saturday 5 December 2026, 14:30 EST' in the event's zone."""
    d = local(value, zone)
    return f"{format_date(value, zone)}, {d:%H:%M} {d.tzname()}"
