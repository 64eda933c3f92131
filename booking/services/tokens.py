"""Signed, expiring links and cookies: invitations, resets, surveys, the sign-in id."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from booking.domain.errors import LinkInvalid
from booking.domain.models import Role, User
from booking.domain import messages

#: How long an invitation link stays valid.
INVITATION_MAX_AGE = 7 * 24 * 3600
#: How long a password-reset link stays valid.
RESET_MAX_AGE = 3600
#: How long a survey link after a reading stays valid.
FEEDBACK_MAX_AGE = 30 * 24 * 3600
#: Longer than any link this module signs: anything longer is refused unread.
TOKEN_MAX_LENGTH = 500


def serializer(purpose: str) -> URLSafeTimedSerializer:
    """Signs and reads values for one purpose (salt "booking.<purpose>"): links and cookies."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"booking.{purpose}")


@dataclass(frozen=True)
class Invitation:
    """What a signed invitation says: who is invited, to which role, partner and book."""

    email: str
    role: Role
    partner_id: int | None
    human_book_id: int | None
    inviter_id: int


def invitation_token(invitation: Invitation) -> str:
    """The signed token of an invitation's link (read back by `read_invitation`)."""
    return serializer("invite").dumps(
        {
            "email": invitation.email,
            "role": invitation.role.value,
            "partner_id": invitation.partner_id,
            "human_book_id": invitation.human_book_id,
            "inviter_id": invitation.inviter_id,
        }
    )


def read_invitation(token: str) -> Invitation:
    """The invitation a link carries; LinkInvalid when tampered with or expired."""
    payload = _load("invite", token, INVITATION_MAX_AGE, "invitation")
    try:
        return Invitation(
            email=str(payload["email"]),
            role=Role(payload["role"]),
            partner_id=payload["partner_id"],
            human_book_id=payload["human_book_id"],
            inviter_id=int(payload["inviter_id"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid(messages.LINK_INVALID.format(what="invitation")) from exc


def reset_token(user: User) -> str:
    """A password-reset link for `user`; it stops working once the password changes."""
    return serializer("reset").dumps({"uid": user.id, "pw": _password_fingerprint(user)})


def read_reset(token: str, load_user) -> User:
    """The user a reset link names, if the link is genuine, fresh and unused."""
    payload = _load("reset", token, RESET_MAX_AGE, "password reset")
    user = load_user(payload.get("uid")) if isinstance(payload, dict) else None
    if user is None or not user.active or payload.get("pw") != _password_fingerprint(user):
        raise LinkInvalid("This password reset link has already been used. Ask for a new one.")
    return user


def _password_fingerprint(user: User) -> str:
    # The tail of the salted hash changes whenever the password does, so a used link dies.
    return (user.password_hash or "none")[-16:]


def sign_in_id(user: User) -> str:
    """What Flask-Login keeps of one sign-in, in the session and the remember cookie.

    It names the account and its session version, with a nonce and the time it was signed,
    so each sign-in gives a new remember cookie, which stops working when the version moves
    on or after REMEMBER_COOKIE_DURATION.
    """
    return serializer("sign-in").dumps(
        {"uid": user.id, "v": user.session_version, "n": secrets.token_urlsafe(8)})


def read_signed(purpose: str, value, max_age: timedelta | float, *,
                max_length: int = TOKEN_MAX_LENGTH):
    """What a value signed for `purpose` says (a cookie's), or None when it is missing, longer
    than `max_length` (refused unread), tampered with or older than `max_age`."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        return None
    if isinstance(max_age, timedelta):
        max_age = max_age.total_seconds()
    try:
        return serializer(purpose).loads(value, max_age=int(max_age))
    except BadSignature:  # SignatureExpired included
        return None


def signed_in_user(sign_in_id: str, load_user) -> User | None:
    """The active user a session or remember cookie names, if its sign-in is still current."""
    payload = read_signed("sign-in", sign_in_id, current_app.config["REMEMBER_COOKIE_DURATION"])
    user = load_user(payload.get("uid")) if isinstance(payload, dict) else None
    if user is None or not user.active or payload.get("v") != user.session_version:
        return None
    user.sign_in_id = sign_in_id
    return user


def feedback_token(booking_id: int) -> str:
    """The survey link's secret for one booking: no account needed, valid FEEDBACK_MAX_AGE."""
    return serializer("feedback").dumps({"bid": booking_id})


def read_feedback(token: str) -> int:
    """The booking id a survey link names; LinkInvalid when tampered with or expired."""
    bid = _load("feedback", token, FEEDBACK_MAX_AGE, "survey").get("bid")
    if not isinstance(bid, int) or isinstance(bid, bool):
        raise LinkInvalid(messages.SURVEY_LINK_INVALID)
    return bid


def _load(purpose: str, token: str, max_age: int, what: str) -> dict:
    if not isinstance(token, str) or len(token) > TOKEN_MAX_LENGTH:
        raise LinkInvalid(messages.LINK_GARBLED.format(what=what))
    try:
        payload = serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkInvalid(messages.LINK_EXPIRED.format(what=what)) from exc
    except BadSignature as exc:
        raise LinkInvalid(messages.LINK_GARBLED.format(what=what)) from exc
    if not isinstance(payload, dict):
        raise LinkInvalid(messages.LINK_INVALID.format(what=what))
    return payload
