"""After a reading: the readers' short survey and the volunteers' reflection.

Who is asked. A survey request goes to bookings of a reading (not a program session) that are
`attended`, or still `confirmed` once the reading is over: the desk does not always mark
attendance, and a reader who did not come simply ignores the e-mail. Cancelled, waitlisted and
no-show bookings are never asked. Requests go out from `after` the reading's end and no later
than REQUEST_WINDOW after it, so a cron job that was down for a while does not survey people
about a reading weeks old.

Answers are anonymous in reports: reports read `Feedback` by event, slot and book, and
`Reflection` by event and partner only (services/queries/reports.py says why), never by
patron or volunteer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.services import tokens as auth
from booking.services.outbox import notifications
from booking.domain.commands import SurveyAnswer, VolunteerReflection
from booking.domain.errors import (
    AlreadyAnswered,
    DomainError,
    FeedbackRefused,
    NotYourBook,
    ReflectionRefused,
)
from booking.extensions import db, transaction
from booking.domain.models import Booking, BookingStatus, ChangedView, Event, EventHost, EventStatus, Feedback, HumanBook, Reflection, Role, Slot, SlotStatus, User
from booking.domain import messages

#: How long after a reading a survey request may still be sent.
REQUEST_WINDOW = timedelta(days=7)
#: Bookings that are asked, and may answer: the reader came, or was not marked either way.
SURVEYED_STATUSES = (BookingStatus.ATTENDED, BookingStatus.CONFIRMED)


# -- survey requests -----------------------------------------------------------------------

def queue_feedback_requests(now: datetime, *, after: timedelta = timedelta(minutes=15)) -> int:
    """Queue one survey request per reading that ended `after` ago; returns how many.

    Each request is claimed once (`bookings.feedback_requested_at`) by `notifications.claim_each`,
    so cron jobs running at once on several servers send each request once.
    """
    candidates = db.session.scalars(
        sa.select(Booking.id)
        .join(Slot, Booking.slot_id == Slot.id)
        .join(Event, Booking.event_id == Event.id)
        .where(
            Booking.status.in_(SURVEYED_STATUSES),
            Booking.feedback_requested_at.is_(None),
            Slot.book_id.is_not(None),
            Slot.status != SlotStatus.CANCELLED,
            Event.status != EventStatus.CANCELLED,
            Slot.ends_at <= now - after,
            Slot.ends_at > now - REQUEST_WINDOW,
        )
        .order_by(Slot.ends_at, Booking.id)
    ).all()
    return notifications.claim_each(candidates, Booking.feedback_requested_at, now=now,
                                    statuses=SURVEYED_STATUSES, queue_one=queue_feedback_request)


def queue_feedback_request(booking: Booking, *, now: datetime):
    """The survey invitation, with its signed link (removed from the outbox once sent)."""
    return notifications.queue(
        "feedback_request", to=booking.patron_email, now=now, booking=booking,
        survey_url=notifications.public_url("feedback.survey",
                                            token=auth.feedback_token(booking.id)),
        survey_days=auth.FEEDBACK_MAX_AGE // (24 * 3600),
    )


# -- the reader's survey -------------------------------------------------------------------

@dataclass(frozen=True)
class Survey:
    """The reading a survey link is about, and whether it can (still) be answered."""

    booking: Booking
    answered: bool


def find_survey(token: str, *, lock: bool = False) -> Survey:
    """The booking a survey link names; LinkInvalid when tampered with, expired or unknown.
    `lock`: lock the booking's row until the transaction ends."""
    booking_id = auth.read_feedback(token)
    booking = (db.session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
               if lock else db.session.get(Booking, booking_id))
    if booking is None:
        raise auth.LinkInvalid(messages.SURVEY_LINK_INVALID)
    answered = db.session.scalar(
        sa.select(sa.func.count()).select_from(Feedback).where(Feedback.booking_id == booking.id)
    ) > 0
    return Survey(booking=booking, answered=answered)


def survey_problem(booking: Booking, now: datetime) -> DomainError | None:
    """Why this booking's reader cannot answer the survey, or None."""
    if booking.status not in SURVEYED_STATUSES:
        return FeedbackRefused("This booking was cancelled or not attended, so there is no "
                               "reading to ask you about.")
    if booking.slot.ends_at > now:
        return FeedbackRefused("You can answer once your reading is over. Thank you for "
                               "waiting!")
    return None


