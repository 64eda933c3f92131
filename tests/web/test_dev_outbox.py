"""The development mail viewer: a newcomer trying `make run` without a mail server reads the
e-mails the app wrote, and confirms a booking from there. Off unless asked for."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from booking import create_app
from booking.services.outbox import mailer
from booking.config import ConfigError
from booking.domain.models import Booking, BookingStatus, utcnow

from support import csrf_token_from


@pytest.fixture
def app_config(app_config):
    return {**app_config, "BOOKING_CONFIRMATION": "email", "DEV_OUTBOX": True}


def post_form(client, url, fields):
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data={"csrf_token": csrf_token_from(page.get_data(as_text=True)),
                                  **fields})


def test_a_newcomer_confirms_a_booking_through_the_development_mail_viewer(client, db,
                                                                          make_slot):
    slot = make_slot(capacity=1)
    answer = post_form(client, f"/slots/{slot.id}/book",
                       {"name": "New Reader", "email": "new@example.org", "seats": 1})
    confirmation = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'href="/dev/outbox"' in confirmation
    mailer.drain(utcnow())

    listing = client.get("/dev/outbox").get_data(as_text=True)
    assert "Please confirm your booking" in listing and "new@example.org" in listing
    name = re.search(r"/dev/outbox/(message-\d+)", listing).group(1)
    message = client.get(f"/dev/outbox/{name}").get_data(as_text=True)
    link = re.search(r'<a href="(http://library\.test/bookings/[^"]+/confirm/[^"]+)">',
                     message).group(1)

    assert post_form(client, urlsplit(link).path, {}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, 1).status == BookingStatus.CONFIRMED


def test_the_viewer_escapes_what_it_shows_and_reads_only_its_own_files(client, db, app):
    outbox = mailer.file_outbox(app).directory
    outbox.mkdir(parents=True)
    (outbox / "message-7.eml").write_text(
        "Subject: <script>x</script>\nTo: a@example.org\n\nSee https://x.test/?a=<b>&c\n")
    (outbox.parent / "secret.eml").write_text("Subject: secret\n\nno\n")

    listing = client.get("/dev/outbox").get_data(as_text=True)
    message = client.get("/dev/outbox/message-7").get_data(as_text=True)

    assert "<script>x" not in listing and "&lt;script&gt;x" in listing
    assert '<a href="https://x.test/?a=">https://x.test/?a=</a>&lt;b&gt;&amp;c' in message
    for name in ("..%2Fsecret", "secret", "message-7.eml", "message-x"):
        assert client.get(f"/dev/outbox/{name}").status_code == 404


def test_the_viewer_is_off_unless_asked_for(app_config):
    app = create_app({**app_config, "DEV_OUTBOX": False})
    assert app.test_client().get("/dev/outbox").status_code == 404


def test_the_viewer_refuses_to_run_beside_a_mail_server(app_config):
    with pytest.raises(ConfigError, match="DEV_OUTBOX"):
        create_app({**app_config, "MAIL_SERVER": "smtp.example.org"})
