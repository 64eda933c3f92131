"""Control characters are refused in every text people set, line breaks in one-line fields:
one rule per kind of field (booking.text), in each service, with nothing changed."""
from __future__ import annotations

import html
import inspect

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.fields.core import UnboundField

from booking.services import accounts, availability, events, listings, partners, programme, reservations
from booking.web import forms
from booking.services.availability import ConfirmationNeeded
from booking.domain.errors import ValidationFailed
from booking.domain.models import AuditEntry, Booking, BookingStatus, Event, HumanBook, OutboxMessage, Partner, ProgramSession, SlotStatus, User, utcnow
from booking.domain.messages import CONTROL_CHARACTERS as TEXT_MESSAGE, ONE_LINE as LINE_MESSAGE
from booking.domain.text import breaks_line, has_control_characters
from support import confirmation_fields, create, event_fields, fields, local, sign_in_as as sign_in
from booking.domain.commands import (AcceptInvitation, BookListing, Cancellation, Invite, NewAccount,
                                     Patron, Profile, Schedule, WalkIn, Window)

#: What breaks a line, and other control characters; each is refused in a one-line field.
LINE_BREAKERS = ["\n", "\r\n", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"]
CONTROLS = ["\x00", "\x1b[31m", "\x7f", "\x9b", "\ud800"]


@pytest.mark.parametrize("character", LINE_BREAKERS + CONTROLS)
def test_a_one_line_value_refuses_line_breaks_tabs_and_control_characters(character):
    assert breaks_line(f"Retired{character}nurse")


@pytest.mark.parametrize(("character", "refused"), [
    *[(c, False) for c in ("\n", "\r\n", "\t", "\u2028")], *[(c, True) for c in CONTROLS],
])
def test_free_text_keeps_line_breaks_and_tabs_but_refuses_other_control_characters(
    character, refused
):
    assert has_control_characters(f"First line{character}second line") is refused
    # One rule, one place: the services no longer keep a copy of their own.
    assert not hasattr(reservations, "has_control_characters")


@pytest.mark.parametrize("text", ["Refugee", "Vivir entre dos lenguas", "Ancien·ne militaire",
                                  "Ĉu vi parolas?", "Rückkehr – مهاجر", "👩🏽‍⚕️ Nurse"])
def test_ordinary_text_in_any_script_passes_both_rules(text):
    assert not breaks_line(text) and not has_control_characters(text)


def counts(db, *models) -> list[int]:
    db.session.expire_all()
    return [db.session.scalar(sa.select(sa.func.count()).select_from(model)) for model in models]


def statuses(db) -> list[BookingStatus]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Booking.status).order_by(Booking.id)).all()


def test_a_booking_or_walk_in_name_must_be_one_line_while_needs_may_span_lines(
    db, make_slot, now
):
    slot = make_slot(capacity=3)
    for name, walk_in in (("Ada\nLovelace", False), ("Ada\tLovelace", True)):
        with pytest.raises(ValidationFailed) as refused:
            reservations.book(
                slot.id,
                (WalkIn if walk_in else Patron).parse(
                    name=name, email="" if walk_in else "ada@example.org"),
                now=now,
            )
        assert refused.value.errors == {"name": [LINE_MESSAGE]}
    assert counts(db, Booking, OutboxMessage) == [0, 0]

    booked = reservations.book(
        slot.id,
        Patron.parse(name="Ada Lovelace", email="ada@example.org",
                     accessibility_needs="Step-free access.\r\nA quiet seat."),
        now=now,
    )
    assert booked.booking.accessibility_needs == "Step-free access.\r\nA quiet seat."


