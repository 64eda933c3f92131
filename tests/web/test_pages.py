"""Patron pages over HTTP, with CSRF on: find an event, book, see, cancel."""
from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from booking.services import reservations
from booking.web.forms import BookingForm
from booking.web.errors import add_field_errors
from support import TEST_DATABASE_URL, check_accessible_structure
from booking.domain.models import Booking, BookingStatus, EventKind, EventStatus, HostRole, ListingStatus, Slot
from booking.domain.commands import Patron

CHICAGO_WINTER = datetime(2031, 1, 15, 15, 0, tzinfo=timezone.utc)  # 09:00 in Chicago (CST)


def booking_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking))


def manage_link(html: str) -> str:
    match = re.search(r'value="http://library\.test(/bookings/[A-Za-z0-9_\-]+)"', html)
    assert match, "no manage link on the page"
    return match.group(1)


@pytest.fixture
def reading(make_event, make_book, make_slot, make_partner):
    """A bookable reading of capacity 2 at a published Human Library event with an agreement."""
    library = make_partner("Riverside Library")
    museum = make_partner("City Museum")
    event = make_event(
        title="Human Library Day",
        agreement_text="Be kind. The book may decline a question.",
        agreement_version=3,
        max_seats_per_booking=2,
        hosts=[(library, HostRole.HOST), (museum, HostRole.SPONSOR)],
    )
    book = make_book(
        museum,
        title="Refugee",
        blurb="I left home with one bag.",
        topics=["migration", "family"],
        languages=["en", "ar"],
        content_notes="Mentions war.",
    )
    return make_slot(event, book=book, capacity=2)


def book_form(**overrides) -> dict:
    return {
        "name": "Ada Reader",
        "email": "ada@example.org",
        "seats": "1",
        "accept_agreement": "y",
        **overrides,
    }


# Home -------------------------------------------------------------------------------------


def test_home_lists_published_upcoming_events_only(client, make_event):
    make_event(title="Published day")
    make_event(title="Draft day", status=EventStatus.DRAFT)
    make_event(title="Cancelled day", status=EventStatus.CANCELLED)
    past = datetime.now(timezone.utc) - timedelta(days=3)
    make_event(title="Last week", starts_at=past, ends_at=past + timedelta(hours=2))
    html = client.get("/").get_data(as_text=True)
    assert "Published day" in html
    for hidden in ("Draft day", "Cancelled day", "Last week"):
        assert hidden not in html
    check_accessible_structure(html)


def test_home_filters_by_kind_language_and_partner(
    client, make_event, make_book, make_slot, make_partner, make_session
):
    museum = make_partner("City Museum", slug="city-museum")
    spanish = make_event(title="Biblioteca humana")
    make_slot(spanish, book=make_book(languages=["es"]))
    workshop = make_event(title="Zine workshop", kind=EventKind.PROGRAM,
                          hosts=[(museum, HostRole.HOST)])
    make_slot(workshop, session=make_session(workshop, museum, language="en"))

    by_kind = client.get("/?kind=program").get_data(as_text=True)
    assert "Zine workshop" in by_kind and "Biblioteca humana" not in by_kind
    by_language = client.get("/?language=es").get_data(as_text=True)
    assert "Biblioteca humana" in by_language and "Zine workshop" not in by_language
    by_partner = client.get("/?partner=city-museum").get_data(as_text=True)
    assert "Zine workshop" in by_partner and "Biblioteca humana" not in by_partner


def test_home_explains_an_unknown_filter_value_instead_of_failing(client, make_event):
    make_event(title="Published day")
    response = client.get("/?kind=rocket&language=xx")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Not a valid choice" in html
    assert "Published day" in html


# Event page -------------------------------------------------------------------------------


def test_event_page_shows_hosts_catalogue_and_local_times(client, make_event, make_book, make_slot):
    event = make_event(title="Winter Human Library", starts_at=CHICAGO_WINTER - timedelta(hours=1),
                       ends_at=CHICAGO_WINTER + timedelta(hours=5))
    book = make_book(title="Retired military", blurb="Twenty-two years of service.",
                     topics=["service"], languages=["en", "es"], content_notes="Mentions combat.")
    make_slot(event, book=book, starts_at=CHICAGO_WINTER, capacity=3)
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "Winter Human Library" in html
    assert "(host)" in html
    for text in ("Retired military", "Twenty-two years of service.", "service",
                 "English, Spanish", "Mentions combat."):
        assert text in html
    assert "09:00–09:30" in html  # 15:00 UTC shown in Chicago time
    assert "3 of 3 seats left" in html
    check_accessible_structure(html)


