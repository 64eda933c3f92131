"""Every error answered in one place: friendly HTML pages, JSON under /api."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from booking.domain.errors import (
    Busy,
    DomainError,
    Forbidden,
    HoldLapsed,
    LinkInvalid,
    NotFound,
    TooManyHolds,
    ValidationFailed,
    is_lock_timeout,
)
from ..extensions import db
from .api_models import Error, ValidationErrors
from .hardening import mask_secret_paths

TITLES = {
    400: "That request was not understood",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "That cannot be done",
    413: "That request is too large",
    422: "Please check what you entered",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "Please try again in a moment",
}


#: The HTTP answer for each kind of domain error; the most specific class listed wins, and a
#: refusal not listed here is a conflict with the current state (409).
STATUS_FOR = {
    ValidationFailed: 422,
    Forbidden: 403,
    NotFound: 404,
    HoldLapsed: 410,
    LinkInvalid: 400,
    TooManyHolds: 429,
    Busy: 503,
}


def status_for(error: DomainError) -> int:
    """The HTTP status a domain error answers with (STATUS_FOR; 409 otherwise)."""
    for kind in type(error).__mro__:
        if kind in STATUS_FOR:
            return STATUS_FOR[kind]
    return 409


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str, errors: dict | None = None):
    """One error answer, as JSON or as a page."""
    if wants_json():
        body = ValidationErrors(errors=errors) if errors is not None else Error(error=message)
        return jsonify(body.body()), status
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=TITLES.get(status, "Something went wrong"),
            message=message,
            errors=errors,
        ),
        status,
    )


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if isinstance(exc, ValidationFailed):
            return error_response(status_for(exc), exc.message, exc.errors)
        return error_response(status_for(exc), exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(
            400,
            "This form had expired or was sent from another site, so nothing was changed. "
            "Go back, reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code >= 500:
            db.session.rollback()
        message = exc.description or TITLES.get(exc.code or 500, "")
        response = error_response(exc.code or 500, message)
        if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            body, status = response
            return body, status, {"Allow": ", ".join(exc.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        db.session.rollback()
        if is_lock_timeout(exc):
            # Another writer held the database past the busy timeout: nothing was changed.
            body, status = error_response(503, Busy().message)
            return body, status, {"Retry-After": "5"}
        # %r: a path's %0A would otherwise start a forged line of its own in the log.
        app.logger.exception("Unhandled error on %s %r", request.method,
                             mask_secret_paths(request.path))
        return error_response(
            500,
            "Nothing you entered was lost on our side, but the request did not complete. "
            "Please try again; if it keeps happening, contact the library.",
        )


def add_field_errors(form, errors: dict[str, list[str]], fallback: str | None = None) -> str | None:
    """Show a service's `ValidationFailed.errors` on the form's fields.

    An error about something the form has no field for goes on the `fallback` field; without
    one, those messages are returned (joined) for the page to show, never dropped.
    """
    loose = []
    for name, messages in errors.items():
        target = name if name in form else fallback
        if target is None:
            loose.extend(messages)
        else:
            form[target].errors = list(form[target].errors) + list(messages)
    return " ".join(loose) or None
