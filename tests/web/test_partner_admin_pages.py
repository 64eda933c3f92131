"""Partner profile, sessions, invitations, staff adding and acting for a partner, window edits:
the pages."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.services import programme, reservations
from booking.domain.models import AuditEntry, Booking, BookingStatus, EventHost, HostRole, ListingStatus, OutboxMessage, Partner, ProgramSession, Slot
from support import (AFTER_BOOKING, confirmation_fields, csrf_token_from, local_hour,
                     sign_in_as as sign_in, window_form)
from booking.domain.commands import Patron


def session_form(event, start, end, **extra):
    from zoneinfo import ZoneInfo

    day = event.starts_at.astimezone(ZoneInfo(event.timezone)).date().isoformat()
    return {"title": "Paper craft", "description": "Fold a book.", "language": "en",
            "audience": "Families", "day": day, "starts": start, "ends": end, "seats": "2",
            "presenter_user_id": "", **extra}


def outside_event(event) -> dict:
    """An hour on the event's first day before it starts (or, near midnight, after it ends)."""
    if local_hour(event, 0) >= "01:00":
        return {"starts": local_hour(event, -1), "ends": local_hour(event, -0.5)}
    return {"starts": local_hour(event, 6.5), "ends": local_hour(event, 7)}


def count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# Profile -----------------------------------------------------------------------------------


def test_a_coordinator_edits_the_profile_shown_on_the_dashboard(client, submit, login, world, db):
    login(world["coordinator"])
    response = submit("/partner/profile", {"name": "Riverside Literacy", "kind": "literacy council",
                                           "website": "https://lit.example.org",
                                           "description": "Adults learn to read.",
                                           "contact_email": "hello@lit.example.org"})
    assert response.status_code == 303
    page = client.get("/partner/").get_data(as_text=True)
    assert "Riverside Literacy" in page and "https://lit.example.org" in page


@pytest.mark.parametrize(
    ("entered", "message"),
    [({"website": "ftp://lit.example.org"}, "starting with https://"),
     ({"contact_email": "hello-at-lit"}, "valid e-mail address"),
     ({"name": ""}, "Enter the organisation"), ({"name": "x" * 201}, "at most 200")],
)
def test_a_bad_profile_gets_a_clear_message_and_changes_nothing(
        client, submit, login, world, db, entered, message):
    login(world["coordinator"])
    response = submit("/partner/profile", {"name": "Changed", "website": "", **entered})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert 'aria-describedby="' in html and 'aria-invalid="true"' in html
    db.session.expire_all()
    assert db.session.get(Partner, world["own"].id).name == "Literacy Council"


# Sessions ----------------------------------------------------------------------------------


def test_a_session_is_created_as_a_draft_and_public_after_staff_approve(
        app, client, submit, login, world, db):
    event = world["event"]
    login(world["coordinator"])
    response = submit(f"/partner/events/{event.slug}/sessions/new",
                      session_form(event, local_hour(event, 1), local_hour(event, 2)))
    assert response.status_code == 303, response.get_data(as_text=True)
    session = db.session.scalar(sa.select(ProgramSession).where(ProgramSession.title == "Paper craft"))
    assert session.listing_status == ListingStatus.DRAFT
    assert "Paper craft" in client.get("/partner/").get_data(as_text=True)
    assert "Paper craft" not in client.get(f"/events/{event.slug}").get_data(as_text=True)
    submit("/partner/", {}, action=f"/partner/sessions/{session.id}/submit")

    staff = app.test_client()
    sign_in(staff, world["staff"])
    page = staff.get("/staff/").get_data(as_text=True)
    assert "Paper craft" in page
    staff.post(f"/staff/sessions/{session.id}/review",
               data={"decision": "approve", "csrf_token": csrf_token_from(page)})
    assert "Paper craft" in client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "listing.approve" in staff.get("/staff/events/audit").get_data(as_text=True)
    slots = client.get(f"/api/v1/events/{event.slug}/slots").get_json()
    assert any(s["resource"] == {"type": "session", "id": session.id, "title": "Paper craft"}
               for s in slots)


