"""Staff event pages over HTTP, with CSRF on: forms, confirmations, access and bad input."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.services import events, reservations
from booking.domain.models import AuditEntry, Booking, BookingStatus, Event, EventStatus, ListingStatus, Slot, SlotStatus
from support import AFTER_BOOKING, area_urls, csrf_token_from, sign_in_as as sign_in
from booking.domain.commands import EventDetails, Hosts, Patron


def local(event, instant=None, **shift) -> str:
    """A datetime-local input value in the event's zone."""
    moment = events.to_local(instant or event.starts_at, event.timezone) + timedelta(**shift)
    return moment.strftime("%Y-%m-%dT%H:%M")


def form_fields(event=None, **changes):
    starts = (event.starts_at if event else None)
    base = {
        "title": "Autumn Human Library", "slug": "", "kind": "human_library",
        "description": "Borrow a person.", "venue": "Main Library", "accessibility_notes": "",
        "timezone": "America/Chicago",
        "starts": "2031-10-04T10:00", "ends": "2031-10-04T16:00",
        "registration_opens": "", "registration_closes": "",
        "max_bookings_per_patron": "3", "max_seats_per_booking": "1",
        "agreement_text": "Be kind.",
    }
    if event is not None:
        base.update(title=event.title, slug=event.slug, timezone=event.timezone,
                    starts=local(event, starts), ends=local(event, event.ends_at))
    return {**base, **changes}


@pytest.fixture
def as_staff(client, world):
    sign_in(client, world["staff"])
    return client


def book_reader(slot, n, now):
    return reservations.book(
        slot.id,
        Patron.parse(name=f"Reader {n}", email=f"reader{n}@example.org", accept_agreement=True),
        now=now,
    ).booking


def test_staff_create_an_event_and_land_on_its_overview(as_staff, submit, db):
    response = submit("/staff/events/new", form_fields())

    assert response.status_code == 303
    event = db.session.scalar(sa.select(Event).where(Event.title == "Autumn Human Library"))
    assert response.headers["Location"] == f"/staff/events/{event.slug}"
    assert event.status == EventStatus.DRAFT and event.slug == "autumn-human-library"
    assert events.to_local(event.starts_at, event.timezone).hour == 10
    page = as_staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Autumn Human Library" in page and "draft" in page


@pytest.mark.parametrize(("changes", "message"), [
    ({"starts": "not a date"}, "Enter a date and time such as"),
    ({"starts": "2031-13-45T99:00"}, "Enter a date and time such as"),
    ({"ends": "2031-10-04T09:00"}, "The event must end after it starts."),
    ({"timezone": "Mars/Olympus"}, "Choose a time zone from the list"),
    ({"max_bookings_per_patron": "0"}, "from 1 to 50"),
    ({"max_seats_per_booking": "9" * 40}, "from 1 to 50"),
    ({"max_seats_per_booking": "two"}, "Enter a whole number"),
    ({"title": "T" * 100_000}, "Title must be at most 200 characters."),
    ({"registration_opens": "2031-10-02T10:00", "registration_closes": "2031-10-01T10:00"},
     "Registration must close after it opens."),
    ({"slug": "Spaces and CAPS"}, "lower-case letters"),
    ({"venue": "Room\x00 1"}, "control characters"),
    ({"starts": "9999-12-31T23:00", "ends": "9999-12-31T23:30"}, "between the years 1900 and 2999"),
    ({"starts": "0001-01-01T00:00"}, "between the years 1900 and 2999"),
    ({"registration_closes": "3000-01-01T00:00"}, "between the years 1900 and 2999"),
])
def test_bad_event_input_gets_a_clear_message_and_stores_nothing(as_staff, submit, db,
                                                                 changes, message):
    response = submit("/staff/events/new", form_fields(**changes))

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 1  # the world's


def test_editing_keeps_what_was_entered_when_it_is_refused(as_staff, submit, world, db):
    event = world["event"]
    url = f"/staff/events/{event.slug}/edit"
    assert 'value="' + local(event) in as_staff.get(url).get_data(as_text=True)

    refused = submit(url, form_fields(event, title="New title", ends=local(event, hours=-1)))
    assert refused.status_code == 422
    assert 'value="New title"' in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == event.title

    saved = submit(url, form_fields(event, title="New title", slug="new-title"))
    assert saved.status_code == 303 and saved.headers["Location"] == "/staff/events/new-title"


def test_moving_an_event_away_from_booked_readings_is_refused_on_the_page(
        as_staff, submit, world, db, make_slot, now):
    event = world["event"]
    slot = make_slot(event, book=world["own_book"])
    book_reader(slot, 1, now)
    response = submit(f"/staff/events/{event.slug}/edit",
                      form_fields(event, starts=local(event, hours=3),
                                  ends=local(event, event.ends_at, hours=3)))

    assert response.status_code == 409
    assert "Learned to read at 40" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).booked == 1


