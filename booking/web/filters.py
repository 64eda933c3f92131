"""Jinja filters and globals: local times in the event's zone; absolute links."""
from __future__ import annotations

from flask import Flask

from booking.domain.formatting import format_date, format_datetime, format_time
from booking.services.queries.catalogue import language_name
from booking.services.outbox.notifications import public_url
from booking.services.queries.reports import one_decimal, percent


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
