"""Library staff: review partner listings."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import listings
from ..auth import roles_required
from ..extensions import db
from ..forms import ConfirmForm
from ..models import HumanBook, Role, utcnow
from .converters import MAX_ID

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.before_request
@roles_required(Role.STAFF)
def staff_only():
    return None


@bp.get("/")
def home():
    return render_template("staff/home.html", submitted=listings.submitted_books(),
                           form=ConfirmForm())


@bp.post(f"/books/<int(max={MAX_ID}):book_id>/review")
def review_book(book_id: int):
    book = db.session.get(HumanBook, book_id)
    if book is None:
        abort(404, "There is no such book.")
    decision = request.form.get("decision")
    if decision not in ("approve", "send_back"):
        abort(400, "Choose to approve the listing or send it back.")
    if ConfirmForm().validate_on_submit():
        listings.review_book(current_user, book, approve=decision == "approve", now=utcnow())
        flash(f"“{book.title}” is {'approved and public' if decision == 'approve' else 'sent back to its partner'}.",
              "success")
    return redirect(url_for("staff.home"), 303)
