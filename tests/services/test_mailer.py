"""E-mails from the outbox: text and HTML, iTIP invitations, .eml files, SMTP, retries."""
from __future__ import annotations

import base64
import email
import email.policy
import smtplib
import socket
import socketserver
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from booking.services import feedback, reservations
from booking.domain import ical as feeds
from booking.services.outbox import mailer, notifications
from booking.domain.models import OutboxMessage, Role, User, utcnow
from support import PASSWORD, messages, parts, race, record_sends, sign_in_as as sign_in
from booking.services import passwords
from booking.domain.commands import Patron


@pytest.fixture
def reservation(make_event, make_slot, now):
    """A confirmed reading at an event in Chicago, with the patron's private token."""
    event = make_event(timezone="America/Chicago", accessibility_notes="Step-free entrance.")
    slot = make_slot(event)
    return reservations.book(slot.id, Patron.parse(name="Ada Reader", email="ada@example.org"), now=now)


def found_text(message) -> str:
    return parts(message)["text/plain"].get_content()


def calendar_of(message) -> Calendar:
    return Calendar.from_ical(parts(message)["text/calendar"].get_content())


def outbox_files(app) -> list[Path]:
    return sorted((Path(app.instance_path) / "outbox").glob("*.eml"))


def read_eml(path: Path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def booking_kinds(db, reservation, now) -> dict[str, OutboxMessage]:
    """One message of each booking kind for the same booking."""
    booking = reservation.booking
    queued = {
        "booking_confirmed": messages(db, "booking_confirmed")[0],
        "booking_waitlisted": notifications.queue("booking_waitlisted", to=booking.patron_email,
                                                  now=now, booking=booking),
        "waitlist_promoted": notifications.queue_promoted(booking, now=now),
        "reminder": notifications.queue_reminder(booking, now=now),
        "schedule_changed": notifications.queue_schedule_changed(
            booking, now, "The reading moved to Room 2."),
        "booking_cancelled": notifications.queue_booking_cancelled(
            booking, now=now, reason="The volunteer is ill."),
        "feedback_request": feedback.queue_feedback_request(booking, now=now),
    }
    db.session.commit()
    return queued


@pytest.mark.parametrize("kind", sorted(mailer.KINDS))
def test_every_kind_of_message_has_a_subject_and_text_and_html(db, reservation, now, kind):
    if kind in ("invitation", "password_reset"):
        message = notifications.queue(kind, to="new@example.org", now=now,
                                      link="http://library.test/some-link", role="coordinator",
                                      inviter_name="Sam Staff")
        db.session.commit()
    elif kind == "booking_held":
        hold = reservations.Hold(expires_at=now + timedelta(minutes=20), client="c",
                                 client_limit=5)
        reservations.book(
            reservation.booking.slot_id,
            Patron.parse(name="Ada Reader", email="ada.again@example.org"),
            now=now,
            hold=hold,
        )
        message = messages(db, "booking_held")[0]
    else:
        message = booking_kinds(db, reservation, now)[kind]

    composed = mailer.compose(message, now=now)
    if kind == "booking_held":  # the link that proves the address, the seat held until when
        assert message.payload["confirm_url"] in found_text(composed)
        assert "/confirm/" in message.payload["confirm_url"]

    found = parts(composed)
    text = found["text/plain"].get_content()
    html = found["text/html"].get_content()
    assert composed["Subject"] and composed["To"] == message.to_email
    assert composed["From"] == "Riverside Library <events@library.test>"
    if message.booking is not None:
        title = reservation.booking.slot.resource_title
        assert title in composed["Subject"] and title in text and title in html
        assert "Ada Reader" in text
        if mailer.KINDS[kind].method is None:  # after the reading: no calendar to update
            assert "text/calendar" not in found and "application/ics" not in found
        else:
            assert "Step-free entrance." in html and "http://library.test/events/" in text
            assert found["application/ics"].get_filename().endswith(".ics")
    else:
        assert "http://library.test/some-link" in text and 'href="http://library.test/some-link"' in html
        assert "text/calendar" not in found


def test_html_e_mails_escape_what_patrons_typed(db, make_slot, now):
    reservation = reservations.book(
        make_slot().id,
        Patron.parse(name="<b>Bo</b>", email="bo@example.org"),
        now=now,
    )
    [message] = messages(db)

    found = parts(mailer.compose(message, now=now))

    assert "&lt;b&gt;Bo&lt;/b&gt;" in found["text/html"].get_content()
    assert "<b>Bo</b>" in found["text/plain"].get_content()
    assert reservation.booking.id == message.booking_id


def test_the_confirmation_carries_the_private_manage_link_and_later_messages_do_not(
    db, reservation, now
):
    queued = booking_kinds(db, reservation, now)
    manage_url = f"http://library.test/bookings/{reservation.token}"

    confirmation = parts(mailer.compose(queued["booking_confirmed"], now=now))
    reminder = parts(mailer.compose(queued["reminder"], now=now))

    assert manage_url in confirmation["text/plain"].get_content()
    assert manage_url not in reminder["text/plain"].get_content()
    assert "link in your booking confirmation e-mail" in reminder["text/plain"].get_content()
    description = str(Calendar.from_ical(reminder["text/calendar"].get_content())
                      .events[0]["DESCRIPTION"])
    assert "link in your confirmation e-mail" in description and manage_url not in description


def test_the_invitation_is_an_itip_request_with_organizer_attendee_and_time_zones(
    db, client, reservation, now
):
    [message] = messages(db, "booking_confirmed")

    composed = mailer.compose(message, now=now)

    calendar_part = parts(composed)["text/calendar"]
    assert calendar_part.get_param("method") == "REQUEST"
    calendar = calendar_of(composed)
    attached = Calendar.from_ical(parts(composed)["application/ics"].get_content())
    assert attached.to_ical() == calendar.to_ical()
    assert calendar["METHOD"] == "REQUEST"
    [vevent] = calendar.events
    assert str(vevent["ORGANIZER"]) == "mailto:events@library.test"
    assert vevent["ORGANIZER"].params["CN"] == reservation.booking.event.hosts[0].partner.name
    [attendee] = vevent.attendees
    assert str(attendee) == "mailto:ada@example.org"
    assert attendee.params["CN"] == "Ada Reader"
    assert attendee.params["PARTSTAT"] == "ACCEPTED" and attendee.params["RSVP"] == "FALSE"
    assert vevent["STATUS"] == "CONFIRMED"
    assert calendar.get_used_tzids() == {"America/Chicago"}
    assert calendar.get_missing_tzids() == set()
    feed = Calendar.from_ical(client.get(f"/bookings/{reservation.token}.ics").data)
    assert vevent["UID"] == feed.events[0]["UID"]


def test_a_cancellation_has_the_same_uid_and_a_higher_sequence_even_when_sent_late(
    app, db, reservation, now
):
    reservations.cancel(reservation.token, now=now)

    result = mailer.drain(now)

    assert result.sent == 2
    request, cancel = (calendar_of(read_eml(path)) for path in outbox_files(app))
    assert request["METHOD"] == "REQUEST" and cancel["METHOD"] == "CANCEL"
    assert request.events[0]["UID"] == cancel.events[0]["UID"]
    assert cancel.events[0]["SEQUENCE"] > request.events[0]["SEQUENCE"]
    assert cancel.events[0]["STATUS"] == "CANCELLED"
    assert cancel.get_missing_tzids() == set()


def test_the_e_mailed_sequence_is_the_feeds_after_the_event_and_book_were_renamed(
    app, db, client, reservation, now
):
    """A calendar that took the feed's SEQUENCE must still accept the later cancellation."""
    booking = reservation.booking
    booking.event.title = "Human Library Day (renamed)"
    booking.slot.book.title = "Retired nurse"
    db.session.commit()
    feed = Calendar.from_ical(client.get(f"/bookings/{reservation.token}.ics").data)

    reservations.cancel(reservation.token, now=now)
    mailer.drain(now)

    request, cancel = (calendar_of(read_eml(path)) for path in outbox_files(app))
    assert feed.events[0]["SEQUENCE"] > request.events[0]["SEQUENCE"]
    assert cancel.events[0]["SEQUENCE"] > feed.events[0]["SEQUENCE"]
    assert cancel.events[0]["SEQUENCE"] == feeds.booking_sequence(booking)


def test_a_waitlist_notice_is_tentative_and_the_promotion_confirms_it(
    app, db, make_slot, now
):
    slot = make_slot(capacity=1)
    first = reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    reservations.book(slot.id, Patron.parse(name="Bo", email="bo@example.org"), now=now)
    reservations.cancel(first.token, now=now)

    mailer.drain(now)

    by_kind = {m.kind: m for m in messages(db) if m.to_email == "bo@example.org"}
    waitlisted = calendar_of(read_eml(Path(app.instance_path) / "outbox" /
                                      f"message-{by_kind['booking_waitlisted'].id}.eml"))
    promoted = calendar_of(read_eml(Path(app.instance_path) / "outbox" /
                                    f"message-{by_kind['waitlist_promoted'].id}.eml"))
    assert waitlisted.events[0]["STATUS"] == "TENTATIVE"
    assert promoted.events[0]["STATUS"] == "CONFIRMED"
    # The title says it too: most calendars show the title, few the status.
    assert str(waitlisted.events[0]["SUMMARY"]).startswith("Waitlist: Reading: ")
    assert str(promoted.events[0]["SUMMARY"]).startswith("Reading: ")
    assert promoted.events[0]["SEQUENCE"] > waitlisted.events[0]["SEQUENCE"]


def test_without_a_mail_server_messages_are_written_as_eml_files_and_marked_sent(
    app, db, reservation, now
):
    result = mailer.drain(now)

    assert (result.sent, result.failed) == (1, 0)
    [path] = outbox_files(app)
    written = read_eml(path)
    assert written["To"] == "ada@example.org"
    assert written.get_content_type() == "multipart/mixed"
    [message] = messages(db)
    assert message.sent_at == now and message.attempts == 1
    assert "manage_url" not in message.payload  # the private link is not kept once sent
    assert not list(path.parent.glob(".*.tmp"))


class FakeSMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 fake.test ESMTP")
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-fake.test")
                self.reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                self.server.logins.append(base64.b64decode(command.split()[-1]).split(b"\0"))
                self.reply("235 OK")
            elif verb == "RCPT" and self.server.refuse_recipients:
                address = command.split(":", 1)[1]
                self.reply(f"550 5.1.1 {address}: mailbox unknown")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                self.server.received.append(b"".join(data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def smtp_server():
    """A real SMTP listener on 127.0.0.1 that keeps what it receives."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FakeSMTPHandler)
    server.daemon_threads = True
    server.received, server.logins, server.refuse_recipients = [], [], False
    # Polled every 10 ms, not 0.5 s: shutdown() waits for the next poll.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_a_mail_server_messages_go_out_by_smtp_with_a_login(
    app, db, reservation, now, smtp_server
):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.server_address[1],
                      MAIL_USERNAME="mailer", MAIL_PASSWORD="s3cret")

    result = mailer.drain(now)

    assert result.sent == 1
    [raw] = smtp_server.received
    delivered = email.message_from_bytes(raw, policy=email.policy.default)
    assert delivered["To"] == "ada@example.org"
    assert calendar_of(delivered)["METHOD"] == "REQUEST"
    assert smtp_server.logins == [[b"", b"mailer", b"s3cret"]]
    assert outbox_files(app) == []


def test_a_failed_send_stays_queued_with_backoff_and_a_later_drain_sends_it(
    app, db, reservation, now, smtp_server
):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port())

    first = mailer.drain(now)

    assert (first.sent, first.failed) == (0, 1)
    [message] = messages(db)
    assert message.sent_at is None and message.attempts == 1
    assert "ConnectionRefused" in message.last_error
    assert message.next_attempt_at == now + mailer.BACKOFF_FIRST
    assert mailer.drain(now + timedelta(seconds=30)).failed == 0  # not due yet

    app.config["MAIL_PORT"] = smtp_server.server_address[1]
    later = mailer.drain(now + timedelta(minutes=2))

    assert later.sent == 1 and len(smtp_server.received) == 1
    [message] = messages(db)
    assert message.sent_at is not None and message.attempts == 2 and message.last_error == ""


def test_a_refused_recipient_is_logged_and_kept_by_its_smtp_code_never_its_address(
    app, db, reservation, now, smtp_server, caplog
):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.server_address[1])
    smtp_server.refuse_recipients = True

    assert mailer.drain(now).failed == 1

    [message] = messages(db)
    assert message.sent_at is None and message.last_error == "SMTPRecipientsRefused: SMTP 550"
    assert "ada@example.org" not in caplog.text and "SMTP 550" in caplog.text


@pytest.mark.parametrize("exc, kept", [
    (smtplib.SMTPSenderRefused(553, b"<events@library.test> refused", "events@library.test"),
     "SMTPSenderRefused: SMTP 553"),
    (smtplib.SMTPDataError(554, b"rejected for ada@example.org"), "SMTPDataError: SMTP 554"),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "SMTPServerDisconnected"),
    (ConnectionRefusedError(111, "Connection refused"), "ConnectionRefusedError: Connection refused"),
    (ValueError("bad address ada@example.org"), "ValueError"),
])
def test_a_failure_is_described_without_the_text_of_the_error(exc, kept):
    assert mailer.describe_failure(exc) == kept


def test_invitation_and_reset_links_are_not_kept_once_sent(app, db, now):
    for kind in ("invitation", "password_reset"):
        notifications.queue(kind, to="new@example.org", now=now,
                            link=f"http://library.test/{kind}/secret-token", role="coordinator",
                            inviter_name="Sam Staff")
    db.session.commit()

    assert mailer.drain(now).sent == 2

    sent = messages(db)
    assert [m.payload.get("link") for m in sent] == [None, None]
    assert all("secret-token" in path.read_text() for path in outbox_files(app))


def test_retries_wait_longer_each_time_up_to_a_cap():
    assert [mailer.backoff(n) for n in (1, 2, 3)] == [
        timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert mailer.backoff(50) == mailer.BACKOFF_MAX


def test_a_reminder_for_a_booking_cancelled_since_is_not_sent(app, db, reservation, now):
    notifications.queue_reminder(reservation.booking, now=now)
    db.session.commit()
    reservations.cancel(reservation.token, now=now)

    result = mailer.drain(now)

    assert (result.sent, result.skipped) == (2, 1)
    [reminder] = messages(db, "reminder")
    assert reminder.sent_at is not None and reminder.last_error.startswith("not sent")
    assert not (Path(app.instance_path) / "outbox" / f"message-{reminder.id}.eml").exists()


def test_two_drainers_at_once_send_each_message_once(app, db, now, monkeypatch):
    for n in range(12):
        notifications.queue_password_reset(f"p{n}@example.org", "http://library.test/x", now)
    db.session.commit()
    sent = record_sends(monkeypatch)

    outcomes = race(app, [lambda: mailer.drain(now) for _ in range(4)])

    assert sorted(to for to, _ in sent) == sorted(f"p{n}@example.org" for n in range(12))
    assert sum(result.sent for result in outcomes) == 12
    assert all(m.sent_at is not None for m in messages(db))


@pytest.fixture
def send_on_commit(app_config):
    app_config["MAIL_SEND_ON_COMMIT"] = True
    return app_config


def test_a_booking_request_sends_its_confirmation_once_it_has_answered(
    send_on_commit, app, client, db, make_slot
):
    slot = make_slot()
    response = client.post(f"/api/v1/slots/{slot.id}/bookings",
                           json={"name": "Ada", "email": "ada@example.org"})
    assert response.status_code == 201
    db.session.rollback()  # the test's own session must not hold SQLite's write lock

    response.close()  # what the WSGI server does once the answer is out

    [message] = messages(db)
    assert message.sent_at is not None
    [path] = outbox_files(app)
    assert read_eml(path)["To"] == "ada@example.org"


def test_a_failing_mail_server_never_turns_a_booking_into_an_error(
    send_on_commit, app, client, db, make_slot, monkeypatch
):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port())
    slot = make_slot(capacity=2)

    response = client.post(f"/api/v1/slots/{slot.id}/bookings",
                           json={"name": "Ada", "email": "ada@example.org"})
    db.session.rollback()
    response.close()
    monkeypatch.setattr(mailer, "drain", lambda *a, **k: 1 / 0)
    second = client.post(f"/api/v1/slots/{slot.id}/bookings",
                         json={"name": "Bo", "email": "bo@example.org"})
    db.session.rollback()
    second.close()

    assert response.status_code == 201 and second.status_code == 201
    queued = messages(db)
    assert len(queued) == 2 and all(m.sent_at is None for m in queued)
    assert "ConnectionRefused" in queued[0].last_error


def test_a_refused_booking_queues_and_sends_nothing(send_on_commit, app, client, db, make_slot):
    slot = make_slot()
    response = client.post(f"/api/v1/slots/{slot.id}/bookings",
                           json={"name": "", "email": "ada@example.org"})
    response.close()

    assert response.status_code == 422
    assert messages(db) == [] and outbox_files(app) == []


def test_send_emails_reports_counts_and_fails_when_a_send_failed(app, runner, db, reservation):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port())
    db.session.rollback()

    failing = runner.invoke(args=["send-emails"])

    assert failing.exit_code == 1 and "0 sent" in failing.output and "1 failed" in failing.output
    db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()
    app.config["MAIL_SERVER"] = ""
    working = runner.invoke(args=["send-emails"])
    assert working.exit_code == 0 and "1 sent" in working.output
    assert len(outbox_files(app)) == 1


# -- messages that cannot be written -------------------------------------------------------

def queue_unwritable(db, booking, now) -> OutboxMessage:
    """A message no version of the mailer can write (a kind it does not know), with a link."""
    message = notifications.queue("newsletter", to=booking.patron_email, now=now,
                                  booking=booking, link="http://library.test/private")
    db.session.commit()
    return message


def test_a_message_that_cannot_be_written_is_marked_failed_once_and_never_claimed_again(
    app, db, reservation, now, caplog
):
    unwritable = queue_unwritable(db, reservation.booking, now)

    first = mailer.drain(now)

    assert (first.sent, first.failed, first.unwritable) == (1, 0, 1)
    [_, message] = messages(db)
    assert message.id == unwritable.id and message.sent_at is None
    assert (message.failed_at, message.attempts, message.last_error) == (now, 1, "LookupError")
    assert "link" not in message.payload  # never to be sent: the private link goes
    [logged] = [r for r in caplog.records if "could not be written" in r.getMessage()]
    assert f"E-mail {message.id} (newsletter)" in logged.getMessage()
    assert "ada@example.org" not in caplog.text and "Ada" not in caplog.text

    for later in (timedelta(minutes=11), timedelta(hours=7), timedelta(days=2)):
        assert mailer.drain(now + later) == mailer.DrainResult()
    ids = [message.id]
    db.session.rollback()  # end that read: on SQLite it holds the lock send_now's session needs
    mailer.send_now(app, ids)
    [_, message] = messages(db)
    assert message.attempts == 1 and message.failed_at == now
    assert len([r for r in caplog.records if "could not be written" in r.getMessage()]) == 1


def test_a_database_error_while_writing_is_not_the_messages_fault_and_is_retried(
    app, db, reservation, now, monkeypatch
):
    def database_gone(message, *, now):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(mailer, "compose", database_gone)

    result = mailer.drain(now)

    assert (result.failed, result.unwritable) == (1, 0)
    [message] = messages(db)
    assert message.failed_at is None and message.last_error == "OperationalError"
    assert message.next_attempt_at == now + mailer.BACKOFF_FIRST


def test_a_title_stored_on_two_lines_before_the_rule_is_still_e_mailed_on_one_line(
    app, db, make_book, make_slot, now
):
    book = make_book(title="Nurse\r\nBcc: everyone@example.org")
    reservations.book(
        make_slot(book=book).id,
        Patron.parse(name="Ada", email="ada@example.org"),
        now=now,
    )

    result = mailer.drain(now)

    assert (result.sent, result.unwritable) == (1, 0)
    [path] = outbox_files(app)
    written = read_eml(path)
    assert written["Subject"].startswith("Booked: Nurse Bcc: everyone@example.org on ")
    assert written["Bcc"] is None and written["To"] == "ada@example.org"


def test_staff_see_the_messages_that_could_not_be_written_and_send_emails_counts_them(
    app, client, runner, db, reservation, now
):
    staff = User(email="staff@example.org", name="Sam", role=Role.STAFF)
    passwords.set_password(staff, PASSWORD)
    db.session.add(staff)
    db.session.commit()
    sign_in(client, staff)
    queue_unwritable(db, reservation.booking, now)
    assert "could not be written" not in client.get("/staff/").get_data(as_text=True)
    db.session.rollback()

    first = runner.invoke(args=["send-emails"])
    again = runner.invoke(args=["send-emails"])

    assert first.exit_code == 1
    assert "1 sent, 0 skipped, 0 failed, 1 could not be written" in first.output
    assert again.exit_code == 0 and "0 could not be written" in again.output
    page = client.get("/staff/").get_data(as_text=True)
    event = reservation.booking.event
    assert "1 e-mail could not be written" in page
    assert "newsletter" in page and "LookupError" in page
    assert f"Booking {reservation.booking.id} at" in page
    assert f'href="/staff/events/{event.slug}"' in page
    assert "ada@example.org" not in page and "Ada Reader" not in page
