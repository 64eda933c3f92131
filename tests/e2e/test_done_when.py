"""Issue 3's "done when", end to end on the demo data: add a window, see its readings in
public, book one, change the window without losing the booking silently, stay on one's own
partner."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.demo import DEMO_EVENT_SLUG, seed_demo
from booking.domain.models import Booking, BookingStatus, Event, HumanBook, ListingStatus, OutboxMessage, Partner, ProgramSession
from support import confirmation_fields, csrf_token_from

PASSWORD = "demo password"


def sign_in(client, email):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": csrf_token_from(page), "email": email,
                                           "password": PASSWORD})
    assert response.status_code == 303


def test_a_volunteer_adds_a_window_a_patron_books_it_and_a_change_asks_before_cancelling(
        app, db, now):
    seed_demo(password=PASSWORD, today=now)
    event = db.session.scalar(sa.select(Event).where(Event.slug == DEMO_EVENT_SLUG))
    book = db.session.scalar(sa.select(HumanBook).where(HumanBook.title == "Learned to read at 40"))
    zone = ZoneInfo(event.timezone)
    day = event.starts_at.astimezone(zone).date()
    late = datetime.combine(day, datetime.strptime("15:30", "%H:%M").time()).replace(tzinfo=zone)

    volunteer = app.test_client()
    sign_in(volunteer, "volunteer@demo.example")
    url = f"/me/events/{event.slug}/availability"
    page = volunteer.get(url).get_data(as_text=True)
    window = {"csrf_token": csrf_token_from(page), "day": day.isoformat(), "starts": "15:30",
              "ends": "16:00", "reading_minutes": "30", "break_minutes": "0", "readers": "1",
              "rest_minutes": "0"}
    assert volunteer.post(url, data=window).status_code == 303

    # The new reading is public: on the event page and in the API.
    public = app.test_client()
    slots = public.get(f"/api/v1/events/{event.slug}/slots").get_json()
    reading = next(s for s in slots if s["resource"] == {"type": "book", "id": book.id,
                                                         "title": book.title}
                   and s["starts_at"] == late.isoformat())
    assert reading["available"] == 1
    assert f"/slots/{reading['id']}/book" in public.get(f"/events/{event.slug}").get_data(as_text=True)

    booked = public.post(f"/api/v1/slots/{reading['id']}/bookings",
                         json={"name": "Rita Reader", "email": "rita@example.org",
                               "accept_agreement": True})
    assert booked.status_code == 201 and booked.get_json()["status"] == "confirmed"

    # Changing the window so that reading goes: first a confirmation that lists the booking.
    page = volunteer.get(f"{url}?edit=1").get_data(as_text=True)
    assert "Change the window" in page and 'value="15:30"' in page
    change = {**window, "csrf_token": csrf_token_from(page), "ends": "15:50",
              "reading_minutes": "20", "replace": "1",
              "replace_start": re.search(r'name="replace_start" value="([^"]+)"', page).group(1)}
    asked = volunteer.post(url, data=change)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 409 and "would cancel 1 booking" in html
    assert "15:30" in html and "Rita Reader" not in html
    booking = db.session.scalar(sa.select(Booking).where(Booking.patron_email == "rita@example.org"))
    assert booking.status == BookingStatus.CONFIRMED

    confirmed = volunteer.post(url, data=confirmation_fields(
        html, reason="The book must leave early."))
    assert confirmed.status_code == 303
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancel_reason == "The book must leave early."
    message = db.session.scalar(sa.select(OutboxMessage).where(
            OutboxMessage.booking_id == booking.id, OutboxMessage.kind != "booking_confirmed"))
    assert message.kind == "booking_cancelled" and message.to_email == "rita@example.org"

    # Another partner's book and session stay out of reach of the demo coordinator.
    veterans = db.session.scalar(sa.select(Partner).where(Partner.slug == "veterans-network"))
    their_book = db.session.scalar(sa.select(HumanBook).where(HumanBook.partner_id == veterans.id))
    their_session = ProgramSession(event_id=event.id, presenter_partner_id=veterans.id,
                                   title="Service stories", listing_status=ListingStatus.APPROVED)
    db.session.add(their_session)
    db.session.commit()
    coordinator = app.test_client()
    sign_in(coordinator, "partner@demo.example")
    for path in (f"/partner/books/{their_book.id}",
                 f"/partner/books/{their_book.id}/events/{event.slug}/availability",
                 f"/partner/sessions/{their_session.id}",
                 f"/partner/sessions/{their_session.id}?partner={veterans.id}"):
        assert coordinator.get(path).status_code in (403, 404), path
    assert volunteer.get(f"/partner/books/{their_book.id}").status_code == 403
