"""Links that open a calendar app's new-event form with one reading filled in."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from booking.domain.calendar_links import CalendarItem, google_link, outlook_link

CHICAGO = ZoneInfo("America/Chicago")
ITEM = CalendarItem(
    title="Waitlist: Refugee — Human Library Day & more",
    starts_at=datetime(2027, 3, 14, 1, 30, tzinfo=CHICAGO),  # the night clocks go forward
    ends_at=datetime(2027, 3, 14, 3, 30, tzinfo=CHICAGO),
    location="Main Library, Room 2", details="Event page: https://library.test/events/x?a=1&b=2",
)


def query(link: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def test_google_gets_the_reading_in_utc_with_every_character_kept():
    link = google_link(ITEM)
    assert link.startswith("https://calendar.google.com/calendar/render?")
    fields = query(link)
    # 01:30 CST is 07:30 UTC; 03:30 (after the jump) is CDT, 08:30 UTC: one hour, not two.
    assert fields["dates"] == "20270314T073000Z/20270314T083000Z"
    assert (fields["action"], fields["text"], fields["location"], fields["details"]) == (
        "TEMPLATE", ITEM.title, ITEM.location, ITEM.details)


def test_outlook_gets_the_same_reading_for_personal_and_work_accounts():
    personal, work = outlook_link(ITEM), outlook_link(ITEM, work=True)
    assert urlsplit(personal).netloc == "outlook.live.com"
    assert urlsplit(work).netloc == "outlook.office.com"
    for link in (personal, work):
        fields = query(link)
        assert (fields["startdt"], fields["enddt"]) == ("2027-03-14T07:30:00Z",
                                                        "2027-03-14T08:30:00Z")
        assert (fields["subject"], fields["location"], fields["body"], fields["rru"]) == (
            ITEM.title, ITEM.location, ITEM.details, "addevent")