def test_event_page_never_shows_a_volunteer_identity(client, reading):
    html = client.get(f"/events/{reading.event.slug}").get_data(as_text=True)
    assert "Refugee" in html
    assert "Secret Volunteer Name" not in html
    assert "secret.volunteer@example.org" not in html


def test_event_page_offers_the_waitlist_when_a_reading_is_full(client, reading, now):
    for n in range(2):
        reservations.book(
            reading.id,
            Patron.parse(name=f"P{n}", email=f"p{n}@example.org", accept_agreement=True),
            now=now,
        )
    html = client.get(f"/events/{reading.event.slug}").get_data(as_text=True)
    assert "Join waitlist" in html
    assert "seats left" not in html


def test_event_page_hides_unapproved_listings_and_shows_sessions(
    client, make_event, make_book, make_slot, make_session
):
    event = make_event()
    make_slot(event, book=make_book(title="Draft book", listing_status=ListingStatus.SUBMITTED))
    session = make_session(event, title="Storytime for families", audience="Families")
    make_slot(event, session=session, capacity=20)
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "Draft book" not in html
    assert "Storytime for families" in html and "Families" in html
    assert "20 of 20 seats left" in html


def test_draft_and_unknown_events_are_not_found(client, make_event):
    draft = make_event(status=EventStatus.DRAFT)
    for url in (f"/events/{draft.slug}", "/events/no-such-event"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Page not found" in response.get_data(as_text=True)


def test_a_cancelled_event_says_so_and_takes_no_bookings(client, make_event, make_slot):
    event = make_event(status=EventStatus.CANCELLED)
    slot = make_slot(event)
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "This event has been cancelled." in html
    assert f"/slots/{slot.id}/book" not in html


# Booking form -----------------------------------------------------------------------------


def test_booking_form_is_labelled_and_shows_the_reader_agreement(client, reading):
    html = client.get(f"/slots/{reading.id}/book").get_data(as_text=True)
    check_accessible_structure(html)
    assert "Be kind. The book may decline a question." in html
    assert 'name="accept_agreement"' in html
    assert 'name="seats"' in html and 'max="2"' in html


def test_an_empty_booking_form_lists_every_problem_at_once_the_agreement_too(submit, reading):
    response = submit(f"/slots/{reading.id}/book", {"name": "", "email": "", "seats": "1"})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = html[html.index('class="error-summary"'):html.index("</ul>", html.index(
        'class="error-summary"'))]
    for message in ("Enter your name.", "Enter your e-mail address.",
                    "Please read and accept the reader agreement."):
        assert message in summary
    # The summary takes focus when the page loads (static/js/focus-error.js).
    assert "js/focus-error.js" in html and 'tabindex="-1"' in summary


def summary_of(html: str) -> str:
    start = html.index('class="error-summary"')
    return html[start:html.index("</ul>", start)]


def test_a_number_that_is_not_one_is_told_with_every_other_problem_at_once(submit, reading, db):
    response = submit(f"/slots/{reading.id}/book", {"name": "", "email": "ada@", "seats": "two"})

    assert response.status_code == 422
    summary = summary_of(response.get_data(as_text=True))
    for message in ("Enter a whole number, such as 1 or 2.", "Enter your name.",
                    "Enter a valid e-mail address, like name@example.org.",
                    "Please read and accept the reader agreement."):
        assert message in summary
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_an_emptied_number_box_is_told_as_missing_not_as_a_bad_number(submit, reading):
    response = submit(f"/slots/{reading.id}/book",
                      {**book_form(), "seats": "  "})

    assert response.status_code == 422
    summary = summary_of(response.get_data(as_text=True))
    assert "Enter how many seats you need as a whole number." in summary
    assert "Enter a whole number, such as 1 or 2." not in summary


def test_patron_books_sees_the_manage_link_and_cancels(client, submit, reading, db):
    response = submit(f"/slots/{reading.id}/book", book_form(email=" Ada@Example.org "))
    assert response.status_code == 303
    confirmation = client.get(response.headers["Location"])
    html = confirmation.get_data(as_text=True)
    assert "Your booking is confirmed" in html
    check_accessible_structure(html)
    link = manage_link(html)
    booking = db.session.scalar(sa.select(Booking))
    assert booking.status == BookingStatus.CONFIRMED and booking.agreement_version == 3
    assert f"{link}.ics" in html

    manage = client.get(link).get_data(as_text=True)
    assert "Ada Reader" in manage and "Cancel this booking" in manage
    check_accessible_structure(manage)

    confirm_page = client.get(f"{link}/cancel").get_data(as_text=True)
    assert "Cancel your booking?" in confirm_page
    check_accessible_structure(confirm_page)
    cancelled = submit(f"{link}/cancel", {}, follow_redirects=True)
    assert cancelled.status_code == 200
    assert "Your booking is cancelled" in cancelled.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED
    assert db.session.get(Slot, reading.id).booked == 0


def test_cancelling_again_through_the_page_is_refused_clearly(client, submit, reading, db):
    response = submit(f"/slots/{reading.id}/book", book_form())
    link = manage_link(client.get(response.headers["Location"]).get_data(as_text=True))
    page = client.get(f"{link}/cancel").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(f"{link}/cancel", data={"csrf_token": token}).status_code == 303
    again = client.post(f"{link}/cancel", data={"csrf_token": token})
    assert again.status_code == 409
    assert "already cancelled" in again.get_data(as_text=True)
    # The confirmation page of a cancelled booking sends the patron back to the booking.
    assert client.get(f"{link}/cancel").status_code == 303


def test_a_full_reading_takes_the_patron_onto_the_waitlist(client, submit, reading, now, db):
    reservations.book(
        reading.id,
        Patron.parse(name="First", email="first@example.org", seats=2, accept_agreement=True),
        now=now,
    )
    page = client.get(f"/slots/{reading.id}/book").get_data(as_text=True)
    assert "Join the waitlist" in page
    response = submit(f"/slots/{reading.id}/book", book_form())
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You are on the waitlist" in html
    assert "number 1 in line" in html


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "Enter your name."),
        ({"name": "x" * 121}, "name", "at most 120"),
        ({"email": "not-an-email"}, "email", "Enter a valid e-mail address"),
        ({"email": ""}, "email", "Enter your e-mail address."),
        ({"seats": "0"}, "seats", "Book at least 1 seat."),
        ({"seats": "3"}, "seats", "at most 2 seats"),
        ({"seats": "two"}, "seats", "Enter a whole number"),
        ({"accept_agreement": ""}, "accept_agreement", "accept the reader agreement"),
        ({"accessibility_needs": "x" * 501}, "accessibility_needs", "at most 500"),
    ],
)
def test_invalid_booking_input_is_explained_and_books_nothing(
    submit, reading, db, fields, field, message
):
    response = submit(f"/slots/{reading.id}/book", book_form(**fields))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert f'href="#{field}"' in html  # the error summary links to the field
    assert 'aria-invalid="true"' in html
    assert f'id="{field}-error"' in html
    assert booking_count(db) == 0
    assert db.session.get(Slot, reading.id).booked == 0


