"""The OpenAPI 3.1 description of /api/v1, kept beside the routes it describes.

Only the paths are written here (which operation answers what, and when); every schema is
generated: the request body from the command the route validates with (domain/commands.py),
the answers from the models the routes serialise through (web/api_models.py).
"""
from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from booking.domain.commands import Patron

from .api_models import (BookingCreated, Cancelled, Error, EventDetail, EventSummary, Slot,
                         ValidationErrors)

REF_TEMPLATE = "#/components/schemas/{model}"

#: Request bodies by the name the document gives them (kept from the hand-written document,
#: so that clients generated from it keep their type names).
REQUESTS: dict[str, type[BaseModel]] = {"BookingRequest": Patron}
#: Answers, named as their models are.
RESPONSES: tuple[type[BaseModel], ...] = (
    EventSummary, EventDetail, Slot, BookingCreated, Cancelled, Error, ValidationErrors,
)


class _Untitled(GenerateJsonSchema):
    """Pydantic's schemas without the titles it derives from Python names (`Seats`,
    `Accessibility Needs`): the document names things by their keys."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


def _untitled(schema: dict) -> dict:
    schema.pop("title", None)
    return schema


@cache
def component_schemas() -> dict[str, dict]:
    """Every schema of the document, generated from the request commands and answer models."""
    _, answers = models_json_schema([(model, "serialization") for model in RESPONSES],
                                    ref_template=REF_TEMPLATE, schema_generator=_Untitled)
    schemas = {name: _untitled(schema) for name, schema in answers["$defs"].items()}
    for name, command in REQUESTS.items():
        schema = command.model_json_schema(ref_template=REF_TEMPLATE,
                                           schema_generator=_Untitled, mode="validation")
        schemas.update({n: _untitled(s) for n, s in schema.pop("$defs", {}).items()})
        schemas[name] = _untitled(schema)
    return dict(sorted(schemas.items()))


def models() -> dict[str, type[BaseModel]]:
    """The model behind each top-level schema name, for checking answers against it."""
    return {**REQUESTS, **{model.__name__: model for model in RESPONSES}}


def _ref(model: type[BaseModel] | str) -> dict:
    name = model if isinstance(model, str) else model.__name__
    return {"$ref": REF_TEMPLATE.format(model=name)}


def _list_of(model: type[BaseModel]) -> dict:
    return {"type": "array", "items": _ref(model)}


def _answer(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _answer(description, _ref(Error))


def _path_parameter(name: str, schema_type: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": schema_type}}


SLUG = _path_parameter("slug", "string")
BUSY = _error("Too busy right now; nothing was changed, try again")


def paths() -> dict[str, Any]:
    """Each operation of /api/v1: what it takes and each answer it can give."""
    no_event = _error("No public event with this slug")
    return {
        "/events": {
            "get": {
                "operationId": "listEvents",
                "summary": "Published events",
                "responses": {"200": _answer("Published events", _list_of(EventSummary))},
            }
        },
        "/events/{slug}": {
            "get": {
                "operationId": "getEvent",
                "summary": "An event with its books and sessions",
                "parameters": [SLUG],
                "responses": {"200": _answer("The event", _ref(EventDetail)), "404": no_event},
            }
        },
        "/events/{slug}/slots": {
            "get": {
                "operationId": "listEventSlots",
                "summary": "Bookable slots of an event",
                "parameters": [SLUG],
                "responses": {"200": _answer("Slots in time order", _list_of(Slot)),
                              "404": no_event},
            }
        },
        "/slots/{id}/bookings": {
            "post": {
                "operationId": "createBooking",
                "summary": "Book seats in a slot (or join its waitlist when full)",
                "description": "With e-mail confirmation (the default) the booking is a "
                "hold (status pending) confirmed by a link sent to the address; the answer is "
                "the same whatever the address already holds. Bookings through the pages "
                "and this API share one throttle per client.",
                "parameters": [_path_parameter("id", "integer")],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("BookingRequest")}},
                },
                "responses": {
                    "201": _answer("Held (pending), booked or waitlisted", _ref(BookingCreated)),
                    "400": _error("Malformed JSON or not a JSON object"),
                    "404": _error("Unknown slot"),
                    "409": _error("Cannot be booked: closed or past (with instant "
                                  "confirmation also: overlapping, limit reached)"),
                    "413": _error("Request body too large"),
                    "422": _answer("Invalid fields", _ref(ValidationErrors)),
                    "429": _error("Too many requests, or too many unconfirmed holds "
                                  "from this client at this event"),
                    "503": BUSY,
                },
            }
        },
        "/bookings/{token}/cancel": {
            "post": {
                "operationId": "cancelBooking",
                "summary": "Cancel the booking a manage token names",
                "parameters": [_path_parameter("token", "string")],
                "responses": {
                    "200": _answer("Cancelled", _ref(Cancelled)),
                    "404": _error("Unknown token"),
                    "409": _error("Already cancelled, or the reading has started"),
                    "429": _error("Too many requests"),
                    "503": BUSY,
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenAPI",
                "summary": "This document",
                "responses": {"200": _answer("OpenAPI 3.1 document", {"type": "object"})},
            }
        },
    }


def openapi_document(server_url: str) -> dict:
    """The OpenAPI 3.1 document, with the server the request came to."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Human Library & partner events API",
            "version": "1.0.0",
            "description": "Public events, slots and patron bookings. No personal data is "
            "returned except to the patron who holds a booking's manage token.",
        },
        "servers": [{"url": server_url}],
        "paths": paths(),
        "components": {"schemas": component_schemas()},
    }