def test_a_book_title_with_a_line_break_is_refused_and_nothing_is_stored(db, place, now):
    coordinator, partner = place["coordinator"], place["partner"]
    with pytest.raises(ValidationFailed) as refused:
        listings.create_book(coordinator, partner, BookListing.parse(
            title="Nurse\r\nBcc: everyone@example.org", blurb="Ask me\x1b[2J anything.",
            topics=("care", "night\tshifts"), volunteer_name="Vera\nV"), now=now)

    assert refused.value.errors == {"title": [LINE_MESSAGE], "topics": [LINE_MESSAGE],
                                    "volunteer_name": [LINE_MESSAGE], "blurb": [TEXT_MESSAGE]}
    assert counts(db, HumanBook, AuditEntry) == [1, 0]  # the place's own book only

    book = place["book"]
    with pytest.raises(ValidationFailed):
        listings.update_book(coordinator, book, BookListing.parse(title="Refugee\u2028"
                                                                          "again"), now=now)
    listings.update_book(coordinator, book, BookListing.parse(
        title="Refugee", blurb="Two lines.\nBoth kept."), now=now)
    assert db.session.get(HumanBook, book.id).blurb == "Two lines.\nBoth kept."


def test_a_session_title_or_audience_with_control_characters_is_refused(db, place, now):
    with pytest.raises(ValidationFailed) as refused:
        create(place, now, title="Storytime\x00", audience="Children\nand parents",
               description="Songs.\x07")

    assert refused.value.errors == {"title": [LINE_MESSAGE], "audience": [LINE_MESSAGE],
                                    "description": [TEXT_MESSAGE]}
    assert counts(db, ProgramSession, AuditEntry) == [0, 0]


def test_a_partner_name_on_two_lines_is_refused_and_the_profile_kept(db, place, now):
    partner = place["partner"]
    with pytest.raises(ValidationFailed) as refused:
        partners.update_profile(place["coordinator"], partner, Profile.parse(
            name="Literacy\u2028Council", kind="Charity\t", description="We teach.\x1b"),
            now=now)

    assert refused.value.errors == {"name": [LINE_MESSAGE], "description": [TEXT_MESSAGE]}
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).name == "Literacy Council"
    assert counts(db, AuditEntry) == [0]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("title", "Spring\nHuman Library", LINE_MESSAGE),
    ("venue", "Room\t1", LINE_MESSAGE),
    ("description", "Welcome.\x1b[2J", TEXT_MESSAGE),
])
def test_an_event_title_or_venue_must_be_one_line(db, staff, now, field, value, message):
    with pytest.raises(ValidationFailed) as refused:
        events.create_event(staff, event_fields(**{field: value}), now)

    assert refused.value.errors == {field: [message]}
    assert counts(db, Event, AuditEntry) == [0, 0]
    events.create_event(staff, event_fields(description="Welcome.\r\nCome early."), now)


def test_a_name_given_on_accepting_an_invitation_or_by_the_operator_must_be_one_line(db, staff):
    token = accounts.invite(staff, Invite.parse(email="new@example.org", role="staff"),
                            now=utcnow()).token
    with pytest.raises(ValidationFailed) as refused:
        accounts.accept_invitation(
            token, AcceptInvitation.parse(name="Nia\x1b[31m", password="a long password",
                                          confirm="a long password"), now=utcnow())
    assert refused.value.errors == {"name": [LINE_MESSAGE]}

    with pytest.raises(ValidationFailed) as refused:
        accounts.create_account(NewAccount.parse(
            email="ops@example.org", role="staff", password="a long password",
            name="Ops\r\nTeam"), now=utcnow())
    assert refused.value.errors == {"name": [LINE_MESSAGE]}
    assert counts(db, User) == [1]  # staff only


def test_a_staff_reason_for_cancelling_a_reading_must_be_one_line(db, staff, make_slot, now):
    slot = make_slot()
    reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)

    with pytest.raises(ValidationFailed) as refused:
        events.cancel_slot(staff, slot, Cancellation.parse(
            reason="The volunteer is ill.\nBcc: everyone"), now)

    assert refused.value.errors == {"reason": [LINE_MESSAGE]}
    assert statuses(db) == [BookingStatus.CONFIRMED] and slot.status == SlotStatus.OPEN


@pytest.mark.parametrize("change", ["retire book", "remove readings", "fewer seats",
                                    "retire session"])
