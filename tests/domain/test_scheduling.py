"""Slot generation in wall-clock time, across daylight-saving changes. Pure: no app needed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.domain.scheduling import readings, to_utc

CHICAGO = ZoneInfo("America/Chicago")
UTC = timezone.utc


def local(value: datetime, zone: ZoneInfo = CHICAGO) -> tuple[str, str]:
    """A UTC instant as the wall clock shows it, with its offset: ("01:10", "-0500")."""
    shown = value.astimezone(zone)
    return shown.strftime("%H:%M"), shown.strftime("%z")


def wall_clock(spans, zone: ZoneInfo = CHICAGO) -> list[tuple[str, str]]:
    return [(local(start, zone)[0], local(end, zone)[0]) for start, end in spans]


def utc_times(spans) -> list[tuple[str, str]]:
    return [(start.strftime("%H:%M"), end.strftime("%H:%M")) for start, end in spans]


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


# Laying readings out in a window ------------------------------------------------------------


def test_readings_are_laid_end_to_end_with_the_gap_between_them():
    spans = readings(datetime(2030, 6, 1, 10, 0), datetime(2030, 6, 1, 12, 0), "America/Chicago",
                     length=minutes(20), gap=minutes(10))

    assert wall_clock(spans) == [
        ("10:00", "10:20"), ("10:30", "10:50"), ("11:00", "11:20"), ("11:30", "11:50"),
    ]


def test_the_last_reading_may_end_exactly_when_the_window_closes_but_not_after():
    fits = readings(datetime(2030, 6, 1, 10, 0), datetime(2030, 6, 1, 11, 10), "America/Chicago",
                    length=minutes(30), gap=minutes(10))
    one_minute_short = readings(datetime(2030, 6, 1, 10, 0), datetime(2030, 6, 1, 11, 9),
                                "America/Chicago", length=minutes(30), gap=minutes(10))

    assert wall_clock(fits) == [("10:00", "10:30"), ("10:40", "11:10")]
    assert wall_clock(one_minute_short) == [("10:00", "10:30")]


def test_a_window_shorter_than_one_reading_gives_none():
    assert readings(datetime(2030, 6, 1, 10, 0), datetime(2030, 6, 1, 10, 25), "America/Chicago",
                    length=minutes(30)) == []


def test_the_book_rests_after_every_few_readings():
    spans = readings(datetime(2030, 6, 1, 10, 0), datetime(2030, 6, 1, 14, 0), "America/Chicago",
                     length=minutes(30), gap=minutes(10), rest_every=2, rest=minutes(30))

    assert wall_clock(spans) == [
        ("10:00", "10:30"), ("10:40", "11:10"),
        ("11:40", "12:10"), ("12:20", "12:50"),
        ("13:20", "13:50"),
    ]


def test_a_rest_shorter_than_the_gap_never_shortens_the_break():
    spans = readings(datetime(2030, 6, 1, 10, 0), datetime(2030, 6, 1, 12, 0), "America/Chicago",
                     length=minutes(30), gap=minutes(15), rest_every=1, rest=minutes(5))

    assert wall_clock(spans) == [("10:00", "10:30"), ("10:45", "11:15"), ("11:30", "12:00")]


def test_readings_come_back_as_aware_utc_instants():
    [(start, end)] = readings(datetime(2030, 1, 15, 10, 0), datetime(2030, 1, 15, 10, 30),
                              "America/Chicago", length=minutes(30))

    assert start == datetime(2030, 1, 15, 16, 0, tzinfo=UTC)
    assert end == datetime(2030, 1, 15, 16, 30, tzinfo=UTC)
    assert start.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("window_start", "window_end", "options"),
    [
        (datetime(2030, 6, 1, 10, tzinfo=UTC), datetime(2030, 6, 1, 12), {}),
        (datetime(2030, 6, 1, 10), datetime(2030, 6, 1, 12, tzinfo=UTC), {}),
        (datetime(2030, 6, 1, 10), datetime(2030, 6, 1, 12), {"length": timedelta(0)}),
        (datetime(2030, 6, 1, 10), datetime(2030, 6, 1, 12), {"gap": minutes(-5)}),
        (datetime(2030, 6, 1, 10), datetime(2030, 6, 1, 12), {"rest": minutes(-5)}),
    ],
    ids=["aware-start", "aware-end", "zero-length", "negative-gap", "negative-rest"],
)
def test_nonsense_windows_and_lengths_are_refused(window_start, window_end, options):
    with pytest.raises(ValueError):
        readings(window_start, window_end, "America/Chicago", **options)


# Daylight-saving changes --------------------------------------------------------------------


def test_a_10_oclock_reading_is_at_10_local_on_both_sides_of_a_clock_change():
    before = readings(datetime(2027, 3, 13, 10, 0), datetime(2027, 3, 13, 10, 30),
                      "America/Chicago", length=minutes(30))
    after = readings(datetime(2027, 3, 15, 10, 0), datetime(2027, 3, 15, 10, 30),
                     "America/Chicago", length=minutes(30))

    assert wall_clock(before) == wall_clock(after) == [("10:00", "10:30")]
    assert utc_times(before) == [("16:00", "16:30")]  # CST, UTC-6
    assert utc_times(after) == [("15:00", "15:30")]  # CDT, UTC-5


def test_spring_forward_leaves_out_readings_touching_the_skipped_hour():
    # 2027-03-14: at 02:00 CST the clocks jump to 03:00 CDT; 02:00-02:59 never happens.
    spans = readings(datetime(2027, 3, 14, 0, 30), datetime(2027, 3, 14, 4, 30),
                     "America/Chicago", length=minutes(30), gap=minutes(10))

    assert wall_clock(spans) == [
        ("00:30", "01:00"), ("01:10", "01:40"),
        # 01:50-02:20 would end, and 02:30-03:00 would start, in the missing hour.
        ("03:10", "03:40"), ("03:50", "04:20"),
    ]
    assert utc_times(spans) == [
        ("06:30", "07:00"), ("07:10", "07:40"), ("08:10", "08:40"), ("08:50", "09:20"),
    ]
    assert [local(start)[1] for start, _ in spans] == ["-0600", "-0600", "-0500", "-0500"]
    assert all(end - start == minutes(30) for start, end in spans)
    assert not [s for s in spans if any(local(t)[0].startswith("02:") for t in s)]


def test_fall_back_takes_repeated_times_at_their_first_occurrence_and_keeps_lengths_true():
    # 2026-11-01: at 02:00 CDT the clocks go back to 01:00 CST; 01:00-01:59 happens twice.
    spans = readings(datetime(2026, 11, 1, 0, 30), datetime(2026, 11, 1, 4, 30),
                     "America/Chicago", length=minutes(30), gap=minutes(10))

    assert wall_clock(spans) == [
        ("00:30", "01:00"), ("01:10", "01:40"),
        # 01:50 CDT to 02:20 CST would really last 90 minutes: left out.
        ("02:30", "03:00"), ("03:10", "03:40"), ("03:50", "04:20"),
    ]
    assert utc_times(spans) == [
        ("05:30", "06:00"), ("06:10", "06:40"),
        ("08:30", "09:00"), ("09:10", "09:40"), ("09:50", "10:20"),
    ]
    assert [local(start)[1] for start, _ in spans] == ["-0500", "-0500", "-0600", "-0600", "-0600"]
    assert all(end - start == minutes(30) for start, end in spans)
    starts = [start for start, _ in spans]
    assert starts == sorted(set(starts))


def test_fall_back_on_another_year_behaves_the_same():
    # 2027-11-07 is the next fall-back day; a reading inside the repeated hour is its first pass.
    spans = readings(datetime(2027, 11, 7, 1, 0), datetime(2027, 11, 7, 1, 45),
                     "America/Chicago", length=minutes(30))

    assert utc_times(spans) == [("06:00", "06:30")]
    assert [local(start) for start, _ in spans] == [("01:00", "-0500")]


def test_to_utc_resolves_ambiguous_times_to_the_first_pass_and_skipped_times_to_none():
    assert to_utc(datetime(2026, 11, 1, 1, 30), CHICAGO) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert to_utc(datetime(2026, 11, 1, 2, 0), CHICAGO) == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert to_utc(datetime(2027, 3, 14, 2, 30), CHICAGO) is None
    assert to_utc(datetime(2027, 3, 14, 3, 0), CHICAGO) == datetime(2027, 3, 14, 8, 0, tzinfo=UTC)


def test_a_long_reading_across_spring_forward_is_left_out_rather_than_shortened():
    # 01:30 CST to 03:00 CDT is 90 minutes on the wall but only 30 in reality.
    spans = readings(datetime(2027, 3, 14, 1, 30), datetime(2027, 3, 14, 3, 0),
                     "America/Chicago", length=minutes(90))

    assert spans == []
