"""After a reading: survey requests claimed once, the reader's survey, the volunteer's reflection."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from booking.services import tokens as auth, feedback, reservations
from booking.services.outbox import mailer
from booking.domain.errors import (
    AlreadyAnswered,
    FeedbackRefused,
    NotYourBook,
    ReflectionRefused,
    ValidationFailed,
)
from booking.domain.models import Booking, BookingStatus, ChangedView, Feedback, HostRole, Reflection, Role, User
from support import (PASSWORD, crons_at_once, csrf_token_from, messages as queued, parts, race,
                     sign_in_as as sign_in)
from booking.services import passwords
from booking.web.errors import status_for
from booking.domain.commands import Patron, SurveyAnswer, VolunteerReflection, WalkIn


@pytest.fixture
def past_reading(db, make_event, make_book, make_slot, now):
    """A reading (of a new book, at a new event) that ended `ended_ago`, with bookings made
    before it; returns (slot, [Reservation…]) with one reservation per e-mail given."""

    def past_reading(*emails, ended_ago=timedelta(hours=1), capacity=None, event=None,
                     book=None, session=None, **slot_fields):
        starts = now.replace(microsecond=0) - ended_ago - timedelta(minutes=30)
        event = event or make_event(starts_at=starts - timedelta(hours=1),
                                    max_bookings_per_patron=5)
        slot = make_slot(event, book=book if session is None else None, session=session,
                         starts_at=starts, capacity=capacity or max(len(emails), 1),
                         **slot_fields)
        booked_at = starts - timedelta(days=1)
        reservations_made = [
            reservations.book(
                slot.id,
                Patron.parse(name=email.split("@")[0].title(), email=email),
                now=booked_at,
            )
            for email in emails
        ]
        return slot, reservations_made

    return past_reading


def survey_link(booking_id: int) -> str:
    return f"/feedback/{auth.feedback_token(booking_id)}"


def answer(token: str, *, now, **answers):
    """Answer the survey with these values, through its command as the page does."""
    return feedback.submit_feedback(token, SurveyAnswer.parse(answers), now=now)


def reflect(user, event, book, *, now, **answers):
    """Reflect with these values, through the command as the volunteer's page does."""
    return feedback.submit_reflection(user, event, book, VolunteerReflection.parse(answers),
                                      now=now)


ANSWERS = {"rating": 5, "would_recommend": True, "changed_view": "a_little",
           "comment": "  Eye-opening.  "}


# Survey requests ---------------------------------------------------------------------------


def test_requests_go_once_to_attended_and_confirmed_readers_of_readings_that_ended(
    db, past_reading, make_session, make_event, now
):
    slot, (came, unmarked, absent, gone) = past_reading(
        "came@example.org", "unmarked@example.org", "absent@example.org", "gone@example.org")
    reservations.cancel(gone.token, now=slot.starts_at - timedelta(hours=2))
    walk_in = reservations.book(
        slot.id,
        WalkIn.parse(name="Walk-in", email=""),
        now=slot.starts_at + timedelta(minutes=5),
    ).booking
    waiting = reservations.book(
        slot.id,
        Patron.parse(name="Wait", email="wait@example.org"),
        now=slot.starts_at - timedelta(days=1),
    ).booking
    assert waiting.status == BookingStatus.WAITLISTED  # the walk-in took the freed seat
    reservations.check_in(came.booking.id, now=slot.starts_at)
    reservations.mark_no_show(absent.booking.id, now=slot.starts_at)
    past_reading("too.recent@example.org", ended_ago=timedelta(minutes=5))
    past_reading("too.old@example.org", ended_ago=timedelta(days=8))
    event = make_event(starts_at=slot.starts_at - timedelta(hours=1))
    past_reading("session@example.org", event=event, session=make_session(event))

    first = feedback.queue_feedback_requests(now)
    again = feedback.queue_feedback_requests(now + timedelta(minutes=5))

    assert (first, again) == (2, 0)
    requests = queued(db, "feedback_request")
    assert sorted(m.to_email for m in requests) == ["came@example.org", "unmarked@example.org"]
    assert {m.booking_id for m in requests} == {came.booking.id, unmarked.booking.id}
    assert db.session.get(Booking, came.booking.id).feedback_requested_at == now
    # The walk-in without an address is claimed, but nothing is queued to it.
    assert db.session.get(Booking, walk_in.id).feedback_requested_at == now
    for message in requests:
        link = message.payload["survey_url"]
        assert link.startswith("http://library.test/feedback/")
        assert auth.read_feedback(link.rsplit("/", 1)[1]) == message.booking_id


