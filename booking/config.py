"""Settings read from the environment."""
from __future__ import annotations

import os
from pathlib import Path


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
        "WTF_CSRF_TIME_LIMIT": None,
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
        #: Failed sign-ins allowed per client address, and per account, against guessing.
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per 15 minutes"),
        **mail_config(),
        #: Days a cancelled event or reading stays in calendar feeds (STATUS:CANCELLED).
        "FEED_CANCELLED_GRACE_DAYS": _whole_number(
            "FEED_CANCELLED_GRACE_DAYS", 30, 0, 3650, "a number of days such as 30"),
        #: Days after an event ends before `purge-personal-data` anonymises its patrons.
        "PERSONAL_DATA_RETENTION_DAYS": _whole_number(
            "PERSONAL_DATA_RETENTION_DAYS", 180, 0, 3650, "a number of days such as 180"),
        #: Zone of the one VTIMEZONE an empty feed carries (a calendar needs a component).
        "FEED_DEFAULT_TIMEZONE": os.environ.get("FEED_DEFAULT_TIMEZONE", "UTC"),
    }


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


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false (1/0, yes/no), not {value!r}.")


def check(config: dict, *, debug: bool) -> None:
    """Refuse to start without a secret key outside debugging and testing."""
    if not config.get("SECRET_KEY"):
        if debug or config.get("TESTING"):
            config["SECRET_KEY"] = "dev-only-not-secret"
        else:
            raise ConfigError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long "
                "random string (for example: python3 -c 'import secrets; "
                "print(secrets.token_hex(32))'), or run with FLASK_DEBUG=1 for development."
            )
