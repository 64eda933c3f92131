"""Sign in and out, password resets, and accepting an invitation."""
from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from .. import accounts, auth
from ..errors import ValidationFailed
from ..extensions import limiter
from ..forms import AcceptInvitationForm, ConfirmForm, ForgotPasswordForm, LoginForm, ResetPasswordForm
from ..models import Role, utcnow
from .errors import add_field_errors

bp = Blueprint("auth", __name__)

HOME_FOR_ROLE = {Role.STAFF: "staff.home", Role.COORDINATOR: "partner.home", Role.VOLUNTEER: "me.home"}


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _submitted_email() -> str:
    return "login:" + accounts.normalize_email(request.form.get("email", ""))[:254]


def _failed(response) -> bool:
    # Only failed attempts count against the limit; signing in successfully is free.
    return response.status_code != 303


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after signing in, or None."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def home_for(user) -> str:
    return url_for(HOME_FOR_ROLE[user.role])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_login_limit, methods=["POST"], key_func=_submitted_email, deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or home_for(user), 303)
        form.password.errors = ["That e-mail address and password do not match an account."]
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        logout_user()
        flash("You are signed out.", "success")
    return redirect(url_for("public.home"), 303)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The link goes by e-mail only: never to the page, nor to the log.
        accounts.request_password_reset(form.email.data, now=utcnow())
        flash(
            "If an account uses that address, a link to choose a new password is on its way. "
            "It works for one hour.",
            "success",
        )
        return redirect(url_for("auth.login"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        auth.read_reset(token, accounts.user_by_id)
    except auth.LinkInvalid as exc:
        return render_template("auth/link_invalid.html", message=exc.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.reset_password(token, form.password.data)
        except ValidationFailed as exc:
            form.password.errors = exc.errors.get("password", [])
        else:
            login_user(user)
            flash("Your new password is saved and you are signed in.", "success")
            return redirect(home_for(user), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("auth/reset.html", form=form), status


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    try:
        invitation = auth.read_invitation(token)
        if accounts.find_user(invitation.email) is not None:
            raise auth.LinkInvalid("This invitation has already been used. Sign in instead.")
    except auth.LinkInvalid as exc:
        return render_template("auth/link_invalid.html", message=exc.message), 400
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = accounts.accept_invitation(
                token, name=form.name.data, password=form.password.data
            )
        except ValidationFailed as exc:
            if loose := add_field_errors(form, exc.errors):
                flash(loose, "error")
        except auth.LinkInvalid as exc:
            return render_template("auth/link_invalid.html", message=exc.message), 400
        else:
            login_user(user)
            flash("Welcome! Your account is ready.", "success")
            return redirect(home_for(user), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("auth/accept.html", form=form, invitation=invitation), status
