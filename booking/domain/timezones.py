"""Time zones: the zones staff choose from, and an event's wall-clock times to and from UTC.

Times are stored in UTC and entered and shown in the event's zone (naive wall-clock values).
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, available_timezones

#: The zones staff choose from: IANA "Area/Place" names, plus UTC.
TIMEZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(
    ("Etc/", "SystemV/", "US/", "posix/", "right/"))) + ["UTC"]


def to_utc(local: datetime, zone: str) -> datetime:
    """The UTC instant of a naive wall-clock time in `zone` (a repeated hour: its first time;
    a skipped one: see `skipped`)."""
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def to_local(instant: datetime, zone: str) -> datetime:
    """The naive wall-clock time an aware instant shows in `zone`."""
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def skipped(local: datetime, zone: str) -> bool:
    """Whether the clocks of `zone` never show this wall-clock time (they go forward then)."""
    return to_local(to_utc(local, zone), zone) != local
