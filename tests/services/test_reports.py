"""Reports: exact figures on a hand-built dataset, filters, CSV, SVG charts, access, queries;
and the personal-data purge, which must leave every report figure as it was."""
from __future__ import annotations

import csv
import io
import itertools
import json
import re
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from booking.domain import charts
from booking.services.outbox import mailer
from booking.services.queries import reports
from booking.domain.models import Booking, BookingStatus, ChangedView, EventStatus, Feedback, HostRole, OutboxMessage, Reflection, Role, SlotStatus
from booking.services.queries.reports import ReportFilter, build_report
from booking.services.retention import purge_personal_data
from support import check_accessible_structure, sign_in_as as sign_in

CHICAGO = ZoneInfo("America/Chicago")
#: The clock every report and purge here is given.
NOW = datetime(2025, 10, 1, 12, 0, tzinfo=timezone.utc)
_patron = itertools.count(1)


def local(year, month, day, hour=10):
    return datetime(year, month, day, hour, tzinfo=CHICAGO).astimezone(timezone.utc)


class Data:
    """What `dataset` built, by name, plus every patron name and e-mail it used."""

    def __init__(self):
        self.patrons: list[str] = []
        #: The books' volunteers: names and e-mails, on the books and on their accounts.
        self.volunteers: list[str] = []


@pytest.fixture
def add_booking(db):
    """A booking in a given state, the slot's seat counter kept in step, with its e-mails."""

    def add_booking(data, slot, status, *, seats=1, walk_in=False, waitlisted=False):
        n = next(_patron)
        # Zero-padded: no patron's name is the start of another's ("…1" and "…14").
        name, email = f"Zelda Quintero{n:05d}", f"zelda.quintero{n:05d}@example.org"
        data.patrons += [name, email]
        booking = Booking(
            slot_id=slot.id, event_id=slot.event_id, patron_name=name, patron_email=email,
            email_normalized=email, seats=seats, status=status, walk_in=walk_in,
            waitlist_position=1 if status == BookingStatus.WAITLISTED else None,
            waitlisted_at=slot.starts_at - timedelta(days=3)
            if waitlisted or status == BookingStatus.WAITLISTED else None,
            manage_token_hash=f"{n:064x}", accessibility_needs=f"Step-free access for {name}",
            created_at=slot.starts_at - timedelta(days=3),
            cancelled_at=slot.starts_at - timedelta(days=1)
            if status == BookingStatus.CANCELLED else None,
        )
        db.session.add(booking)
        db.session.flush()
        if status in reports.SEAT_STATUSES:
            slot.booked += seats
        kinds = ["booking_waitlisted"] if waitlisted or status == BookingStatus.WAITLISTED \
            else ["booking_confirmed"]
        if waitlisted and status in reports.SEAT_STATUSES:
            kinds.append("waitlist_promoted")
        for kind in kinds:
            db.session.add(OutboxMessage(
                kind=kind, to_email=email, booking_id=booking.id,
                payload={"manage_url": f"http://library.test/bookings/t{n}", "name": name},
                created_at=booking.created_at, next_attempt_at=booking.created_at,
                sent_at=booking.created_at))
        db.session.commit()
        return booking

    return add_booking


@pytest.fixture
def feedback(db):
    def feedback(booking, rating, recommend, changed, comment=""):
        db.session.add(Feedback(booking_id=booking.id, event_id=booking.event_id,
                                slot_id=booking.slot_id, rating=rating,
                                would_recommend=recommend, changed_view=changed,
                                comment=comment, submitted_at=NOW - timedelta(days=100)))
        db.session.commit()

    return feedback


#: What the dataset's volunteers wrote, as (went well, was hard).
NIGHT_CLASSES = ("Readers asked about night classes", "")
FORMULA_NOTE = ("", '=HYPERLINK("http://evil.example","tired")')
TWO_AT_ONCE = ("Good questions", "Two readers at once")


