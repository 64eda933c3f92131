"""Partner dashboard: a partner's profile, books, sessions, availability and invitations.

Coordinators act for their own partner, whatever the URL says. Staff act for any partner,
named by `?partner=<id>`; links built while acting keep that choice (see `keep_partner`).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from booking.services import availability, listings, partners, programme
from booking.services.accounts import invitable_books
from booking.web.access import roles_required
from booking.domain.commands import BookListing, Confirmation, Profile, SessionListing
from booking.domain.errors import ConfirmationNeeded
from ..extensions import db
from booking.web.forms import BookForm, ConfirmForm, InviteForm, ProfileForm, SessionForm
from booking.domain.models import Event, HumanBook, Partner, ProgramSession, Role, utcnow
from booking.services.queries.reports import PARTNER_TABLES
from .actions import submit
from .errors import error_response
from .converters import MAX_ID
from .invitations import invitation_page
from .reports import impact_page, report_csv, report_page
from .schedule import (availability_page, confirmation_page, confirmed_bookings, event_days,
                       reason_given)
from booking.domain import messages

bp = Blueprint("partner", __name__, url_prefix="/partner")

#: What a new book or session is, once saved: a draft until it is sent for approval.
SAVED_AS_DRAFT = "“{title}” is saved as a draft. Send it for approval when it is ready."


@bp.before_request
@roles_required(Role.COORDINATOR, Role.STAFF)
def coordinators_and_staff_only():
    g.acting_partner = _acting_partner()


@bp.teardown_request
def forget_acting_partner(exc):
    g.pop("acting_partner", None)


@bp.url_defaults
def keep_partner(endpoint, values):
    """While staff act for a partner, every dashboard link stays on that partner."""
    partner = g.get("acting_partner")
    if partner is not None and current_user.role == Role.STAFF:
        values.setdefault("partner", partner.id)


def _acting_partner() -> Partner | None:
    if current_user.role == Role.COORDINATOR:
        return db.session.get(Partner, current_user.partner_id or 0)
    partner_id = request.args.get("partner", type=int)
    if partner_id is None or not 0 < partner_id <= MAX_ID:
        return None
    return db.session.get(Partner, partner_id)


def _own_partner() -> Partner:
    partner = g.get("acting_partner")
    if partner is None:
        if current_user.role == Role.STAFF:
            abort(404, "There is no such partner. Choose one from the staff page.")
        abort(403, "Your account is not linked to a partner organisation.")
    return partner


def _adopt(partner_id: int) -> None:
    """Staff reaching a book or session without `?partner` act for its partner."""
    if g.get("acting_partner") is None:
        g.acting_partner = db.session.get(Partner, partner_id)


def _own_book(book_id: int) -> HumanBook:
    book = db.session.get(HumanBook, book_id)
    partner = g.get("acting_partner")
    if book is None or not listings.can_manage(current_user, book) or (
        partner is not None and book.partner_id != partner.id
    ):
        abort(404, "There is no such book among your organisation's listings.")
    _adopt(book.partner_id)
    return book


def _own_session(session_id: int) -> ProgramSession:
    session = db.session.get(ProgramSession, session_id)
    partner = g.get("acting_partner")
    if session is None or not programme.can_manage(current_user, session) or (
        partner is not None and session.presenter_partner_id != partner.id
    ):
        abort(404, "There is no such session among your organisation's listings.")
    _adopt(session.presenter_partner_id)
    return session


@bp.get("/")
def home():
    if current_user.role == Role.STAFF and g.get("acting_partner") is None \
            and "partner" not in request.args:
        return redirect(url_for("staff.home", _anchor="partners"), 303)
    partner = _own_partner()
    now = utcnow()
    return render_template(
        "partner/home.html", partner=partner, books=listings.partner_books(partner.id),
        events=availability.partner_events(partner.id, now),
        sessions=programme.partner_sessions(partner.id, now),
        readings=availability.partner_readings(partner.id, now), form=ConfirmForm(),
    )


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    partner = _own_partner()
    form = ProfileForm(obj=partner)

    def saved(_partner):
        flash("The organisation's profile is saved.", "success")
        return redirect(url_for("partner.home"), 303)

    return submit(
        form, Profile,
        lambda profile: partners.update_profile(current_user, partner, profile, now=utcnow()),
        context=partners.profile_context(partner), fallback="name", done=saved,
        render=lambda status, problem: (render_template(
            "partner/profile.html", form=form, partner=partner, problem=problem), status),
    )


@bp.route("/invitations/new", methods=["GET", "POST"])
def invite_volunteer():
    partner = _own_partner()
    form = InviteForm()
    del form.role, form.partner_id
    form.human_book_id.choices = [("", "No book (for example, a presenter)")] + [
        (str(book.id), book.title) for book in invitable_books(partner.id)]
    return invitation_page(form, role=Role.VOLUNTEER, partner_id=partner.id,
                           heading=f"Invite a volunteer of {partner.name}",
                           back_url=url_for("partner.home"))


def _save_book(form: BookForm, book: HumanBook | None):
    """Add a book (`book` None) or edit one, from the form."""
    def perform(listing: BookListing) -> HumanBook:
        if book is None:
            return listings.create_book(current_user, _own_partner(), listing, now=utcnow())
        return listings.update_book(current_user, book, listing, now=utcnow())

    def saved(saved_book: HumanBook):
        flash(SAVED_AS_DRAFT.format(title=saved_book.title) if book is None
              else f"“{saved_book.title}” is saved.", "success")
        return redirect(url_for("partner.home"), 303)

    return submit(form, BookListing, perform, fallback="title", done=saved,
                  render=lambda status, problem: (render_template(
                      "partner/book_form.html", form=form, book=book, problem=problem), status))


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
    return _submit(_own_book(book_id), listings.submit_book)


def _submit(listing: HumanBook | ProgramSession, send):
    """Send a draft book or session to library staff for approval."""
    if ConfirmForm().validate_on_submit():
        send(current_user, listing, now=utcnow())
        flash(f"“{listing.title}” is sent to library staff for approval.", "success")
    return redirect(url_for("partner.home"), 303)


@bp.post(f"/books/<int(max={MAX_ID}):book_id>/retire")
def retire_book(book_id: int):
    book = _own_book(book_id)
    return _retire(book, listings.retire_book, listings.RETIRED_REASON,
                   page_url=url_for("partner.retire_book", book_id=book.id))


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


def _hosted_event(slug: str) -> Event:
    """An upcoming event the acting partner co-hosts."""
    for event in availability.partner_events(_own_partner().id, utcnow()):
        if event.slug == slug:
            return event
    abort(404, messages.NO_COHOSTED_EVENT)


# Program sessions -------------------------------------------------------------------------


def _session_form(event: Event, partner: Partner, **kwargs) -> SessionForm:
    form = SessionForm(**kwargs)
    form.day.choices = event_days(event)
    form.presenter_user_id.choices = [("", "Nobody yet")] + [
        (str(user.id), user.name or user.email) for user in programme.presenters(partner.id)
    ]
    return form


def _save_session(form: SessionForm, event: Event, session: ProgramSession | None):
    """Add a session at the event (`session` None) or edit one, from the form; a change that
    cancels bookings shows them first."""
    partner = _own_partner()

    def perform(listing: SessionListing):
        if session is None:
            return programme.create_session(current_user, partner, event, listing, now=utcnow())
        return programme.update_session(
            current_user, session, listing, now=utcnow(), confirmed=confirmed_bookings(),
            reason=reason_given(programme.FEWER_SEATS_REASON))

    def saved(result: ProgramSession | programme.SessionPlan):
        if session is None:
            flash(SAVED_AS_DRAFT.format(title=result.title), "success")
        else:
            moved = " Readers who booked are told about the new time." if result.moved else ""
            flash(f"“{session.title}” is saved.{moved}", "success")
        return redirect(url_for("partner.home"), 303)

    def ask(exc: ConfirmationNeeded):
        return confirmation_page(exc, event=event,
                                 page_url=url_for("partner.edit_session", session_id=session.id),
                                 default_reason=programme.FEWER_SEATS_REASON,
                                 resource_label="Session")

    return submit(form, SessionListing, perform, fields=form.local_times(), fallback="title",
                  done=saved, refusals={ConfirmationNeeded: ask},
                  render=lambda status, problem: (render_template(
                      "partner/session_form.html", form=form, event=event, session=session,
                      problem=problem), status))


@bp.route("/events/<slug>/sessions/new", methods=["GET", "POST"])
def new_session(slug: str):
    event = _hosted_event(slug)
    return _save_session(_session_form(event, _own_partner()), event, None)


@bp.route(f"/sessions/<int(max={MAX_ID}):session_id>", methods=["GET", "POST"])
def edit_session(session_id: int):
    session = _own_session(session_id)
    form = (_prefilled(session, _own_partner()) if request.method == "GET"
            else _session_form(session.event, _own_partner()))
    return _save_session(form, session.event, session)


def _prefilled(session: ProgramSession, partner: Partner) -> SessionForm:
    slot = programme.session_slot(session)
    data = {"title": session.title, "description": session.description,
            "language": session.language, "audience": session.audience,
            "presenter_user_id": str(session.presenter_user_id or "")}
    if slot is not None:
        zone = ZoneInfo(session.event.timezone)
        start, end = slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone)
        data.update(day=start.date().isoformat(), starts=start.time(), ends=end.time(),
                    seats=slot.capacity)
    return _session_form(session.event, partner, formdata=None, data=data)


@bp.post(f"/sessions/<int(max={MAX_ID}):session_id>/submit")
def submit_session(session_id: int):
    return _submit(_own_session(session_id), programme.submit_session)


@bp.post(f"/sessions/<int(max={MAX_ID}):session_id>/retire")
def retire_session(session_id: int):
    session = _own_session(session_id)
    return _retire(session, programme.retire_session, programme.RETIRED_REASON,
                   page_url=url_for("partner.retire_session", session_id=session.id),
                   event=session.event)


def _retire(listing: HumanBook | ProgramSession, retire, default_reason: str, *,
            page_url: str, event: Event | None = None):
    """Retire a book or session; first show the bookings it would cancel, if any."""
    def retired(_lost):
        flash(f"“{listing.title}” is retired and no longer listed.", "success")
        return redirect(url_for("partner.home"), 303)

    def ask(exc: ConfirmationNeeded):
        return confirmation_page(exc, event=event, page_url=page_url,
                                 default_reason=default_reason,
                                 resource_label="Session" if event else "Reading",
                                 back_url=url_for("partner.home"))

    def refused(status: int, problem: str | None):
        # The button sits on the dashboard: a refusal is its own page, anything else goes back.
        if problem is not None:
            return error_response(status, problem)
        return redirect(url_for("partner.home"), 303)

    return submit(ConfirmForm(), Confirmation, lambda _: retire(
        current_user, listing, now=utcnow(), confirmed=confirmed_bookings(),
        reason=reason_given(default_reason)), done=retired, render=refused,
        refusals={ConfirmationNeeded: ask})


# Reports ----------------------------------------------------------------------------------


def _report_partner() -> Partner:
    """The acting partner; a coordinator naming another partner is told it does not exist."""
    partner = _own_partner()
    named = request.args.get("partner")
    if current_user.role == Role.COORDINATOR and named not in (None, "", str(partner.id)):
        abort(404, "There is no such partner among your organisations.")
    return partner


@bp.get("/reports")
def reports():
    return report_page(_report_partner())


@bp.get(f"/reports/<any({', '.join(PARTNER_TABLES)}):table>.csv")
def report_csv_download(table: str):
    return report_csv(table, _report_partner())


@bp.get("/impact")
def impact():
    return impact_page(_report_partner(), back_url=url_for("partner.reports"))
