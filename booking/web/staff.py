"""Library staff: review partner listings, act for a partner, invite coordinators and staff."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import listings, partners, programme
from ..auth import roles_required
from ..extensions import db
from ..forms import ConfirmForm, InviteForm
from ..models import HumanBook, ProgramSession, Role, utcnow
from .converters import MAX_ID
from .invitations import invitation_page

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.before_request
@roles_required(Role.STAFF)
def staff_only():
    return None


@bp.get("/")
def home():
    return render_template("staff/home.html", submitted=listings.submitted_books(),
                           submitted_sessions=programme.submitted_sessions(),
                           partners=partners.all_partners(), form=ConfirmForm())


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


@bp.route("/invitations/new", methods=["GET", "POST"])
def invite():
    form = InviteForm()
    del form.human_book_id
    form.role.choices = [(Role.COORDINATOR.value, "Partner coordinator"),
                         (Role.STAFF.value, "Library staff")]
    form.partner_id.choices = [("", "None (library staff)")] + [
        (str(partner.id), partner.name) for partner in partners.all_partners()
    ]
    return invitation_page(form, role=None, partner_id=None,
                           heading="Invite a coordinator or staff member",
                           back_url=url_for("staff.home"))
