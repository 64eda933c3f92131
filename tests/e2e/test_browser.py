"""In a real browser (Debian's Chromium driven by Playwright): what only a browser can show.

The rest of the suite speaks HTTP; these tests check that the pages work for a person: with
JavaScript off, by keyboard, on a phone-width screen, and that the desk refreshes by itself
without taking a form from under the librarian typing in it.

Without Chromium or Playwright they are skipped, except under CI=true, where that fails.
"""
from __future__ import annotations

import os
import shutil
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from booking.services import reservations
from booking.domain.models import Event, HostRole, Role, Slot, SlotStatus
from support import PASSWORD
from booking.domain.commands import Patron

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not shutil.which(CHROMIUM):
        message = f"browser tests need the playwright package and Chromium at {CHROMIUM}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def app_config(app_config):
    # Served on a real port, so the test host name would not match.
    return {**app_config, "SERVER_NAME": None}


@pytest.fixture
def live_url(app):
    """The app served on a free loopback port for the length of the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Polled every 10 ms, not 0.5 s: shutdown() waits for the next poll.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def day(db, make_partner, make_event, make_book, make_slot):
    """A published event with two books, two readings each, an hour apart: slug and ids.

    Plain values, and the test's own session closed: an open SQLite transaction in the test
    would hold the write lock (BEGIN IMMEDIATE) while the server answers the browser.
    """
    library = make_partner("Riverside Library")
    event = make_event(hosts=[(library, HostRole.HOST)])
    books = [make_book(library, title="Refugee"), make_book(library, title="Retired military")]
    slots = {book.title: [make_slot(event, book=book, capacity=2,
                                    starts_at=event.starts_at + timedelta(hours=h)).id
                          for h in (1, 2)]
             for book in books}
    day = {"slug": event.slug, "slots": slots, "books": {b.title: b.id for b in books}}
    db.session.close()
    return day


def sign_in(page, base, email):
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_a_patron_books_and_cancels_with_javascript_off(browser, live_url, day):
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_url}/events/{day['slug']}")
    page.locator(f"a[href$='/slots/{day['slots']['Refugee'][0]}/book']").click()
    page.get_by_label("Your name").fill("Ada Reader")
    page.get_by_label("E-mail address").fill("ada@example.org")
    page.get_by_role("button", name="Book").click()
    page.get_by_role("heading", name="Your booking is confirmed").wait_for()

    page.get_by_role("link", name="Open your booking").click()
    page.get_by_role("link", name="Cancel this booking").click()
    page.get_by_role("button", name="Yes, cancel my booking").click()
    page.wait_for_load_state()
    assert "cancelled" in page.locator("main").inner_text().lower()
    context.close()


def test_the_first_tab_reaches_the_skip_link_and_it_moves_focus_to_the_content(
        browser, live_url, day):
    page = browser.new_page()
    page.goto(f"{live_url}/events/{day['slug']}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.close()


def test_a_failed_booking_moves_focus_to_every_problem_the_agreement_among_them(
        browser, live_url, db, make_event, make_book, make_slot, make_partner):
    library = make_partner("Riverside Library")
    event = make_event(hosts=[(library, HostRole.HOST)],
                       agreement_text="Be kind. The book may decline a question.")
    slot = make_slot(event, book=make_book(library, title="Refugee"), capacity=2,
                     starts_at=event.starts_at + timedelta(hours=1)).id
    db.session.close()
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_url}/slots/{slot}/book")
    page.get_by_label("E-mail address").fill("ada@example.org")
    page.get_by_role("button", name="Book").click()
    page.wait_for_load_state()

    summary = page.locator(".error-summary")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    listed = summary.inner_text()
    assert "Enter your name." in listed
    assert "Please read and accept the reader agreement." in listed
    page.close()


@pytest.mark.parametrize("path", ["/", "/events/{slug}", "/slots/{slot}/book"])
def test_public_pages_fit_a_phone_screen_without_sideways_scrolling(browser, live_url, day, path):
    page = browser.new_page(viewport=PHONE)
    page.goto(live_url + path.format(slug=day["slug"],
                                     slot=day["slots"]["Refugee"][0]))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.close()


def test_the_desk_refreshes_by_itself_and_leaves_a_walk_in_being_typed_alone(
        browser, live_url, day, db, make_user, make_book, make_slot, now):
    make_user("desk@example.org", Role.STAFF)
    event = db.session.scalar(sa.select(Event).where(Event.slug == day["slug"]))
    nurse = make_slot(event, book=make_book(title="Retired nurse"),
                      starts_at=event.starts_at + timedelta(hours=3))
    nurse_slot_id, nurse_card = nurse.id, f"#book-{nurse.book_id}"
    db.session.close()
    page = browser.new_page(viewport={"width": 1024, "height": 1366})
    page.clock.install()
    sign_in(page, live_url, "desk@example.org")
    page.goto(f"{live_url}/desk/{day['slug']}")
    military_card = page.locator(f"#book-{day['books']['Retired military']}")
    military_card.get_by_text("Add a walk-in").first.click()
    typing = military_card.get_by_label("Name").first
    typing.fill("Half-typed walk-in")
    page.locator("body").click(position={"x": 5, "y": 5})  # focus leaves; the text stays

    # Meanwhile a patron books online, and the nurse's only reading is taken off.
    reservations.book(
        day["slots"]["Refugee"][0],
        Patron.parse(name="Zoe Newcomer", email="zoe@example.org"),
        now=now,
    )
    db.session.get(Slot, nurse_slot_id).status = SlotStatus.CANCELLED
    db.session.commit()
    db.session.close()
    assert page.get_by_text("Zoe Newcomer").count() == 0
    assert page.locator(nurse_card).count() == 1

    page.clock.run_for(21_000)
    page.get_by_text("Zoe Newcomer").wait_for(timeout=5_000)
    page.locator(nurse_card).wait_for(state="detached", timeout=5_000)
    assert typing.input_value() == "Half-typed walk-in"
    page.close()


def test_the_desk_keeps_its_cards_when_the_sign_in_has_run_out(
        browser, live_url, day, db, make_user):
    make_user("desk2@example.org", Role.STAFF)
    db.session.close()
    context = browser.new_context()
    page = context.new_page()
    page.clock.install()
    sign_in(page, live_url, "desk2@example.org")
    page.goto(f"{live_url}/desk/{day['slug']}")
    cards = page.locator("[data-desk-card]")
    assert cards.count() == 2

    context.clear_cookies()  # signed out: the state URL now answers with the sign-in page
    with page.expect_response(lambda response: "/login" in response.url):
        page.clock.run_for(21_000)
    page.evaluate("() => new Promise(resolve => setTimeout(resolve, 0))")

    assert cards.count() == 2
    context.close()


def test_the_copy_button_copies_the_feed_address(browser, live_url, day, db, make_user):
    make_user("feeds@example.org", Role.STAFF)
    db.session.close()
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    page = context.new_page()
    sign_in(page, live_url, "feeds@example.org")
    page.goto(f"{live_url}/account/")
    page.get_by_role("button", name="Create my feed address").click()
    page.wait_for_load_state()
    address = page.locator("input.copy-source").first.input_value()
    page.get_by_role("button", name="Copy link").first.click()
    page.get_by_text("Copied.").first.wait_for(timeout=5_000)
    assert page.evaluate("navigator.clipboard.readText()") == address
    context.close()


def test_a_patron_confirms_a_hold_from_the_emailed_link_on_a_phone(browser, live_url, day, app,
                                                                    db):
    """BOOKING_CONFIRMATION=email, as in production: book, follow the e-mailed link, confirm."""
    from urllib.parse import urlsplit

    from booking.domain.models import OutboxMessage

    app.config["BOOKING_CONFIRMATION"] = "email"
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{live_url}/slots/{day['slots']['Refugee'][0]}/book")
    page.get_by_role("button", name="Book").click()  # empty: the errors come first
    page.wait_for_load_state()
    # Focus moves to the summary of what went wrong, which lists every field at once.
    assert page.evaluate("document.activeElement.className") == "error-summary"
    page.get_by_label("Your name").fill("Ada Reader")
    page.get_by_label("E-mail address").fill("ada@example.org")
    page.get_by_role("button", name="Book").click()
    page.get_by_role("heading", name="Check your e-mail to confirm").wait_for()

    held = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "booking_held"))
    db.session.close()
    page.goto(live_url + urlsplit(held.payload["confirm_url"]).path)
    page.get_by_role("heading", name="One more step: confirm your booking").wait_for()
    page.get_by_role("button", name="Confirm my booking").click()
    page.get_by_role("heading", name="Your booking is confirmed").wait_for()
    page.context.close()