@pytest.fixture
def dataset(db, make_partner, make_event, make_book, make_session, make_slot, add_booking,
            feedback, make_user):
    """Three partners, two past events and one upcoming, books, a session, every kind of
    booking, survey answers and reflections; expected figures are worked out in the tests."""
    d = Data()
    d.library, d.council, d.museum = (make_partner("Riverside Library"),
                                      make_partner("Literacy Council"), make_partner("Museum"))
    d.a = make_event(title="Spring Human Library", starts_at=local(2025, 3, 14),
                     ends_at=local(2025, 3, 14, 16), status=EventStatus.FINISHED,
                     hosts=[(d.library, HostRole.HOST), (d.council, HostRole.CO_HOST),
                            (d.museum, HostRole.SPONSOR)])
    d.b = make_event(title="April Human Library", starts_at=local(2025, 4, 11),
                     ends_at=local(2025, 4, 11, 16), hosts=[(d.council, HostRole.HOST)])
    d.c = make_event(title="Autumn Human Library", starts_at=local(2025, 11, 20),
                     ends_at=local(2025, 11, 20, 16), hosts=[(d.museum, HostRole.HOST)])
    books = {}
    for attribute, partner, title, volunteer in (
            ("read40", d.council, "Learned to read at 40", "Vasilisa Okonkwo"),
            ("refugee", d.council, "Refugee", "Yusra Halvorsen"),
            ("guard", d.museum, "Museum guard", "Bartholomew Quist")):
        email = volunteer.lower().replace(" ", ".") + "@volunteers.example"
        book = make_book(partner, title=title, volunteer_name=volunteer, volunteer_email=email)
        account = make_user(email, Role.VOLUNTEER, book=book)
        books[attribute] = book, account
        setattr(d, attribute, book)
        d.volunteers += [volunteer, email, account.name]
    d.read40_volunteer = books["read40"][1]
    d.storytime = make_session(d.b, d.council, title="Family storytime")
    C, A, N, W, X = (BookingStatus.CONFIRMED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW,
                     BookingStatus.WAITLISTED, BookingStatus.CANCELLED)

    a1 = make_slot(d.a, book=d.read40, capacity=2)
    fa1 = add_booking(d, a1, A)
    add_booking(d, a1, N)
    add_booking(d, a1, X, waitlisted=True)
    a2 = make_slot(d.a, book=d.refugee, capacity=2)
    fa2 = add_booking(d, a2, A, walk_in=True)
    add_booking(d, a2, X)
    a3 = make_slot(d.a, book=d.guard, capacity=1)
    fa3 = add_booking(d, a3, A)
    add_booking(d, a3, W)
    a4 = make_slot(d.a, book=d.guard, capacity=1, status=SlotStatus.CANCELLED,
                   starts_at=local(2025, 3, 14, 14))
    add_booking(d, a4, X)
    b1 = make_slot(d.b, book=d.read40, capacity=3)
    fb1 = add_booking(d, b1, A, seats=2, waitlisted=True)
    add_booking(d, b1, N)
    b2 = make_slot(d.b, session=d.storytime, capacity=10, minutes=60,
                   starts_at=local(2025, 4, 11, 13))
    add_booking(d, b2, A, seats=3, walk_in=True)
    fb2 = add_booking(d, b2, A, seats=2)
    add_booking(d, b2, C)
    c1 = make_slot(d.c, book=d.guard, capacity=2)
    add_booking(d, c1, C)

    feedback(fa1, 5, True, ChangedView.YES, "=HYPERLINK(\"http://evil.example\",\"click\")")
    feedback(fa2, 4, True, ChangedView.A_LITTLE, "Very moving conversation.")
    feedback(fa3, 3, False, ChangedView.NO)
    feedback(fb1, 4, True, ChangedView.YES, "+1 would come again")
    feedback(fb2, 2, False, ChangedView.A_LITTLE)
    # Museum guard's was sent before Learned to read at 40's, though stored after it; April's
    # before both, though its event came later.
    for event, book, rating, again, (well, hard), days_ago in (
            (d.a, "read40", 4, True, NIGHT_CLASSES, 90),
            (d.a, "guard", 2, False, FORMULA_NOTE, 95),
            (d.b, "read40", 5, True, TWO_AT_ONCE, 100)):
        book, volunteer = books[book]
        db.session.add(Reflection(event_id=event.id, book_id=book.id, user_id=volunteer.id,
                                  rating=rating, would_return=again, went_well=well,
                                  was_hard=hard, submitted_at=NOW - timedelta(days=days_ago)))
    db.session.commit()
    return d


def counts(f: reports.Figures) -> dict:
    return {k: getattr(f, k) for k in (
        "readings", "readings_held", "capacity", "bookings", "seats", "waitlisted",
        "waitlisted_seats", "attended", "no_show", "readers_reached", "walk_ins", "cancelled",
        "responses", "rating_total", "recommend", "changed_yes", "changed_a_little",
        "reflections", "reflection_rating_total", "would_return")}


def group(groups, label):
    [found] = [g for g in groups if g.label == label]
    return found


# Figures ----------------------------------------------------------------------------------


