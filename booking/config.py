"""Settings read from the environment."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from limits import parse_many


class ConfigError(RuntimeError):
    """The environment does not describe a runnable application."""


def default_database_url(instance_path: str) -> str:
    """An SQLite file under the instance folder."""
    return "sqlite:///" + str(Path(instance_path) / "booking.sqlite3")


def base_config(instance_path: str) -> dict:
    """Configuration from environment variables, with safe defaults."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL")
        or default_database_url(instance_path),
        # Statement parameters hold personal data (names, e-mails): never in errors or logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        **session_config(),
        # Every absolute link (e-mails, feeds, pages, the API) starts here, never at the
        # request's Host header, which a client chooses.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "RATELIMIT_STORAGE_URI": limiter_storage_uri(os.environ),
        #: Proxies in front of the app that append to X-Forwarded-For and set
        #: X-Forwarded-Proto; 0: the client's own address is the one throttled.
        "TRUSTED_PROXIES": _whole_number("TRUSTED_PROXIES", 0, 0, 10,
                                         "a number of proxies such as 1"),
        #: Host names the app answers to (Flask checks Host against them); None: any.
        "TRUSTED_HOSTS": _host_list(os.environ.get("TRUSTED_HOSTS", "")),
        #: Throttle for booking and cancelling, per client address.
        "BOOKING_RATE_LIMIT": os.environ.get("BOOKING_RATE_LIMIT", "30 per minute"),
        #: Failed sign-ins allowed per account from one client address (then 429 there only).
        "LOGIN_RATE_LIMIT": _rate_limit("LOGIN_RATE_LIMIT", "10 per 15 minutes"),
        #: Failed sign-ins allowed per client address, whatever the accounts, against spraying.
        "LOGIN_ADDRESS_RATE_LIMIT": _rate_limit("LOGIN_ADDRESS_RATE_LIMIT", "50 per 15 minutes"),
        #: Failed sign-ins allowed per account from devices it never signed in on; a device it
        #: signed in on is not counted, so strangers cannot lock the owner out.
        "LOGIN_ACCOUNT_RATE_LIMIT": _rate_limit("LOGIN_ACCOUNT_RATE_LIMIT", "100 per hour"),
        **mail_config(),
        **booking_confirmation_config(),
        #: Days a cancelled event or reading stays in calendar feeds (STATUS:CANCELLED).
        "FEED_CANCELLED_GRACE_DAYS": _whole_number(
            "FEED_CANCELLED_GRACE_DAYS", 30, 0, 3650, "a number of days such as 30"),
        #: Days after an event ends before `purge-personal-data` anonymises its patrons.
        "PERSONAL_DATA_RETENTION_DAYS": _whole_number(
            "PERSONAL_DATA_RETENTION_DAYS", 180, 0, 3650, "a number of days such as 180"),
        #: Zone of the one VTIMEZONE an empty feed carries (a calendar needs a component).
        "FEED_DEFAULT_TIMEZONE": os.environ.get("FEED_DEFAULT_TIMEZONE", "UTC"),
    }


#: How a booking made online is confirmed (see `booking_confirmation_config`).
BOOKING_CONFIRMATIONS = ("email", "instant")


def booking_confirmation_config() -> dict:
    """Holds, confirmed by e-mail (the default), or today's instant bookings, knowingly."""
    mode = os.environ.get("BOOKING_CONFIRMATION", "email").strip().lower() or "email"
    if mode not in BOOKING_CONFIRMATIONS:
        raise ConfigError(f"BOOKING_CONFIRMATION must be email or instant, not {mode!r}.")
    return {
        #: "email": a booking from a browser that has not proven its address is a hold,
        #: confirmed by an e-mailed link (rule 8); "instant": confirmed at once, and the
        #: answer tells about the address's other bookings.
        "BOOKING_CONFIRMATION": mode,
        #: Minutes a hold keeps its seats before it lapses unconfirmed.
        "HOLD_MINUTES": _whole_number("HOLD_MINUTES", 20, 2, 1440, "a number of minutes such as 20"),
        #: Unconfirmed holds one client address may keep per event.
        "HOLDS_PER_CLIENT_PER_EVENT": _whole_number(
            "HOLDS_PER_CLIENT_PER_EVENT", 10, 1, 10000, "a number such as 10"),
        #: Days a browser that confirmed an address keeps booking in one step for it.
        "REMEMBER_PATRON_DAYS": _whole_number(
            "REMEMBER_PATRON_DAYS", 180, 1, 3650, "a number of days such as 180"),
        #: E-mails asked for anonymously (holds, resets, patron cancellations) per address/hour.
        "MAIL_ANONYMOUS_PER_RECIPIENT_PER_HOUR": _whole_number(
            "MAIL_ANONYMOUS_PER_RECIPIENT_PER_HOUR", 5, 1, 1000, "a number such as 5"),
        #: Password-reset e-mails per account and hour.
        "MAIL_RESETS_PER_ACCOUNT_PER_HOUR": _whole_number(
            "MAIL_RESETS_PER_ACCOUNT_PER_HOUR", 3, 1, 100, "a number such as 3"),
        #: Development only: read the written .eml messages at /dev/outbox.
        "DEV_OUTBOX": _flag("DEV_OUTBOX", False),
    }


