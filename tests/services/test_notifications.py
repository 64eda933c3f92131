"""What gets queued, and when: bookings, cancellations, reminders claimed exactly once."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from booking.services.outbox import mailer, notifications
from booking.services import reservations
from booking.domain.models import Booking, BookingStatus, Slot
from support import crons_at_once, messages as queued
from booking.domain.commands import Patron


def test_booking_queues_a_confirmation_with_the_private_link_or_a_waitlist_notice(
    db, make_slot, now
):
    slot = make_slot(capacity=1)
    first = reservations.book(slot.id, Patron.parse(name="Ada", email="Ada@Example.org"), now=now)
    reservations.book(slot.id, Patron.parse(name="Bo", email="bo@example.org"), now=now)

    confirmed, waitlisted = queued(db)

    assert (confirmed.kind, confirmed.to_email) == ("booking_confirmed", "Ada@Example.org")
    assert confirmed.booking_id == first.booking.id
    assert confirmed.payload["manage_url"] == f"http://library.test/bookings/{first.token}"
    assert waitlisted.kind == "booking_waitlisted" and waitlisted.to_email == "bo@example.org"


def test_a_patron_cancelling_queues_the_cancellation_and_the_promotion(db, make_slot, now):
    slot = make_slot(capacity=1)
    first = reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    reservations.book(slot.id, Patron.parse(name="Bo", email="bo@example.org"), now=now)

    reservations.cancel(first.token, now=now)

    kinds = [(m.kind, m.to_email) for m in queued(db)][2:]
    assert sorted(kinds) == [("booking_cancelled", "ada@example.org"),
                             ("waitlist_promoted", "bo@example.org")]
    [cancelled] = queued(db, "booking_cancelled")
    assert cancelled.payload["by_patron"] is True


def test_a_schedule_change_is_queued_for_the_patron(db, make_slot, now):
    booking = reservations.book(make_slot().id, Patron.parse(name="Ada", email="ada@example.org"), now=now).booking

    notifications.queue_schedule_changed(booking, now, "The reading moved to Room 2.")
    db.session.commit()

    [message] = queued(db, "schedule_changed")
    assert message.payload["what_changed"] == "The reading moved to Room 2."
    assert message.booking_id == booking.id


def test_an_invitation_is_queued_with_its_link(db, now):
    notifications.queue_invitation("vol@example.org", "http://library.test/invitations/t",
                                   "Cora Coordinator", "volunteer", now)
    db.session.commit()

    [message] = queued(db)
    assert message.kind == "invitation" and message.payload["role"] == "volunteer"
    assert "Cora Coordinator" in mailer.compose(message, now=now).get_body(("plain",)).get_content()


def reminder_world(db, make_event, make_slot, now):
    """Bookings of every kind; only the first is a confirmed reading starting within a day."""
    event = make_event(starts_at=now.replace(microsecond=0) + timedelta(hours=2),
                       max_bookings_per_patron=5)
    soon = make_slot(event, starts_at=event.starts_at + timedelta(hours=1), capacity=1)
    later = make_slot(event, starts_at=event.starts_at + timedelta(days=3), capacity=1)
    past = make_slot(event, starts_at=event.starts_at + timedelta(hours=3), capacity=2)
    due = reservations.book(soon.id, Patron.parse(name="Ada", email="ada@example.org"), now=now).booking
    reservations.book(soon.id, Patron.parse(name="Wait", email="wait@example.org"), now=now)
    reservations.book(later.id, Patron.parse(name="Later", email="later@example.org"), now=now)
    gone = reservations.book(past.id, Patron.parse(name="Gone", email="gone@example.org"), now=now)
    reservations.cancel(gone.token, now=now)
    reservations.book(past.id, Patron.parse(name="Over", email="over@example.org"), now=now)
    # This reading has already taken place.
    db.session.execute(sa.update(Slot).where(Slot.id == past.id).values(
        starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1, minutes=30)))
    db.session.commit()
    return due


def test_reminders_go_once_to_confirmed_bookings_starting_soon_only(
    app, db, make_event, make_slot, now
):
    due = reminder_world(db, make_event, make_slot, now)

    first = notifications.queue_reminders(now, within=timedelta(hours=24))
    again = notifications.queue_reminders(now + timedelta(minutes=5), within=timedelta(hours=24))

    assert (first, again) == (1, 0)
    [reminder] = queued(db, "reminder")
    assert reminder.booking_id == due.id and reminder.to_email == "ada@example.org"
    assert db.session.get(Booking, due.id).reminder_queued_at == now


def test_send_reminders_queues_then_sends(app, runner, db, make_event, make_slot, now):
    reminder_world(db, make_event, make_slot, now)
    db.session.rollback()

    result = runner.invoke(args=["send-reminders", "--hours-before", "24"])

    assert result.exit_code == 0, result.output
    assert "1 reminder queued" in result.output
    [reminder] = queued(db, "reminder")
    assert reminder.sent_at is not None


def test_two_servers_sending_reminders_at_once_send_each_reminder_once(
    app, db, make_event, make_book, make_slot, now, monkeypatch
):
    event = make_event(starts_at=now.replace(microsecond=0) + timedelta(hours=2))
    booking_ids = [
        reservations.book(
            make_slot(event, book=make_book(), capacity=1).id,
            Patron.parse(name=f"R{n}", email=f"r{n}@example.org"),
            now=now,
        ).booking.id
        for n in range(8)
    ]

    outcomes, reminded, reminders = crons_at_once(
        app, db, monkeypatch, lambda: notifications.queue_reminders(now, within=timedelta(hours=24)),
        now=now, kind="reminder", subject="Reminder")

    assert sum(outcomes) == len(booking_ids)
    assert sorted(reminded) == sorted(f"r{n}@example.org" for n in range(8))
    assert sorted(m.booking_id for m in reminders) == sorted(booking_ids)
    assert all(m.sent_at is not None for m in reminders)


def test_cancelled_and_waitlisted_bookings_are_never_reminded(db, make_slot, now):
    slot = make_slot(capacity=1)
    first = reservations.book(slot.id, Patron.parse(name="Ada", email="ada@example.org"), now=now)
    reservations.book(slot.id, Patron.parse(name="Bo", email="bo@example.org"), now=now)
    reservations.cancel(first.token, now=now)
    reservations.cancel(
        reservations.book(slot.id, Patron.parse(name="Cy", email="cy@example.org"), now=now).token, now=now)

    count = notifications.queue_reminders(now, within=timedelta(days=30))

    statuses = {b.patron_name: b.status for b in db.session.scalars(sa.select(Booking))}
    assert statuses["Bo"] == BookingStatus.CONFIRMED  # promoted: that one is reminded
    assert count == 1 and [m.to_email for m in queued(db, "reminder")] == ["bo@example.org"]