def test_totals_count_every_kind_of_booking_exactly(dataset):
    report = build_report(ReportFilter(), now=NOW, with_comments=True)
    assert counts(report.totals) == dict(
        readings=6, readings_held=5, capacity=20, bookings=10, seats=14, waitlisted=3,
        waitlisted_seats=4, attended=6, no_show=2, readers_reached=10, walk_ins=2, cancelled=3,
        responses=5, rating_total=18, recommend=3, changed_yes=2, changed_a_little=2,
        reflections=3, reflection_rating_total=11, would_return=2)
    assert report.totals.fill_rate == pytest.approx(14 / 20)
    assert report.totals.attendance_rate == 0.75 and report.totals.no_show_rate == 0.25
    assert report.totals.average_rating == pytest.approx(3.6)
    assert report.totals.recommend_rate == pytest.approx(0.6)
    assert report.totals.changed_view_rate == pytest.approx(0.8)
    assert report.totals.return_rate == pytest.approx(2 / 3)


def test_figures_per_event_partner_and_book(dataset):
    report = build_report(ReportFilter(), now=NOW)
    assert [g.label for g in report.events] == [
        "Spring Human Library", "April Human Library", "Autumn Human Library"]
    spring = group(report.events, "Spring Human Library")
    assert spring.kind == "2025-03-14"
    assert spring.detail == ("Riverside Library (host), Literacy Council (co-host), "
                             "Museum (sponsor)")
    assert counts(spring.figures) == dict(
        readings=3, readings_held=3, capacity=5, bookings=4, seats=4, waitlisted=2,
        waitlisted_seats=2, attended=3, no_show=1, readers_reached=3, walk_ins=1, cancelled=3,
        responses=3, rating_total=12, recommend=2, changed_yes=1, changed_a_little=1,
        reflections=2, reflection_rating_total=6, would_return=1)
    assert spring.figures.fill_rate == 0.8 and spring.figures.attendance_rate == 0.75
    april = group(report.events, "April Human Library").figures
    assert (april.seats, april.capacity, april.readers_reached, april.waitlisted_seats) == (
        9, 13, 7, 2)
    autumn = group(report.events, "Autumn Human Library").figures
    assert (autumn.readings, autumn.readings_held, autumn.seats) == (1, 0, 1)
    assert autumn.attendance_rate is None and autumn.average_rating is None

    assert [g.label for g in report.partners] == ["Literacy Council", "Museum"]
    council = group(report.partners, "Literacy Council").figures
    assert counts(council) == dict(
        readings=4, readings_held=4, capacity=17, bookings=8, seats=12, waitlisted=2,
        waitlisted_seats=3, attended=5, no_show=2, readers_reached=9, walk_ins=2, cancelled=2,
        responses=4, rating_total=15, recommend=3, changed_yes=2, changed_a_little=2,
        reflections=2, reflection_rating_total=9, would_return=2)
    museum = group(report.partners, "Museum").figures
    assert (museum.readings, museum.capacity, museum.waitlisted, museum.cancelled,
            museum.reflections) == (2, 3, 1, 1, 1)
    # One volunteer's reflection: counted, but its answers are not shown (nor two of them).
    assert museum.return_rate is None and museum.average_reflection_rating is None
    assert council.return_rate is None and spring.figures.return_rate is None

    assert [(g.kind, g.label) for g in report.books] == [
        ("Book", "Learned to read at 40"), ("Book", "Museum guard"), ("Book", "Refugee"),
        ("Session", "Family storytime")]
    read40 = group(report.books, "Learned to read at 40")
    assert read40.detail == "Literacy Council"
    assert (read40.figures.seats, read40.figures.capacity, read40.figures.waitlisted,
            read40.figures.average_rating) == (5, 5, 2, 4.5)
    assert all(g.figures.reflections == 0 for g in report.books)  # never per book


def test_filters_by_local_date_event_and_partner(dataset, make_event, make_slot):
    april = build_report(ReportFilter(starts_on=date(2025, 4, 1), ends_on=date(2025, 4, 30)),
                         now=NOW)
    assert [g.label for g in april.events] == ["April Human Library"]
    assert april.totals.seats == 9
    # 20:00 in Chicago on 31 March is already 1 April in UTC: the event's own date counts.
    late = make_event(title="Late March", starts_at=local(2025, 3, 31, 20),
                      ends_at=local(2025, 3, 31, 22))
    make_slot(late, capacity=4)
    assert "Late March" not in [g.label for g in build_report(
        ReportFilter(starts_on=date(2025, 4, 1)), now=NOW).events]
    assert "Late March" in [g.label for g in build_report(
        ReportFilter(ends_on=date(2025, 3, 31)), now=NOW).events]

    one = build_report(ReportFilter(event_id=dataset.a.id), now=NOW)
    assert [g.label for g in one.events] == ["Spring Human Library"]
    museum = build_report(ReportFilter(partner_id=dataset.museum.id), now=NOW, with_comments=True)
    assert [g.label for g in museum.partners] == ["Museum"]
    assert [g.label for g in museum.books] == ["Museum guard"]
    assert [g.label for g in museum.events] == ["Spring Human Library", "Autumn Human Library"]
    assert museum.totals.responses == 1 and museum.totals.reflections == 1
    assert museum.comments == []


