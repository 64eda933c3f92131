"""Pure slot generation: availability windows in wall-clock time -> UTC reading spans."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo


#: The years a date typed in may have: far-off ones are refused, never overflowed at a time
#: zone conversion (datetime stops at 9999) or shifted out of range by a copy.
YEARS = range(1900, 3000)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a naive wall-clock time, or None when the clock skips it (DST gap).

    An ambiguous time (the repeated hour when clocks go back) is taken at its first occurrence.
    """
    aware = local.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(timezone.utc)
    if instant.astimezone(zone).replace(tzinfo=None) != local:
        return None
    return instant


def readings(
    window_start: datetime,
    window_end: datetime,
    zone_name: str,
    *,
    length: timedelta = timedelta(minutes=30),
    gap: timedelta = timedelta(minutes=10),
    rest_every: int | None = None,
    rest: timedelta = timedelta(0),
) -> list[tuple[datetime, datetime]]:
    """Readings laid end to end in a window, as (start, end) UTC pairs.

    `window_start` and `window_end` are naive wall-clock times in the zone. Readings follow
    the clock on the wall: a 10:00 reading is at 10:00 local on either side of a daylight-saving
    change. Readings that would start or end in a skipped hour are left out, and so are
    readings that straddle a change, whose real length would differ from `length` (a 30-minute
    reading from 01:50 to 02:20 on the night clocks go back would last 90 minutes).
    """
    if window_start.tzinfo is not None or window_end.tzinfo is not None:
        raise ValueError("window times are wall-clock times and must be naive")
    if length <= timedelta(0):
        raise ValueError("reading length must be positive")
    if gap < timedelta(0) or rest < timedelta(0):
        raise ValueError("breaks cannot be negative")
    zone = ZoneInfo(zone_name)
    spans = []
    start = window_start
    given = 0
    while start + length <= window_end:
        end = start + length
        utc_start, utc_end = to_utc(start, zone), to_utc(end, zone)
        if utc_start is not None and utc_end is not None and utc_end - utc_start == length:
            spans.append((utc_start, utc_end))
        given += 1
        pause = gap
        if rest_every and given % rest_every == 0:
            pause = max(gap, rest)
        start = end + pause
    return spans
