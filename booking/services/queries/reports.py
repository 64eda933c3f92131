"""Statistics for staff and partner reports: bookings, fill, waitlist, attendance and feedback.

Every figure is counted from what the personal-data purge keeps (statuses, seats, the walk-in
flag, timestamps, outbox message kinds, survey answers), so a report reads the same before and
after it. A report costs the same few queries whatever the number of events, readings or
bookings: rows are grouped per reading in the database and rolled up here.

Definitions (all counts are of bookings unless they say seats; a hold never confirmed by its
e-mailed link, whether still waiting, released or lapsed, is not a booking and counts nowhere):

- readings: slots (readings of a book, seat blocks of a session) not cancelled.
- readings held: those readings that had ended by `now`.
- capacity: seats offered by the readings.
- bookings: bookings holding seats, i.e. confirmed + attended + no-show (walk-ins included);
  seats: the seats those bookings hold.
- fill rate: seats / capacity, over the readings (upcoming ones included: for a future event
  it says how full it is so far).
- waitlist demand: bookings that ever joined a waitlist (`waitlisted_at` is set then and kept
  through promotion, cancellation and the purge). Its seats are counted too.
- attended, no-shows: bookings the desk marked so; attendance rate = attended / (attended +
  no-shows), no-show rate = no-shows / (attended + no-shows): unmarked bookings do not count.
- readers reached: seats of attended bookings.
- walk-ins: bookings made at the desk that were not cancelled.
- cancellations: cancelled bookings, from a seat or from a waitlist, whoever cancelled.
- feedback: survey responses; average rating (1–5); would recommend = share of responses
  saying yes; changed view = share answering "yes" or "a little" (each also given apart).
- reflections: volunteers' reflections on books; average rating; would return = share yes.
  Each book has its own volunteer, so reflections are counted per event and partner, never
  per book, and their average and share are given only from REFLECTIONS_SHOWN_FROM of them:
  a coordinator must not read one volunteer's answers off a row.

Rates are None where their denominator is zero. Comments (staff only) carry no booking,
slot or reader link, only the event and the book or session they are about. Volunteers' notes
(staff only: the free texts of reflections) carry the event and its date only, never the book,
for the reason above.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.extensions import db
from booking.domain.models import Booking, BookingStatus, ChangedView, Event, EventHost, EventStatus, Feedback, HostRole, HumanBook, Partner, ProgramSession, Reflection, Slot, SlotStatus

#: Statuses of bookings that hold seats in a reading.
SEAT_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
#: Tables a partner's report downloads; the others hold free texts and are for staff only.
PARTNER_TABLES = ("events", "partners", "books")
TABLES = PARTNER_TABLES + ("comments", "notes")


#: Fewer reflections than this in a row show their count only (see the module's notes).
REFLECTIONS_SHOWN_FROM = 3


@dataclass(frozen=True)
class ReportFilter:
    """What a report covers: events starting between two local dates, one event, one partner."""

    starts_on: date | None = None
    ends_on: date | None = None
    event_id: int | None = None
    #: Only readings of this partner's books and sessions (and its books' reflections).
    partner_id: int | None = None


def ratio(part: int, whole: int) -> float | None:
    """`part` of `whole`, or None when there is no whole to divide by."""
    return part / whole if whole else None


@dataclass
class Figures:
    """The counts of one group (an event, a partner, a book or session, or everything)."""

    readings: int = 0
    readings_held: int = 0
    capacity: int = 0
    bookings: int = 0
    seats: int = 0
    waitlisted: int = 0
    waitlisted_seats: int = 0
    attended: int = 0
    no_show: int = 0
    readers_reached: int = 0
    walk_ins: int = 0
    cancelled: int = 0
    responses: int = 0
    rating_total: int = 0
    recommend: int = 0
    changed_yes: int = 0
    changed_a_little: int = 0
    reflections: int = 0
    reflection_rating_total: int = 0
    would_return: int = 0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def fill_rate(self) -> float | None:
        return ratio(self.seats, self.capacity)

    @property
    def attendance_rate(self) -> float | None:
        return ratio(self.attended, self.attended + self.no_show)

    @property
    def no_show_rate(self) -> float | None:
        return ratio(self.no_show, self.attended + self.no_show)

    @property
    def average_rating(self) -> float | None:
        return ratio(self.rating_total, self.responses)

    @property
    def recommend_rate(self) -> float | None:
        return ratio(self.recommend, self.responses)

    @property
    def changed_view_rate(self) -> float | None:
        return ratio(self.changed_yes + self.changed_a_little, self.responses)

    @property
    def changed_yes_rate(self) -> float | None:
        return ratio(self.changed_yes, self.responses)

    @property
    def changed_a_little_rate(self) -> float | None:
        return ratio(self.changed_a_little, self.responses)

    @property
    def average_reflection_rating(self) -> float | None:
        if self.reflections < REFLECTIONS_SHOWN_FROM:
            return None
        return ratio(self.reflection_rating_total, self.reflections)

    @property
    def return_rate(self) -> float | None:
        if self.reflections < REFLECTIONS_SHOWN_FROM:
            return None
        return ratio(self.would_return, self.reflections)


@dataclass
class Group:
    """One row of a report table: what it is about, and its figures."""

    key: tuple
    label: str
    figures: Figures = field(default_factory=Figures)
    #: Events: local start date; books and sessions: "Book" or "Session".
    kind: str = ""
    #: Events: hosts ("Museum (co-host)"); books and sessions: the partner's name.
    detail: str = ""
    #: Events: start (UTC) and zone, for showing dates.
    starts_at: datetime | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class Comment:
    """A survey comment, with only what it is about."""

    event: str
    resource: str
    rating: int
    text: str


@dataclass(frozen=True)
class VolunteerNote:
    """What a volunteer wrote in a reflection, with only the event: never the book or who."""

    event: str
    #: The event's local start date (ISO).
    date: str
    went_well: str
    was_hard: str


@dataclass
class Report:
    """Figures in total and grouped by event, partner and book or session."""

    filter: ReportFilter
    totals: Figures
    events: list[Group]
    partners: list[Group]
    books: list[Group]
    comments: list[Comment]
    notes: list[VolunteerNote]


@dataclass(frozen=True)
class HostedEvent:
    title: str
    starts_at: datetime
    timezone: str
    role: HostRole
    status: EventStatus


def local_date(moment: datetime, zone: str) -> date:
    """The date `moment` falls on in `zone`."""
    return moment.astimezone(ZoneInfo(zone)).date()


def matching_events(report_filter: ReportFilter) -> list[Event]:
    """Events (not drafts) the filter covers, by the local date of their start, oldest first."""
    query = sa.select(Event).where(Event.status != EventStatus.DRAFT).order_by(
        Event.starts_at, Event.id)
    if report_filter.event_id is not None:
        query = query.where(Event.id == report_filter.event_id)
    # Local dates lie within a day of UTC ones: narrow in SQL, decide exactly below.
    if report_filter.starts_on is not None:
        query = query.where(Event.starts_at >= _utc_midnight(report_filter.starts_on, -1))
    if report_filter.ends_on is not None:
        query = query.where(Event.starts_at < _utc_midnight(report_filter.ends_on, 2))
    if report_filter.partner_id is not None:
        query = query.where(sa.or_(
            Event.id.in_(sa.select(EventHost.event_id)
                         .where(EventHost.partner_id == report_filter.partner_id)),
            Event.id.in_(sa.select(Slot.event_id).where(
                _resource_partner_id() == report_filter.partner_id)
                .outerjoin(HumanBook, Slot.book_id == HumanBook.id)
                .outerjoin(ProgramSession, Slot.session_id == ProgramSession.id)),
        ))
    return [event for event in db.session.scalars(query)
            if _in_range(local_date(event.starts_at, event.timezone), report_filter)]


def _utc_midnight(day: date, shift_days: int) -> datetime:
    return datetime.combine(day + timedelta(days=shift_days), datetime.min.time(),
                            tzinfo=ZoneInfo("UTC"))


def _in_range(day: date, report_filter: ReportFilter) -> bool:
    return ((report_filter.starts_on is None or day >= report_filter.starts_on)
            and (report_filter.ends_on is None or day <= report_filter.ends_on))


def _resource_partner_id():
    return sa.func.coalesce(HumanBook.partner_id, ProgramSession.presenter_partner_id)


def build_report(report_filter: ReportFilter, *, now: datetime,
                 with_comments: bool = False) -> Report:
    """The report for `report_filter`; comments and volunteers' notes only when asked (staff)."""
    events = matching_events(report_filter)
    by_event = {event.id: Group(key=("event", event.id), label=event.title,
                                kind=local_date(event.starts_at, event.timezone).isoformat(),
                                starts_at=event.starts_at, timezone=event.timezone)
                for event in events}
    totals = Figures()
    partners: dict[int, Group] = {}
    books: dict[tuple, Group] = {}
    comments: list[Comment] = []
    notes: list[VolunteerNote] = []
    if by_event:
        ids = list(by_event)
        _describe_hosts(by_event, ids)
        slots = _slot_rows(ids, report_filter.partner_id)
        per_slot = _slot_figures(ids, slots, now)
        _add_feedback(ids, per_slot)

        def credit(figures: Figures, event_id: int, partner: tuple[int, str],
                   resource: tuple | None, title: str = "") -> None:
            """Add to the event, the partner, the book or session (unless None) and totals."""
            groups = [by_event[event_id], partners.setdefault(
                partner[0], Group(("partner", partner[0]), partner[1]))]
            if resource is not None:
                groups.append(books.setdefault(resource, Group(
                    resource, title, kind=resource[0].capitalize(), detail=partner[1])))
            for group in groups:
                group.figures.add(figures)
            totals.add(figures)

        for slot_id, row in slots.items():
            resource = ("book", row.book_id) if row.book_id is not None else (
                "session", row.session_id)
            credit(per_slot[slot_id], row.event_id, (row.partner_id, row.partner_name),
                   resource, row.title)
        for row in _reflection_rows(ids, report_filter.partner_id):
            credit(Figures(reflections=row.count, reflection_rating_total=row.rating_total,
                           would_return=row.would_return),
                   row.event_id, (row.partner_id, row.partner_name), None)
        if with_comments:
            comments = _comments(ids, report_filter.partner_id)
            notes = _notes(ids, report_filter.partner_id)
    return Report(
        filter=report_filter, totals=totals, events=list(by_event.values()),
        partners=sorted(partners.values(), key=lambda g: (g.label.lower(), g.key)),
        books=sorted(books.values(), key=lambda g: (g.kind, g.label.lower(), g.key)),
        comments=comments, notes=notes,
    )