@pytest.mark.parametrize(
    ("entered", "message"),
    [({"title": ""}, "Give the session a title"),
     ({"seats": "0"}, "from 1 to 500"), ({"seats": "many"}, "whole number"),
     ("outside", "must fit within the event"),
     ({"language": "english!"}, "language code"), ({"starts": "nine"}, "hours and minutes"),
     ({"presenter_user_id": "99999"}, "Not a valid choice")],
)
def test_bad_session_input_gets_a_clear_message_and_changes_nothing(
        submit, login, world, db, entered, message):
    event = world["event"]
    login(world["coordinator"])
    if entered == "outside":
        entered = outside_event(event)
    before = count(db, ProgramSession)
    response = submit(f"/partner/events/{event.slug}/sessions/new",
                      session_form(event, local_hour(event, 1), local_hour(event, 2), **entered))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(db, ProgramSession) == before


def test_fewer_seats_lists_the_bookings_then_cancels_them_once_confirmed(
        client, submit, login, world, db, now):
    event, session = world["event"], world["own_session"]
    slot = programme.session_slot(session)
    reservations.book(slot.id, Patron.parse(name="Reader Name", email="r1@example.org"), now=now)
    later = reservations.book(slot.id, Patron.parse(name="Other Reader", email="r2@example.org"), now=now).booking
    login(world["coordinator"])
    url = f"/partner/sessions/{session.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="Family storytime"' in page and 'value="10"' in page  # prefilled
    start = re.search(r'<input[^>]*name="starts"[^>]*value="([^"]+)"', page).group(1)
    end = re.search(r'<input[^>]*name="ends"[^>]*value="([^"]+)"', page).group(1)
    fields = session_form(event, start, end, title="Family storytime", seats="1",
                          csrf_token=csrf_token_from(page))
    asked = client.post(url, data=fields)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 409 and "would cancel 1 booking" in html
    assert "Reader Name" not in html and "Other Reader" not in html  # counts, not readers
    assert db.session.scalar(sa.select(sa.func.count()).where(AFTER_BOOKING)) == 0
    assert f'name="confirm_booking" value="{later.id}"' in html
    done = client.post(url, data=confirmation_fields(html, reason="Smaller room."))
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, later.id).status == BookingStatus.CANCELLED
    assert db.session.get(Booking, later.id).cancel_reason == "Smaller room."
    assert db.session.get(Slot, slot.id).capacity == 1


def test_a_stale_confirmation_shows_the_new_list_again_and_changes_nothing(
        client, login, world, db, now):
    session = world["own_session"]
    slot = programme.session_slot(session)
    shown = reservations.book(slot.id, Patron.parse(name="Reader Name", email="r1@example.org"), now=now).booking
    login(world["coordinator"])
    url = f"/partner/sessions/{session.id}/retire"
    token = csrf_token_from(client.get("/partner/").get_data(as_text=True))
    asked = client.post(url, data={"csrf_token": token}).get_data(as_text=True)
    assert f'name="confirm_booking" value="{shown.id}"' in asked
    # Another reader books while the confirmation page is on screen.
    unseen = reservations.book(slot.id, Patron.parse(name="Late Reader", email="r2@example.org"), now=now).booking
    again = client.post(url, data=confirmation_fields(asked, reason="Presenter is ill."))
    html = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "changed since you looked" in html and "would now cancel 2 bookings" in html
    assert f'name="confirm_booking" value="{unseen.id}"' in html
    assert html.count('name="confirm_booking"') == 2 and "new since you looked" in html
    db.session.expire_all()
    assert db.session.get(ProgramSession, session.id).listing_status == ListingStatus.APPROVED
    assert {db.session.get(Booking, b.id).status for b in (shown, unseen)} == {
        BookingStatus.CONFIRMED}
    assert count(db, OutboxMessage) == 2  # the two booking confirmations, nothing since
    done = client.post(url, data=confirmation_fields(html, reason="Presenter is ill."))
    assert done.status_code == 303
    db.session.expire_all()
    assert {db.session.get(Booking, b.id).cancel_reason for b in (shown, unseen)} == {
        "Presenter is ill."}


@pytest.mark.parametrize("forged", ["abc", "²", "-1", "99999999999999999999", ""])
def test_a_mangled_confirmation_shows_the_list_again_and_changes_nothing(
        client, login, world, db, now, forged):
    session = world["own_session"]
    booking = reservations.book(
        programme.session_slot(session).id,
        Patron.parse(name="Reader Name", email="r1@example.org"),
        now=now,
    ).booking
    login(world["coordinator"])
    token = csrf_token_from(client.get("/partner/").get_data(as_text=True))
    asked = client.post(f"/partner/sessions/{session.id}/retire",
                        data={"csrf_token": token, "confirm_booking": forged})
    assert asked.status_code == 409
    assert f'name="confirm_booking" value="{booking.id}"' in asked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED


def test_moving_a_session_onto_a_readers_other_booking_lists_it_then_cancels_it(
        client, login, world, db, now, make_slot):
    event, session = world["event"], world["own_session"]
    slot = programme.session_slot(session)
    clash = reservations.book(slot.id, Patron.parse(name="Busy Reader", email="busy@example.org"), now=now).booking
    stays = reservations.book(slot.id, Patron.parse(name="Free Reader", email="free@example.org"), now=now).booking
    reading = make_slot(event, book=world["own_book"], capacity=2,
                        starts_at=event.starts_at + timedelta(hours=1))
    other = reservations.book(
        reading.id,
        Patron.parse(name="Busy Reader", email="busy@example.org"),
        now=now,
    ).booking
    login(world["coordinator"])
    url = f"/partner/sessions/{session.id}"
    page = client.get(url).get_data(as_text=True)
    fields = session_form(event, local_hour(event, 1), local_hour(event, 2),
                          title="Family storytime", seats="10", csrf_token=csrf_token_from(page))
    asked = client.post(url, data=fields)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 409 and "would cancel 1 booking" in html
    assert "Holds another booking at the new time" in html
    assert f'name="confirm_booking" value="{clash.id}"' in html
    assert 'name="reason"' not in html  # the reason is the clash, not one to type
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).starts_at == event.starts_at + timedelta(hours=4)
    assert db.session.scalar(sa.select(sa.func.count()).where(AFTER_BOOKING)) == 0
    done = client.post(url, data=confirmation_fields(html))
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).starts_at == event.starts_at + timedelta(hours=1)
    cancelled = db.session.get(Booking, clash.id)
    assert (cancelled.status, cancelled.cancel_reason) == (BookingStatus.CANCELLED,
                                                          programme.OVERLAP_REASON)
    assert db.session.get(Booking, other.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Booking, stays.id).status == BookingStatus.CONFIRMED
    sent = db.session.execute(sa.select(OutboxMessage.kind, OutboxMessage.to_email)
                              .where(AFTER_BOOKING).order_by(OutboxMessage.id)).all()
    assert sorted(sent) == [("booking_cancelled", "busy@example.org"),
                            ("schedule_changed", "free@example.org")]


def test_a_presenter_clash_is_refused_with_a_clear_message(
        client, submit, login, world, db, make_slot):
    event = world["event"]
    make_slot(event, book=world["own_book"])  # the volunteer reads an hour after the start
    login(world["coordinator"])
    response = submit(f"/partner/events/{event.slug}/sessions/new",
                      session_form(event, local_hour(event, 1), local_hour(event, 2),
                                   presenter_user_id=str(world["volunteer"].id)))
    assert response.status_code == 409
    assert "cannot be in two places at once" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(ProgramSession).where(
        ProgramSession.title == "Paper craft")) is None


def test_coordinator_cannot_edit_another_partners_session(client, login, world, db):
    login(world["coordinator"])
    other = world["other_session"]
    assert client.get(f"/partner/sessions/{other.id}").status_code == 404
    token = csrf_token_from(client.get("/partner/").get_data(as_text=True))
    assert client.post(f"/partner/sessions/{other.id}/retire",
                       data={"csrf_token": token}).status_code == 404
    # Naming the other partner in the URL changes nothing for a coordinator.
    assert client.get(f"/partner/sessions/{other.id}?partner={world['other'].id}").status_code == 404
    page = client.get(f"/partner/?partner={world['other'].id}").get_data(as_text=True)
    assert "Literacy Council" in page and "Behind the glass" not in page
    db.session.expire_all()
    assert db.session.get(ProgramSession, other.id).listing_status == ListingStatus.APPROVED


@pytest.mark.parametrize("path", ["/partner/profile", "/partner/sessions/{session}",
                                  "/partner/sessions/{session}/retire", "/partner/invitations/new",
                                  "/staff/invitations/new", "/staff/partners/new"])