def test_a_reason_for_cancelling_bookings_on_two_lines_asks_again_and_changes_nothing(
    db, place, now, change
):
    event, book, coordinator = place["event"], place["book"], place["coordinator"]
    if change.endswith("session") or change == "fewer seats":
        session = create(place, now, seats=2)
        slot = programme.session_slot(session)
    else:
        availability.save(None, event, book,
                          Schedule(windows=[Window(starts=local(10), ends=local(11))]), now=now)
        slot = availability.book_slots(event, book)[0]
    for email in ("ada@example.org", "bo@example.org"):
        booking = reservations.book(slot.id, Patron.parse(name="Reader", email=email), now=now).booking
    before = statuses(db), counts(db, Booking, OutboxMessage, AuditEntry)

    changes = {
        "retire book": lambda **kw: listings.retire_book(coordinator, book, now=now, **kw),
        "remove readings": lambda **kw: availability.save(coordinator, event, book, Schedule(),
                                                          now=now, **kw),
        "fewer seats": lambda **kw: programme.update_session(coordinator, session,
                                                             fields(seats=1), now=now, **kw),
        "retire session": lambda **kw: programme.retire_session(coordinator, session, now=now,
                                                                **kw),
    }
    with pytest.raises(ConfirmationNeeded) as asked:
        changes[change](confirmed=[b.id for b in db.session.scalars(sa.select(Booking))],
                        reason="Sorry.\r\nBcc: everyone")

    assert asked.value.message.startswith(f"The reason for the readers: {LINE_MESSAGE}")
    assert booking in asked.value.plan.lost and not asked.value.unseen
    assert (statuses(db), counts(db, Booking, OutboxMessage, AuditEntry)) == before


# -- the forms: every text field says the rule on itself ------------------------------------

#: Looked up, never stored: a sign-in or reset address only has to match an account.
NOT_STORED = {"LoginForm.email", "ForgotPasswordForm.email"}


def text_fields() -> list[tuple[type, str, bool]]:
    """(form class, field name, multiline) of every text field of every form in booking.forms."""
    found = []
    for form_name, form in inspect.getmembers(forms, inspect.isclass):
        if not issubclass(form, FlaskForm) or form is FlaskForm:
            continue
        for name, unbound in inspect.getmembers(form, lambda m: isinstance(m, UnboundField)):
            kind = unbound.field_class
            if issubclass(kind, StringField) and not issubclass(kind, PasswordField) \
                    and f"{form_name}.{name}" not in NOT_STORED:
                found.append((form, name, issubclass(kind, TextAreaField)))
    return found


def validated(app, form_class, name: str, value: str) -> list[str]:
    """The field's refusals: from the form's command where it has one (the only check of the
    value), else from the form's own validators."""
    with app.test_request_context(method="POST"):
        form = form_class(formdata=MultiDict({name: value}), meta={"csrf": False})
        form[name].validate(form)
        if getattr(form_class, "command", None) is None:
            return list(form[name].errors)
        try:
            form_class.command.parse({name: form[name].data})
        except ValidationFailed as refused:
            return refused.errors.get(name, [])
        return []


def test_the_sweep_finds_the_text_fields_of_every_kind_of_form():
    names = {f"{form.__name__}.{name}" for form, name, _ in text_fields()}
    assert {"BookingForm.name", "WalkInForm.name", "BookForm.title", "SessionForm.audience",
            "ProfileForm.name", "EventForm.venue", "CancelForm.reason", "AcceptInvitationForm.name",
            "InviteForm.email", "FeedbackForm.comment", "ReflectionForm.was_hard"} <= names


@pytest.mark.parametrize(("form_class", "name", "multiline"), [
    pytest.param(*found, id=f"{found[0].__name__}.{found[1]}") for found in text_fields()
])
def test_every_text_field_of_every_form_refuses_control_characters_with_the_rule(
    app, form_class, name, multiline
):
    refused = TEXT_MESSAGE if multiline else LINE_MESSAGE
    assert validated(app, form_class, name, "Ada\x1b[31m Lovelace") == [refused]
    on_two_lines = validated(app, form_class, name, "Ada\r\nLovelace")
    assert on_two_lines == [] if multiline else on_two_lines == [LINE_MESSAGE]