def test_two_cron_runs_at_once_send_each_feedback_request_once(
    app, db, make_event, make_book, past_reading, now, monkeypatch
):
    event = make_event(starts_at=now.replace(microsecond=0) - timedelta(hours=4))
    booking_ids = [
        past_reading(f"r{n}@example.org", event=event, book=make_book())[1][0].booking.id
        for n in range(8)
    ]

    outcomes, asked, requests = crons_at_once(
        app, db, monkeypatch, lambda: feedback.queue_feedback_requests(now), now=now,
        kind="feedback_request", subject="How was your reading")

    assert sum(outcomes) == len(booking_ids)
    assert sorted(asked) == sorted(f"r{n}@example.org" for n in range(8))
    assert sorted(m.booking_id for m in requests) == sorted(booking_ids)
    assert all(m.sent_at is not None for m in requests)


def test_send_feedback_requests_queues_then_sends_and_forgets_the_link(
    app, runner, db, past_reading
):
    past_reading("ada@example.org")
    db.session.rollback()

    result = runner.invoke(args=["send-feedback-requests"])

    assert result.exit_code == 0, result.output
    assert "1 feedback request queued" in result.output and "1 sent" in result.output
    [request] = queued(db, "feedback_request")
    assert request.sent_at is not None and "survey_url" not in request.payload
    [written] = (Path(app.instance_path) / "outbox").glob("*.eml")
    assert "http://library.test/feedback/" in written.read_text()


def test_the_request_email_has_text_and_html_says_anonymous_and_has_no_calendar(
    db, past_reading, now
):
    slot, [reservation] = past_reading("ada@example.org", ended_ago=timedelta(hours=2))
    feedback.queue_feedback_requests(now)
    [message] = queued(db, "feedback_request")

    email = mailer.compose(message, now=now)

    assert email["Subject"] == f"How was your reading of “{slot.book.title}”?"
    by_type = parts(email)
    assert set(by_type) == {"text/plain", "text/html"}
    for part in by_type.values():
        body = part.get_content()
        assert message.payload["survey_url"] in body
        assert "anonymous" in body and "a minute" in body and slot.book.title in body
        assert "Secret Volunteer Name" not in body


def test_a_request_is_not_sent_once_the_booking_is_marked_no_show(db, past_reading, now):
    slot, [reservation] = past_reading("ada@example.org")
    feedback.queue_feedback_requests(now)
    [request] = queued(db, "feedback_request")
    reservations.mark_no_show(reservation.booking.id, now=now)

    result = mailer.drain(now, ids=[request.id])

    assert (result.sent, result.skipped) == (0, 1)


# The reader's survey ---------------------------------------------------------------------


def test_an_answer_is_saved_once_and_a_second_changes_nothing(db, past_reading, now):
    slot, [reservation] = past_reading("ada@example.org")
    token = auth.feedback_token(reservation.booking.id)

    saved = answer(token, now=now, **ANSWERS)
    with pytest.raises(AlreadyAnswered):
        answer(token, now=now, rating=1, would_recommend=False, changed_view="no",
               comment="Changed my mind")

    [stored] = db.session.scalars(sa.select(Feedback)).all()
    assert stored.id == saved.id
    assert (stored.rating, stored.would_recommend, stored.changed_view, stored.comment) == (
        5, True, ChangedView.A_LITTLE, "Eye-opening.")
    assert (stored.event_id, stored.slot_id, stored.submitted_at) == (slot.event_id, slot.id, now)