def test_a_forged_post_to_a_new_form_is_refused(client, login, world, db, path):
    login(world["staff"] if path.startswith("/staff") else world["coordinator"])
    response = client.post(path.format(session=world["own_session"].id),
                           data={"name": "Forged", "title": "Forged", "email": "f@example.org",
                                 "role": "staff"})
    assert response.status_code == 400
    assert "nothing was changed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Partner, world["own"].id).name == "Literacy Council"
    assert db.session.get(ProgramSession, world["own_session"].id).title == "Family storytime"
    assert db.session.get(ProgramSession, world["own_session"].id).listing_status == ListingStatus.APPROVED
    assert count(db, Partner) == 2


# Invitations -------------------------------------------------------------------------------


def invitations_sent(db) -> dict[str, str]:
    """Invitation e-mails waiting in the outbox: address -> link."""
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    return {row.to_email: row.payload["link"] for row in rows}


def test_a_coordinator_invites_a_volunteer_by_email_and_sees_the_link(client, submit, login, world,
                                                                     caplog, db):
    login(world["coordinator"])
    response = submit("/partner/invitations/new", {"email": "new.vol@example.org",
                                                   "human_book_id": str(world["own_book"].id)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    link = re.search(r'id="invitation-link" class="copy-source" type="text" readonly value="([^"]+)"',
                     html).group(1)
    assert link.startswith("http://library.test/invitations/")
    assert invitations_sent(db) == {"new.vol@example.org": link}
    assert "js/copy.js" in html and "Invitation sent to new.vol@example.org" in html
    assert "/invitations/" not in caplog.text  # a credential: never in the log


def test_a_coordinator_cannot_invite_for_another_partners_book(submit, login, world, db):
    login(world["coordinator"])
    response = submit("/partner/invitations/new", {"email": "x@example.org",
                                                   "human_book_id": str(world["other_book"].id)})
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)
    assert invitations_sent(db) == {}


@pytest.mark.parametrize(
    ("entered", "message"),
    [({"email": "nope"}, "valid e-mail address"),
     ({"email": "coord@example.org"}, "already has an account"),
     ({"role": "coordinator", "partner_id": ""}, "Choose the partner"),
     ({"role": "volunteer"}, "Not a valid choice")],
)
def test_staff_invitations_refuse_bad_input_clearly(submit, login, world, db, entered, message):
    login(world["staff"])
    response = submit("/staff/invitations/new", {"email": "new@example.org", "role": "coordinator",
                                                 "partner_id": str(world["own"].id), **entered})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert invitations_sent(db) == {}


def test_staff_invite_a_coordinator_who_then_lands_on_their_partner(
        app, submit, login, world, db):
    login(world["staff"])
    response = submit("/staff/invitations/new", {"email": "new.coord@example.org",
                                                 "role": "coordinator",
                                                 "partner_id": str(world["other"].id)})
    assert response.status_code == 200
    path = invitations_sent(db)["new.coord@example.org"].removeprefix("http://library.test")
    newcomer = app.test_client()
    page = newcomer.get(path).get_data(as_text=True)
    accepted = newcomer.post(path, data={"csrf_token": csrf_token_from(page), "name": "New Coord",
                                         "password": "a good password",
                                         "confirm": "a good password"})
    assert accepted.headers["Location"] == "/partner/"
    assert "Museum" in newcomer.get("/partner/").get_data(as_text=True)


# Staff adding a partner --------------------------------------------------------------------


NEW_PARTNER = {"name": "Veterans Hall", "kind": "veterans' group",
               "website": "https://vets.example.org", "description": "Stories from service.",
               "contact_email": "hello@vets.example.org"}


def test_staff_find_the_new_partner_form_on_their_home_page(client, login, world):
    login(world["staff"])
    home = client.get("/staff/").get_data(as_text=True)
    partners_section = home[home.index('id="partners"'):]
    assert 'href="/staff/partners/new"' in partners_section
    page = client.get("/staff/partners/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h1>New partner organisation</h1>" in html and 'name="csrf_token"' in html
    for name, label in [("name", "Organisation name"), ("kind", "Kind of organisation"),
                        ("website", "Website"), ("description", "Description"),
                        ("contact_email", "Contact e-mail")]:
        assert f'<label class="label" for="{name}">{label}</label>' in html
    assert 'aria-describedby="website-hint"' in html
    assert 'href="/staff/#partners">Staff</a>' in html  # breadcrumb and Cancel


def test_staff_add_a_partner_and_are_offered_to_invite_its_coordinator(
        client, submit, login, world, db):
    login(world["staff"])
    response = submit("/staff/partners/new", NEW_PARTNER)

    assert response.status_code == 303 and response.headers["Location"] == "/staff/#partners"
    partner = db.session.scalar(sa.select(Partner).where(Partner.name == "Veterans Hall"))
    assert partner.slug == "veterans-hall" and partner.website == "https://vets.example.org"
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "partner.create"))
    assert entry.target_id == partner.id and entry.event_id is None
    home = client.get("/staff/").get_data(as_text=True)
    invite_url = f"/staff/invitations/new?partner={partner.id}"
    assert f"“Veterans Hall” is added. <a href=\"{invite_url}\">Invite its coordinator</a>" in home
    assert f'href="/partner/?partner={partner.id}">Veterans Hall</a>' in home.replace("&amp;", "&")
    invite = client.get(invite_url).get_data(as_text=True)
    assert f'<option selected value="{partner.id}">Veterans Hall</option>' in invite
    assert '<option selected value="coordinator">' in invite
    audit_page = client.get("/staff/events/audit")
    assert audit_page.status_code == 200
    assert f"partner {partner.id}" in audit_page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("entered", "message"),
    [({"name": ""}, "Enter the organisation"), ({"name": "x" * 201}, "at most 200"),
     ({"name": "  museum "}, "A partner called “Museum” already exists."),
     ({"website": "vets.example.org"}, "starting with https://"),
     ({"contact_email": "hello-at-vets"}, "valid e-mail address"),
     ({"description": "d" * 2001}, "Description must be at most 2000 characters.")],
)
def test_a_bad_new_partner_gets_a_clear_message_and_nothing_is_stored(
        submit, login, world, db, entered, message):
    login(world["staff"])
    response = submit("/staff/partners/new", {**NEW_PARTNER, **entered})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert 'class="error-summary"' in html and 'aria-invalid="true"' in html
    assert count(db, Partner) == 2 and count(db, AuditEntry) == 0