def test_a_draft_event_and_an_empty_range_report_nothing(dataset, make_event):
    make_event(title="Draft", status=EventStatus.DRAFT, starts_at=local(2025, 5, 1),
               ends_at=local(2025, 5, 1, 12))
    empty = build_report(ReportFilter(starts_on=date(2025, 5, 1), ends_on=date(2025, 5, 2)),
                         now=NOW)
    assert empty.events == [] and empty.totals == reports.Figures()
    assert empty.totals.fill_rate is None


def test_narrative_reads_the_partners_figures(dataset):
    report = build_report(ReportFilter(partner_id=dataset.council.id), now=NOW)
    hosted = reports.hosted_events(dataset.council.id, ReportFilter())
    assert [(e.title, e.role) for e in hosted] == [
        ("Spring Human Library", HostRole.CO_HOST), ("April Human Library", HostRole.HOST)]
    text = " ".join(reports.narrative("Literacy Council", report.totals, hosted, report.books))
    assert "Literacy Council took part in 2 events and offered 2 human books and " \
           "1 program session, with 4 readings and 17 seats." in text
    assert "Readers booked 12 seats (71% of those offered); 9 readers attended" in text
    assert "2 bookings joined a waitlist" in text
    assert "3.8 out of 5" in text and "75% would recommend" in text


@contextmanager
def counted_queries(db):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def test_a_report_costs_the_same_queries_for_2_or_20_events(db, make_event, make_book,
                                                            make_slot, make_partner, add_booking,
                                                            feedback):
    partner = make_partner("Literacy Council")
    book = make_book(partner)
    d = Data()

    def add_events(n):
        for i in range(n):
            event = make_event(starts_at=local(2025, 2, 1 + i), ends_at=local(2025, 2, 1 + i, 16),
                               hosts=[(partner, HostRole.HOST)])
            slot = make_slot(event, book=book, capacity=3)
            feedback(add_booking(d, slot, BookingStatus.ATTENDED), 4, True, ChangedView.YES, "ok")
            add_booking(d, slot, BookingStatus.WAITLISTED)
            db.session.add(Reflection(event_id=event.id, book_id=book.id, rating=4,
                                      would_return=True, submitted_at=NOW))
        db.session.commit()

    def queries():
        db.session.expire_all()
        with counted_queries(db) as statements:
            report = build_report(ReportFilter(), now=NOW, with_comments=True)
            reports.hosted_events(partner.id, ReportFilter())
        return len(statements), report

    add_events(2)
    few, small = queries()
    add_events(18)
    many, big = queries()
    assert len(small.events) == 2 and len(big.events) == 20 and big.totals.waitlisted == 20
    assert few == many


# CSV and charts ---------------------------------------------------------------------------


def test_csv_cells_that_look_like_formulas_are_quoted():
    assert [reports.csv_cell(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "ok", 3, None)] == [
        "'=1+1", "'+1", "'-2", "'@SUM(A1)", "ok", "3", ""]
    text = reports.to_csv(["a", "b"], [["=cmd", 'say "hi"']])
    assert text == 'a,b\r\n\'=cmd,"say ""hi"""\r\n'


def read_csv(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_staff_download_every_table_as_csv_without_personal_data(app, client, dataset,
                                                                  make_user):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    tables = {table: read_csv(client.get(f"/staff/reports/{table}.csv"))
              for table in reports.TABLES}
    header, *rows = tables["events"]
    assert header[:4] == ["event", "date", "hosts", "readings"]
    assert [row[0] for row in rows] == [
        "Spring Human Library", "April Human Library", "Autumn Human Library"]
    spring = dict(zip(header, rows[0]))
    assert spring["fill rate (%)"] == "80.0" and spring["waitlist demand (bookings)"] == "2"
    assert spring["attendance rate (%)"] == "75.0" and spring["average rating (1-5)"] == "4.00"
    assert [row[0] for row in tables["partners"][1:]] == ["Literacy Council", "Museum"]
    assert len(tables["books"]) == 5
    assert "volunteer reflections" in tables["events"][0]
    assert not [h for h in tables["books"][0] if "reflection" in h or "volunteer" in h]
    comments = tables["comments"]
    assert comments[0] == ["event", "book or session", "rating", "comment"]
    texts = [row[3] for row in comments[1:]]
    assert texts[0] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert "'+1 would come again" in texts
    everything = json.dumps(tables)
    assert not [p for p in dataset.patrons if p in everything]
    assert not [v for v in dataset.volunteers if v in everything]
    filtered = read_csv(client.get("/staff/reports/events.csv?event=%d" % dataset.b.id))
    assert [row[0] for row in filtered[1:]] == ["April Human Library"]


def report_page(client, url: str = "/staff/reports/") -> str:
    """A report page that answered and keeps to the accessible structure, as HTML."""
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, url
    check_accessible_structure(html)
    return html


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(chunk) for chunk in re.findall(r"<svg\b.*?</svg>", html, re.S)]


