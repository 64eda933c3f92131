"""Sign in and out, password resets, and accepting an invitation."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from booking.services import accounts, tokens as auth
from booking.domain import messages
from booking.domain.commands import AcceptInvitation, ForgottenPassword, NewPassword
from booking.domain.errors import LinkInvalid
from booking.web.clients import client_address, limiter
from booking.web.forms import AcceptInvitationForm, ConfirmForm, ForgotPasswordForm, LoginForm, ResetPasswordForm
from booking.domain.models import Role, utcnow
from booking.domain.text import breaks_line
from .actions import submit

bp = Blueprint("auth", __name__)

HOME_FOR_ROLE = {Role.STAFF: "staff.home", Role.COORDINATOR: "partner.home", Role.VOLUNTEER: "me.home"}

#: Cookie naming the accounts that signed in on this browser: their failed sign-ins here do
#: not count against the per-account limit that strangers' guesses fill.
KNOWN_DEVICE_COOKIE = "known_device"
KNOWN_DEVICE_MAX_AGE = timedelta(days=365)
#: Accounts one browser remembers signing in to.
KNOWN_DEVICE_ACCOUNTS = 5
TOO_MANY_SIGN_INS = ("Too many failed sign-ins. Wait a few minutes and try again, or choose "
                     "a new password with “Forgotten your password?”.")


def login_limit():
    """Failed sign-ins allowed per account from one client address."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def _address_limit():
    return current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]


def _account_limit():
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _submitted_account() -> str:
    return _account_key(request.form.get("email", ""))


def _account_key(email: str) -> str:
    # Only a digest of the address goes to the throttle's store (and the known-device cookie).
    normalized = accounts.normalize_email(email if isinstance(email, str) else "")[:254]
    return hashlib.sha256(normalized.encode()).hexdigest()[:32] if normalized else ""


def _account_and_address() -> str:
    account = _submitted_account()
    return f"login:{account}:{client_address()}" if account else ""


def _account() -> str:
    account = _submitted_account()
    return f"login:{account}" if account else ""


def failed_attempt(response) -> bool:
    """Only failed attempts count against a limit; succeeding (a 303) is free."""
    return response.status_code != 303


def _known_accounts() -> list[str]:
    known = auth.read_signed("known-device", request.cookies.get(KNOWN_DEVICE_COOKIE),
                             KNOWN_DEVICE_MAX_AGE)
    return [a for a in known if isinstance(a, str)] if isinstance(known, list) else []


def _on_known_device() -> bool:
    account = _submitted_account()
    return bool(account) and account in _known_accounts()


def _remember_device(response, user):
    account = _account_key(user.email)
    known = [account] + [a for a in _known_accounts() if a != account]
    response.set_cookie(
        KNOWN_DEVICE_COOKIE, auth.serializer("known-device").dumps(known[:KNOWN_DEVICE_ACCOUNTS]),
        max_age=KNOWN_DEVICE_MAX_AGE, path=url_for("auth.login"), httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax",
    )
    return response


def safe_next(target: str | None) -> str | None:
    """A path on this site to return to after signing in, or None.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    "/<tab>/evil.example" and "/<backslash>evil.example" would leave the site: those are
    removed or refused, and only a path with no scheme and no host passes.
    """
    if not isinstance(target, str):
        return None
    target = target.replace("\t", "").replace("\r", "").replace("\n", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if breaks_line(target):  # any other control character: not a path
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def home_for(user) -> str:
    return url_for(HOME_FOR_ROLE[user.role])


def sign_in(user, *, remember: bool = False) -> None:
    """Sign `user` in on this browser with a new sign-in id and a new CSRF secret, so a form
    token seen before signing in is worth nothing after."""
    user.sign_in_id = auth.sign_in_id(user)
    csrf_key = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(csrf_key, None)
    g.pop(csrf_key, None)
    login_user(user, remember=remember)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], deduct_when=failed_attempt,
               error_message=TOO_MANY_SIGN_INS)
@limiter.limit(login_limit, methods=["POST"], key_func=_account_and_address,
               deduct_when=failed_attempt, error_message=TOO_MANY_SIGN_INS)
@limiter.limit(_account_limit, methods=["POST"], key_func=_account, deduct_when=failed_attempt,
               exempt_when=_on_known_device, error_message=TOO_MANY_SIGN_INS)
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            sign_in(user, remember=form.remember.data)
            target = safe_next(request.args.get("next")) or home_for(user)
            return _remember_device(redirect(target, 303), user)
        form.password.errors = [messages.SIGN_IN_FAILED]
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            # A copy of this session or remember cookie must not work after signing out.
            accounts.sign_out_everywhere(current_user)
        logout_user()
        flash("You are signed out, on this and every other device.", "success")
    return redirect(url_for("public.home"), 303)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()

    def sent(_found):
        # Said the same whether or not an account has the address; the link goes by e-mail
        # only: never to the page, nor to the log.
        flash(
            "If an account uses that address, a link to choose a new password is on its way. "
            "It works for one hour.",
            "success",
        )
        return redirect(url_for("auth.login"), 303)

    return submit(
        form, ForgottenPassword,
        lambda command: accounts.request_password_reset(command, now=utcnow()),
        done=sent, render=lambda status, problem: (
            render_template("auth/forgot.html", form=form, problem=problem), status),
    )


def _link_invalid(exc: LinkInvalid):
    return render_template("auth/link_invalid.html", message=exc.message), 400


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        auth.read_reset(token, accounts.user_by_id)
    except LinkInvalid as exc:
        return _link_invalid(exc)
    form = ResetPasswordForm()

    def saved(user):
        sign_in(user)
        flash("Your new password is saved and you are signed in. Every other session "
              "of your account has ended.", "success")
        return redirect(home_for(user), 303)

    return submit(
        form, NewPassword, lambda command: accounts.reset_password(token, command),
        done=saved, refusals={LinkInvalid: _link_invalid},
        render=lambda status, problem: (
            render_template("auth/reset.html", form=form, problem=problem), status),
    )


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    try:
        invitation = accounts.open_invitation(token)
    except LinkInvalid as exc:
        return _link_invalid(exc)
    form = AcceptInvitationForm()

    def welcome(user):
        sign_in(user)
        flash("Welcome! Your account is ready.", "success")
        return redirect(home_for(user), 303)

    return submit(
        form, AcceptInvitation,
        lambda command: accounts.accept_invitation(token, command, now=utcnow()),
        done=welcome, refusals={LinkInvalid: _link_invalid},
        render=lambda status, problem: (render_template(
            "auth/accept.html", form=form, invitation=invitation, problem=problem), status),
    )
