"""Jinja filters and globals: local times in the event's zone; absolute links."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

from ..catalogue import language_name
from ..notifications import public_url
from ..reports import one_decimal, percent


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


def register(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(format_date, "date_in")
    app.add_template_filter(format_time, "time_in")
    app.add_template_filter(format_datetime, "datetime_in")
    app.add_template_filter(language_name, "language_name")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(one_decimal, "one_decimal")
    # Absolute links come from PUBLIC_BASE_URL, never from the request's Host header.
    app.add_template_global(public_url, "public_url")