def test_the_staff_report_page_shows_figures_charts_and_comments(app, client, dataset,
                                                                 make_user):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    html = report_page(client)
    for text in ("Spring Human Library", "Literacy Council", "Family storytime", "80%",
                 "Very moving conversation.", "/staff/reports/events.csv"):
        assert text in html, text
    assert not [p for p in dataset.patrons if p in html]
    charts = svgs(html)
    assert len(charts) == 2
    ns = "{http://www.w3.org/2000/svg}"
    for chart in charts:
        assert chart.get("role") == "img"
        assert chart.find(f"{ns}title").text and chart.find(f"{ns}desc").text
        assert chart.findall(f"{ns}text") and chart.findall(f"{ns}rect")
    assert "Learned to read at 40: 100% (5 of 5 seats)" in charts[0].find(f"{ns}desc").text
    assert "<script" not in html.split("</main>")[0]


# Volunteers' notes ------------------------------------------------------------------------

SPRING_NOTES = [reports.VolunteerNote("Spring Human Library", "2025-03-14", *FORMULA_NOTE),
                reports.VolunteerNote("Spring Human Library", "2025-03-14", *NIGHT_CLASSES)]
APRIL_NOTE = reports.VolunteerNote("April Human Library", "2025-04-11", *TWO_AT_ONCE)
BOOK_TITLES = ("Learned to read at 40", "Refugee", "Museum guard")


def test_volunteers_notes_come_by_event_then_submission_for_staff_only(db, dataset):
    db.session.add(Reflection(event_id=dataset.c.id, book_id=dataset.guard.id, rating=3,
                              would_return=True, went_well="", was_hard="", submitted_at=NOW))
    db.session.commit()
    assert build_report(ReportFilter(), now=NOW, with_comments=True).notes == [
        *SPRING_NOTES, APRIL_NOTE]  # the reflection without text is no note
    assert build_report(ReportFilter(), now=NOW).notes == []


def test_volunteers_notes_follow_the_report_filter(dataset):
    d = dataset

    def notes(**chosen):
        return build_report(ReportFilter(**chosen), now=NOW, with_comments=True).notes

    assert notes(event_id=d.b.id) == [APRIL_NOTE]
    assert notes(event_id=d.c.id) == []
    assert notes(starts_on=date(2025, 4, 1)) == [APRIL_NOTE]
    assert notes(ends_on=date(2025, 3, 31)) == SPRING_NOTES
    assert notes(partner_id=d.museum.id) == SPRING_NOTES[:1]  # on the museum's book
    assert notes(partner_id=d.council.id) == [SPRING_NOTES[1], APRIL_NOTE]
    assert notes(partner_id=d.library.id) == []  # hosts Spring, but has no books
    assert notes(partner_id=d.council.id, event_id=d.a.id) == SPRING_NOTES[1:]


def notes_section(html: str) -> str:
    match = re.search(r'<section aria-labelledby="notes-heading".*?</section>', html, re.S)
    assert match, "no volunteers' notes on the page"
    return match.group(0)


def note_rows(section: str) -> list[tuple[str, ...]]:
    cells = r"<td>(.*?)</td>" * 4
    return [tuple(unescape(cell) for cell in row)
            for row in re.findall(rf"<tr>{cells}</tr>", section, re.S)]


def test_the_staff_report_page_lists_volunteers_notes_with_the_event_only(app, client, dataset,
                                                                          make_user):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    html = report_page(client)
    section = notes_section(html)
    assert '<h2 id="notes-heading">Volunteers&#39; notes</h2>' in section
    assert '<caption class="visually-hidden">Volunteers&#39; notes</caption>' in section
    assert re.findall(r'<th scope="col">(.*?)</th>', section) == [
        "Event", "Date", "Went well", "Was hard"]
    assert note_rows(section) == [
        (n.event, n.date, n.went_well, n.was_hard) for n in [*SPRING_NOTES, APRIL_NOTE]]
    assert 'href="/staff/reports/notes.csv"' in section
    assert not [title for title in BOOK_TITLES if title in section]
    assert not [v for v in dataset.volunteers if v in html]
    assert not [p for p in dataset.patrons if p in html]