def submit_feedback(token: str, answer: SurveyAnswer, *, now: datetime) -> Feedback:
    """Record a reader's answers; one per booking, a second one changes nothing."""
    with transaction():
        # The booking's row is locked, so that two answers sent at once are told apart here;
        # the unique booking_id is only the backstop.
        survey = find_survey(token, lock=True)
        if survey.answered:
            raise AlreadyAnswered()
        problem = survey_problem(survey.booking, now)
        if problem is not None:
            raise problem
        booking = survey.booking
        feedback = Feedback(booking_id=booking.id, event_id=booking.event_id,
                            slot_id=booking.slot_id, submitted_at=now, rating=answer.rating,
                            would_recommend=answer.would_recommend,
                            changed_view=ChangedView(answer.changed_view),
                            comment=answer.comment)
        db.session.add(feedback)
    return feedback


# -- the volunteer's reflection ------------------------------------------------------------

def first_reading_start(event: Event, book: HumanBook) -> datetime | None:
    """When the book's first (not cancelled) reading at the event starts, if it has any."""
    return db.session.scalar(
        sa.select(sa.func.min(Slot.starts_at))
        .where(Slot.event_id == event.id, Slot.book_id == book.id,
               Slot.status != SlotStatus.CANCELLED)
    )


def reflection_problem(user: User, event: Event, book: HumanBook,
                       now: datetime) -> DomainError | None:
    """Why `user` cannot reflect on `book`'s readings at `event` now, or None."""
    if not (user.role == Role.STAFF
            or (user.role == Role.VOLUNTEER and user.human_book_id == book.id)):
        return NotYourBook()
    first = first_reading_start(event, book)
    if first is None:
        return ReflectionRefused("This book has no readings at this event, so there is "
                                 "nothing to reflect on.")
    if first > now:
        return ReflectionRefused("You can reflect once your first reading at this event has "
                                 "started.")
    return None


def event_for_reflection(slug: str, user: User) -> Event | None:
    """The event at `slug` if the volunteer's book has readings there or their organisation
    co-hosts it; None otherwise (other partners' drafts stay unknown)."""
    if user.human_book_id is None:
        return None
    return db.session.scalar(
        sa.select(Event).where(
            Event.slug == slug,
            sa.or_(
                Event.id.in_(sa.select(Slot.event_id).where(Slot.book_id == user.human_book_id)),
                Event.id.in_(sa.select(EventHost.event_id)
                             .where(EventHost.partner_id == user.partner_id)),
            ),
        )
    )


def find_reflection(event: Event, book: HumanBook) -> Reflection | None:
    """The reflection on the book's readings at the event, if one was written."""
    return db.session.scalar(
        sa.select(Reflection).where(Reflection.event_id == event.id,
                                    Reflection.book_id == book.id)
    )


def submit_reflection(user: User, event: Event, book: HumanBook,
                      answers: VolunteerReflection, *, now: datetime) -> Reflection:
    """Save the volunteer's reflection on the book's readings at the event.

    One per event and book; sending it again revises it (a volunteer may think again), and
    the latest writer and time are kept.
    """
    with transaction():
        # The book's row is locked, so that two reflections sent at once make one: the second
        # finds the first and revises it.
        db.session.get(HumanBook, book.id, with_for_update=True, populate_existing=True)
        problem = reflection_problem(user, event, book, now)
        if problem is not None:
            raise problem
        reflection = find_reflection(event, book)
        if reflection is None:
            reflection = Reflection(event_id=event.id, book_id=book.id)
            db.session.add(reflection)
        reflection.rating = answers.rating
        reflection.went_well = answers.went_well
        reflection.was_hard = answers.was_hard
        reflection.would_return = answers.would_return
        reflection.user_id = user.id
        reflection.submitted_at = now
    return reflection


def reflectable_events(book: HumanBook, now: datetime, *, since: timedelta = timedelta(days=90)
                       ) -> list[tuple[Event, bool]]:
    """(event, reflected already) for events where the book's first reading has started,
    within `since`, most recent first: what the volunteer's page offers to reflect on."""
    first_starts = (
        sa.select(Slot.event_id, sa.func.min(Slot.starts_at).label("first"))
        .where(Slot.book_id == book.id, Slot.status != SlotStatus.CANCELLED)
        .group_by(Slot.event_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Event, Reflection.id)
        .join(first_starts, first_starts.c.event_id == Event.id)
        .outerjoin(Reflection, sa.and_(Reflection.event_id == Event.id,
                                       Reflection.book_id == book.id))
        .where(first_starts.c.first <= now, first_starts.c.first > now - since,
               Event.status != EventStatus.CANCELLED)
        .order_by(first_starts.c.first.desc())
    ).all()
    return [(event, reflection_id is not None) for event, reflection_id in rows]
