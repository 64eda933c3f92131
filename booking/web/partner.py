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
from booking.domain.errors import ConfirmationNeeded, ValidationFailed, VolunteerConflict
from ..extensions import db
from booking.web.forms import BookForm, ConfirmForm, InviteForm, ProfileForm, SessionForm
from booking.domain.models import Event, HumanBook, Partner, ProgramSession, Role, utcnow
from booking.services.queries.reports import PARTNER_TABLES
from .converters import MAX_ID
from .errors import add_field_errors, status_for
from .invitations import invitation_page
from .reports import impact_page, report_csv, report_page
from .schedule import availability_page, confirmation_page, confirmed_bookings, event_days

bp = Blueprint("partner", __name__, url_prefix="/partner")


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
    status = 200
    if form.validate_on_submit():
        try:
            partners.update_profile(current_user, partner, form.profile_fields(), now=utcnow())
        except ValidationFailed as exc:
            add_field_errors(form, exc.errors, fallback="name")
            status = 422
        else:
            flash("The organisation's profile is saved.", "success")
            return redirect(url_for("partner.home"), 303)
    elif form.is_submitted():
        status = 422
    return render_template("partner/profile.html", form=form, partner=partner), status


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
                book = listings.create_book(current_user, _own_partner(), _fields(form),
                                            now=utcnow())
                flash(f"“{book.title}” is saved as a draft. Send it for approval when it is ready.",
                      "success")
            else:
                listings.update_book(current_user, book, _fields(form), now=utcnow())
                flash(f"“{book.title}” is saved.", "success")
            return redirect(url_for("partner.home"), 303)
        except ValidationFailed as exc:
            add_field_errors(form, exc.errors, fallback="title")
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
    return _submit(_own_book(book_id), listings.submit_book)


def _submit(listing: HumanBook | ProgramSession, submit):
    """Send a draft book or session to library staff for approval."""
    if ConfirmForm().validate_on_submit():
        submit(current_user, listing, now=utcnow())
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
    abort(404, "Your organisation does not co-host an upcoming event at this address.")


# Program sessions -------------------------------------------------------------------------


def _session_form(event: Event, partner: Partner, **kwargs) -> SessionForm:
    form = SessionForm(**kwargs)
    form.day.choices = event_days(event)
    form.presenter_user_id.choices = [("", "Nobody yet")] + [
        (str(user.id), user.name or user.email) for user in programme.presenters(partner.id)
    ]
    return form


def _session_fields(form: SessionForm) -> programme.SessionFields | None:
    span = form.local_span()
    if span is None:
        return None
    presenter = form.presenter_user_id.data
    return programme.SessionFields(
        title=form.title.data or "", description=form.description.data or "",
        language=form.language.data or "", audience=form.audience.data or "",
        starts_local=span[0], ends_local=span[1], seats=form.seats.data,
        presenter_user_id=int(presenter) if presenter and presenter.isdigit() else None,
    )


def _render_session_form(form, event, session, problem=None, status=200):
    return render_template("partner/session_form.html", form=form, event=event,
                           session=session, problem=problem), status


@bp.route("/events/<slug>/sessions/new", methods=["GET", "POST"])
def new_session(slug: str):
    partner = _own_partner()
    event = _hosted_event(slug)
    form = _session_form(event, partner)
    if not form.validate_on_submit():
        return _render_session_form(form, event, None, status=422 if form.is_submitted() else 200)
    fields = _session_fields(form)
    if fields is None:
        return _render_session_form(form, event, None, status=422)
    try:
        session = programme.create_session(current_user, partner, event, fields, now=utcnow())
    except ValidationFailed as exc:
        add_field_errors(form, exc.errors, fallback="title")
        return _render_session_form(form, event, None, status=422)
    except VolunteerConflict as exc:
        return _render_session_form(form, event, None, problem=exc.message, status=status_for(exc))
    flash(f"“{session.title}” is saved as a draft. Send it for approval when it is ready.",
          "success")
    return redirect(url_for("partner.home"), 303)


@bp.route(f"/sessions/<int(max={MAX_ID}):session_id>", methods=["GET", "POST"])
def edit_session(session_id: int):
    session = _own_session(session_id)
    event, partner = session.event, _own_partner()
    if request.method == "GET":
        return _render_session_form(_prefilled(session, partner), event, session)
    form = _session_form(event, partner)
    if not form.validate_on_submit():
        return _render_session_form(form, event, session, status=422)
    fields = _session_fields(form)
    if fields is None:
        return _render_session_form(form, event, session, status=422)
    page_url = url_for("partner.edit_session", session_id=session.id)
    try:
        result = programme.update_session(
            current_user, session, fields, now=utcnow(), confirmed=confirmed_bookings(),
            reason=_reason(programme.FEWER_SEATS_REASON),
        )
    except ConfirmationNeeded as exc:
        return confirmation_page(exc, event=event, page_url=page_url,
                                 default_reason=programme.FEWER_SEATS_REASON,
                                 resource_label="Session")
    except ValidationFailed as exc:
        add_field_errors(form, exc.errors, fallback="title")
        return _render_session_form(form, event, session, status=422)
    except VolunteerConflict as exc:
        return _render_session_form(form, event, session, problem=exc.message, status=status_for(exc))
    moved = " Readers who booked are told about the new time." if result.moved else ""
    flash(f"“{session.title}” is saved.{moved}", "success")
    return redirect(url_for("partner.home"), 303)


def _prefilled(session: ProgramSession, partner: Partner) -> SessionForm:
    slot = programme.session_slot(session)
    data = {"title": session.title, "description": session.description,
            "language": session.language, "audience": session.audience,
            "presenter_user_id": str(session.presenter_user_id or "")}
    if slot is not None:
        zone = ZoneInfo(session.event.timezone)
        start, end = slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone)
        data.update(day=start.date().isoformat(), starts=f"{start:%H:%M}", ends=f"{end:%H:%M}",
                    seats=slot.capacity)
    return _session_form(session.event, partner, formdata=None, data=data)


def _reason(default: str) -> str:
    return (request.form.get("reason") or "").strip()[:300] or default


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
    if ConfirmForm().validate_on_submit():
        try:
            retire(current_user, listing, now=utcnow(), confirmed=confirmed_bookings(),
                   reason=_reason(default_reason))
        except ConfirmationNeeded as exc:
            return confirmation_page(exc, event=event, page_url=page_url,
                                     default_reason=default_reason,
                                     resource_label="Session" if event else "Reading",
                                     back_url=url_for("partner.home"))
        flash(f"“{listing.title}” is retired and no longer listed.", "success")
    return redirect(url_for("partner.home"), 303)


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
