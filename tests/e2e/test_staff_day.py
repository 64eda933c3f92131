"""Issue 5's "done when", end to end on the demo data: a staff member sets up a co-hosted
Human Library event with partners, publishes it, runs the desk through a day (bookings,
walk-ins, check-ins, no-shows) and prints the partner impact report; every e-mail on the way
lands in the outbox with a valid calendar invitation.

Everything goes over HTTP with CSRF on, as people would use the app. The views read the real
clock and the desk opens check-in 30 minutes before a reading, so the event happens now: it
starts a few minutes from now, in a time zone where it is office hours at the moment.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask.testing import FlaskClient
from icalendar import Calendar

from booking.demo import seed_demo
from booking.services.outbox.mailer import compose
from booking.domain.models import Booking, BookingStatus, HumanBook, OutboxMessage, Partner
from support import csrf_token_from

PASSWORD = "demo password"
#: Zones spread round the globe: at any hour, one of them is in office hours.
ZONES = ("Pacific/Honolulu", "America/Chicago", "Europe/London", "Asia/Kolkata", "Asia/Tokyo",
         "Australia/Sydney")
AGREEMENT = "Be kind; the book may decline any question; no recording."


class NoServerErrors(FlaskClient):
    """A browser that fails the test on any answer of 500 or above."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        assert response.status_code < 500, (args, response.get_data(as_text=True)[:2000])
        return response


# Helpers: what a browser does -------------------------------------------------------------


def submit(client, page_url: str, fields: dict, *, action: str | None = None):
    """Open a page, then POST its form with the page's own CSRF token."""
    page = client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(action or page_url, data={"csrf_token": token, **fields})


def sign_in(client, email: str) -> None:
    response = submit(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)


def office_hours_zone(now: datetime) -> ZoneInfo:
    """The first zone where it is now between 08:00 and 17:00, so the day fits in one date."""
    for name in ZONES:
        if 8 <= now.astimezone(ZoneInfo(name)).hour < 17:
            return ZoneInfo(name)
    raise AssertionError(f"no zone is in office hours at {now}")


def next_five_minutes(now: datetime, zone: ZoneInfo) -> datetime:
    """Local wall-clock time a few minutes from now, on a multiple of five minutes (naive)."""
    soon = now.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    soon += timedelta(minutes=5)
    return soon + timedelta(minutes=-soon.minute % 5)


def local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def window(starts: datetime, ends: datetime, *, minutes: int, gap: int, readers: int) -> dict:
    """The availability form's fields for one window (local times)."""
    return {"day": starts.date().isoformat(), "starts": f"{starts:%H:%M}",
            "ends": f"{ends:%H:%M}", "reading_minutes": str(minutes),
            "break_minutes": str(gap), "readers": str(readers), "rest_after": "",
            "rest_minutes": "0"}


def readings_of(client, slug: str, title: str) -> list[dict]:
    """A book's readings at an event, in time order, from the public API."""
    slots = client.get(f"/api/v1/events/{slug}/slots").get_json()
    return sorted((s for s in slots if s["resource"]["title"] == title),
                  key=lambda s: s["starts_at"])


