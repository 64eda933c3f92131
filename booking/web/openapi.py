"""The OpenAPI 3.1 description of /api/v1, kept beside the routes it describes."""
from __future__ import annotations


def _error(description: str, schema: str = "Error") -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _ok(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
DATETIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with offset"}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    },
    "ValidationErrors": {
        "type": "object",
        "required": ["errors"],
        "properties": {
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            }
        },
    },
    "Host": {
        "type": "object",
        "required": ["name", "role"],
        "properties": {
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["host", "co-host", "sponsor"]},
        },
    },
    "EventSummary": {
        "type": "object",
        "required": ["slug", "title", "kind", "starts_at", "ends_at", "timezone", "venue", "hosts"],
        "properties": {
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "kind": {"type": "string", "enum": ["human_library", "program"]},
            "starts_at": DATETIME,
            "ends_at": DATETIME,
            "timezone": {"type": "string", "description": "IANA time zone"},
            "venue": {"type": "string"},
            "hosts": {"type": "array", "items": _ref("Host")},
        },
    },
    "Book": {
        "type": "object",
        "required": ["id", "title", "blurb", "topics", "languages", "content_notes"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "blurb": {"type": "string"},
            "topics": {"type": "array", "items": {"type": "string"}},
            "languages": {"type": "array", "items": {"type": "string"}},
            "content_notes": {"type": "string"},
            "partner": {"type": "string"},
        },
    },
    "Session": {
        "type": "object",
        "required": ["id", "title", "description", "language", "audience"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "language": {"type": "string"},
            "audience": {"type": "string"},
            "presenter": {"type": "string"},
        },
    },
    "EventDetail": {
        "allOf": [
            _ref("EventSummary"),
            {
                "type": "object",
                "required": ["status", "url", "books", "sessions"],
                "properties": {
                    "status": {"type": "string", "enum": ["published", "cancelled", "finished"]},
                    "url": {"type": "string", "format": "uri"},
                    "description": {"type": "string"},
                    "accessibility_notes": {"type": "string"},
                    "max_bookings_per_patron": {"type": "integer"},
                    "max_seats_per_booking": {"type": "integer"},
                    "agreement": {
                        "type": ["object", "null"],
                        "properties": {
                            "version": {"type": "integer"},
                            "text": {"type": "string"},
                        },
                    },
                    "books": {"type": "array", "items": _ref("Book")},
                    "sessions": {"type": "array", "items": _ref("Session")},
                },
            },
        ]
    },
    "Slot": {
        "type": "object",
        "required": ["id", "resource", "starts_at", "ends_at", "capacity", "available", "waitlist"],
        "properties": {
            "id": {"type": "integer"},
            "resource": {
                "type": "object",
                "required": ["type", "id", "title"],
                "properties": {
                    "type": {"type": "string", "enum": ["book", "session"]},
                    "id": {"type": "integer"},
                    "title": {"type": "string"},
                },
            },
            "starts_at": DATETIME,
            "ends_at": DATETIME,
            "capacity": {"type": "integer", "minimum": 1},
            "available": {"type": "integer", "minimum": 0},
            "waitlist": {"type": "integer", "minimum": 0},
            "status": {"type": "string", "enum": ["open", "closed"]},
        },
    },
    "BookingRequest": {
        "type": "object",
        "required": ["name", "email"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 120},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "seats": {"type": "integer", "minimum": 1, "default": 1},
            "accept_agreement": {
                "type": "boolean",
                "default": False,
                "description": "Required true for Human Library events with a reader agreement",
            },
            "accessibility_needs": {"type": "string", "maxLength": 500},
        },
    },
    "BookingCreated": {
        "type": "object",
        "required": ["id", "status", "manage_url", "ics_url"],
        "properties": {
            "id": {"type": "integer"},
            "status": {
                "type": "string",
                "enum": ["pending", "confirmed", "waitlisted"],
                "description": "pending: a hold (the server's default, BOOKING_CONFIRMATION="
                "email). Its seats, or its place in the waitlist, are kept until hold_expires_at; "
                "the patron confirms it with the link e-mailed to the address, and only then "
                "are the rules about the address's other bookings applied (overlaps, the "
                "per-patron limit), so this answer never depends on them. An unconfirmed hold "
                "is released by itself. confirmed / waitlisted: the server books at once "
                "(BOOKING_CONFIRMATION=instant).",
            },
            "manage_url": {"type": "string", "format": "uri",
                           "description": "Private page to see or cancel (or release) it"},
            "ics_url": {"type": "string", "format": "uri"},
            "hold_expires_at": {
                "type": "string", "format": "date-time",
                "description": "Only when status is pending: when the hold lapses unconfirmed",
            },
        },
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
        "paths": {
            "/events": {
                "get": {
                    "operationId": "listEvents",
                    "summary": "Published events",
                    "responses": {
                        "200": _ok("Published events", {"type": "array", "items": _ref("EventSummary")})
                    },
                }
            },
            "/events/{slug}": {
                "get": {
                    "operationId": "getEvent",
                    "summary": "An event with its books and sessions",
                    "parameters": [SLUG],
                    "responses": {
                        "200": _ok("The event", _ref("EventDetail")),
                        "404": _error("No public event with this slug"),
                    },
                }
            },
            "/events/{slug}/slots": {
                "get": {
                    "operationId": "listEventSlots",
                    "summary": "Bookable slots of an event",
                    "parameters": [SLUG],
                    "responses": {
                        "200": _ok("Slots in time order", {"type": "array", "items": _ref("Slot")}),
                        "404": _error("No public event with this slug"),
                    },
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
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("BookingRequest")}},
                    },
                    "responses": {
                        "201": _ok("Held (pending), booked or waitlisted", _ref("BookingCreated")),
                        "400": _error("Malformed JSON or not a JSON object"),
                        "404": _error("Unknown slot"),
                        "409": _error("Cannot be booked: closed or past (with instant "
                                      "confirmation also: overlapping, limit reached)"),
                        "413": _error("Request body too large"),
                        "422": _error("Invalid fields", "ValidationErrors"),
                        "429": _error("Too many requests, or too many unconfirmed holds "
                                      "from this client at this event"),
                        "503": _error("Too busy right now; nothing was changed, try again"),
                    },
                }
            },
            "/bookings/{token}/cancel": {
                "post": {
                    "operationId": "cancelBooking",
                    "summary": "Cancel the booking a manage token names",
                    "parameters": [
                        {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": _ok(
                            "Cancelled",
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"const": "cancelled"}},
                            },
                        ),
                        "404": _error("Unknown token"),
                        "409": _error("Already cancelled, or the reading has started"),
                        "429": _error("Too many requests"),
                        "503": _error("Too busy right now; nothing was changed, try again"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenAPI",
                    "summary": "This document",
                    "responses": {"200": _ok("OpenAPI 3.1 document", {"type": "object"})},
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
