"""A volunteer's own page: their book, the events they can read at, their availability."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for
from flask_login import current_user

from .. import availability
from ..auth import roles_required
from ..models import Role, utcnow
from .schedule import availability_page

bp = Blueprint("me", __name__, url_prefix="/me")


@bp.before_request
@roles_required(Role.VOLUNTEER)
def volunteers_only():
    return None


def _own_book():
    if current_user.human_book is None:
        abort(403, "Your account is not linked to a human book yet. Ask your coordinator.")
    return current_user.human_book


@bp.get("/")
def home():
    book = current_user.human_book
    now = utcnow()
    events = availability.partner_events(current_user.partner_id, now) if book else []
    slots = [s for e in events for s in availability.book_slots(e, book)] if book else []
    return render_template("me/home.html", book=book, events=events, slots=slots)


@bp.route("/events/<slug>/availability", methods=["GET", "POST"])
def book_availability(slug: str):
    book = _own_book()
    for event in availability.partner_events(current_user.partner_id, utcnow()):
        if event.slug == slug:
            return availability_page(
                book, event, page_url=url_for("me.book_availability", slug=slug),
                back_url=url_for("me.home"),
            )
    abort(404, "Your organisation does not co-host an upcoming event at this address.")