def _describe_hosts(by_event: dict[int, Group], ids: list[int]) -> None:
    rows = db.session.execute(
        sa.select(EventHost.event_id, EventHost.role, Partner.name)
        .join(Partner, EventHost.partner_id == Partner.id)
        .where(EventHost.event_id.in_(ids)).order_by(EventHost.id)
    )
    for event_id, role, name in rows:
        group = by_event[event_id]
        group.detail = ", ".join(filter(None, [group.detail, f"{name} ({role.value})"]))


def _slot_rows(ids: list[int], partner_id: int | None) -> dict[int, sa.Row]:
    partner_key = _resource_partner_id()
    query = (
        sa.select(Slot.id, Slot.event_id, Slot.book_id, Slot.session_id, Slot.capacity,
                  Slot.status, Slot.ends_at,
                  partner_key.label("partner_id"), Partner.name.label("partner_name"),
                  sa.func.coalesce(HumanBook.title, ProgramSession.title).label("title"))
        .outerjoin(HumanBook, Slot.book_id == HumanBook.id)
        .outerjoin(ProgramSession, Slot.session_id == ProgramSession.id)
        .join(Partner, Partner.id == partner_key)
        .where(Slot.event_id.in_(ids))
    )
    if partner_id is not None:
        query = query.where(partner_key == partner_id)
    return {row.id: row for row in db.session.execute(query)}