def test_an_unknown_invitation_partner_preselects_nothing(client, login, world):
    login(world["staff"])
    for chosen in ("999999", "abc", "x" * 5000):
        page = client.get(f"/staff/invitations/new?partner={chosen}")
        assert page.status_code == 200
        assert '<option selected value="">None (library staff)</option>' in page.get_data(
            as_text=True)


def test_a_coordinator_cannot_add_a_partner(client, login, world, db):
    login(world["coordinator"])
    token = csrf_token_from(client.get("/partner/profile").get_data(as_text=True))
    response = client.post("/staff/partners/new", data={"csrf_token": token, **NEW_PARTNER})
    assert response.status_code == 403 and count(db, Partner) == 2


def test_a_partner_added_from_an_events_hosts_page_can_be_chosen_there(
        client, submit, login, world, db):
    login(world["staff"])
    event = world["event"]
    hosts_url = f"/staff/events/{event.slug}/hosts"
    new_url = f"/staff/partners/new?event={event.slug}"
    assert f'href="{new_url}"' in client.get(hosts_url).get_data(as_text=True)
    form = client.get(new_url).get_data(as_text=True)
    assert f'href="{hosts_url}">Partners of the event</a>' in form

    response = submit(new_url, NEW_PARTNER)
    assert response.status_code == 303 and response.headers["Location"] == hosts_url
    partner = db.session.scalar(sa.select(Partner).where(Partner.name == "Veterans Hall"))
    hosts_page = client.get(hosts_url).get_data(as_text=True)
    assert f'<label class="label" for="partner_{partner.id}">Veterans Hall</label>' in hosts_page
    chosen = {f"partner_{world['own'].id}": "host", f"partner_{world['other'].id}": "co-host",
              f"partner_{partner.id}": "sponsor"}
    assert submit(hosts_url, chosen).status_code == 303
    db.session.expire_all()
    roles = dict(db.session.execute(sa.select(EventHost.partner_id, EventHost.role)
                                    .where(EventHost.event_id == event.id)).all())
    assert roles[partner.id] == HostRole.SPONSOR


def test_an_unknown_event_sends_the_new_partner_to_the_staff_page(submit, login, world):
    login(world["staff"])
    response = submit("/staff/partners/new?event=" + "no-such-event" * 50, NEW_PARTNER)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/#partners"


# Staff acting for a partner ----------------------------------------------------------------


