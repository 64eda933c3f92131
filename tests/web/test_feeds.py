"""Calendar feeds, read back by icalendar and by vobject as calendar apps would read them."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import vobject
from icalendar import Calendar

from bench import schedule as bench_schedule
from booking.services import calendars, reservations
from booking.domain.models import EventStatus, HostRole, Role, SlotStatus, User, utcnow
from support import check_accessible_structure, sign_in_as as sign_in
from booking.domain.commands import Patron

CHICAGO_DST_2031 = datetime(2031, 3, 9)  # clocks go forward at 02:00 local that Sunday


# Reading feeds back -------------------------------------------------------------------------


def parse(body: bytes) -> Calendar:
    """Parse with icalendar and vobject; check what every calendar app relies on."""
    calendar = Calendar.from_ical(body)
    assert calendar["VERSION"] == "2.0" and calendar.get("PRODID")
    assert calendar.get_missing_tzids() == set()
    assert calendar.timezones, "a calendar carries at least one component"
    vevents = calendar.walk("VEVENT")
    uids = [str(v["UID"]) for v in vevents]
    assert len(uids) == len(set(uids)), "UIDs must be unique"
    for vevent in vevents:
        for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "SEQUENCE", "STATUS",
                     "LAST-MODIFIED", "DESCRIPTION", "URL"):
            assert name in vevent, f"{name} missing in {vevent['UID']}"
        for name in ("DTSTART", "DTEND"):
            assert vevent[name].dt.tzinfo is not None, "no floating times"
            assert vevent[name].params.get("TZID"), "local times carry their zone"
    for line in body.split(b"\r\n"):
        assert len(line) <= 75, line
    second = read_with_vobject(body)
    second_uids = [v.uid.value for v in getattr(second, "vevent_list", [])]
    assert sorted(second_uids) == sorted(uids)
    for vevent in getattr(second, "vevent_list", []):
        assert vevent.dtstart.value.tzinfo is not None
    return calendar


def read_with_vobject(body: bytes):
    """Parse with vobject, forgetting zones from earlier calendars.

    vobject keeps the first VTIMEZONE it met for each TZID for the whole process; our
    VTIMEZONEs cover only the years of their feed, so one from another test would be wrong.
    """
    registry = getattr(vobject.icalendar, "__tzidMap")
    for tzid in [tzid for tzid in registry if tzid != "UTC"]:
        del registry[tzid]
    return vobject.readOne(body.decode("utf-8"))


def vevent_by_uid(calendar: Calendar, uid_start: str):
    matches = [v for v in calendar.walk("VEVENT") if str(v["UID"]).startswith(uid_start)]
    assert len(matches) == 1, [str(v["UID"]) for v in calendar.walk("VEVENT")]
    return matches[0]


def get_feed(client, path: str, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("inline; filename=")
    assert response.headers["ETag"].startswith('"')  # strong
    assert response.headers["Last-Modified"]
    return response


# The events feed ----------------------------------------------------------------------------


def test_events_feed_lists_published_events_with_names_refresh_and_one_zone(
    client, make_event
):
    shown = make_event(title="Human Library Day", venue="Main Library, Room 1",
                       accessibility_notes="Step-free entrance.")
    make_event(title="Still a draft", status=EventStatus.DRAFT)

    response = get_feed(client, "/feeds/events.ics")
    calendar = parse(response.data)
    text = response.get_data(as_text=True)

    assert [str(v["SUMMARY"]) for v in calendar.walk("VEVENT")] == ["Human Library Day"]
    vevent = vevent_by_uid(calendar, f"event-{shown.id}@library.test")
    assert str(vevent["LOCATION"]) == "Main Library, Room 1"
    assert str(vevent["URL"]) == f"http://library.test/events/{shown.slug}"
    assert "Step-free entrance." in str(vevent["DESCRIPTION"])
    assert "Hosted by: " in str(vevent["DESCRIPTION"])
    assert "\r\nNAME:Human Library & partner events\r\n" in text
    assert "\r\nX-WR-CALNAME:Human Library & partner events\r\n" in text
    assert "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "\r\nX-PUBLISHED-TTL:PT1H\r\n" in text
    assert "\r\nX-WR-TIMEZONE:America/Chicago\r\n" in text


def test_events_in_two_zones_get_two_timezones_and_no_calendar_wide_zone(client, make_event):
    make_event(timezone="America/Chicago")
    make_event(timezone="Europe/Berlin")

    response = get_feed(client, "/feeds/events.ics")
    calendar = parse(response.data)

    assert sorted(tz.tz_name for tz in calendar.timezones) == ["America/Chicago", "Europe/Berlin"]
    assert b"X-WR-TIMEZONE" not in response.data


def test_a_feed_with_no_events_is_still_a_valid_calendar(client):
    response = get_feed(client, "/feeds/events.ics")
    calendar = parse(response.data)
    assert calendar.walk("VEVENT") == []
    assert b"X-WR-TIMEZONE" not in response.data


def test_text_is_escaped_and_folded(client, make_event):
    title = "Stories; songs, and more\\ more"
    notes = "Ramp at the side door.\nQuiet room; ask at the desk. " + "Long note " * 30
    make_event(title=title, accessibility_notes=notes)

    response = get_feed(client, "/feeds/events.ics")
    vevent = parse(response.data).walk("VEVENT")[0]

    assert str(vevent["SUMMARY"]) == title
    assert notes.strip() in str(vevent["DESCRIPTION"])
    assert b"SUMMARY:Stories\\; songs\\, and more\\\\ more" in response.data
    assert b"\r\n " in response.data  # long lines are folded


def test_the_timezone_covers_only_the_years_of_the_feed(client, make_event):
    make_event(starts_at=datetime(2031, 6, 1, 15, tzinfo=timezone.utc))
    body = get_feed(client, "/feeds/events.ics").get_data(as_text=True)
    starts = re.findall(r"DTSTART:(\d{4})", body.split("BEGIN:VEVENT")[0])
    assert starts and {int(year) for year in starts} <= {2031, 2032}


# The schedule feed --------------------------------------------------------------------------


def test_daylight_saving_keeps_nine_o_clock_local_on_both_sides(
    client, make_event, make_slot
):
    event = make_event(starts_at=datetime(2031, 3, 8, 14, tzinfo=timezone.utc),
                       ends_at=datetime(2031, 3, 10, 23, tzinfo=timezone.utc))
    before = make_slot(event, starts_at=datetime(2031, 3, 8, 15, tzinfo=timezone.utc))  # CST
    after = make_slot(event, starts_at=datetime(2031, 3, 10, 14, tzinfo=timezone.utc))  # CDT

    calendar = parse(get_feed(client, f"/events/{event.slug}/schedule.ics").data)

    for slot, utc_hour in ((before, 15), (after, 14)):
        vevent = vevent_by_uid(calendar, f"slot-{slot.id}@")
        start = vevent["DTSTART"].dt
        assert (start.hour, start.minute) == (9, 0)
        assert vevent["DTSTART"].params["TZID"] == "America/Chicago"
        assert start.astimezone(timezone.utc).hour == utc_hour
    second = read_with_vobject(get_feed(client, f"/events/{event.slug}/schedule.ics").data)
    assert sorted(v.dtstart.value.astimezone(timezone.utc) for v in second.vevent_list) == [
        datetime(2031, 3, 8, 15, tzinfo=timezone.utc),
        datetime(2031, 3, 10, 14, tzinfo=timezone.utc),
    ]


def test_schedule_shows_seats_left_and_no_personal_data(
    client, db, make_event, make_book, make_slot, make_session, now
):
    event = make_event()
    book = make_book(title="Refugee", volunteer_name="Secret Volunteer Name",
                     volunteer_email="secret.volunteer@example.org")
    reading = make_slot(event, book=book, capacity=3)
    session = make_session(event, title="Zine workshop", audience="Teens")
    make_slot(event, session=session, starts_at=event.starts_at + timedelta(hours=3))
    make_slot(event, book=make_book(title="Hidden draft", listing_status="draft"))
    reservations.book(
        reading.id,
        Patron.parse(name="Ada Reader", email="ada@example.org", accept_agreement=True),
        now=now,
    )

    response = get_feed(client, f"/events/{event.slug}/schedule.ics")
    calendar = parse(response.data)
    text = response.get_data(as_text=True)

    summaries = sorted(str(v["SUMMARY"]) for v in calendar.walk("VEVENT"))
    assert summaries == [f"Reading: Refugee — {event.title}",
                         f"Session: Zine workshop — {event.title}"]
    assert "Seats left: 2 of 3." in str(vevent_by_uid(calendar, f"slot-{reading.id}@")
                                       ["DESCRIPTION"])
    for private in ("Ada Reader", "ada@example.org", "Secret Volunteer Name",
                    "secret.volunteer@example.org", "Hidden draft"):
        assert private not in text


def test_unknown_or_draft_event_schedule_is_not_found(client, make_event):
    draft = make_event(status=EventStatus.DRAFT)
    assert client.get(f"/events/{draft.slug}/schedule.ics").status_code == 404
    assert client.get("/events/no-such-event/schedule.ics").status_code == 404


def test_an_edit_raises_sequence_keeps_uid_and_changes_the_etag(client, db, make_event,
                                                                make_slot):
    event = make_event()
    slot = make_slot(event)
    path = f"/events/{event.slug}/schedule.ics"
    first = get_feed(client, path)
    before = vevent_by_uid(parse(first.data), f"slot-{slot.id}@")

    again = get_feed(client, path)
    assert again.data == first.data  # nothing changed: the same bytes
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]}
                      ).status_code == 304
    head = client.head(path)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == first.headers["ETag"]

    slot.starts_at += timedelta(minutes=30)
    slot.ends_at += timedelta(minutes=30)
    slot.updated_at = utcnow() + timedelta(seconds=2)
    db.session.commit()

    changed = get_feed(client, path, headers={"If-None-Match": first.headers["ETag"]})
    after = vevent_by_uid(parse(changed.data), f"slot-{slot.id}@")
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert str(after["UID"]) == str(before["UID"])
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["DTSTAMP"].dt > before["DTSTAMP"].dt


def test_renaming_the_event_or_book_raises_sequence_but_a_same_value_does_not(
    db, make_event, make_slot
):
    slot = make_slot(make_event())
    event, book = slot.event, slot.book
    event.title = event.title  # not a change
    db.session.commit()
    assert event.sequence == 0
    event.venue = "Branch library"
    book.title = "New title"
    db.session.commit()
    assert (event.sequence, book.sequence) == (1, 1)


def test_accept_header_does_not_change_the_answer(client, make_event):
    make_event()
    plain = get_feed(client, "/feeds/events.ics")
    html = get_feed(client, "/feeds/events.ics", headers={"Accept": "text/html"})
    assert html.data == plain.data


# Cancelling ---------------------------------------------------------------------------------


def test_a_cancelled_slot_stays_cancelled_during_the_grace_period_then_goes(
    client, db, make_event, make_slot
):
    event = make_event()
    slot = make_slot(event)
    path = f"/events/{event.slug}/schedule.ics"
    before = vevent_by_uid(parse(get_feed(client, path).data), f"slot-{slot.id}@")

    slot.status = SlotStatus.CANCELLED
    db.session.commit()

    after = vevent_by_uid(parse(get_feed(client, path).data), f"slot-{slot.id}@")
    assert str(after["STATUS"]) == "CANCELLED"
    assert after["SEQUENCE"] > before["SEQUENCE"]

    later = utcnow() + timedelta(days=31)
    content = calendars.event_schedule(event, now=later)
    assert content.slots == []
    assert content.dropped_at == slot.updated_at + calendars.CANCELLED_GRACE
    content = calendars.event_schedule(event, now=later, grace=timedelta(days=60))
    assert [s.id for s in content.slots] == [slot.id]


def test_grace_period_comes_from_configuration(app, client, db, make_event, make_slot):
    event = make_event()
    slot = make_slot(event)
    slot.status = SlotStatus.CANCELLED
    db.session.commit()
    app.config["FEED_CANCELLED_GRACE_DAYS"] = 0

    calendar = parse(get_feed(client, f"/events/{event.slug}/schedule.ics").data)

    assert calendar.walk("VEVENT") == []


def test_a_cancelled_event_is_marked_cancelled_in_the_events_feed(client, db, make_event):
    event = make_event()
    event.status = EventStatus.CANCELLED
    db.session.commit()

    vevent = parse(get_feed(client, "/feeds/events.ics").data).walk("VEVENT")[0]

    assert str(vevent["STATUS"]) == "CANCELLED" and vevent["SEQUENCE"] == 1
    assert calendars.published_events(now=utcnow() + timedelta(days=31)).events == []


# Private feeds ------------------------------------------------------------------------------


@pytest.fixture
def people(make_partner, make_event, make_book, make_slot, make_user, now):
    council, museum = make_partner("Literacy Council"), make_partner("Museum")
    event = make_event(hosts=[(council, HostRole.HOST), (museum, HostRole.CO_HOST)])
    own_book = make_book(council, title="Learned to read at 40",
                         volunteer_name="Secret Volunteer Name",
                         volunteer_email="secret.volunteer@example.org")
    other_book = make_book(museum, title="Museum guard")
    own = make_slot(event, book=own_book, capacity=2)
    other = make_slot(event, book=other_book, starts_at=event.starts_at + timedelta(hours=2))
    for slot in (own, other):
        reservations.book(
            slot.id,
            Patron.parse(name=f"Reader {slot.id}", email=f"r{slot.id}@example.org"),
            now=now,
        )
    return {
        "own": own, "other": other,
        "staff": make_user("staff@example.org", Role.STAFF),
        "coordinator": named(make_user("coord@example.org", Role.COORDINATOR, council),
                             "Cora Coordinator"),
        "volunteer": named(make_user("vol@example.org", Role.VOLUNTEER, council, own_book),
                           "Secret Volunteer Name"),
    }


def named(user: User, name: str) -> User:
    user.name = name
    return user


def private_feed(client, user) -> tuple[Calendar, str]:
    token = calendars.issue_feed_token(user)
    response = get_feed(client, f"/feeds/u/{token}.ics")
    return parse(response.data), response.get_data(as_text=True)


def test_staff_feed_has_every_booking_with_reader_names(client, people):
    calendar, text = private_feed(client, people["staff"])
    assert {str(v["UID"]) for v in calendar.walk("VEVENT")} == {
        f"slot-{people['own'].id}-staff@library.test",
        f"slot-{people['other'].id}-staff@library.test",
    }
    assert f"Readers: Reader {people['own'].id}" in text.replace("\r\n ", "")


@pytest.mark.parametrize("person", ["coordinator", "volunteer"])
def test_partner_and_volunteer_feeds_have_their_readings_with_counts_and_no_names(
    client, people, person
):
    calendar, text = private_feed(client, people[person])
    suffix = "partner" if person == "coordinator" else "volunteer"
    vevent = vevent_by_uid(calendar, f"slot-{people['own'].id}-{suffix}@")
    assert len(calendar.walk("VEVENT")) == 1
    assert "Booked: 1 of 2." in str(vevent["DESCRIPTION"])
    assert_no_identity(text, people)


def test_public_feeds_carry_no_identity(client, people):
    event = people["own"].event
    for path in ("/feeds/events.ics", f"/events/{event.slug}/schedule.ics"):
        assert_no_identity(get_feed(client, path).get_data(as_text=True), people)


def assert_no_identity(text: str, people) -> None:
    unfolded = text.replace("\r\n ", "")
    for slot in (people["own"], people["other"]):
        assert f"Reader {slot.id}" not in unfolded and f"r{slot.id}@example.org" not in unfolded
    for private in ("Secret Volunteer Name", "secret.volunteer@example.org", "Cora Coordinator",
                    "coord@example.org", "vol@example.org"):
        assert private not in unfolded


def test_feed_tokens_are_long_random_stored_hashed_and_rotate(client, db, people):
    volunteer = people["volunteer"]
    first = calendars.issue_feed_token(volunteer)
    assert len(first) >= 22  # 128 bits or more, base64
    assert volunteer.feed_token_hash == reservations.hash_token(first) != first
    assert client.get(f"/feeds/u/{first}.ics").status_code == 200

    second = calendars.issue_feed_token(volunteer)

    assert client.get(f"/feeds/u/{first}.ics").status_code == 404
    assert client.get(f"/feeds/u/{second}.ics").status_code == 200
    volunteer.active = False
    db.session.commit()
    assert client.get(f"/feeds/u/{second}.ics").status_code == 404


def test_account_page_creates_shows_once_and_rotates_the_feed(client, submit, people):
    assert client.get("/account/").status_code == 302  # sign in first
    sign_in(client, people["coordinator"])
    page = client.get("/account/").get_data(as_text=True)
    check_accessible_structure(page)
    assert "Create my feed address" in page

    created = submit("/account/", {}, action="/account/feed", follow_redirects=True)
    html = created.get_data(as_text=True)
    check_accessible_structure(html)
    url = re.search(r'value="(http://library\.test/feeds/u/[A-Za-z0-9_\-]+\.ics)"', html).group(1)
    assert f'href="webcal://{url.split("://")[1]}"' in html
    assert client.get(url).status_code == 200

    shown_again = client.get("/account/").get_data(as_text=True)
    assert url not in shown_again and "Make a new feed address" in shown_again

    rotated = submit("/account/", {}, action="/account/feed", follow_redirects=True)
    new_url = re.search(r'value="(http://library\.test/feeds/u/[^"]+)"',
                        rotated.get_data(as_text=True)).group(1)
    assert new_url != url
    assert client.get(url).status_code == 404
    assert client.get(new_url).status_code == 200


def test_rotating_without_csrf_token_changes_nothing(client, people):
    sign_in(client, people["staff"])
    assert client.post("/account/feed").status_code == 400
    assert people["staff"].feed_token_hash is None


# Pages offer feeds the same way -------------------------------------------------------------


def test_pages_with_a_feed_offer_webcal_google_copy_and_instructions(client, make_slot, now):
    slot = make_slot()
    reservation = reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    pages = {
        "/": "/feeds/events.ics",
        f"/events/{slot.event.slug}": f"/events/{slot.event.slug}/schedule.ics",
        f"/bookings/{reservation.token}/confirmation": f"/bookings/{reservation.token}.ics",
        f"/bookings/{reservation.token}": f"/bookings/{reservation.token}.ics",
    }
    for page, feed in pages.items():
        html = client.get(page).get_data(as_text=True)
        assert f'href="webcal://library.test{feed}"' in html, page
        assert f'value="http://library.test{feed}"' in html and "copy-source" in html
        assert "https://calendar.google.com/calendar/r?cid=webcal" in html
        for app_name in ("Apple Calendar", "Google Calendar", "Outlook"):
            assert app_name in html
        assert "every few hours" in html


# The booking file ---------------------------------------------------------------------------


def test_booking_file_is_byte_identical_until_it_changes(client, make_slot, now):
    slot = make_slot()
    reservation = reservations.book(slot.id, Patron.parse(name="Ada Reader", email="ada@example.org"), now=now)
    path = f"/bookings/{reservation.token}.ics"
    first = get_feed(client, path)
    calendar = parse(first.data)
    assert get_feed(client, path).data == first.data
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert b"Ada Reader" not in first.data
    assert str(calendar.walk("VEVENT")[0]["UID"]) == f"booking-{reservation.booking.id}@library.test"

    reservations.cancel(reservation.token, now=now)
    cancelled = vevent_by_uid(parse(get_feed(client, path).data), "booking-")
    assert str(cancelled["STATUS"]) == "CANCELLED" and cancelled["SEQUENCE"] >= 1


# Queries stay constant ----------------------------------------------------------------------


def test_schedule_feed_needs_the_same_number_of_queries_for_any_number_of_slots(app):
    counts = bench_schedule.feed_query_counts((5, 60))
    assert counts[5] == counts[60], counts


def test_a_coordinator_without_a_partner_sees_nothing(
    client, people, make_user, make_session, make_slot
):
    event = people["own"].event
    make_slot(event, session=make_session(event), starts_at=event.starts_at + timedelta(hours=4))
    calendar, _ = private_feed(client, make_user("lost@example.org", Role.COORDINATOR))
    assert calendar.walk("VEVENT") == []
