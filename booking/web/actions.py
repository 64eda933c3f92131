"""The edge of every write, written once: form or JSON → command → service → answer.

A view names its form (or reads JSON), the command, the service call, and what to show after;
this module does the rest the same way everywhere: a form that does not parse, or a command
the rules refuse, is shown again with each sentence on its field (422); a refusal from the
service is shown with the status the error table gives (web/errors.py). Nothing is written
unless the service's one transaction commits.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import abort, current_app, flash, request
from flask_wtf import FlaskForm

from booking.domain.commands import Command
from booking.domain.errors import DomainError, ValidationFailed

from .errors import add_field_errors, status_for

C = TypeVar("C", bound=Command)
R = TypeVar("R")

#: render(status, problem): the page with the form, `problem` a refusal to show above it.
Render = Callable[..., Any]


def submit(
    form: FlaskForm,
    command: type[C],
    perform: Callable[[C], R],
    *,
    done: Callable[[R], Any],
    render: Render,
    fallback: str | None = None,
    above: bool = False,
    fields: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    refusals: Mapping[type[DomainError], Callable[[DomainError], Any]] | None = None,
):
    """Run one write from a form.

    GET shows `render(200, None)`. On POST the form parses (CSRF, types), `command` is built
    from its data (plus `fields`, values the view adds such as ids from the URL; `context`
    for the command's rules) and
    `perform(command)` runs; its result goes to `done`. A field error the form has no field
    for goes on `fallback`, or is flashed; with `above`, it is shown above the form instead
    (render's `problem`), for pages whose rules concern more than the form (a set of
    windows, say). `refusals` handles particular domain errors (a
    confirmation page, say) instead of showing the message.
    """
    def parsed() -> C:
        return command.parse(entered(form), context=context, **(fields or {}))

    if not form.is_submitted():
        return render(200, None)
    if not form.validate():
        # Every problem at once: the command's rules on the fields that did parse, beside the
        # form's own word on those that did not (a date that is not one, say).
        try:
            parsed()
        except ValidationFailed as exc:
            unparsed = {name for name in exc.errors if name in form and form[name].errors}
            if loose := add_field_errors(
                    form, {name: exc.errors[name] for name in exc.errors if name not in unparsed},
                    fallback):
                flash(loose, "error")
        return render(422, None)
    try:
        result = perform(parsed())
    except ValidationFailed as exc:
        loose = add_field_errors(form, exc.errors, fallback)
        if loose and above:
            return render(422, loose)
        if loose:
            flash(loose, "error")
        return render(422, None)
    except DomainError as exc:
        for kind, handle in (refusals or {}).items():
            if isinstance(exc, kind):
                return handle(exc)
        return render(status_for(exc), exc.message)
    return done(result)


def entered(form: FlaskForm) -> dict[str, Any]:
    """The form's values, leaving out fields it did not receive (None), so that the command's
    defaults apply to them as to a JSON body that leaves them out."""
    return {name: value for name, value in form.data.items() if value is not None}


def json_object() -> dict:
    """The request body as a JSON object, or a 400 that says what is wrong."""
    if not request.is_json:
        abort(400, "Send a JSON body with Content-Type: application/json.")
    try:
        # The app's strict provider also refuses lone surrogates and runaway nesting.
        payload = current_app.json.loads(request.get_data())
    except ValueError as exc:
        abort(400, f"The request body is not valid JSON: {exc}.")
    if not isinstance(payload, dict):
        abort(400, "The request body must be a JSON object.")
    return payload


def submit_json(command: type[C], perform: Callable[[C], R], *,
                fields: Mapping[str, Any] | None = None) -> R:
    """Run one write from a JSON body: the command from the body (plus `fields`), then the
    service. Refusals reach the error handlers, which answer JSON under /api (422 with each
    field's sentences, or the error table's status)."""
    return perform(command.parse(json_object(), **(fields or {})))