def test_a_forged_post_without_csrf_token_is_refused(client, reading, db):
    response = client.post(f"/slots/{reading.id}/book", data=book_form())
    assert response.status_code == 400
    assert "nothing was changed" in response.get_data(as_text=True)
    assert booking_count(db) == 0


def test_a_patron_rule_refusal_is_shown_on_the_form(submit, reading, make_slot, now):
    reservations.book(
        reading.id,
        Patron.parse(name="Ada", email="ada@example.org", accept_agreement=True),
        now=now,
    )
    response = submit(f"/slots/{reading.id}/book", book_form())
    assert response.status_code == 409
    assert "You already have a booking for this time slot." in response.get_data(as_text=True)


def test_past_closed_and_unknown_slots_cannot_be_booked(client, make_event, make_slot, db):
    event = make_event(starts_at=datetime.now(timezone.utc) - timedelta(hours=2))
    past = make_slot(event, starts_at=event.starts_at)
    closed = make_slot(make_event(), status="closed")
    for slot, text in ((past, "already started"), (closed, "closed for booking")):
        response = client.get(f"/slots/{slot.id}/book")
        assert response.status_code == 409
        html = response.get_data(as_text=True)
        assert text in html and "This cannot be booked" in html
        assert 'name="email"' not in html
        posted = client.post(f"/slots/{slot.id}/book", data=book_form())
        assert posted.status_code in (400, 409)
    assert client.get("/slots/99999/book").status_code == 404
    assert booking_count(db) == 0