def test_two_answers_sent_at_once_keep_exactly_one(app, db, past_reading, now):
    slot, [reservation] = past_reading("ada@example.org")
    token = auth.feedback_token(reservation.booking.id)

    outcomes = race(app, [lambda: answer(token, now=now, **ANSWERS) and "saved"
                          for _ in range(4)])

    assert outcomes.count("saved") == 1
    assert all(isinstance(o, AlreadyAnswered) for o in outcomes if o != "saved")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 1


@pytest.mark.parametrize(("field", "value"), [
    ("rating", 0), ("rating", 6), ("rating", "five"), ("rating", None), ("rating", True),
    ("rating", 4.5), ("rating", "²"), ("would_recommend", None), ("would_recommend", "maybe"),
    ("changed_view", "sometimes"), ("changed_view", None), ("comment", "x" * 2001),
    ("comment", "bad\x00byte"), ("comment", ["a list"]),
])
def test_each_survey_answer_is_checked_and_nothing_is_stored_when_one_is_wrong(
    db, past_reading, now, field, value
):
    slot, [reservation] = past_reading("ada@example.org")

    with pytest.raises(ValidationFailed) as refused:
        answer(auth.feedback_token(reservation.booking.id), now=now, **{**ANSWERS, field: value})

    assert list(refused.value.errors) == [field]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_the_survey_waits_for_the_reading_to_end_and_is_closed_to_cancelled_bookings(
    db, make_slot, past_reading, now
):
    upcoming = reservations.book(make_slot().id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    slot, [cancelled] = past_reading("bo@example.org")
    reservations.cancel(cancelled.token, now=slot.starts_at - timedelta(hours=1))

    for reservation, words in ((upcoming, "once your reading is over"),
                               (cancelled, "cancelled")):
        with pytest.raises(FeedbackRefused, match=words):
            answer(auth.feedback_token(reservation.booking.id), now=now, **ANSWERS)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_tampered_expired_and_unknown_survey_links_are_refused(db, past_reading, now,
                                                               monkeypatch):
    slot, [reservation] = past_reading("ada@example.org")
    token = auth.feedback_token(reservation.booking.id)

    for bad in (token[:-3] + "abc", auth.feedback_token(10**6), "x" * 600, "",
                auth.reset_token(User(id=reservation.booking.id, password_hash="h"))):
        with pytest.raises(auth.LinkInvalid, match="not valid"):
            answer(bad, now=now, **ANSWERS)
    monkeypatch.setattr(auth, "FEEDBACK_MAX_AGE", -1)
    with pytest.raises(auth.LinkInvalid, match="expired"):
        answer(token, now=now, **ANSWERS)


# The survey pages ------------------------------------------------------------------------


def test_a_reader_answers_the_survey_through_the_link_without_an_account(
    client, db, past_reading
):
    slot, [reservation] = past_reading("ada@example.org")
    link = survey_link(reservation.booking.id)

    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert slot.book.title in html and slot.event.title in html
    assert "Secret Volunteer Name" not in html and "secret.volunteer" not in html
    assert html.count("<fieldset") == 3 and "<legend" in html
    answers = {"csrf_token": csrf_token_from(html), "rating": "4", "would_recommend": "yes",
               "changed_view": "yes", "comment": "Thank you"}
    sent = client.post(link, data=answers)
    assert sent.status_code == 303 and sent.headers["Location"] == link
    thanks = client.get(link)
    assert thanks.status_code == 200 and "We have received your answers" in thanks.get_data(
        as_text=True)

    again = client.post(link, data={**answers, "rating": "1"})

    assert again.status_code == 409 and "already received" in again.get_data(as_text=True)
    [stored] = db.session.scalars(sa.select(Feedback)).all()
    assert (stored.rating, stored.would_recommend, stored.comment) == (4, True, "Thank you")


def test_a_wrong_answer_is_shown_next_to_its_question_and_nothing_is_stored(
    client, db, past_reading
):
    slot, [reservation] = past_reading("ada@example.org")
    link = survey_link(reservation.booking.id)
    token = csrf_token_from(client.get(link).get_data(as_text=True))

    response = client.post(link, data={"csrf_token": token, "rating": "9",
                                       "changed_view": "perhaps", "comment": "ok"})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="error-summary"' in html and 'href="#rating"' in html
    assert "Choose a rating from 1 to 5." in html
    assert 'aria-describedby="would_recommend-error"' in html
    assert "ok</textarea>" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_broken_survey_links_and_odd_posts_get_clear_pages_never_500(
    client, db, past_reading, make_slot, now, monkeypatch
):
    slot, [reservation] = past_reading("ada@example.org")
    link = survey_link(reservation.booking.id)
    upcoming = reservations.book(make_slot().id, Patron.parse(name="Bo", email="bo@example.org"), now=now)

    tampered = client.get(link[:-4] + "abcd")
    assert tampered.status_code == 400 and "not valid" in tampered.get_data(as_text=True)
    assert client.get("/feedback/" + "a" * 2000).status_code == 400
    assert client.get("/feedback/%00%ff").status_code == 400
    early = client.get(survey_link(upcoming.booking.id))
    assert early.status_code == 409 and "once your reading is over" in early.get_data(
        as_text=True)
    token = csrf_token_from(client.get(link).get_data(as_text=True))
    odd = client.post(link, data={"csrf_token": token, "rating": ["1", "2"],
                                  "would_recommend": "\x00"})
    assert odd.status_code in (400, 422)
    assert client.post(link, data={"rating": "5"}).status_code == 400  # no CSRF token
    monkeypatch.setattr(auth, "FEEDBACK_MAX_AGE", -1)
    expired = client.get(link)
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


# The volunteer's reflection --------------------------------------------------------------


@pytest.fixture
def volunteer_world(db, make_partner, make_book, make_event, past_reading, now):
    """A volunteer whose book gave a reading an hour ago at an event their partner hosts,
    and another partner's volunteer."""
    partner = make_partner("Literacy Council")
    book = make_book(partner, title="Learned to read at 40")
    starts = now.replace(microsecond=0) - timedelta(hours=3)
    event = make_event(starts_at=starts, hosts=[(partner, HostRole.HOST)])
    past_reading("reader@example.org", event=event, book=book)
    other_partner = make_partner("Museum")
    users = {}
    for email, role, who, their_book in (
        ("vol@example.org", Role.VOLUNTEER, partner, book),
        ("other.vol@example.org", Role.VOLUNTEER, other_partner, make_book(other_partner)),
        ("staff@example.org", Role.STAFF, None, None),
    ):
        user = User(email=email, name=email.split("@")[0], role=role,
                    partner_id=who.id if who else None,
                    human_book_id=their_book.id if their_book else None)
        passwords.set_password(user, PASSWORD)
        db.session.add(user)
        users[email.split("@")[0]] = user
    db.session.commit()
    return {"event": event, "book": book, **users}


REFLECTION = {"rating": 4, "went_well": "Good questions", "was_hard": "", "would_return": True}


def test_a_volunteer_reflects_once_their_first_reading_started_and_may_revise(
    db, volunteer_world, now
):
    w = volunteer_world

    reflect(w["vol"], w["event"], w["book"], now=now, **REFLECTION)
    reflect(w["vol"], w["event"], w["book"], now=now + timedelta(hours=1),
                               **{**REFLECTION, "rating": "2", "would_return": "no"})

    [reflection] = db.session.scalars(sa.select(Reflection)).all()
    assert (reflection.rating, reflection.would_return, reflection.went_well) == (
        2, False, "Good questions")
    assert reflection.submitted_at == now + timedelta(hours=1)
    assert reflection.user_id == w["vol"].id


def test_staff_may_reflect_for_a_book_but_another_volunteer_may_not(db, volunteer_world, now):
    w = volunteer_world

    with pytest.raises(NotYourBook) as refused:
        reflect(w["other.vol"], w["event"], w["book"], now=now, **REFLECTION)
    assert status_for(refused.value) == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reflection)) == 0
    reflect(w["staff"], w["event"], w["book"], now=now, **REFLECTION)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reflection)) == 1


