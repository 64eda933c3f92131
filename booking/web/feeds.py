"""Calendar files and feeds: load rows (services/calendars), build bytes (domain/ical),
serve with caching (web/http)."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app

from booking.services import calendars, reservations
from booking.services.queries import catalogue
from booking.domain.ical import FeedContent, FeedLinks, booking_calendar, booking_changed_at, build_feed
from booking.web.http import calendar_response
from booking.domain.models import utcnow
from booking.services.outbox.notifications import public_url
from booking.domain import messages

bp = Blueprint("feeds", __name__)


def uid_host() -> str:
    # UIDs name the configured public host, not the request's Host header: the same slot
    # must keep one UID however the feed was fetched (proxy, alias, IP address).
    return urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"


def feed_links() -> FeedLinks:
    return FeedLinks(
        host=uid_host(),
        event_url=lambda event: public_url("public.event", slug=event.slug),
    )


def _grace() -> timedelta:
    return timedelta(days=current_app.config["FEED_CANCELLED_GRACE_DAYS"])


def _serve(content: FeedContent, filename: str):
    content.uid = f"{content.uid}@{uid_host()}"
    content.fallback_zone = current_app.config["FEED_DEFAULT_TIMEZONE"]
    built = build_feed(content, feed_links())
    return calendar_response(built.body, last_modified=built.last_modified, filename=filename)


@bp.get("/feeds/events.ics")
def events_ics():
    return _serve(calendars.published_events(now=utcnow(), grace=_grace()), "events.ics")


@bp.get("/events/<slug>/schedule.ics")
def schedule_ics(slug: str):
    event = catalogue.visible_event(slug)
    if event is None:
        abort(404, messages.NO_PUBLIC_EVENT)
    content = calendars.event_schedule(event, now=utcnow(), grace=_grace())
    return _serve(content, f"{event.slug}-schedule.ics")


@bp.get("/feeds/u/<token:token>.ics")
def personal_ics(token: str):
    user = calendars.feed_owner(token)
    if user is None:
        abort(404, "This calendar feed address is not valid (it may have been replaced).")
    return _serve(calendars.personal_schedule(user, now=utcnow(), grace=_grace()), "my-calendar.ics")


@bp.get("/bookings/<token:token>.ics")
def booking_ics(token: str):
    booking = reservations.find_booking(token)
    body = booking_calendar(
        booking,
        host=uid_host(),
        event_url=public_url("public.event", slug=booking.event.slug),
        manage_url=public_url("manage.booking", token=token),
    )
    return calendar_response(
        body, last_modified=booking_changed_at(booking), filename=f"booking-{booking.id}.ics"
    )
