"""A signed-in person's account page: their private calendar feed (shown once, rotatable), their
password, and signing out everywhere else."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from booking.services import accounts, calendars
from booking.web.access import roles_required
from booking.domain.commands import ChangePassword
from booking.web.clients import limiter
from booking.web.forms import ChangePasswordForm, ConfirmForm
from booking.domain.models import Role
from .actions import submit
from .auth import TOO_MANY_SIGN_INS, failed_attempt, login_limit, sign_in
from booking.services.outbox.notifications import public_url

bp = Blueprint("account", __name__, url_prefix="/account")

#: Session key holding a just-issued feed token until the page has shown it once.
NEW_FEED_TOKEN = "new_feed_token"


@bp.before_request
@roles_required(Role.STAFF, Role.COORDINATOR, Role.VOLUNTEER)
def signed_in_only():
    return None


def _home(password_form: ChangePasswordForm, status: int = 200, problem: str | None = None):
    token = session.pop(NEW_FEED_TOKEN, None)
    feed_url = public_url("feeds.personal_ics", token=token) if token else None
    return render_template(
        "account/home.html", form=ConfirmForm(), feed_url=feed_url,
        has_feed=current_user.feed_token_hash is not None, password_form=password_form,
        problem=problem,
    ), status


@bp.get("/")
def home():
    return _home(ChangePasswordForm(formdata=None))


@bp.post("/feed")
def rotate_feed():
    form = ConfirmForm()
    if form.validate_on_submit():
        # Only the hash is stored, so the new address is carried to the next page once.
        session[NEW_FEED_TOKEN] = calendars.issue_feed_token(current_user)
    return redirect(url_for("account.home"), 303)


def _password_attempts() -> str:
    # Guessing the current password from a borrowed session is throttled like signing in.
    return f"password:{current_user.id}" if current_user.is_authenticated else ""


@bp.post("/password")
@limiter.limit(login_limit, key_func=_password_attempts, deduct_when=failed_attempt,
               error_message=TOO_MANY_SIGN_INS)
def change_password():
    def saved(_user):
        _stay_signed_in()
        flash("Your new password is saved. Every other browser and device signed in to "
              "your account has been signed out.", "success")
        # The form posts to …#password; without a fragment of its own the redirect would
        # keep it, and the browser would land below the message that says it worked.
        return redirect(url_for("account.home", _anchor="main"), 303)

    form = ChangePasswordForm()
    return submit(form, ChangePassword,
                  lambda command: accounts.change_password(current_user, command),
                  done=saved, fallback="password",
                  render=lambda status, problem: _home(form, status, problem))


@bp.post("/sign-out-everywhere")
def sign_out_everywhere():
    form = ConfirmForm()
    if form.validate_on_submit():
        accounts.sign_out_everywhere(current_user)
        _stay_signed_in()
        flash("Every other browser and device signed in to your account has been signed out. "
              "You are still signed in here.", "success")
    return redirect(url_for("account.home"), 303)


def _stay_signed_in() -> None:
    # The account's session version moved on: this browser alone gets a new sign-in, kept as
    # long as before when it had "keep me signed in".
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    sign_in(current_user._get_current_object(), remember=remembered)