def test_a_book_title_on_two_lines_is_refused_on_the_field_and_nothing_is_stored(
    client, submit, login, world, db
):
    login(world["coordinator"])
    response = submit("/partner/books/new", {"title": "Nurse\r\nBcc: everyone@example.org",
                                             "blurb": "Nights.\r\nAnd days."})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    title_field = page[page.index('for="title"'):page.index('id="title"')]
    assert LINE_MESSAGE in html.unescape(title_field)
    assert counts(db, HumanBook) == [2]  # the world's two books only


# -- text stored before the rule ---------------------------------------------------------------

#: What older versions let through: line breaks, an escape code, a line separator.
LEGACY = "Before\r\nthe rule\x1b[31m\u2028was here"


def test_text_stored_before_the_rule_breaks_no_page_feed_or_e_mail(
    app, db, world, make_slot, now
):
    from booking.services import calendars
    from booking.services.outbox import mailer

    event, book, session = world["event"], world["own_book"], world["own_session"]
    slot = make_slot(event, book=book)
    reservation = reservations.book(
        slot.id,
        Patron.parse(name="Ada", email="ada@example.org", accessibility_needs="Step-free"),
        now=now,
    )
    for row, names in ((event, ("title", "venue", "description")), (book, ("title", "blurb")),
                       (session, ("title", "audience")), (world["own"], ("name",)),
                       (world["coordinator"], ("name",)),
                       (reservation.booking, ("patron_name", "accessibility_needs"))):
        for name in names:
            setattr(row, name, f"{name.title()} {LEGACY}")
    db.session.commit()
    feed_token = calendars.issue_feed_token(world["staff"])
    token, slug = reservation.token, event.slug

    pages = {
        None: ["/", f"/events/{slug}", f"/slots/{slot.id}/book", f"/bookings/{token}",
               f"/bookings/{token}.ics", "/feeds/events.ics", f"/events/{slug}/schedule.ics",
               f"/feeds/u/{feed_token}.ics", "/api/v1/events", f"/api/v1/events/{slug}",
               f"/api/v1/events/{slug}/slots"],
        "staff": ["/staff/", "/staff/events/", f"/staff/events/{slug}", "/staff/events/audit",
                  f"/staff/events/{slug}/edit", f"/desk/{slug}", f"/desk/{slug}/state",
                  "/staff/reports/", "/staff/reports/books.csv", "/staff/reports/events.csv"],
        "coordinator": ["/partner/", f"/partner/books/{book.id}", "/partner/profile",
                        f"/partner/sessions/{session.id}", "/partner/reports", "/partner/impact"],
        "volunteer": ["/me/", f"/me/events/{slug}/availability"],
    }
    for who, paths in pages.items():
        client = app.test_client()
        if who:
            sign_in(client, world[who])
        for path in paths:
            assert client.get(path).status_code == 200, (who, path)

    mailer.drain(now)
    assert mailer.unwritable(now) == (0, [])


def test_a_reason_on_two_lines_shows_the_confirmation_again_with_the_rule(
    client, submit, login, world, db, make_slot, now
):
    book = world["own_book"]
    booking = reservations.book(
        make_slot(world["event"], book=book).id,
        Patron.parse(name="Ada", email="ada@example.org"),
        now=now,
    ).booking
    login(world["coordinator"])
    asked = submit("/partner/", {}, action=f"/partner/books/{book.id}/retire")
    assert asked.status_code == 409

    again = client.post(f"/partner/books/{book.id}/retire", data=confirmation_fields(
        asked.get_data(as_text=True), reason="Sorry.\r\nBcc: everyone@example.org"))

    assert again.status_code == 409
    page = html.unescape(again.get_data(as_text=True))
    assert f"The reason for the readers: {LINE_MESSAGE} Nothing was changed." in page
    assert f'name="confirm_booking" value="{booking.id}"' in page
    assert statuses(db) == [BookingStatus.CONFIRMED]
    assert db.session.get(HumanBook, book.id).listing_status.value == "approved"