def book(app, reading: dict, name: str, email: str) -> tuple[str, str]:
    """A patron books on the public form; returns where it led and the manage link."""
    patron = app.test_client()
    response = submit(patron, f"/slots/{reading['id']}/book", {
        "name": name, "email": email, "seats": "1", "accept_agreement": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    confirmation = response.headers["Location"]
    token = re.fullmatch(r"/bookings/([^/]+)/confirmation", confirmation).group(1)
    return patron.get(confirmation).get_data(as_text=True), f"/bookings/{token}"


def desk_form_for(page: str, patron_name: str) -> str:
    """The action of the marks form next to a patron's name on the desk."""
    match = re.search(r'<span class="desk-patron">\s*' + re.escape(patron_name)
                      + r'.*?action="(/desk/[^"]+/bookings/\d+)"', page, re.S)
    assert match, f"{patron_name} has no buttons on the desk"
    return match.group(1)


def mark(staff, slug: str, patron_name: str, choice: str) -> str:
    """Tap Checked in, No-show or Undo for a patron; return the desk's message."""
    desk = f"/desk/{slug}"
    action = desk_form_for(staff.get(desk).get_data(as_text=True), patron_name)
    response = submit(staff, desk, {"mark": choice}, action=action)
    assert response.status_code == 303
    return staff.get(response.headers["Location"]).get_data(as_text=True)


def booking_of(db, email: str) -> Booking:
    db.session.expire_all()  # the requests shared this session; read what they committed
    return db.session.scalar(sa.select(Booking).where(Booking.patron_email == email))


def figures(html: str) -> dict[str, str]:
    """The impact page's key figures, as shown."""
    return dict(re.findall(r"<div><dt>(.*?)</dt><dd>(.*?)</dd></div>", html, re.S))


def parts(email: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in email.walk()
            if not part.is_multipart() and part.get_content_disposition() != "attachment"}


def invitation(email: EmailMessage, zone: str):
    """The checked calendar of an e-mail, shown inline and attached: (METHOD, SEQUENCE)."""
    (attached,) = [part.get_content() for part in email.iter_attachments()
                   if part.get_content_type() == "application/ics"]
    # A text part's lines read back with "\n" ends; the attachment keeps iCalendar's CRLF.
    assert attached.decode().replace("\r\n", "\n") == parts(email)["text/calendar"]
    calendar = Calendar.from_ical(attached)
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["ORGANIZER"] and vevent["ATTENDEE"]
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == [zone]
    assert vevent["DTSTART"].params["TZID"] == zone
    return str(calendar["METHOD"]), int(vevent["SEQUENCE"])


# The day -----------------------------------------------------------------------------------


def test_staff_set_up_a_co_hosted_day_run_the_desk_and_print_the_partner_impact(app, db):
    app.test_client_class = NoServerErrors
    now = datetime.now(timezone.utc)
    seed_demo(password=PASSWORD, today=now)
    partner = {p.slug: p for p in db.session.scalars(sa.select(Partner))}
    literacy = partner["riverside-literacy"]
    own_book = db.session.scalar(sa.select(HumanBook).where(
        HumanBook.title == "Learned to read at 40"))
    their_book = db.session.scalar(sa.select(HumanBook).where(
        HumanBook.title == "Retired military"))
    zone = office_hours_zone(now)
    starts = next_five_minutes(now, zone)

    # 1. Staff create the event as a draft, name its partners, give two books readings for
    # their partners (`?partner=`), and publish it.
    staff = app.test_client()
    sign_in(staff, "staff@demo.example")
    created = submit(staff, "/staff/events/new", {
        "title": "Human Library Pop-up", "slug": "", "kind": "human_library",
        "description": "Borrow a person for twenty minutes.", "venue": "Riverside Library, Hall",
        "accessibility_notes": "Step-free entrance.", "timezone": zone.key,
        "starts": local(starts), "ends": local(starts + timedelta(hours=3)),
        "registration_opens": "", "registration_closes": "",
        "max_bookings_per_patron": "3", "max_seats_per_booking": "1",
        "agreement_text": AGREEMENT,
    })
    assert created.status_code == 303, created.get_data(as_text=True)
    overview = created.headers["Location"]
    slug = overview.rsplit("/", 1)[1]
    assert "draft" in staff.get(overview).get_data(as_text=True)

    hosts = submit(staff, f"/staff/events/{slug}/hosts", {
        f"partner_{partner['riverside-library'].id}": "host",
        f"partner_{literacy.id}": "co-host",
        f"partner_{partner['veterans-network'].id}": "sponsor",
    })
    assert hosts.status_code == 303, hosts.get_data(as_text=True)
    page = staff.get(overview).get_data(as_text=True)
    assert "Riverside Literacy Council (co-host)" in page
    assert "Veterans&#39; Community Network (sponsor)" in page

    # The literacy council's book reads one-to-one first (a waitlist will form), then to two
    # readers at once (room for a walk-in). Both readings start within the desk's 30 minutes
    # of check-in; the veterans' second reading is far enough off for staff to cancel it.
    own_windows = f"/partner/books/{own_book.id}/events/{slug}/availability?partner={literacy.id}"
    assert own_windows.split("?")[0] in page  # the overview links to each book's availability
    for spec in (window(starts, starts + timedelta(minutes=20), minutes=20, gap=0, readers=1),
                 window(starts + timedelta(minutes=20), starts + timedelta(minutes=40),
                        minutes=20, gap=0, readers=2)):
        assert submit(staff, own_windows, spec).status_code == 303
    their_windows = (f"/partner/books/{their_book.id}/events/{slug}/availability"
                     f"?partner={partner['veterans-network'].id}")
    saved = submit(staff, their_windows, window(starts, starts + timedelta(minutes=70),
                                                minutes=30, gap=10, readers=2))
    assert saved.status_code == 303

    published = submit(staff, f"/staff/events/{slug}/publish", {})
    assert published.status_code == 303
    assert "published" in staff.get(overview).get_data(as_text=True)

    # 2. Patrons book on the public event page: the one-reader reading fills and a waitlist
    # forms; cancelling with the manage link promotes the waitlisted patron.
    public = app.test_client()
    event_page = public.get(f"/events/{slug}").get_data(as_text=True)
    first, second = readings_of(public, slug, own_book.title)
    _, their_second = readings_of(public, slug, their_book.title)
    assert (first["capacity"], second["capacity"], their_second["capacity"]) == (1, 2, 2)
    for reading in (first, second, their_second):
        assert f"/slots/{reading['id']}/book" in event_page
    assert first["starts_at"] == starts.replace(tzinfo=zone).isoformat()

    page, alice_link = book(app, first, "Alice Reader", "alice@example.org")
    assert booking_of(db, "alice@example.org").status == BookingStatus.CONFIRMED
    page, _ = book(app, first, "Bob Reader", "bob@example.org")
    assert "waitlist" in page
    assert booking_of(db, "bob@example.org").status == BookingStatus.WAITLISTED
    book(app, second, "Carol Reader", "carol@example.org")
    book(app, their_second, "Dan Reader", "dan@example.org")

    alice = app.test_client()
    assert submit(alice, f"{alice_link}/cancel", {}).status_code == 303
    assert booking_of(db, "alice@example.org").status == BookingStatus.CANCELLED
    assert booking_of(db, "bob@example.org").status == BookingStatus.CONFIRMED

    # 3. The desk: check-in, a no-show tapped, undone and tapped again, a walk-in seated and
    # checked in at once. Staff cancel a later reading that holds a booking, with a reason.
    desk = staff.get(f"/desk/{slug}").get_data(as_text=True)
    assert own_book.title in desk and their_book.title in desk
    assert "Alice Reader" not in desk  # cancelled bookings leave the desk
    assert "Bob Reader is checked in." in mark(staff, slug, "Bob Reader", "attended")
    assert "Carol Reader is marked as a no-show." in mark(staff, slug, "Carol Reader", "no_show")
    assert "Carol Reader is back to confirmed." in mark(staff, slug, "Carol Reader", "undo")
    assert booking_of(db, "carol@example.org").status == BookingStatus.CONFIRMED
    mark(staff, slug, "Carol Reader", "no_show")
    assert booking_of(db, "carol@example.org").status == BookingStatus.NO_SHOW

    prefix = f"walk-in-{second['id']}-"
    walked_in = submit(staff, f"/desk/{slug}", {
        prefix + "name": "Walter Walk-in", prefix + "email": "", prefix + "seats": "1",
        prefix + "check_in": "y", prefix + "accept_agreement": "y",
    }, action=f"/desk/{slug}/readings/{second['id']}/walk-ins")
    assert walked_in.status_code == 303, walked_in.get_data(as_text=True)
    assert "Walter Walk-in is booked in as a walk-in and checked in." in staff.get(
        walked_in.headers["Location"]).get_data(as_text=True)
    walter = db.session.scalar(sa.select(Booking).where(Booking.patron_name == "Walter Walk-in"))
    assert walter.walk_in and walter.status == BookingStatus.ATTENDED

    cancel_reading = f"/staff/events/{slug}/cancel-reading?slot={their_second['id']}"
    assert cancel_reading in staff.get(overview).get_data(as_text=True)
    cancelled = submit(staff, cancel_reading, {"reason": "The book is unwell today."})
    assert cancelled.status_code == 303
    dan = booking_of(db, "dan@example.org")
    assert dan.status == BookingStatus.CANCELLED and dan.cancel_reason == "The book is unwell today."

    # 4. The literacy council's impact page shows what happened to its book; the staff CSV
    # has the event's row; the page prints without its filters.
    impact = staff.get(f"/staff/reports/partners/{literacy.id}/impact?event={walter.event_id}")
    html = impact.get_data(as_text=True)
    assert impact.status_code == 200
    expected = {"Readings": "2", "Seats booked": "3 of 3", "Readers reached": "2",
                "Waitlist demand": "1 booking", "Attendance rate": "67%", "No-show rate": "33%",
                "Walk-ins": "1", "Cancellations": "1"}
    assert expected.items() <= figures(html).items(), figures(html)
    assert ("Riverside Literacy Council took part in 1 event and offered 1 human book, "
            "with 2 readings and 3 seats.") in html
    assert "2 readers attended, including 1 walk-in booking at the desk." in html
    assert "1 booking joined a waitlist." in html
    assert 'class="no-print"' in html and "/static/css/site.css" in html
    assert "@media print" in staff.get("/static/css/site.css").get_data(as_text=True)

    export = staff.get("/staff/reports/events.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    (row,) = [r for r in csv.DictReader(io.StringIO(export.get_data(as_text=True)))
              if r["event"] == "Human Library Pop-up"]
    assert {name: row[name] for name in (
        "readings", "capacity (seats)", "bookings", "waitlist demand (bookings)", "attended",
        "no-shows", "walk-ins", "cancellations")} == {
        "readings": "3", "capacity (seats)": "5", "bookings": "3",
        "waitlist demand (bookings)": "1", "attended": "2", "no-shows": "1", "walk-ins": "1",
        "cancellations": "2"}
    for host in ("Riverside Public Library (host)", "Riverside Literacy Council (co-host)",
                 "Veterans' Community Network (sponsor)"):
        assert host in row["hosts"]

    # 5. Every e-mail renders as text and HTML; each booking's carries an iTIP invitation
    # whose cancellation outranks the invitation before it. The walk-in gave no address.
    db.session.expire_all()
    messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.kind, m.to_email) for m in messages] == [
        ("booking_confirmed", "alice@example.org"),
        ("booking_waitlisted", "bob@example.org"),
        ("booking_confirmed", "carol@example.org"),
        ("booking_confirmed", "dan@example.org"),
        ("waitlist_promoted", "bob@example.org"),  # queued in the same step as Alice's
        ("booking_cancelled", "alice@example.org"),
        ("booking_cancelled", "dan@example.org"),
    ]
    sequences: dict[int, list[tuple[str, int]]] = {}
    for message in messages:
        email = compose(message, now=message.created_at)
        assert email.get_content_type() == "multipart/mixed"
        rendered = parts(email)
        assert {"text/plain", "text/html", "text/calendar"} <= rendered.keys()
        method, sequence = invitation(email, zone.key)
        assert method == ("CANCEL" if message.kind == "booking_cancelled" else "REQUEST")
        sequences.setdefault(message.booking_id, []).append((method, sequence))
    for booking_id, calendar in sequences.items():
        requests = [seq for method, seq in calendar if method == "REQUEST"]
        cancels = [seq for method, seq in calendar if method == "CANCEL"]
        assert all(cancel > max(requests) for cancel in cancels), calendar
    staff_cancellation = compose(messages[-1], now=messages[-1].created_at)
    assert "The book is unwell today." in parts(staff_cancellation)["text/plain"]