def test_a_reflection_waits_for_the_first_reading_to_start(
    db, volunteer_world, make_event, make_slot, now
):
    w = volunteer_world
    upcoming = make_event()
    make_slot(upcoming, book=w["book"])

    for event, when, words in ((w["event"], now - timedelta(hours=2), "first reading"),
                               (upcoming, now, "first reading"),
                               (make_event(), now, "no readings")):
        with pytest.raises(ReflectionRefused, match=words):
            reflect(w["vol"], event, w["book"], now=when, **REFLECTION)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reflection)) == 0


@pytest.mark.parametrize(("field", "value"), [
    ("rating", 0), ("rating", None), ("would_return", None), ("would_return", "perhaps"),
    ("went_well", "x" * 2001), ("was_hard", "tab\tok but \x07 bell"),
])
def test_each_reflection_answer_is_checked(db, volunteer_world, now, field, value):
    w = volunteer_world

    with pytest.raises(ValidationFailed) as refused:
        reflect(w["vol"], w["event"], w["book"], now=now,
                                   **{**REFLECTION, field: value})

    assert list(refused.value.errors) == [field]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reflection)) == 0


def test_the_volunteer_page_links_to_the_reflection_form_which_saves_and_revises(
    app, db, volunteer_world
):
    w = volunteer_world
    client = app.test_client()
    sign_in(client, w["vol"])
    home = client.get("/me/").get_data(as_text=True)
    url = f"/me/events/{w['event'].slug}/reflection"
    assert f'href="{url}"' in home and f"Reflect on {w['event'].title}" in home

    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Learned to read at 40" in html
    # It tells the volunteer who reads the texts, and that the book title is not shown with them.
    assert "library staff read what you write with the event's name only" in html
    assert "never with your name or your book's title" in html
    fields = {"csrf_token": csrf_token_from(html), "rating": "5", "went_well": "All of it",
              "was_hard": "", "would_return": "yes"}
    assert client.post(url, data=fields).status_code == 303
    revised = client.get(url).get_data(as_text=True)
    assert '<input checked id="rating-4" name="rating"' in revised  # the saved answer, 5
    assert "Revise your reflection" in client.get("/me/").get_data(as_text=True)
    assert client.post(url, data={**fields, "would_return": "no"}).status_code == 303
    assert client.post(url, data={**fields, "rating": "0"}).status_code == 422
    [reflection] = db.session.scalars(sa.select(Reflection)).all()
    assert (reflection.rating, reflection.would_return) == (5, False)


def test_the_reflection_page_refuses_other_peoples_events_and_early_visits(
    app, db, volunteer_world, make_event, make_slot, make_partner, now
):
    w = volunteer_world
    client = app.test_client()
    sign_in(client, w["other.vol"])
    assert client.get(f"/me/events/{w['event'].slug}/reflection").status_code == 404
    assert client.get("/me/events/no-such-event/reflection").status_code == 404

    client = app.test_client()
    sign_in(client, w["vol"])
    upcoming = make_event()
    make_slot(upcoming, book=w["book"])
    early = client.get(f"/me/events/{upcoming.slug}/reflection")
    assert early.status_code == 409 and "first reading" in early.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reflection)) == 0
