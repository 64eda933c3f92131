"""Partner dashboard: a coordinator's books, their availability, and upcoming readings."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import availability, listings
from ..auth import roles_required
from ..errors import ValidationFailed
from ..extensions import db
from ..forms import BookForm, ConfirmForm
from ..models import HumanBook, Partner, Role, utcnow
from .converters import MAX_ID
from .schedule import availability_page

bp = Blueprint("partner", __name__, url_prefix="/partner")


@bp.before_request
@roles_required(Role.COORDINATOR, Role.STAFF)
def coordinators_and_staff_only():
    return None


def _own_partner() -> Partner:
    if current_user.partner_id is None:
        abort(403, "Your account is not linked to a partner organisation.")
    return db.session.get(Partner, current_user.partner_id)


def _own_book(book_id: int) -> HumanBook:
    book = db.session.get(HumanBook, book_id)
    if book is None or not listings.can_manage(current_user, book):
        abort(404, "There is no such book among your organisation's listings.")
    return book


@bp.get("/")
def home():
    partner = _own_partner()
    now = utcnow()
    return render_template(
        "partner/home.html", partner=partner, books=listings.partner_books(partner.id),
        events=availability.partner_events(partner.id, now),
        readings=availability.partner_readings(partner.id, now), form=ConfirmForm(),
    )


def _fields(form: BookForm) -> listings.BookFields:
    return listings.BookFields(
        title=form.title.data or "", blurb=form.blurb.data or "",
        topics=listings.parse_tags(form.topics.data), languages=listings.parse_tags(form.languages.data),
        content_notes=form.content_notes.data or "", volunteer_name=form.volunteer_name.data or "",
        volunteer_email=form.volunteer_email.data or "",
    )


def _save_book(form: BookForm, book: HumanBook | None):
    status = 200
    if form.validate_on_submit():
        try:
            if book is None:
                book = listings.create_book(current_user, _own_partner(), _fields(form), now=utcnow())
                flash(f"“{book.title}” is saved as a draft. Send it for approval when it is ready.",
                      "success")
            else:
                listings.update_book(current_user, book, _fields(form), now=utcnow())
                flash(f"“{book.title}” is saved.", "success")
            return redirect(url_for("partner.home"), 303)
        except ValidationFailed as exc:
            for name, messages in exc.errors.items():
                if name in form:
                    form[name].errors = messages
            status = 422
    elif form.is_submitted():
        status = 422
    return render_template("partner/book_form.html", form=form, book=book), status


@bp.route("/books/new", methods=["GET", "POST"])
def new_book():
    _own_partner()
    return _save_book(BookForm(), None)


@bp.route(f"/books/<int(max={MAX_ID}):book_id>", methods=["GET", "POST"])
def edit_book(book_id: int):
    book = _own_book(book_id)
    if request.method == "POST":
        return _save_book(BookForm(), book)
    form = BookForm(obj=book)
    # Lists are shown as the comma-separated text the form takes.
    form.topics.data = ", ".join(book.topics or [])
    form.languages.data = ", ".join(book.languages or [])
    return _save_book(form, book)


@bp.post(f"/books/<int(max={MAX_ID}):book_id>/submit")
def submit_book(book_id: int):
    book = _own_book(book_id)
    if ConfirmForm().validate_on_submit():
        listings.submit_book(current_user, book, now=utcnow())
        flash(f"“{book.title}” is sent to library staff for approval.", "success")
    return redirect(url_for("partner.home"), 303)


@bp.post(f"/books/<int(max={MAX_ID}):book_id>/retire")
def retire_book(book_id: int):
    book = _own_book(book_id)
    if ConfirmForm().validate_on_submit():
        listings.retire_book(current_user, book, now=utcnow())
        flash(f"“{book.title}” is retired and no longer listed.", "success")
    return redirect(url_for("partner.home"), 303)


@bp.route(f"/books/<int(max={MAX_ID}):book_id>/events/<slug>/availability",
          methods=["GET", "POST"])
def book_availability(book_id: int, slug: str):
    book = _own_book(book_id)
    event = _hosted_event(slug)
    return availability_page(
        book, event,
        page_url=url_for("partner.book_availability", book_id=book.id, slug=slug),
        back_url=url_for("partner.home"),
    )


def _hosted_event(slug: str):
    partner_id = None if current_user.role == Role.STAFF else current_user.partner_id
    for event in availability.partner_events(partner_id, utcnow()):
        if event.slug == slug:
            return event
    abort(404, "Your organisation does not co-host an upcoming event at this address.")