# Manage links -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/bookings/not-a-real-token-but-long-enough",
        "/bookings/short",
        "/bookings/not-a-real-token-but-long-enough/confirmation",
        "/bookings/not-a-real-token-but-long-enough/cancel",
        "/bookings/not-a-real-token-but-long-enough.ics",
        "/bookings/%3Cscript%3E",
    ],
)
def test_unknown_manage_links_get_a_friendly_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "<script>" not in html
    assert "Go to the list of events" in html


def test_booking_calendar_file_is_served_from_the_manage_link(client, submit, reading):
    response = submit(f"/slots/{reading.id}/book", book_form())
    link = manage_link(client.get(response.headers["Location"]).get_data(as_text=True))
    ics = client.get(f"{link}.ics")
    assert ics.status_code == 200
    assert ics.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = ics.get_data(as_text=True)
    assert "BEGIN:VTIMEZONE" in body and "TZID:America/Chicago" in body
    assert "Ada Reader" not in body  # the calendar file describes the reading, not the patron


# Errors and assets ------------------------------------------------------------------------


def test_wrong_method_gets_a_friendly_page(client, reading):
    response = client.delete(f"/slots/{reading.id}/book")
    assert response.status_code == 405
    assert "That action is not allowed here" in response.get_data(as_text=True)


def test_an_unexpected_error_gets_a_friendly_500_page_and_json_under_api(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    @app.get("/api/v1/boom")
    def api_boom():
        raise RuntimeError("kaboom")

    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.get_data(as_text=True)
    assert "kaboom" not in page.get_data(as_text=True)
    api = client.get("/api/v1/boom")
    assert api.status_code == 500 and "error" in api.get_json()


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="SQLite's busy timeout")
def test_a_page_read_while_another_writer_holds_the_database_is_a_503_not_a_500(
        app, client, db, reading, monkeypatch):
    from booking import extensions

    slug = reading.event.slug
    monkeypatch.setattr(extensions, "SQLITE_BUSY_TIMEOUT_MS", 50)
    db.session.remove()
    db.engine.dispose()  # new connections take the short timeout
    holder = sqlite3.connect(db.engine.url.database)
    holder.execute("BEGIN IMMEDIATE")
    try:
        page = client.get(f"/events/{slug}")
        api = client.get("/api/v1/events")
    finally:
        holder.rollback()
        holder.close()
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "very busy" in page.get_data(as_text=True)
    assert api.status_code == 503 and "busy" in api.get_json()["error"]


def test_stylesheet_and_script_are_served_by_the_app(client):
    for path in ("/static/css/site.css", "/static/js/copy.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert b"http://" not in response.data and b"https://" not in response.data
        response.close()


def test_an_enormous_slot_number_is_simply_not_found(client):
    assert client.get("/slots/99999999999999999999999/book").status_code == 404


def test_service_errors_go_on_their_field_the_fallback_or_back_to_the_page(app):
    errors = {"name": ["Enter your name."], "slot": ["This reading is full."]}
    with app.test_request_context("/", method="POST"):
        form = BookingForm(meta={"csrf": False})
        assert add_field_errors(form, errors) == "This reading is full."
        assert form.name.errors == ["Enter your name."]

        form = BookingForm(meta={"csrf": False})
        assert add_field_errors(form, errors, fallback="email") is None
        assert form.email.errors == ["This reading is full."]


def test_the_confirmation_offers_adding_this_one_reading_before_any_feed(
        client, submit, reading, db):
    response = submit(f"/slots/{reading.id}/book", book_form(email="ada@example.org"))
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    token = response.headers["Location"].split("/bookings/")[1].split("/")[0]

    assert "We sent the details to <strong>ada@example.org</strong>" in html
    download = html.index(f'/bookings/{token}.ics" download')
    google = html.index("https://calendar.google.com/calendar/render?")
    outlook = html.index("https://outlook.live.com/calendar/0/deeplink/compose?")
    assert download < google < outlook < html.index("Or follow changes to this booking")
    link = html[google:html.index('"', google)].replace("&amp;", "&")
    fields = {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}
    slot = db.session.get(Slot, reading.id)
    assert fields["dates"] == (f"{slot.starts_at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}/"
                               f"{slot.ends_at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}")
    assert fields["text"] == f"Reading: {slot.resource_title} — {slot.event.title}"
    # The calendar's provider learns the public event page, never the private booking link.
    assert f"/events/{slot.event.slug}" in fields["details"] and token not in link