def test_staff_pick_a_partner_and_work_on_its_dashboard(client, submit, login, world, db):
    login(world["staff"])
    assert client.get("/partner/").status_code == 303  # which partner? chosen on /staff
    staff_page = client.get("/staff/").get_data(as_text=True)
    dashboard = f"/partner/?partner={world['other'].id}"
    assert f'href="{dashboard}"' in staff_page.replace("&amp;", "&")
    page = client.get(dashboard).get_data(as_text=True)
    assert "Museum guard" in page and "Learned to read at 40" not in page
    assert f"/partner/profile?partner={world['other'].id}" in page  # links keep the partner
    response = submit(f"/partner/profile?partner={world['other'].id}", {"name": "City Museum"})
    assert response.status_code == 303
    assert response.headers["Location"] == dashboard
    db.session.expire_all()
    assert db.session.get(Partner, world["other"].id).name == "City Museum"
    assert db.session.get(Partner, world["own"].id).name == "Literacy Council"


def test_staff_invite_a_volunteer_for_the_partner_they_act_for(client, submit, login, world, db):
    login(world["staff"])
    response = submit(f"/partner/invitations/new?partner={world['other'].id}",
                      {"email": "museum.vol@example.org",
                       "human_book_id": str(world["other_book"].id)})
    assert response.status_code == 200 and "museum.vol@example.org" in invitations_sent(db)


def test_staff_see_reader_names_when_a_change_would_cancel_bookings(client, login, world, now):
    session = world["own_session"]
    reservations.book(
        programme.session_slot(session).id,
        Patron.parse(name="Reader Name", email="r1@example.org"),
        now=now,
    )
    login(world["staff"])
    url = f"/partner/sessions/{session.id}/retire?partner={world['own'].id}"
    token = csrf_token_from(client.get(f"/partner/?partner={world['own'].id}").get_data(as_text=True))
    asked = client.post(url, data={"csrf_token": token})
    assert asked.status_code == 409 and "Reader Name" in asked.get_data(as_text=True)


# Changing a window in place ----------------------------------------------------------------


def test_a_window_is_changed_in_place_keeping_readings_at_the_same_time(client, submit, login,
                                                                       world, db, now):
    event, book = world["event"], world["own_book"]
    login(world["volunteer"])
    url = f"/me/events/{event.slug}/availability"
    submit(url, window_form(event, local_hour(event, 1), local_hour(event, 2), break_minutes="0"))
    first = db.session.scalar(sa.select(Slot).where(Slot.book_id == book.id).order_by(Slot.starts_at))
    kept = reservations.book(first.id, Patron.parse(name="Reader", email="r@example.org"), now=now).booking
    page = client.get(f"{url}?edit=0").get_data(as_text=True)
    assert "Change the window" in page and f'value="{local_hour(event, 1)}"' in page
    response = client.post(url, data={
        **window_form(event, local_hour(event, 1), local_hour(event, 3), break_minutes="0"),
        "csrf_token": csrf_token_from(page), "replace": "0",
        "replace_start": re.search(r'name="replace_start" value="([^"]+)"', page).group(1)})
    assert response.status_code == 303
    db.session.expire_all()
    assert len(db.session.scalars(sa.select(Slot).where(Slot.book_id == book.id)).all()) == 4
    assert db.session.get(Booking, kept.id).status == BookingStatus.CONFIRMED
    assert "Change the window" not in client.get(url).get_data(as_text=True)


def test_changing_a_window_that_changed_meanwhile_is_refused(client, submit, login, world, db):
    event = world["event"]
    login(world["volunteer"])
    url = f"/me/events/{event.slug}/availability"
    submit(url, window_form(event, local_hour(event, 1), local_hour(event, 2)))
    response = submit(url, {**window_form(event, local_hour(event, 2), local_hour(event, 3)),
                            "replace": "0", "replace_start": "2001-01-01T10:00:00"})
    assert response.status_code == 409 and "has changed" in response.get_data(as_text=True)


def test_staff_saving_a_books_availability_for_a_partner_is_in_the_audit_log(
        client, submit, login, world, db):
    event, book = world["event"], world["own_book"]
    login(world["staff"])
    url = f"/partner/books/{book.id}/events/{event.slug}/availability?partner={world['own'].id}"

    response = submit(url, window_form(event, local_hour(event, 1), local_hour(event, 2)))

    assert response.status_code == 303, response.get_data(as_text=True)
    [entry] = db.session.scalars(sa.select(AuditEntry)).all()
    assert (entry.action, entry.user_id, entry.event_id) == (
        "availability.save", world["staff"].id, event.id)