def test_the_staff_report_page_filters_volunteers_notes(app, client, dataset, make_user):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    section = notes_section(report_page(client, f"/staff/reports/?partner={dataset.museum.id}"))
    assert note_rows(section) == [("Spring Human Library", "2025-03-14", *FORMULA_NOTE)]
    assert f'href="/staff/reports/notes.csv?partner={dataset.museum.id}"' in section
    april = report_page(client, "/staff/reports/?starts_on=2025-04-01&ends_on=2025-04-30")
    assert note_rows(notes_section(april)) == [
        ("April Human Library", "2025-04-11", *TWO_AT_ONCE)]
    upcoming = notes_section(report_page(client, f"/staff/reports/?event={dataset.c.id}"))
    assert note_rows(upcoming) == [] and "No volunteers&#39; notes in this range." in upcoming


def test_staff_download_volunteers_notes_as_csv_with_formulas_quoted(app, client, dataset,
                                                                    make_user):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    notes = read_csv(client.get("/staff/reports/notes.csv"))
    assert notes == [
        ["event", "date", "went well", "was hard"],
        ["Spring Human Library", "2025-03-14", "", "'" + FORMULA_NOTE[1]],
        ["Spring Human Library", "2025-03-14", *NIGHT_CLASSES],
        ["April Human Library", "2025-04-11", *TWO_AT_ONCE],
    ]
    council = read_csv(client.get(f"/staff/reports/notes.csv?partner={dataset.council.id}"
                                  f"&event={dataset.b.id}"))
    assert council[1:] == [["April Human Library", "2025-04-11", *TWO_AT_ONCE]]
    bad = client.get("/staff/reports/notes.csv?starts_on=2025-13-01")
    assert bad.status_code == 400 and "Enter a date such as" in bad.get_data(as_text=True)


def test_partners_and_volunteers_never_see_volunteers_notes(app, client, dataset, make_user):
    texts = [text for note in (NIGHT_CLASSES, FORMULA_NOTE, TWO_AT_ONCE) for text in note
             if text]
    make_user("staff@example.org", Role.STAFF)
    sign_in(client, make_user("coord@example.org", Role.COORDINATOR, dataset.council))
    for url in ("/partner/reports", "/partner/impact"):
        page = client.get(url)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "notes-heading" not in html, url
        assert not [text for text in texts if text in unescape(html)], url
    assert client.get("/partner/reports/notes.csv").status_code == 404
    assert client.get("/staff/reports/notes.csv").status_code == 403

    volunteer = app.test_client()
    sign_in(volunteer, dataset.read40_volunteer)
    assert volunteer.get("/staff/reports/notes.csv").status_code == 403
    assert volunteer.get("/staff/reports/").status_code == 403


def test_staff_acting_for_a_partner_get_no_notes_there(app, client, dataset, make_user):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    partner = f"?partner={dataset.museum.id}"
    for url in ("/partner/reports", "/partner/impact",
                f"/staff/reports/partners/{dataset.museum.id}/impact"):
        page = client.get(url + partner)
        html = page.get_data(as_text=True)
        assert page.status_code == 200, url
        assert "notes-heading" not in html and "HYPERLINK" not in html, url
    assert client.get(f"/partner/reports/notes.csv{partner}").status_code == 404
    assert client.get(f"/partner/reports/comments.csv{partner}").status_code == 404


@pytest.mark.parametrize(("query", "message"), [
    ("starts_on=2025-13-01", "Enter a date such as"),
    ("ends_on=yesterday", "Enter a date such as"),
    ("starts_on=0001-01-01&ends_on=9999-12-31", "between the years 1900 and 2999"),
    ("starts_on=2025-05-01&ends_on=2025-04-01", "on or after the start date"),
    ("event=999999", "Choose an event from the list"),
    ("event=abc", "Choose an event from the list"),
    ("partner=999999999999999999999", "Choose a partner from the list"),
])
def test_bad_filters_get_a_clear_message_not_an_error(app, client, dataset, make_user, query,
                                                      message):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    page = client.get(f"/staff/reports/?{query}")
    assert page.status_code == 400 and message in page.get_data(as_text=True)
    download = client.get(f"/staff/reports/events.csv?{query}")
    assert download.status_code == 400 and message in download.get_data(as_text=True)
    impact = client.get(f"/staff/reports/partners/{dataset.council.id}/impact?{query}")
    assert impact.status_code in (200, 400)  # no partner field there; never a 500


def test_unknown_tables_and_partners_are_not_found(app, client, dataset, make_user):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    assert client.get("/staff/reports/patrons.csv").status_code == 404
    assert client.get("/staff/reports/partners/999999/impact").status_code == 404


