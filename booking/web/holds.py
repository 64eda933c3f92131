"""How a booking request from the web is made: at once, or as a hold confirmed by e-mail.

With BOOKING_CONFIRMATION=email (the default) a request proves nothing about the address it
types, so its booking is a hold (rule 8). A browser that confirmed an address once keeps a
signed cookie naming a remembered-patron token, and books for that address in one step.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from flask import current_app, request

from booking.services import tokens as auth, patrons
from booking.web.clients import client_address
from booking.services.reservations import Hold, normalize_email

#: The cookie a browser keeps once it has proven an address.
COOKIE = "remembered_patron"


def _lifetime() -> timedelta:
    return timedelta(days=current_app.config["REMEMBER_PATRON_DAYS"])


def _browser_token() -> str | None:
    token = auth.read_signed("patron", request.cookies.get(COOKIE), _lifetime(), max_length=300)
    return token if isinstance(token, str) else None


def remembered_email(now: datetime) -> str | None:
    """The (normalised) address this browser proved, if it still stands."""
    cache = request.environ  # per request (tests share one app context, hence `g`)
    if "booking.remembered_email" not in cache:
        cache["booking.remembered_email"] = patrons.recognise(
            _browser_token(), max_age=_lifetime(), now=now)
    return cache["booking.remembered_email"]


def booking_terms(email, now: datetime) -> tuple[Hold | None, bool]:
    """(hold, anonymous) for booking with `email` from this request (None: the API, which
    keeps no cookie, so proves nothing).

    No hold when bookings are instant, or when this browser proved this very address;
    `anonymous` when the request proved nothing (its e-mails are capped per recipient).
    """
    if current_app.config["BOOKING_CONFIRMATION"] == "instant":
        return None, True
    typed = normalize_email(email) if isinstance(email, str) else None
    if typed and request.cookies.get(COOKIE) and remembered_email(now) == typed:
        patrons.used(_browser_token(), now=now)
        return None, False
    return Hold(expires_at=now + timedelta(minutes=current_app.config["HOLD_MINUTES"]),
                client=client_key(),
                client_limit=current_app.config["HOLDS_PER_CLIENT_PER_EVENT"]), True


def client_key() -> str:
    """A keyed hash of the client's address (`client_address`): counted, not kept."""
    address = client_address().encode("utf-8", "replace")
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, b"hold-client:" + address, hashlib.sha256).hexdigest()[:32]


def remember_browser(response, email: str, now: datetime) -> None:
    """Give this browser the cookie that books for `email` in one step from now on."""
    token = patrons.remember(email, now=now)
    response.set_cookie(
        COOKIE, auth.serializer("patron").dumps(token), max_age=int(_lifetime().total_seconds()),
        httponly=True, samesite="Lax", path="/",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )


def forget_browser(response) -> None:
    """Revoke this browser's remembered address, and drop its cookie."""
    patrons.forget(_browser_token())
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax",
                           secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
