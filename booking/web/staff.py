"""Library staff: review listings, add and act for partners, invite coordinators and staff."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from booking.services import listings, partners, programme
from booking.services.outbox import mailer
from booking.web.access import roles_required
from booking.domain.commands import Profile
from ..extensions import db
from booking.web.forms import ConfirmForm, InviteForm, ProfileForm
from booking.domain.models import Event, HumanBook, Partner, ProgramSession, Role, utcnow
from .actions import submit
from .converters import MAX_ID
from .invitations import invitation_page

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.before_request
@roles_required(Role.STAFF)
def staff_only():
    return None


@bp.get("/")
def home():
    unwritable_count, unwritable = mailer.unwritable(utcnow())
    return render_template("staff/home.html", submitted=listings.submitted_books(),
                           submitted_sessions=programme.submitted_sessions(),
                           partners=partners.all_partners(), form=ConfirmForm(),
                           unwritable_count=unwritable_count, unwritable=unwritable,
                           unwritable_days=mailer.UNWRITABLE_SHOWN_FOR.days)


def _decision() -> bool:
    decision = request.form.get("decision")
    if decision not in ("approve", "send_back"):
        abort(400, "Choose to approve the listing or send it back.")
    return decision == "approve"


def _review(model: type[HumanBook] | type[ProgramSession], listing_id: int, review, noun: str):
    """Approve a submitted book or session, or send it back to its partner."""
    listing = db.session.get(model, listing_id)
    if listing is None:
        abort(404, f"There is no such {noun}.")
    approve = _decision()
    if ConfirmForm().validate_on_submit():
        review(current_user, listing, approve=approve, now=utcnow())
        flash(f"“{listing.title}” is "
              f"{'approved and public' if approve else 'sent back to its partner'}.", "success")
    return redirect(url_for("staff.home"), 303)


@bp.post(f"/books/<int(max={MAX_ID}):book_id>/review")
def review_book(book_id: int):
    return _review(HumanBook, book_id, listings.review_book, "book")


@bp.post(f"/sessions/<int(max={MAX_ID}):session_id>/review")
def review_session(session_id: int):
    return _review(ProgramSession, session_id, programme.review_session, "session")


def _hosts_page_of(slug: str | None) -> str | None:
    """The hosts page of the event `?event=<slug>` names, to come back to; None if none."""
    if not slug:
        return None
    found = db.session.scalar(sa.select(Event.slug).where(Event.slug == slug[:200]))
    return url_for("staff_events.hosts", slug=found) if found else None


@bp.route("/partners/new", methods=["GET", "POST"])
def new_partner():
    """Add a partner organisation; from an event's hosts page (`?event=<slug>`), go back there."""
    hosts_page = _hosts_page_of(request.args.get("event"))
    back_url = hosts_page or url_for("staff.home", _anchor="partners")
    form = ProfileForm()

    def added(partner: Partner):
        flash(Markup("“{}” is added. <a href=\"{}\">Invite its coordinator</a>.").format(
            partner.name, url_for("staff.invite", partner=partner.id)), "success")
        return redirect(back_url, 303)

    return submit(
        form, Profile, lambda profile: partners.create_partner(current_user, profile, utcnow()),
        context=partners.profile_context(), fallback="name", done=added,
        render=lambda status, problem: (render_template(
            "staff/new_partner.html", form=form, back_url=back_url, problem=problem,
            back_label="Partners of the event" if hosts_page else "Staff"), status),
    )


@bp.route("/invitations/new", methods=["GET", "POST"])
def invite():
    """Invite a coordinator or staff member; `?partner=<id>` preselects a coordinator's partner."""
    form = InviteForm()
    del form.human_book_id
    form.role.choices = [(Role.COORDINATOR.value, "Partner coordinator"),
                         (Role.STAFF.value, "Library staff")]
    form.partner_id.choices = [("", "None (library staff)")] + [
        (str(partner.id), partner.name) for partner in partners.all_partners()
    ]
    chosen = request.args.get("partner", "")
    if not form.is_submitted() and chosen and chosen in dict(form.partner_id.choices):
        form.role.data, form.partner_id.data = Role.COORDINATOR.value, int(chosen)
    return invitation_page(form, role=None, partner_id=None,
                           heading="Invite a coordinator or staff member",
                           back_url=url_for("staff.home"))