# Access -----------------------------------------------------------------------------------


def test_a_coordinator_sees_only_its_own_partner(app, client, dataset, make_user):
    make_user("staff@example.org", Role.STAFF)
    sign_in(client, make_user("coord@example.org", Role.COORDINATOR, dataset.council))
    html = client.get("/partner/reports").get_data(as_text=True)
    assert "Learned to read at 40" in html and "Family storytime" in html
    assert "Museum guard" not in html and "Very moving" not in html  # no comments either
    books = read_csv(client.get("/partner/reports/books.csv"))
    assert [row[1] for row in books[1:]] == ["Learned to read at 40", "Refugee",
                                             "Family storytime"]
    assert client.get("/partner/reports/comments.csv").status_code == 404
    for url in ("/partner/reports", "/partner/reports/events.csv", "/partner/impact"):
        assert client.get(f"{url}?partner={dataset.museum.id}").status_code == 404, url
        assert client.get(f"{url}?partner={dataset.council.id}").status_code == 200, url
    for url in ("/staff/reports/", "/staff/reports/events.csv",
                f"/staff/reports/partners/{dataset.council.id}/impact"):
        assert client.get(url).status_code == 403, url


def test_staff_act_for_any_partner_on_the_partner_pages(app, client, dataset, make_user):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    html = client.get(f"/partner/reports?partner={dataset.museum.id}").get_data(as_text=True)
    assert "Museum guard" in html and "Learned to read at 40" not in html
    assert f"/partner/reports/events.csv?partner={dataset.museum.id}" in html
    assert client.get("/partner/reports").status_code == 404


def test_staff_print_the_partner_impact_report(app, client, dataset, make_user):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    staff_page = client.get("/staff/reports/").get_data(as_text=True)
    link = f"/staff/reports/partners/{dataset.council.id}/impact"
    assert link in staff_page
    response = client.get(link + "?starts_on=2025-01-01&ends_on=2025-06-30")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    check_accessible_structure(html)
    assert "<h1>Impact report: Literacy Council</h1>" in html
    assert "from 2025-01-01 up to 2025-06-30" in html
    assert "Literacy Council took part in 2 events" in html
    assert "Spring Human Library, Friday 14 March 2025 (co-host)" in html
    assert len(svgs(html)) == 2
    assert 'class="no-print"' in html
    css = client.get("/static/css/site.css").get_data(as_text=True)
    print_rules = css[css.rindex("@media print"):]
    assert ".site-header" in print_rules and ".no-print" in print_rules
    assert not [p for p in dataset.patrons if p in html]


# Retention --------------------------------------------------------------------------------


def every_report(client):
    """Every figure the reports give: services for each grouping and filter, and the CSVs."""
    d = client.dataset
    filters = [ReportFilter(), ReportFilter(event_id=d.a.id), ReportFilter(partner_id=d.council.id),
               ReportFilter(partner_id=d.museum.id),
               ReportFilter(starts_on=date(2025, 4, 1), ends_on=date(2025, 12, 31))]
    figures = [build_report(f, now=NOW, with_comments=True) for f in filters]
    hosted = [reports.hosted_events(p.id, ReportFilter()) for p in (d.council, d.museum)]
    downloads = [client.get(f"/staff/reports/{table}.csv{query}").get_data(as_text=True)
                 for table in reports.TABLES for query in ("", f"?partner={d.museum.id}")]
    return figures, hosted, downloads


def string_values(db) -> list[str]:
    """Every text (and JSON) value in every table of the database."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).mappings():
            for value in row.values():
                if isinstance(value, str):
                    found.append(value)
                elif isinstance(value, (dict, list)):
                    found.append(json.dumps(value))
    return found


def kept_patrons(db, dataset) -> set[str]:
    """The names and e-mails a purge keeps: those of the upcoming event's patrons."""
    upcoming = db.session.scalars(sa.select(Booking).where(Booking.event_id == dataset.c.id)).all()
    return {b.patron_name for b in upcoming} | {b.patron_email for b in upcoming}