def _count(condition):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _sum(condition, value):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, value), else_=0)), 0)


def _slot_figures(ids: list[int], slots: dict[int, sa.Row], now: datetime) -> dict[int, Figures]:
    """Per reading: its capacity, and its bookings counted in one grouped query."""
    per_slot = {}
    for slot_id, row in slots.items():
        live = row.status != SlotStatus.CANCELLED
        per_slot[slot_id] = Figures(readings=int(live), capacity=row.capacity if live else 0,
                                    readings_held=int(live and row.ends_at <= now))
    was_waitlisted = Booking.waitlisted_at.is_not(None)
    holds_seats = Booking.status.in_(SEAT_STATUSES)
    attended = Booking.status == BookingStatus.ATTENDED
    rows = db.session.execute(
        sa.select(
            Booking.slot_id,
            _count(holds_seats).label("bookings"),
            _sum(holds_seats, Booking.seats).label("seats"),
            _count(was_waitlisted).label("waitlisted"),
            _sum(was_waitlisted, Booking.seats).label("waitlisted_seats"),
            _count(attended).label("attended"),
            _count(Booking.status == BookingStatus.NO_SHOW).label("no_show"),
            _sum(attended, Booking.seats).label("readers_reached"),
            _count(sa.and_(Booking.walk_in.is_(True),
                           Booking.status != BookingStatus.CANCELLED)).label("walk_ins"),
            _count(Booking.status == BookingStatus.CANCELLED).label("cancelled"),
        )
        # A hold never confirmed (waiting, released or lapsed) was never a booking.
        .where(Booking.event_id.in_(ids), Booking.hold_expires_at.is_(None))
        .group_by(Booking.slot_id)
    )
    _add_per_slot(per_slot, rows)
    return per_slot


