"""After a reading: the readers' short survey and the volunteers' reflection.

Who is asked. A survey request goes to bookings of a reading (not a program session) that are
`attended`, or still `confirmed` once the reading is over: the desk does not always mark
attendance, and a reader who did not come simply ignores the e-mail. Cancelled, waitlisted and
no-show bookings are never asked. Requests go out from `after` the reading's end and no later
than REQUEST_WINDOW after it, so a cron job that was down for a while does not survey people
about a reading weeks old.

Answers are anonymous in reports: reports read `Feedback` by event, slot and book, and
`Reflection` by event and partner only (booking.reports says why), never by patron or volunteer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.services import tokens as auth
from booking.services.outbox import notifications
from booking.domain.errors import (
    AlreadyAnswered,
    DomainError,
    FeedbackRefused,
    NotYourBook,
    ReflectionRefused,
    ValidationFailed,
)
from booking.extensions import db
from booking.domain.models import Booking, BookingStatus, ChangedView, Event, EventHost, EventStatus, Feedback, HumanBook, Reflection, Role, Slot, SlotStatus, User
from booking.domain.text import check_text

#: How long after a reading a survey request may still be sent.
REQUEST_WINDOW = timedelta(days=7)
#: Bookings that are asked, and may answer: the reader came, or was not marked either way.
SURVEYED_STATUSES = (BookingStatus.ATTENDED, BookingStatus.CONFIRMED)
TEXT_MAX = 2000


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


def find_survey(token: str) -> Survey:
    """The booking a survey link names; LinkInvalid when tampered with, expired or unknown."""
    booking = db.session.get(Booking, auth.read_feedback(token))
    if booking is None:
        raise auth.LinkInvalid("This survey link is not valid.")
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


def submit_feedback(token: str, rating, would_recommend, changed_view, comment,
                    now: datetime) -> Feedback:
    """Record a reader's answers; one per booking, a second one changes nothing."""
    try:
        survey = find_survey(token)
        if survey.answered:
            raise AlreadyAnswered()
        problem = survey_problem(survey.booking, now)
        if problem is not None:
            raise problem
        answers = _clean_feedback(rating, would_recommend, changed_view, comment)
        booking = survey.booking
        feedback = Feedback(booking_id=booking.id, event_id=booking.event_id,
                            slot_id=booking.slot_id, submitted_at=now, **answers)
        db.session.add(feedback)
        db.session.commit()
    except sa.exc.IntegrityError as exc:
        # Two answers sent at once: the unique booking_id keeps the first.
        db.session.rollback()
        raise AlreadyAnswered() from exc
    except BaseException:
        db.session.rollback()
        raise
    return feedback


def _clean_feedback(rating, would_recommend, changed_view, comment) -> dict:
    errors: dict[str, list[str]] = {}
    answers = {
        "rating": _rating(rating, errors, "rating", "Choose a rating from 1 to 5."),
        "would_recommend": _yes_no(would_recommend, errors, "would_recommend",
                                   "Say whether you would recommend a reading to a friend."),
        "comment": _text(comment, errors, "comment"),
    }
    try:
        answers["changed_view"] = ChangedView(changed_view)
    except ValueError:
        errors["changed_view"] = ["Say whether the reading changed how you see the topic."]
    if errors:
        raise ValidationFailed(errors)
    return answers


def _rating(value, errors: dict, field: str, message: str) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        errors[field] = [message]
        return None
    return value


def _yes_no(value, errors: dict, field: str, message: str) -> bool | None:
    answer = {True: True, False: False, "yes": True, "no": False}.get(value) \
        if isinstance(value, (bool, str)) else None
    if answer is None:
        errors[field] = [message]
    return answer


def _text(value, errors: dict, field: str) -> str:
    if not isinstance(value, (str, type(None))):
        errors[field] = ["Enter text."]
        return ""
    text = (value or "").strip()
    if len(text) > TEXT_MAX:
        errors[field] = [f"Please keep it to {TEXT_MAX} characters (this is {len(text)})."]
    check_text(errors, field, text, multiline=True)
    return text


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
    return db.session.scalar(
        sa.select(Reflection).where(Reflection.event_id == event.id,
                                    Reflection.book_id == book.id)
    )


def submit_reflection(user: User, event: Event, book: HumanBook, *, rating, went_well,
                      was_hard, would_return, now: datetime) -> Reflection:
    """Save the volunteer's reflection on the book's readings at the event.

    One per event and book; sending it again revises it (a volunteer may think again), and
    the latest writer and time are kept.
    """
    errors: dict[str, list[str]] = {}
    answers = {
        "rating": _rating(rating, errors, "rating", "Choose how the day went, from 1 to 5."),
        "went_well": _text(went_well, errors, "went_well"),
        "was_hard": _text(was_hard, errors, "was_hard"),
        "would_return": _yes_no(would_return, errors, "would_return",
                                "Say whether you would be a book again."),
    }
    for attempt in range(2):
        try:
            problem = reflection_problem(user, event, book, now)
            if problem is not None:
                raise problem
            if errors:
                raise ValidationFailed(errors)
            reflection = find_reflection(event, book)
            if reflection is None:
                reflection = Reflection(event_id=event.id, book_id=book.id)
                db.session.add(reflection)
            for name, value in answers.items():
                setattr(reflection, name, value)
            reflection.user_id = user.id
            reflection.submitted_at = now
            db.session.commit()
            return reflection
        except sa.exc.IntegrityError:
            # Sent twice at once: the other request created it; this one revises it.
            db.session.rollback()
            if attempt:
                raise
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


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