def test_cancelling_an_event_asks_with_the_count_then_cancels_and_notifies(
        as_staff, submit, world, db, make_slot, now):
    event = world["event"]
    slot = make_slot(event, book=world["own_book"], capacity=2)
    book_reader(slot, 1, now)
    book_reader(slot, 2, now)
    url = f"/staff/events/{event.slug}/cancel"
    page = as_staff.get(url).get_data(as_text=True)
    assert "This cancels 2 bookings" in page

    empty = submit(url, {"reason": "  "})
    assert empty.status_code == 422 and "Give a reason" in empty.get_data(as_text=True)
    done = submit(url, {"reason": "Storm warning."})

    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == EventStatus.CANCELLED
    assert db.session.scalar(sa.select(sa.func.count()).where(AFTER_BOOKING)) == 2
    assert "2 bookings cancelled" in as_staff.get(done.headers["Location"]).get_data(as_text=True)


def test_cancelling_one_reading_from_the_overview(as_staff, submit, world, db, make_slot, now):
    event = world["event"]
    slot = make_slot(event, book=world["own_book"])
    booking = book_reader(slot, 1, now)
    overview = as_staff.get(f"/staff/events/{event.slug}").get_data(as_text=True)
    link = f"/staff/events/{event.slug}/cancel-reading?slot={slot.id}"
    assert link in overview

    assert "This cancels 1 booking" in as_staff.get(link).get_data(as_text=True)
    assert submit(link, {"reason": "The book is ill."}).status_code == 303

    db.session.expire_all()
    assert db.session.get(Slot, slot.id).status == SlotStatus.CANCELLED
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED


def test_publishing_and_cloning_from_the_pages(as_staff, submit, world, db):
    submit("/staff/events/new", form_fields())
    draft = db.session.scalar(sa.select(Event).where(Event.status == EventStatus.DRAFT))
    hosts_url = f"/staff/events/{draft.slug}/hosts"
    assert submit(hosts_url, {f"partner_{world['own'].id}": "sponsor"}).status_code == 422
    assert submit(hosts_url, {f"partner_{world['own'].id}": "host",
                              f"partner_{world['other'].id}": "co-host"}).status_code == 303
    assert submit(f"/staff/events/{draft.slug}/publish", {}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Event, draft.id).status == EventStatus.PUBLISHED

    copied = submit(f"/staff/events/{draft.slug}/clone", {"starts": "2031-10-11T10:00"})
    assert copied.status_code == 303
    copy = db.session.scalar(sa.select(Event).where(Event.id != draft.id,
                                                    Event.title == draft.title))
    assert copy.status == EventStatus.DRAFT and len(copy.hosts) == 2
    bad = submit(f"/staff/events/{draft.slug}/clone", {"starts": "someday"})
    assert bad.status_code == 422 and "Enter a date and time" in bad.get_data(as_text=True)


@pytest.mark.parametrize("starts", ["9999-12-31T23:00", "1000-01-01T10:00"])
def test_far_off_years_are_refused_when_editing_or_cloning(as_staff, submit, world, db, starts):
    event = world["event"]
    edited = submit(f"/staff/events/{event.slug}/edit", form_fields(event, starts=starts))
    cloned = submit(f"/staff/events/{event.slug}/clone", {"starts": starts})

    for response in (edited, cloned):
        assert response.status_code == 422
        assert "between the years 1900 and 2999" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 1
    assert db.session.get(Event, event.id).starts_at == event.starts_at


def test_removing_a_partner_with_bookings_is_refused_on_the_page(
        as_staff, submit, world, db, make_slot, now):
    event = world["event"]
    book_reader(make_slot(event, book=world["other_book"]), 1, now)
    response = submit(f"/staff/events/{event.slug}/hosts", {f"partner_{world['own'].id}": "host",
                                                            f"partner_{world['other'].id}": ""})
    assert response.status_code == 409
    assert "Museum (1 booking)" in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(Event, event.id).hosts) == 2


def test_the_overview_links_books_to_their_availability(as_staff, world):
    event = world["event"]
    page = as_staff.get(f"/staff/events/{event.slug}").get_data(as_text=True)
    assert f"/partner/books/{world['own_book'].id}/events/{event.slug}/availability" in page
    assert as_staff.get(f"/partner/books/{world['own_book'].id}/events/{event.slug}"
                        "/availability").status_code == 200


