"""Domain errors. Each carries the sentence a person reads; web/errors.py maps them to HTTP."""
from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from booking.domain.models import Slot


class DomainError(Exception):
    """A request the rules refuse."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """Input fields are wrong; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("Please correct the highlighted fields.")
        self.errors = errors


class Forbidden(DomainError):
    """The rules do not let this person do this (their role, or someone else's record)."""


class NotFound(DomainError):
    """What was asked for does not exist (or is not this person's to see)."""


class SlotNotFound(NotFound):
    def __init__(self, message: str = "There is no such reading or session."):
        super().__init__(message)


class BookingNotFound(NotFound):
    def __init__(self):
        super().__init__("This booking link is not valid. Check that you copied the whole link.")


class DeskBookingNotFound(NotFound):
    def __init__(self):
        super().__init__("There is no such booking at this event. Reload the desk and try again.")


class AttendanceRefused(DomainError):
    """A check-in, no-show or undo the booking's state or the time does not allow."""


class RegistrationClosed(DomainError):
    """The event is not taking bookings now (not published, not yet open, or closed)."""


class SlotUnavailable(DomainError):
    """The slot is closed, cancelled or in the past."""


class AlreadyBooked(DomainError):
    def __init__(self):
        super().__init__("You already have a booking for this time slot.")


class OverlappingBooking(DomainError):
    def __init__(self):
        super().__init__(
            "You already have a booking at an overlapping time. "
            "Cancel it first if you would rather come to this one."
        )


class PatronLimitReached(DomainError):
    def __init__(self, limit: int):
        super().__init__(
            f"You have reached the limit of {limit} booking{'s' if limit != 1 else ''} "
            "for this event."
        )
        self.limit = limit


class HoldLapsed(DomainError):
    """A hold's confirmation link used after the hold lapsed or was released."""

    def __init__(self):
        super().__init__(
            "This hold was not confirmed in time (or was released), so its seat has gone back "
            "to other readers. You are welcome to book again."
        )


class TooManyHolds(DomainError):
    """One client keeps too many unconfirmed holds at an event (a cap against seat grabbing)."""

    def __init__(self):
        super().__init__(
            "Too many bookings made from your network (a shared Wi-Fi, say) at this event are "
            "still waiting for their e-mail confirmation. Please try again in a few minutes, "
            "or ask the library."
        )


class NotCancellable(DomainError):
    """The booking is already cancelled, or its reading is over."""


class Busy(DomainError):
    """The database stayed locked for too long; the request changed nothing."""

    def __init__(self):
        super().__init__("The booking system is very busy right now. Please try again.")


class ConfirmationNeeded(DomainError):
    """The change would cancel bookings; it is applied only once the person confirms.

    `plan` is anything with the `lost` bookings: an availability Plan or a session's plan.
    `seen` are the ids the person confirmed before, when the list has changed since.
    """

    def __init__(self, plan, *, seen: Collection[int] = (), reason_problem: str = ""):
        n = len(plan.lost)
        bookings = f"{n} booking{'s' if n != 1 else ''}"
        #: Ids of the bookings in the list that the person was not shown before.
        self.unseen = {booking.id for booking in plan.lost} - set(seen) if seen else set()
        if reason_problem:
            message = f"The reason for the readers: {reason_problem} Nothing was changed."
        elif seen:
            message = (f"The bookings this change would cancel have changed since you looked: "
                       f"it would now cancel {bookings}. Nothing was changed. "
                       "Check the new list and confirm again.")
        else:
            message = f"This change would cancel {bookings}. Check the list and confirm to go ahead."
        super().__init__(message)
        self.plan = plan


class VolunteerConflict(DomainError):
    """The volunteer would be in two places at once: `who` is already giving a `what` (a
    reading, a session) in `clash`, whose times are told on the clock of `zone`."""

    def __init__(self, who: str, what: str, clash: Slot, zone: str):
        where = ZoneInfo(zone)
        super().__init__(
            f"{who} is already giving a {what} at "
            f"{clash.starts_at.astimezone(where):%Y-%m-%d %H:%M}–"
            f"{clash.ends_at.astimezone(where):%H:%M} ({clash.event.title}). "
            "A volunteer cannot be in two places at once.")


class SeatsTaken(DomainError):
    """A reading cannot have fewer seats than its readers already checked in (or marked
    no-show) hold: the desk has seated them, and nothing may cancel that."""

    def __init__(self, slot: Slot, seats: int):
        when = slot.starts_at.astimezone(ZoneInfo(slot.event.timezone))
        super().__init__(
            f"The {'reading' if slot.book_id else 'session'} at {when:%Y-%m-%d %H:%M} already "
            f"has {seats} seat{'s' if seats != 1 else ''} taken by readers the desk checked in "
            f"or marked as no-show, so it cannot have fewer. Nothing was changed.")


class SpanConflict(DomainError):
    """The new time span would leave booked readings outside the event."""

    def __init__(self, slots: list[Slot], zone: str):
        where = ZoneInfo(zone)
        listed = "; ".join(
            f"{slot.resource_title} {slot.starts_at.astimezone(where):%Y-%m-%d %H:%M}"
            f" ({slot.booked} booked)" for slot in slots
        )
        super().__init__(
            f"These readings have bookings and would fall outside the new times: {listed}. "
            "Cancel those readings first (each patron is told why), or keep the times."
        )
        self.slots = slots


class FeedbackRefused(DomainError):
    """The survey cannot be answered for this booking (not over yet, cancelled…)."""


class AlreadyAnswered(DomainError):
    def __init__(self):
        super().__init__("We have already received your answers for this reading. Thank you!")


class LinkInvalid(DomainError):
    """A signed link (an invitation, a password reset, a survey) that was tampered with, has
    expired, or was already used."""


class ReflectionRefused(DomainError):
    """The reflection cannot be written yet, or not by this person."""


class NotYourBook(ReflectionRefused, Forbidden):

    def __init__(self):
        super().__init__("Only the volunteer who is this book, or library staff, can reflect on "
                         "its readings.")


def is_lock_timeout(exc: BaseException) -> bool:
    """The database stayed locked by another writer past the busy timeout (SQLite)."""
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower()
