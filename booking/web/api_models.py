"""What /api/v1 answers, as typed models: the routes serialise through them, and the OpenAPI
document's response schemas are generated from them, so the two cannot drift apart.

Each model lists its fields in the order the answer has them, and forbids any other field:
the API shows public fields only, and a field added to an answer has to be added here (and so
to the document) first. Times are aware datetimes already in the event's zone, written as
`datetime.isoformat()` writes them (an offset, never `Z`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer,
                      WithJsonSchema)

from booking.domain.models import BookingStatus, EventKind, HostRole, SlotStatus
from booking.services.queries.catalogue import VISIBLE_EVENT_STATUSES


def one_of(*members: str) -> Any:
    """The type whose values are these (enumeration members are written as their values)."""
    return Literal[members]


def _iso(value: datetime) -> str:
    return value.isoformat()


MOMENT_SCHEMA = {"type": "string", "format": "date-time", "description": "ISO 8601 with offset"}
#: An instant in the event's own zone, as ISO 8601 with that zone's offset.
Moment = Annotated[AwareDatetime, PlainSerializer(_iso, return_type=str),
                   WithJsonSchema(MOMENT_SCHEMA)]
#: An absolute address on this site.
Url = Annotated[str, Field(json_schema_extra={"format": "uri"})]
Count = Annotated[int, Field(ge=0)]

# The values an answer may carry, taken from the domain's enumerations (a draft event, a
# cancelled slot or booking is never shown, so those values are not among them).
Role = one_of(*HostRole)
Kind = one_of(*EventKind)
VisibleStatus = one_of(*VISIBLE_EVENT_STATUSES)
ResourceType = one_of("book", "session")
SlotState = one_of(SlotStatus.OPEN, SlotStatus.CLOSED)
MadeStatus = one_of(BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.WAITLISTED)
CancelledStatus = one_of(BookingStatus.CANCELLED)


def _is_none(value: Any) -> bool:
    return value is None


def _no_default(schema: dict) -> None:
    # The field is left out of the answer, never sent as null, so no default is documented.
    schema.pop("default", None)


class Answer(BaseModel):
    """A JSON body the API answers with: these fields, in this order, and no others."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def body(self) -> dict[str, Any]:
        """The body as JSON-ready data, fields in their declared order."""
        return self.model_dump(mode="json")


# -- errors ------------------------------------------------------------------------------------


class Error(Answer):
    """A refusal, told in one sentence."""

    error: str


class ValidationErrors(Answer):
    """Invalid fields, each with the sentences that say what to fix."""

    errors: dict[str, list[str]]


# -- events --------------------------------------------------------------------------------------


class Host(Answer):
    """A partner hosting, co-hosting or sponsoring an event."""

    name: str
    role: Role


class EventSummary(Answer):
    """A published event as listed."""

    slug: str
    title: str
    kind: Kind
    starts_at: Moment
    ends_at: Moment
    timezone: str = Field(description="IANA time zone")
    venue: str
    hosts: list[Host]


class Agreement(Answer):
    """The reader agreement a patron accepts before booking a reading."""

    version: int
    text: str


class Book(Answer):
    """A human book (an approved one) and the partner that brings it."""

    id: int
    title: str
    blurb: str
    topics: list[str]
    languages: list[str]
    content_notes: str
    partner: str


class Session(Answer):
    """An approved program session and its presenting partner."""

    id: int
    title: str
    description: str
    language: str
    audience: str
    presenter: str


class EventDetail(EventSummary):
    """An event with its books and sessions; cancelled and finished events stay readable."""

    status: VisibleStatus
    url: Url
    description: str
    accessibility_notes: str
    max_bookings_per_patron: int
    max_seats_per_booking: int
    agreement: Agreement | None
    books: list[Book]
    sessions: list[Session]


# -- slots ---------------------------------------------------------------------------------------


class SlotResource(Answer):
    """What a slot is a slot of: a reading of a book, or a program session."""

    type: ResourceType
    id: int
    title: str


class Slot(Answer):
    """A bookable slot: seats left to book online, and how many wait for one."""

    id: int
    resource: SlotResource
    starts_at: Moment
    ends_at: Moment
    capacity: int = Field(ge=1)
    available: Count
    waitlist: Count
    status: SlotState


# -- bookings ------------------------------------------------------------------------------------


class BookingCreated(Answer):
    """A booking made (or a hold taken) by POST /slots/{id}/bookings."""

    id: int
    status: MadeStatus = Field(description=(
        "pending: a hold (the server's default, BOOKING_CONFIRMATION=email). Its seats, or its "
        "place in the waitlist, are kept until hold_expires_at; the patron confirms it with the "
        "link e-mailed to the address, and only then are the rules about the address's other "
        "bookings applied (overlaps, the per-patron limit), so this answer never depends on "
        "them. An unconfirmed hold is released by itself. confirmed / waitlisted: the server "
        "books at once (BOOKING_CONFIRMATION=instant)."))
    manage_url: Url = Field(description="Private page to see or cancel (or release) it")
    ics_url: Url
    hold_expires_at: Annotated[Moment | None, WithJsonSchema({
        **MOMENT_SCHEMA,
        "description": "Only when status is pending: when the hold lapses unconfirmed"})] = (
        Field(default=None, exclude_if=_is_none, json_schema_extra=_no_default))


class Cancelled(Answer):
    """The booking is cancelled."""

    status: CancelledStatus