def test_the_audit_log_pages_newest_first_and_filters_by_event(as_staff, world, db, now,
                                                               monkeypatch):
    from booking.services import audit
    staff, event = world["staff"], world["event"]
    other = events.create_event(staff, EventDetails.parse(
        title="Other", timezone="UTC", starts=events.to_local(event.starts_at, "UTC"),
        ends=events.to_local(event.ends_at, "UTC"), max_bookings_per_patron=3,
        max_seats_per_booking=1), now)
    for n in range(3):
        events.set_hosts(staff, event, Hosts.parse(hosts=[
            (world["own"].id, "host"),
            (world["other"].id, "sponsor" if n % 2 == 0 else "co-host")]),
            now + timedelta(minutes=n))
    monkeypatch.setattr(audit, "PAGE_SIZE", 2)

    first = as_staff.get("/staff/events/audit").get_data(as_text=True)
    assert first.count("hosts.set") == 2 and "Older" in first
    second = as_staff.get("/staff/events/audit?page=2").get_data(as_text=True)
    assert "hosts.set" in second and "event.create" in second
    only_other = as_staff.get(f"/staff/events/audit?event={other.id}").get_data(as_text=True)
    assert "event.create" in only_other and "hosts.set" not in only_other
    for query in ("page=abc", "page=-4", "page=99999999999999999", "event=zz",
                  "event=99999999999999999999"):
        assert as_staff.get(f"/staff/events/audit?{query}").status_code == 200, query
    rows = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [r.action for r in rows] == ["event.create"] + ["hosts.set"] * 3


def test_the_audit_log_names_events_by_their_local_date(as_staff, submit):
    submit("/staff/events/new", form_fields(title="Evening HL", timezone="America/Los_Angeles",
                                            starts="2031-06-04T20:00", ends="2031-06-04T22:00"))
    page = as_staff.get("/staff/events/audit").get_data(as_text=True)
    assert "Evening HL (Wednesday 4 June 2031)" in page


@pytest.mark.parametrize("url", [
    "/staff/events/no-such-event", "/staff/events/no-such-event/edit",
    "/staff/events/" + "x" * 5000, "/staff/events/{slug}/cancel-reading?slot=999999999",
    "/staff/events/{slug}/cancel-reading?slot=99999999999999999999",
])
def test_unknown_events_and_readings_are_not_found(as_staff, world, url):
    assert as_staff.get(url.format(slug=world["event"].slug)).status_code == 404


def test_a_malformed_reading_id_is_a_bad_request(as_staff, world):
    url = f"/staff/events/{world['event'].slug}/cancel-reading?slot=abc"
    assert as_staff.get(url).status_code == 400


def test_a_forged_post_without_csrf_changes_nothing(as_staff, world, db):
    event = world["event"]
    response = as_staff.post(f"/staff/events/{event.slug}/cancel", data={"reason": "Forged."})
    assert response.status_code in (400, 422)
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == EventStatus.PUBLISHED
    assert as_staff.post(f"/staff/events/{event.slug}/publish").status_code == 400


def staff_urls(app, world, slot):
    """Every /staff route with its parameters filled in; a reading to cancel names its slot."""
    return [(url + f"?slot={slot.id}" if url.endswith("/cancel-reading") else url, methods)
            for url, methods in area_urls(app, world, "/staff")]


def test_every_staff_route_refuses_everyone_but_staff(app, world, make_slot):
    slot = make_slot(world["event"], book=world["own_book"])
    urls = staff_urls(app, world, slot)
    assert len(urls) >= 10
    assert ("/staff/partners/new", ["GET", "POST"]) in urls  # adding a partner: staff only
    for who in (None, "volunteer", "coordinator", "staff"):
        client = app.test_client()
        if who:
            sign_in(client, world[who])
        # A genuine CSRF token, so that what refuses a POST is the access check.
        token = csrf_token_from(client.get("/login" if who is None else "/password/forgot")
                                .get_data(as_text=True))
        for url, methods in urls:
            for method in methods:
                if who == "staff" and method == "POST":
                    continue  # staff POSTs are covered by the behaviour tests above
                response = client.open(url, method=method, data={"csrf_token": token})
                code = response.status_code
                if who is None:
                    assert code == 302 and "/login" in response.headers["Location"], url
                elif who == "staff":
                    assert code == 200, (url, code)
                else:
                    assert code == 403, (who, url, method, code)


def test_staff_add_a_session_from_the_overview_and_it_is_approved_at_once(
        as_staff, submit, world, db):
    event = world["event"]
    overview = as_staff.get(f"/staff/events/{event.slug}").get_data(as_text=True)
    url = f"/partner/events/{event.slug}/sessions/new?partner={world['other'].id}"
    assert f'href="{url}"' in overview.replace("&amp;", "&")
    start, end = local(event, hours=1), local(event, hours=2)
    response = submit(url, {"title": "Storytime", "day": start[:10], "starts": start[-5:],
                            "ends": end[-5:],
                            "seats": "25", "language": "en", "audience": "Families"})
    assert response.status_code == 303

    slot = db.session.scalar(sa.select(Slot).where(Slot.session.has(title="Storytime")))
    assert slot.capacity == 25 and slot.session.presenter_partner_id == world["other"].id
    assert slot.session.listing_status == ListingStatus.APPROVED  # staff approve; no queue
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "session.add"))
    assert entry.event_id == event.id and entry.user_id == world["staff"].id