def _add_per_slot(per_slot: dict[int, Figures], rows) -> None:
    """Add grouped counts (columns named as Figures fields, plus slot_id) to each reading."""
    for row in rows:
        if row.slot_id in per_slot:
            per_slot[row.slot_id].add(Figures(**{
                name: int(value) for name, value in row._mapping.items() if name != "slot_id"}))


def _add_feedback(ids: list[int], per_slot: dict[int, Figures]) -> None:
    rows = db.session.execute(
        sa.select(
            Feedback.slot_id,
            sa.func.count().label("responses"),
            sa.func.coalesce(sa.func.sum(Feedback.rating), 0).label("rating_total"),
            _count(Feedback.would_recommend.is_(True)).label("recommend"),
            _count(Feedback.changed_view == ChangedView.YES).label("changed_yes"),
            _count(Feedback.changed_view == ChangedView.A_LITTLE).label("changed_a_little"),
        )
        .where(Feedback.event_id.in_(ids))
        .group_by(Feedback.slot_id)
    )
    _add_per_slot(per_slot, rows)


def _reflection_rows(ids: list[int], partner_id: int | None):
    query = (
        sa.select(Reflection.event_id, HumanBook.partner_id, Partner.name.label("partner_name"),
                  sa.func.count().label("count"),
                  sa.func.coalesce(sa.func.sum(Reflection.rating), 0).label("rating_total"),
                  _count(Reflection.would_return.is_(True)).label("would_return"))
        .join(HumanBook, Reflection.book_id == HumanBook.id)
        .join(Partner, HumanBook.partner_id == Partner.id)
        .where(Reflection.event_id.in_(ids))
        .group_by(Reflection.event_id, HumanBook.partner_id, Partner.name)
    )
    if partner_id is not None:
        query = query.where(HumanBook.partner_id == partner_id)
    return db.session.execute(query).all()


def _comments(ids: list[int], partner_id: int | None) -> list[Comment]:
    query = (
        sa.select(Event.title, sa.func.coalesce(HumanBook.title, ProgramSession.title),
                  Feedback.rating, Feedback.comment)
        .join(Slot, Feedback.slot_id == Slot.id)
        .join(Event, Feedback.event_id == Event.id)
        .outerjoin(HumanBook, Slot.book_id == HumanBook.id)
        .outerjoin(ProgramSession, Slot.session_id == ProgramSession.id)
        .where(Feedback.event_id.in_(ids), Feedback.comment != "")
        .order_by(Event.starts_at, Feedback.submitted_at, Feedback.id)
    )
    if partner_id is not None:
        query = query.where(_resource_partner_id() == partner_id)
    return [Comment(event, resource, rating, text.strip())
            for event, resource, rating, text in db.session.execute(query)]