def test_the_purge_keeps_every_report_figure_and_removes_patrons(app, client, db, dataset,
                                                                 make_user):
    sign_in(client, make_user("staff@example.org", Role.STAFF))
    client.dataset = dataset
    before = every_report(client)
    assert any(dataset.patrons[0] in value for value in string_values(db))
    assert before[0][0].notes == [*SPRING_NOTES, APRIL_NOTE]  # volunteers' texts: kept

    dry = purge_personal_data(now=NOW, days=0, dry_run=True)
    assert (dry.bookings, dry.messages) == (13, 14)
    assert any(dataset.patrons[0] in value for value in string_values(db))

    result = purge_personal_data(now=NOW, days=0)
    assert (result.bookings, result.messages) == (13, 14)
    db.session.expire_all()
    assert every_report(client) == before
    values = " ".join(string_values(db))
    kept = kept_patrons(db, dataset)
    assert [p for p in dataset.patrons if p in values] == sorted(kept, key=dataset.patrons.index)

    again = purge_personal_data(now=NOW, days=0)
    assert (again.bookings, again.messages) == (0, 0)
    assert every_report(client) == before


def test_the_purge_deletes_the_written_copies_of_the_messages_it_clears(app, db, dataset):
    """The dataset's messages count as sent already: write each as the file transport would."""
    outbox = mailer.file_outbox(app)
    for message in db.session.scalars(sa.select(OutboxMessage)):
        email = EmailMessage()
        email["To"] = message.to_email
        outbox.send(email, mailer.file_name(message.id))
    written = {path.name for path in outbox.directory.glob("*.eml")}
    upcoming = set(db.session.scalars(
        sa.select(OutboxMessage.id).join(Booking, OutboxMessage.booking_id == Booking.id)
        .where(Booking.event_id == dataset.c.id)))

    dry = purge_personal_data(now=NOW, days=0, dry_run=True)
    assert {path.name for path in outbox.directory.glob("*.eml")} == written
    result = purge_personal_data(now=NOW, days=0)
    assert dry.files == result.files

    left = {path.name for path in outbox.directory.glob("*.eml")}
    assert not [p for path in outbox.directory.glob("*.eml") for p in dataset.patrons
                if p in path.read_text() and p not in kept_patrons(db, dataset)]
    assert left == {f"message-{i}.eml" for i in upcoming} & written
    assert result.files == len(written - left) > 0
    assert purge_personal_data(now=NOW, days=0).files == 0


def test_the_purge_waits_the_retention_period(db, dataset):
    # Spring ended on 14 March, April on 11 April; 180 days before NOW is 4 April.
    result = purge_personal_data(now=NOW, days=180)
    assert result.bookings == 8
    db.session.expire_all()
    spring = db.session.scalars(sa.select(Booking).where(Booking.event_id == dataset.a.id))
    assert {b.patron_name for b in spring} == {"(removed)"}
    april = db.session.scalars(sa.select(Booking).where(Booking.event_id == dataset.b.id))
    assert all(b.patron_name.startswith("Zelda") for b in april)


def test_purge_command_reads_the_setting_and_dry_runs(app, runner, db, dataset, monkeypatch):
    app.config["PERSONAL_DATA_RETENTION_DAYS"] = 3650
    result = runner.invoke(args=["purge-personal-data"])
    assert result.exit_code == 0 and "0 bookings anonymised" in result.output
    # By the real clock every event of the dataset (2025) has ended.
    dry = runner.invoke(args=["purge-personal-data", "--days", "0", "--dry-run"])
    assert "14 bookings would be anonymised, 15 e-mail records cleared, 0 e-mail files" in dry.output
    assert "nothing changed" in dry.output
    real = runner.invoke(args=["purge-personal-data", "--days", "0"])
    assert "14 bookings anonymised" in real.output
    bad = runner.invoke(args=["purge-personal-data", "--days", "-3"])
    assert bad.exit_code == 2 and "--days" in bad.output


def test_the_retention_setting_is_checked(monkeypatch, tmp_path):
    from booking.config import ConfigError, base_config

    monkeypatch.setenv("PERSONAL_DATA_RETENTION_DAYS", "90")
    assert base_config(str(tmp_path))["PERSONAL_DATA_RETENTION_DAYS"] == 90
    monkeypatch.delenv("PERSONAL_DATA_RETENTION_DAYS")
    assert base_config(str(tmp_path))["PERSONAL_DATA_RETENTION_DAYS"] == 180
    monkeypatch.setenv("PERSONAL_DATA_RETENTION_DAYS", "six months")
    with pytest.raises(ConfigError, match="PERSONAL_DATA_RETENTION_DAYS"):
        base_config(str(tmp_path))


def test_the_attendance_chart_says_why_it_is_empty():
    unmarked = reports.Group(("event", 1), "Spring", reports.Figures(readings=2, bookings=3))
    waiting = ET.fromstring(str(charts.attendance_chart("a", [unmarked], "event")))
    nothing = ET.fromstring(str(charts.attendance_chart("b", [], "event")))

    def said(svg):
        return " ".join(svg.itertext())

    assert "No booking in this range was marked attended or no-show yet." in said(waiting)
    assert "No readings in this range." in said(nothing)