def session_config() -> dict:
    """Sessions, the remember cookie and CSRF tokens. The cookies' Secure flag is settled by
    `secure_cookies` once PUBLIC_BASE_URL is known."""
    return {
        #: None: Secure exactly when PUBLIC_BASE_URL is https (see `secure_cookies`).
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", None),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # A session cookie taken to another address or browser is emptied (Flask-Login).
        "SESSION_PROTECTION": "strong",
        #: A session cookie not written for this long is refused (it is a browser-session cookie).
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_whole_number(
            "SESSION_LIFETIME_HOURS", 12, 1, 24 * 31, "a number of hours such as 12")),
        #: "Keep me signed in" lasts this long from signing in, in the browser and on the server.
        "REMEMBER_COOKIE_DURATION": timedelta(days=_whole_number(
            "REMEMBER_COOKIE_DAYS", 30, 1, 365, "a number of days such as 30")),
        #: Seconds a form's CSRF token is accepted after the page was shown.
        "WTF_CSRF_TIME_LIMIT": 60 * _whole_number(
            "CSRF_TIME_LIMIT_MINUTES", 60, 5, 24 * 60, "a number of minutes such as 60"),
    }


def served_over_https(config) -> bool:
    """Whether PUBLIC_BASE_URL is an https address (in any casing): Secure cookies, HSTS."""
    return urlsplit(config.get("PUBLIC_BASE_URL") or "").scheme.lower() == "https"


def secure_cookies(config: dict) -> None:
    """Mark the session and remember cookies Secure when the site is served over https, unless
    SESSION_COOKIE_SECURE says otherwise; both cookies always agree."""
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = served_over_https(config)
    config["REMEMBER_COOKIE_SECURE"] = bool(config["SESSION_COOKIE_SECURE"])


def mail_config() -> dict:
    """E-mail settings. Without MAIL_SERVER, messages are written as .eml files under instance/."""
    return {
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "").strip(),
        "MAIL_PORT": _whole_number("MAIL_PORT", 25, 1, 65535, "a port number such as 25 or 587"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS", False),
        #: "Name <address>"; empty: "Human Library <no-reply@" + the PUBLIC_BASE_URL host + ">".
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "").strip(),
        #: Send what a request queued as soon as it has answered (cron's send-emails retries).
        "MAIL_SEND_ON_COMMIT": _flag("MAIL_SEND_ON_COMMIT", True),
    }


def limiter_storage_uri(environ) -> str:
    """Where throttles count: FLASK_RATELIMIT_STORAGE_URI (as from_prefixed_env reads it),
    else RATELIMIT_STORAGE_URI, else each process's own memory."""
    return (environ.get("FLASK_RATELIMIT_STORAGE_URI") or environ.get("RATELIMIT_STORAGE_URI")
            or "memory://")


def shared_throttle_warning(workers: int, storage_uri: str) -> str | None:
    """The warning to log when several worker processes would each keep their own throttle
    counts (in memory), multiplying every limit by the number of workers; else None."""
    if workers > 1 and storage_uri.startswith("memory://"):
        return (f"{workers} workers each count throttles in their own memory, so every limit "
                f"(sign-in, booking) is {workers} times looser than configured. Set "
                "RATELIMIT_STORAGE_URI to a shared store, e.g. redis://127.0.0.1:6379.")
    return None


def _host_list(value: str) -> list[str] | None:
    hosts = [host.strip().lower() for host in value.split(",") if host.strip()]
    return hosts or None


def _whole_number(name: str, default: int, low: int, high: int, what: str) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise ConfigError(f"{name} must be {what} ({low} to {high}), not {value!r}.")
    return int(value)


def _rate_limit(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as {default!r}, not {value!r}.") from None
    return value


def _flag(name: str, default: bool | None) -> bool | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false (1/0, yes/no), not {value!r}.")


def check(config: dict, *, debug: bool) -> None:
    """Refuse to start without a secret key outside debugging and testing, or with the
    development mail viewer beside a real mail server."""
    if config.get("DEV_OUTBOX") and config.get("MAIL_SERVER"):
        raise ConfigError(
            "DEV_OUTBOX shows every e-mail at /dev/outbox and is for development only; it "
            "cannot be on when MAIL_SERVER is set. Unset DEV_OUTBOX (or MAIL_SERVER).")
    if not config.get("SECRET_KEY"):
        if debug or config.get("TESTING"):
            config["SECRET_KEY"] = "dev-only-not-secret"
        else:
            raise ConfigError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long "
                "random string (for example: python3 -c 'import secrets; "
                "print(secrets.token_hex(32))'), or run with FLASK_DEBUG=1 for development."
            )