def _notes(ids: list[int], partner_id: int | None) -> list[VolunteerNote]:
    """Reflections with any text; a partner filter keeps those on its books."""
    query = (
        sa.select(Event.title, Event.starts_at, Event.timezone, Reflection.went_well,
                  Reflection.was_hard)
        .join(Event, Reflection.event_id == Event.id)
        .where(Reflection.event_id.in_(ids),
               sa.or_(Reflection.went_well != "", Reflection.was_hard != ""))
        .order_by(Event.starts_at, Event.id, Reflection.submitted_at, Reflection.id)
    )
    if partner_id is not None:
        query = query.join(HumanBook, Reflection.book_id == HumanBook.id).where(
            HumanBook.partner_id == partner_id)
    notes = [VolunteerNote(title, local_date(starts_at, zone).isoformat(), went_well.strip(),
                           was_hard.strip())
             for title, starts_at, zone, went_well, was_hard in db.session.execute(query)]
    return [note for note in notes if note.went_well or note.was_hard]


def hosted_events(partner_id: int, report_filter: ReportFilter) -> list[HostedEvent]:
    """Events in the filter's range that the partner hosts, co-hosts or sponsors."""
    rows = db.session.execute(
        sa.select(Event, EventHost.role)
        .join(EventHost, EventHost.event_id == Event.id)
        .where(EventHost.partner_id == partner_id, Event.status != EventStatus.DRAFT)
        .order_by(Event.starts_at, Event.id)
    )
    return [HostedEvent(event.title, event.starts_at, event.timezone, role, event.status)
            for event, role in rows
            if _in_range(local_date(event.starts_at, event.timezone), report_filter)
            and report_filter.event_id in (None, event.id)]


