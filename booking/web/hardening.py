"""Hardened HTTP: the client's address behind proxies, security headers, no caching of
personal pages, and malformed requests refused at the edge (never a 500 further in)."""
from __future__ import annotations

import re

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider
from flask_login import current_user
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import served_over_https

#: The app ships its own scripts and styles (static/): no inline code, nothing from elsewhere.
#: Charts are inline SVG whose presentation attributes CSP does not govern.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    # The desk acts in one tap: no other site may frame it (clickjacking).
    "frame-ancestors": "'none'",
}

#: Browser features no page uses.
PERMISSIONS_POLICY = {
    feature: "()"
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics")
}

#: Answers anyone may cache: no personal data, no secret in the address or the body.
PUBLIC_ENDPOINTS = frozenset({
    "static", "feeds.events_ics", "feeds.schedule_ics",
    "api.events", "api.event", "api.event_slots", "api.openapi",
})

#: Public pages, except when they greet a signed-in person by name (the site header).
PUBLIC_PAGES = frozenset({"public.home", "public.event"})


#: Addresses whose next segment is a secret: a manage token (and its .ics, and the API's
#: cancel), a private feed, a password reset, an invitation, a survey link. A path starts the
#: text, follows a space or quote (a request line) or a scheme and host (a Referer), so
#: /partner/invitations/new is not one of them.
SECRET_PATH = re.compile(
    r"""(?P<lead>^|[\s"']|://[^/\s"'?#]*)"""
    r"(?P<path>/(?:bookings|api/v1/bookings|feeds/u|password/reset|invitations|feedback)/)"
    r"""(?P<token>[^/?#\s"']+?)(?P<ics>\.ics)?(?P<confirm>/confirm/[^/?#\s"']+)?"""
    r"""(?=[/?#\s"']|$)"""
)


def mask_secret_paths(text: str) -> str:
    """The text with the secret segment of each such address replaced by `[secret]`."""
    return SECRET_PATH.sub(
        lambda m: m["lead"] + m["path"] + "[secret]" + (m["ics"] or "")
        + ("/confirm/[secret]" if m["confirm"] else ""), text)


def register(app: Flask) -> None:
    """Wrap and hook the app; settings are read from its config."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        # X-Forwarded-Host is not trusted: links come from PUBLIC_BASE_URL anyway, and a
        # proxy that does not set it would let clients choose it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    # One Talisman per app: it keeps its settings on itself.
    app.extensions["talisman"] = Talisman(
        app,
        force_https=False,  # the proxy terminates TLS and redirects
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE") or "Lax",
        # The same test as the cookies' Secure flag (config.secure_cookies).
        strict_transport_security=served_over_https(app.config),
        strict_transport_security_include_subdomains=False,
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        # Manage, feed, reset and survey addresses carry secrets: never to other sites.
        referrer_policy="same-origin",
        permissions_policy=PERMISSIONS_POLICY,
    )
    strict = StrictJSONProvider(app)
    strict.sort_keys = app.json.sort_keys
    app.json = strict
    app.before_request(refuse_nul_in_address)
    app.after_request(keep_private_answers_out_of_caches)


def refuse_nul_in_address():
    """A NUL character is in no address of ours, and databases refuse it (a 500 later)."""
    if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                     for key, value in request.args.items(multi=True)):
        abort(400, "The address holds a NUL character (%00), which no page accepts.")


def keep_private_answers_out_of_caches(response):
    """`private, no-store` on everything but what PUBLIC_ENDPOINTS and PUBLIC_PAGES name."""
    if not is_public(response):
        response.headers["Cache-Control"] = "private, no-store"
    return response


def is_public(response) -> bool:
    if request.method not in ("GET", "HEAD") or response.status_code >= 400:
        return False
    if request.endpoint in PUBLIC_ENDPOINTS:
        return True
    # The page has been rendered, so asking who is signed in costs no query.
    return request.endpoint in PUBLIC_PAGES and not current_user.is_authenticated


class StrictJSONProvider(DefaultJSONProvider):
    """JSON whose strings are text and whose nesting Python can follow, or a ValueError.

    A lone surrogate (\\ud800) parses into a str that no database or encoder accepts, and
    nesting past the recursion limit raises RecursionError: both were 500s further in.
    """

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("it is nested too deeply") from None
        _refuse_lone_surrogates(value)
        return value


def _refuse_lone_surrogates(value) -> None:
    """Raise ValueError if any string (key or value) in parsed JSON is not Unicode text."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("a string in it holds a lone surrogate (such as \\ud800), "
                                 "which is not text") from None
