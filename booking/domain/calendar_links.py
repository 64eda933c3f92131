"""Links that open a calendar app's "new event" form with one reading filled in.

Google Calendar and Outlook (personal and work accounts) take the event in the address; the
times are given in UTC, so that no app has to guess the zone. The details name the event's
public page, never the patron's private booking link: the address goes to the calendar's
provider.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode

GOOGLE = "https://calendar.google.com/calendar/render"
OUTLOOK_PERSONAL = "https://outlook.live.com/calendar/0/deeplink/compose"
OUTLOOK_WORK = "https://outlook.office.com/calendar/0/deeplink/compose"


@dataclass(frozen=True)
class CalendarItem:
    """One reading as a calendar shows it."""

    title: str
    starts_at: datetime
    ends_at: datetime
    location: str
    details: str


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(timezone.utc).replace(microsecond=0)


def google_link(item: CalendarItem) -> str:
    """Google Calendar's template link: dates as UTC basic format, start/end."""
    span = "/".join(f"{_utc(t):%Y%m%dT%H%M%SZ}" for t in (item.starts_at, item.ends_at))
    return GOOGLE + "?" + urlencode({
        "action": "TEMPLATE", "text": item.title, "dates": span,
        "details": item.details, "location": item.location,
    })


def outlook_link(item: CalendarItem, *, work: bool = False) -> str:
    """Outlook on the web's compose link (outlook.com, or Microsoft 365 with `work`)."""
    return (OUTLOOK_WORK if work else OUTLOOK_PERSONAL) + "?" + urlencode({
        "path": "/calendar/action/compose", "rru": "addevent", "subject": item.title,
        "startdt": _utc(item.starts_at).isoformat().replace("+00:00", "Z"),
        "enddt": _utc(item.ends_at).isoformat().replace("+00:00", "Z"),
        "body": item.details, "location": item.location,
    })