def filter_choices(partner_id: int | None) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Events and partners a filter form offers (a partner's page: its own events)."""
    event_filter = ReportFilter(partner_id=partner_id)
    events = [(event.id, f"{event.title} ({local_date(event.starts_at, event.timezone)})")
              for event in matching_events(event_filter)]
    partners = [] if partner_id is not None else [
        (partner.id, partner.name)
        for partner in db.session.scalars(sa.select(Partner).order_by(Partner.name, Partner.id))]
    return events, partners


# Narrative and CSV -------------------------------------------------------------------------


def percent(value: float | None) -> str:
    """A ratio as a whole percentage, or a dash for none."""
    return "—" if value is None else f"{value * 100:.0f}%"


def one_decimal(value: float | None) -> str:
    """A figure with one decimal, or a dash for none."""
    return "—" if value is None else f"{value:.1f}"


def plural(count: int, word: str, words: str | None = None) -> str:
    """`count` and the word for that many (`words`, or the word with an s, for several)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def narrative(partner_name: str, figures: Figures, hosted: list[HostedEvent],
              books: list[Group]) -> list[str]:
    """A few plain sentences about a partner's figures, for a grant or stakeholder report."""
    book_count = sum(1 for group in books if group.kind == "Book")
    session_count = len(books) - book_count
    offered = " and ".join(filter(None, [
        plural(book_count, "human book") if book_count else "",
        plural(session_count, "program session") if session_count else "",
    ])) or "no books or sessions"
    sentences = [
        f"{partner_name} took part in {plural(len(hosted), 'event')} and offered {offered}, "
        f"with {plural(figures.readings, 'reading')} and {plural(figures.capacity, 'seat')}.",
        f"Readers booked {plural(figures.seats, 'seat')}"
        + (f" ({percent(figures.fill_rate)} of those offered)" if figures.capacity else "")
        + f"; {plural(figures.readers_reached, 'reader')} attended"
        + (f", including {plural(figures.walk_ins, 'walk-in booking')} at the desk"
           if figures.walk_ins else "") + ".",
    ]
    if figures.waitlisted:
        sentences.append(
            f"Demand exceeded the seats available: {plural(figures.waitlisted, 'booking')} "
            f"joined a waitlist.")
    if figures.responses:
        sentences.append(
            f"{plural(figures.responses, 'reader')} answered the survey, rating their reading "
            f"{one_decimal(figures.average_rating)} out of 5 on average; "
            f"{percent(figures.recommend_rate)} would recommend it and "
            f"{percent(figures.changed_view_rate)} said it changed how they see the topic.")
    if figures.return_rate is not None:
        sentences.append(
            f"Volunteers wrote {plural(figures.reflections, 'reflection')}; "
            f"{percent(figures.return_rate)} would come back.")
    elif figures.reflections:
        sentences.append(f"Volunteers wrote {plural(figures.reflections, 'reflection')}.")
    return sentences


#: Columns of every figures table: (header, how to read it from Figures).
FIGURE_COLUMNS = (
    ("readings", lambda f: f.readings),
    ("readings held", lambda f: f.readings_held),
    ("capacity (seats)", lambda f: f.capacity),
    ("bookings", lambda f: f.bookings),
    ("seats booked", lambda f: f.seats),
    ("fill rate (%)", lambda f: _pct(f.fill_rate)),
    ("waitlist demand (bookings)", lambda f: f.waitlisted),
    ("waitlist demand (seats)", lambda f: f.waitlisted_seats),
    ("attended", lambda f: f.attended),
    ("no-shows", lambda f: f.no_show),
    ("attendance rate (%)", lambda f: _pct(f.attendance_rate)),
    ("no-show rate (%)", lambda f: _pct(f.no_show_rate)),
    ("readers reached (seats)", lambda f: f.readers_reached),
    ("walk-ins", lambda f: f.walk_ins),
    ("cancellations", lambda f: f.cancelled),
    ("feedback responses", lambda f: f.responses),
    ("average rating (1-5)", lambda f: _round(f.average_rating)),
    ("would recommend (%)", lambda f: _pct(f.recommend_rate)),
    ("changed view: yes (%)", lambda f: _pct(f.changed_yes_rate)),
    ("changed view: a little (%)", lambda f: _pct(f.changed_a_little_rate)),
)
#: Not in the books table: reflections are never counted per book.
REFLECTION_COLUMNS = (
    ("volunteer reflections", lambda f: f.reflections),
    ("volunteer average rating (1-5)", lambda f: _round(f.average_reflection_rating)),
    ("volunteers who would return (%)", lambda f: _pct(f.return_rate)),
)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _round(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def table_rows(report: Report, table: str) -> tuple[list[str], list[list]]:
    """A table of the report as a header and rows, as the CSV export writes it."""
    def figure_headers(columns=FIGURE_COLUMNS + REFLECTION_COLUMNS) -> list[str]:
        return [header for header, _ in columns]

    def figures(f: Figures, columns=FIGURE_COLUMNS + REFLECTION_COLUMNS) -> list:
        return [read(f) for _, read in columns]

    if table == "events":
        return (["event", "date", "hosts", *figure_headers()],
                [[g.label, g.kind, g.detail, *figures(g.figures)] for g in report.events])
    if table == "partners":
        return (["partner", *figure_headers()],
                [[g.label, *figures(g.figures)] for g in report.partners])
    if table == "books":
        return (["type", "title", "partner", *figure_headers(FIGURE_COLUMNS)],
                [[g.kind, g.label, g.detail, *figures(g.figures, FIGURE_COLUMNS)]
                 for g in report.books])
    if table == "comments":
        return (["event", "book or session", "rating", "comment"],
                [[c.event, c.resource, c.rating, c.text] for c in report.comments])
    if table == "notes":
        return (["event", "date", "went well", "was hard"],
                [[n.event, n.date, n.went_well, n.was_hard] for n in report.notes])
    raise ValueError(f"no table {table!r}")


#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell as text, with a quote before anything a spreadsheet would run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(header: list[str], rows: list[list]) -> str:
    """A table as CSV text, every cell made safe to open in a spreadsheet (`csv_cell`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue()
