"""A signed-in person's account page: their private calendar feed, shown once and rotatable."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, session, url_for
from flask_login import current_user

from .. import calendars
from ..auth import roles_required
from ..forms import ConfirmForm
from ..models import Role
from ..notifications import public_url

bp = Blueprint("account", __name__, url_prefix="/account")

#: Session key holding a just-issued feed token until the page has shown it once.
NEW_FEED_TOKEN = "new_feed_token"


@bp.before_request
@roles_required(Role.STAFF, Role.COORDINATOR, Role.VOLUNTEER)
def signed_in_only():
    return None


@bp.get("/")
def home():
    token = session.pop(NEW_FEED_TOKEN, None)
    feed_url = public_url("feeds.personal_ics", token=token) if token else None
    return render_template(
        "account/home.html", form=ConfirmForm(), feed_url=feed_url,
        has_feed=current_user.feed_token_hash is not None,
    )


@bp.post("/feed")
def rotate_feed():
    form = ConfirmForm()
    if form.validate_on_submit():
        # Only the hash is stored, so the new address is carried to the next page once.
        session[NEW_FEED_TOKEN] = calendars.issue_feed_token(current_user)
    return redirect(url_for("account.home"), 303)
