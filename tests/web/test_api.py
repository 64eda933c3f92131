"""The public JSON API under /api/v1, as a client program uses it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from booking.domain.models import Booking, BookingStatus, EventKind, EventStatus, HostRole, ListingStatus, Slot, SlotStatus, utcnow

PATRON = {"name": "Ada Reader", "email": "ada@example.org"}
AGREEMENT = "Treat the book with respect. No recording."


def post_booking(client, slot_id, body=None, **fields):
    """POST a booking as JSON: the default patron, with `fields` on top, or `body` verbatim."""
    return client.post(
        f"/api/v1/slots/{slot_id}/bookings",
        json={**PATRON, **fields} if body is None else body,
    )


def booking_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking))


def seats_taken(db, slot_id: int) -> int:
    return db.session.scalar(sa.select(Slot.booked).where(Slot.id == slot_id))


def token_from(url: str) -> str:
    """The manage token inside a manage_url."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def assert_error(response, status: int) -> str:
    """The answer is JSON {"error": "..."} with this status; returns the message."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str) and body["error"].strip()
    return body["error"]


def assert_field_errors(response, field: str) -> None:
    """The answer is 422 JSON {"errors": {field: [messages]}} naming `field`."""
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"errors"}
    assert field in body["errors"], body
    messages = body["errors"][field]
    assert isinstance(messages, list) and messages
    assert all(isinstance(m, str) and m.strip() for m in messages)


# GET /api/v1/events ----------------------------------------------------------------------


def test_event_list_shows_published_events_only(client, make_event):
    published = make_event(title="Open day")
    make_event(status=EventStatus.DRAFT, title="Still planning")
    make_event(status=EventStatus.CANCELLED, title="Called off")

    response = client.get("/api/v1/events")

    assert response.status_code == 200
    assert [e["slug"] for e in response.get_json()] == [published.slug]


def test_event_list_entry_has_exactly_the_documented_fields(client, make_event, make_partner):
    library = make_partner("Riverside Public Library")
    council = make_partner("Riverside Literacy Council")
    sponsor = make_partner("Corner Bakery")
    event = make_event(
        title="Human Library Day",
        venue="Community Room",
        hosts=[(library, HostRole.HOST), (council, HostRole.CO_HOST), (sponsor, HostRole.SPONSOR)],
    )

    [entry] = client.get("/api/v1/events").get_json()

    assert set(entry) == {
        "slug", "title", "kind", "starts_at", "ends_at", "timezone", "venue", "hosts",
    }
    assert entry["slug"] == event.slug
    assert entry["title"] == "Human Library Day"
    assert entry["kind"] == "human_library"
    assert entry["timezone"] == "America/Chicago"
    assert entry["venue"] == "Community Room"
    assert entry["hosts"] == [
        {"name": "Riverside Public Library", "role": "host"},
        {"name": "Riverside Literacy Council", "role": "co-host"},
        {"name": "Corner Bakery", "role": "sponsor"},
    ]


@pytest.mark.parametrize(
    ("zone", "utc_start", "local_start", "local_end"),
    [
        # Chicago in summer is UTC-5, in winter UTC-6; Berlin in winter is UTC+1.
        ("America/Chicago", datetime(2030, 7, 1, 15, 0), "2030-07-01T10:00:00-05:00",
         "2030-07-01T16:00:00-05:00"),
        ("America/Chicago", datetime(2030, 1, 15, 16, 0), "2030-01-15T10:00:00-06:00",
         "2030-01-15T16:00:00-06:00"),
        ("Europe/Berlin", datetime(2030, 1, 15, 9, 0), "2030-01-15T10:00:00+01:00",
         "2030-01-15T16:00:00+01:00"),
    ],
)
def test_event_times_are_iso_8601_with_the_event_zone_offset(
    client, make_event, zone, utc_start, local_start, local_end
):
    start = utc_start.replace(tzinfo=timezone.utc)
    event = make_event(timezone=zone, starts_at=start, ends_at=start + timedelta(hours=6))

    [entry] = client.get("/api/v1/events").get_json()
    detail = client.get(f"/api/v1/events/{event.slug}").get_json()

    assert (entry["starts_at"], entry["ends_at"]) == (local_start, local_end)
    assert (detail["starts_at"], detail["ends_at"]) == (local_start, local_end)
    assert datetime.fromisoformat(entry["starts_at"]) == start


# GET /api/v1/events/<slug> ------------------------------------------------------------------


def test_event_details_list_approved_books_and_sessions_only(
    client, make_event, make_book, make_session, make_slot, make_partner
):
    event = make_event(agreement_text=AGREEMENT)
    council = make_partner("Literacy Council")
    refugee = make_book(council, title="Refugee", blurb="Starting over.", topics=["migration"],
                        languages=["en", "ar"], content_notes="Mentions war.")
    pending = make_book(title="Not yet approved", listing_status=ListingStatus.SUBMITTED)
    make_slot(event, book=refugee)
    make_slot(event, book=pending)
    workshop = make_session(event, council, title="Host your own Human Library",
                            language="es", audience="Adults")
    make_session(event, title="Draft workshop", listing_status=ListingStatus.DRAFT)

    response = client.get(f"/api/v1/events/{event.slug}")

    assert response.status_code == 200
    detail = response.get_json()
    assert detail["slug"] == event.slug
    assert detail["status"] == "published"
    assert detail["agreement"] == {"version": 1, "text": AGREEMENT}
    assert detail["books"] == [
        {
            "id": refugee.id,
            "title": "Refugee",
            "blurb": "Starting over.",
            "topics": ["migration"],
            "languages": ["en", "ar"],
            "content_notes": "Mentions war.",
            "partner": "Literacy Council",
        }
    ]
    assert detail["sessions"] == [
        {
            "id": workshop.id,
            "title": "Host your own Human Library",
            "description": "",
            "language": "es",
            "audience": "Adults",
            "presenter": "Literacy Council",
        }
    ]


def test_a_cancelled_event_stays_readable_and_says_so(client, make_event):
    event = make_event(status=EventStatus.CANCELLED)

    detail = client.get(f"/api/v1/events/{event.slug}").get_json()

    assert detail["status"] == "cancelled"


@pytest.mark.parametrize("path", ["/api/v1/events/{slug}", "/api/v1/events/{slug}/slots"])
def test_unknown_or_draft_event_is_a_json_404(client, make_event, path):
    draft = make_event(status=EventStatus.DRAFT)

    assert_error(client.get(path.format(slug="no-such-event")), 404)
    assert_error(client.get(path.format(slug=draft.slug)), 404)


def test_no_api_answer_reveals_a_volunteer_or_a_patron(
    client, make_event, make_book, make_slot, make_session
):
    event = make_event(agreement_text=AGREEMENT)
    approved = make_book(volunteer_name="Zebulon Quartermaine",
                         volunteer_email="zq.private@volunteers.example")
    hidden = make_book(volunteer_name="Hortensia Vantablack",
                       volunteer_email="hv.private@volunteers.example",
                       listing_status=ListingStatus.SUBMITTED)
    slot = make_slot(event, book=approved)
    make_slot(event, book=hidden)
    make_session(event)
    secrets = ["Zebulon", "Quartermaine", "zq.private", "Hortensia", "Vantablack", "hv.private",
               "Patience Patronne", "patience@example.org"]

    booked = post_booking(client, slot.id, name="Patience Patronne",
                          email="patience@example.org", accept_agreement=True)
    assert booked.status_code == 201
    waitlisted = post_booking(client, slot.id, name="Patience Patronne",
                              email="patience@example.org", accept_agreement=True)
    answers = [
        booked,
        waitlisted,
        client.get("/api/v1/events"),
        client.get(f"/api/v1/events/{event.slug}"),
        client.get(f"/api/v1/events/{event.slug}/slots"),
        client.get("/api/v1/openapi.json"),
        client.post(f"/api/v1/bookings/{token_from(booked.get_json()['manage_url'])}/cancel"),
    ]

    for answer in answers:
        text = answer.get_data(as_text=True)
        assert not [s for s in secrets if s.lower() in text.lower()], answer.request.path


# GET /api/v1/events/<slug>/slots -----------------------------------------------------------


def test_slots_have_the_documented_shape_with_seats_left_and_waitlist(
    client, make_event, make_book, make_session, make_slot
):
    event = make_event(starts_at=datetime(2030, 7, 1, 15, 0, tzinfo=timezone.utc))
    book = make_book(title="Retired military")
    reading = make_slot(event, book=book, capacity=1)
    workshop = make_session(event, title="Storytime")
    session_slot = make_slot(event, session=workshop, capacity=20,
                             starts_at=event.starts_at + timedelta(hours=3), minutes=90)
    assert post_booking(client, reading.id).get_json()["status"] == "confirmed"
    assert post_booking(client, reading.id, email="bo@example.org").get_json()["status"] == (
        "waitlisted"
    )

    response = client.get(f"/api/v1/events/{event.slug}/slots")

    assert response.status_code == 200
    first, second = response.get_json()
    assert {k: v for k, v in first.items() if k != "status"} == {
        "id": reading.id,
        "resource": {"type": "book", "id": book.id, "title": "Retired military"},
        "starts_at": "2030-07-01T11:00:00-05:00",
        "ends_at": "2030-07-01T11:30:00-05:00",
        "capacity": 1,
        "available": 0,
        "waitlist": 1,
    }
    assert second["id"] == session_slot.id
    assert second["resource"] == {"type": "session", "id": workshop.id, "title": "Storytime"}
    assert (second["starts_at"], second["ends_at"]) == (
        "2030-07-01T13:00:00-05:00", "2030-07-01T14:30:00-05:00"
    )
    assert (second["capacity"], second["available"], second["waitlist"]) == (20, 20, 0)


def test_slots_of_unapproved_books_and_cancelled_slots_are_not_listed(
    client, make_event, make_book, make_slot
):
    event = make_event()
    shown = make_slot(event)
    make_slot(event, book=make_book(listing_status=ListingStatus.SUBMITTED))
    make_slot(event, status=SlotStatus.CANCELLED)

    slots = client.get(f"/api/v1/events/{event.slug}/slots").get_json()

    assert [s["id"] for s in slots] == [shown.id]


# POST /api/v1/slots/<id>/bookings: success --------------------------------------------------


def test_booking_returns_201_with_manage_and_calendar_links_that_work(app, client, db, make_slot):
    assert app.config["WTF_CSRF_ENABLED"] is True  # the API must work without a CSRF token
    slot = make_slot(capacity=2)

    response = post_booking(client, slot.id)

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "status", "manage_url", "ics_url"}
    assert body["status"] == "confirmed"
    booking = db.session.get(Booking, body["id"])
    assert (booking.patron_email, booking.status) == ("ada@example.org", BookingStatus.CONFIRMED)
    assert seats_taken(db, slot.id) == 1

    manage_page = client.get(body["manage_url"])
    assert manage_page.status_code == 200
    calendar = client.get(body["ics_url"])
    assert calendar.status_code == 200
    assert calendar.mimetype == "text/calendar"
    assert calendar.get_data(as_text=True).startswith("BEGIN:VCALENDAR")


def test_booking_a_full_slot_joins_its_waitlist(client, db, make_slot):
    slot = make_slot(capacity=1)
    post_booking(client, slot.id, email="first@example.org")

    response = post_booking(client, slot.id, email="second@example.org")

    assert response.status_code == 201
    assert response.get_json()["status"] == "waitlisted"
    assert seats_taken(db, slot.id) == 1


def test_booking_several_seats_up_to_the_event_limit(client, db, make_event, make_slot):
    slot = make_slot(make_event(max_seats_per_booking=3), capacity=3)

    response = post_booking(client, slot.id, seats=3)

    assert response.status_code == 201
    assert seats_taken(db, slot.id) == 3


def test_reader_agreement_accepted_is_recorded_on_the_booking(client, db, make_event, make_slot):
    slot = make_slot(make_event(agreement_text=AGREEMENT, agreement_version=4))

    response = post_booking(client, slot.id, accept_agreement=True)

    assert response.status_code == 201
    assert db.session.get(Booking, response.get_json()["id"]).agreement_version == 4


def test_a_program_event_needs_no_reader_agreement(client, make_event, make_slot):
    slot = make_slot(make_event(kind=EventKind.PROGRAM, agreement_text=AGREEMENT))

    assert post_booking(client, slot.id).status_code == 201


# POST /api/v1/slots/<id>/bookings: refusals -------------------------------------------------


def _closed_slot(make_event, make_slot, client):
    return make_slot(status=SlotStatus.CLOSED)


def _past_slot(make_event, make_slot, client):
    return make_slot(starts_at=utcnow() - timedelta(hours=1))


def _slot_of_cancelled_event(make_event, make_slot, client):
    return make_slot(make_event(status=EventStatus.CANCELLED))


def _registration_closed(make_event, make_slot, client):
    return make_slot(make_event(registration_closes_at=utcnow() - timedelta(minutes=1)))


def _registration_not_open(make_event, make_slot, client):
    return make_slot(make_event(registration_opens_at=utcnow() + timedelta(days=1)))


def _overlapping(make_event, make_slot, client):
    event = make_event()
    taken = make_slot(event, minutes=30)
    assert post_booking(client, taken.id).status_code == 201
    return make_slot(event, starts_at=taken.starts_at + timedelta(minutes=15))


def _over_patron_limit(make_event, make_slot, client):
    event = make_event(max_bookings_per_patron=1)
    taken = make_slot(event)
    assert post_booking(client, taken.id).status_code == 201
    return make_slot(event, starts_at=taken.starts_at + timedelta(hours=2))


def _already_booked(make_event, make_slot, client):
    slot = make_slot(capacity=3)
    assert post_booking(client, slot.id, email="ADA@example.org").status_code == 201
    return slot


@pytest.mark.parametrize(
    "refused_slot",
    [_closed_slot, _past_slot, _slot_of_cancelled_event, _registration_closed,
     _registration_not_open, _overlapping, _over_patron_limit, _already_booked],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_slot_that_cannot_be_booked_is_a_409_and_changes_nothing(
    client, db, make_event, make_slot, refused_slot
):
    slot = refused_slot(make_event, make_slot, client)
    before = (booking_count(db), seats_taken(db, slot.id))

    response = post_booking(client, slot.id)

    assert_error(response, 409)
    assert (booking_count(db), seats_taken(db, slot.id)) == before


def test_a_slot_of_a_draft_event_is_unknown_to_the_public(client, db, make_event, make_slot):
    # A draft event is not public (its page and slots are 404), so neither are its slots.
    slot = make_slot(make_event(status=EventStatus.DRAFT))

    assert_error(post_booking(client, slot.id), 404)
    assert booking_count(db) == 0


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("name", {"email": "ada@example.org"}),
        ("name", {"name": "   ", "email": "ada@example.org"}),
        ("name", {"name": 42, "email": "ada@example.org"}),
        ("email", {"name": "Ada"}),
        ("email", {"name": "Ada", "email": "not-an-email"}),
        ("email", {"name": "Ada", "email": ["ada@example.org"]}),
        ("seats", {**PATRON, "seats": 0}),
        ("seats", {**PATRON, "seats": -1}),
        ("seats", {**PATRON, "seats": "2"}),
        ("seats", {**PATRON, "seats": True}),
        ("seats", {**PATRON, "seats": 1.5}),
        ("seats", {**PATRON, "seats": None}),
        ("seats", {**PATRON, "seats": 3}),
        ("accept_agreement", {**PATRON}),
        ("accept_agreement", {**PATRON, "accept_agreement": False}),
        ("accept_agreement", {**PATRON, "accept_agreement": "yes"}),
        ("accessibility_needs", {**PATRON, "accept_agreement": True,
                                 "accessibility_needs": {"wheelchair": True}}),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_invalid_fields_are_a_422_naming_the_field_and_change_nothing(
    client, db, make_event, make_slot, field, body
):
    # A Human Library event with a reader agreement; at most 2 seats a booking.
    slot = make_slot(make_event(agreement_text=AGREEMENT, max_seats_per_booking=2), capacity=3)

    response = post_booking(client, slot.id, body=body)

    assert_field_errors(response, field)
    assert (booking_count(db), seats_taken(db, slot.id)) == (0, 0)


def test_every_invalid_field_is_reported_at_once(client, make_slot):
    slot = make_slot()

    response = post_booking(client, slot.id, body={"name": "", "email": "nope", "seats": 0})

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"name", "email", "seats"}


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ('{"name": "Ada", "email": ', "application/json"),
        ("", "application/json"),
        ("null", "application/json"),
        ('[{"name": "Ada", "email": "ada@example.org"}]', "application/json"),
        ('"Ada <ada@example.org>"', "application/json"),
        ("42", "application/json"),
        ("name=Ada&email=ada%40example.org", "application/x-www-form-urlencoded"),
        ('{"name": "Ada", "email": "ada@example.org"}', "text/plain"),
        ('{"name": "Ada", "email": "ada@example.org"}', None),
    ],
    ids=["malformed", "empty", "null", "list", "string", "number", "form", "text-plain",
         "no-content-type"],
)
def test_a_body_that_is_not_a_json_object_is_a_400_and_changes_nothing(
    client, db, make_slot, data, content_type
):
    slot = make_slot()

    response = client.post(
        f"/api/v1/slots/{slot.id}/bookings", data=data, content_type=content_type
    )

    assert_error(response, 400)
    assert booking_count(db) == 0


@pytest.mark.parametrize("slot_id", ["999999", "2147483648", "99999999999999999999999"])
def test_booking_an_unknown_slot_is_a_json_404(client, db, slot_id):
    assert_error(client.post(f"/api/v1/slots/{slot_id}/bookings", json=PATRON), 404)
    assert booking_count(db) == 0


def test_a_slot_of_an_unapproved_book_is_unknown_to_the_public(client, db, make_book, make_slot):
    slot = make_slot(book=make_book(listing_status=ListingStatus.SUBMITTED))

    assert_error(post_booking(client, slot.id), 404)
    assert booking_count(db) == 0


def test_a_body_over_the_size_limit_is_a_json_413_not_a_500(app, client, db, make_slot):
    slot = make_slot()
    oversized = app.config["MAX_CONTENT_LENGTH"] + 1
    body = '{"name": "Ada", "email": "ada@example.org", "accessibility_needs": "%s"}' % (
        "x" * oversized
    )

    response = client.post(
        f"/api/v1/slots/{slot.id}/bookings", data=body, content_type="application/json"
    )

    assert_error(response, 413)
    assert booking_count(db) == 0


@pytest.mark.parametrize(
    "body",
    [
        {**PATRON, "name": "A" * 10_000},
        {**PATRON, "email": "a" * 300 + "@example.org"},
        {**PATRON, "seats": 10**40},
        {**PATRON, "accessibility_needs": "x" * 10_000},
        {"name": {"first": "Ada"}, "email": 7, "seats": [], "accept_agreement": None},
        {**PATRON, "email": "ada\u0000@example.org"},
    ],
    ids=["long-name", "long-email", "huge-seats", "long-needs", "wrong-types", "nul-email"],
)
def test_odd_input_gets_a_clear_answer_never_a_500(client, db, make_slot, body):
    slot = make_slot()

    response = post_booking(client, slot.id, body=body)

    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"]
    assert booking_count(db) == 0


# POST /api/v1/bookings/<token>/cancel --------------------------------------------------------


def test_cancelling_frees_the_seat_and_a_second_cancel_is_a_409(client, db, make_slot):
    slot = make_slot(capacity=1)
    token = token_from(post_booking(client, slot.id).get_json()["manage_url"])

    response = client.post(f"/api/v1/bookings/{token}/cancel")

    assert response.status_code == 200
    assert response.get_json() == {"status": "cancelled"}
    assert seats_taken(db, slot.id) == 0
    assert db.session.scalar(sa.select(Booking.status)) == BookingStatus.CANCELLED

    assert_error(client.post(f"/api/v1/bookings/{token}/cancel"), 409)
    assert seats_taken(db, slot.id) == 0


def test_cancelling_gives_the_seat_to_the_first_on_the_waitlist(client, db, make_slot):
    slot = make_slot(capacity=1)
    first = post_booking(client, slot.id, email="first@example.org").get_json()
    waiting = post_booking(client, slot.id, email="second@example.org").get_json()

    client.post(f"/api/v1/bookings/{token_from(first['manage_url'])}/cancel")

    assert db.session.get(Booking, waiting["id"]).status == BookingStatus.CONFIRMED
    [listed] = client.get(f"/api/v1/events/{slot.event.slug}/slots").get_json()
    assert (listed["available"], listed["waitlist"]) == (0, 0)


@pytest.mark.parametrize("token", ["x" * 43, "short", "A" * 128])
def test_cancelling_with_an_unknown_token_is_a_json_404(client, db, make_slot, token):
    slot = make_slot()
    post_booking(client, slot.id)

    assert_error(client.post(f"/api/v1/bookings/{token}/cancel"), 404)
    assert seats_taken(db, slot.id) == 1


def test_cancelling_after_the_reading_started_is_a_409(client, db, make_slot):
    slot = make_slot()
    token = token_from(post_booking(client, slot.id).get_json()["manage_url"])
    db.session.execute(
        sa.update(Slot).where(Slot.id == slot.id).values(
            starts_at=utcnow() - timedelta(minutes=5), ends_at=utcnow() + timedelta(minutes=25)
        )
    )
    db.session.commit()

    assert_error(client.post(f"/api/v1/bookings/{token}/cancel"), 409)
    assert seats_taken(db, slot.id) == 1


# Methods and unknown paths -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/api/v1/slots/{slot}/bookings", "POST"),
        ("get", "/api/v1/bookings/{token}/cancel", "POST"),
        ("post", "/api/v1/events", "GET"),
        ("delete", "/api/v1/events/{slug}", "GET"),
        ("put", "/api/v1/openapi.json", "GET"),
    ],
)
def test_a_wrong_method_is_a_json_405_naming_the_allowed_ones(
    client, make_slot, method, path, allowed
):
    slot = make_slot()
    token = token_from(post_booking(client, slot.id).get_json()["manage_url"])
    url = path.format(slot=slot.id, token=token, slug=slot.event.slug)

    response = getattr(client, method)(url)

    assert_error(response, 405)
    assert allowed in response.headers["Allow"]


def test_an_unknown_api_path_is_a_json_404(client):
    assert_error(client.get("/api/v1/no-such-thing"), 404)


def test_too_many_booking_requests_from_one_address_get_a_json_429(app_config, db, make_slot):
    from booking import create_app

    slot_id = make_slot(capacity=5).id
    db.session.rollback()  # end this session's transaction: the other app needs the write lock
    throttled = create_app({**app_config, "RATELIMIT_ENABLED": True,
                            "BOOKING_RATE_LIMIT": "2 per minute"})
    client = throttled.test_client()
    try:
        answers = [
            client.post(f"/api/v1/slots/{slot_id}/bookings",
                        json={**PATRON, "email": f"patron{n}@example.org"})
            for n in range(3)
        ]
    finally:
        with throttled.app_context():
            db.engine.dispose()

    assert [a.status_code for a in answers[:2]] == [201, 201]
    assert_error(answers[2], 429)
    assert booking_count(db) == 2
