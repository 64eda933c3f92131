"""Domain errors. Each carries a message a patron can read; the web layer maps them to HTTP."""
from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse. `status` is the HTTP answer it maps to."""

    status = 409

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """Input fields are wrong; `errors` maps each field to its messages."""

    status = 422

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("Please correct the highlighted fields.")
        self.errors = errors


class NotFound(DomainError):
    status = 404


class SlotNotFound(NotFound):
    def __init__(self):
        super().__init__("There is no such reading or session.")


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

    status = 410

    def __init__(self):
        super().__init__(
            "This hold was not confirmed in time (or was released), so its seat has gone back "
            "to other readers. You are welcome to book again."
        )


class TooManyHolds(DomainError):
    """One client keeps too many unconfirmed holds at an event (a cap against seat grabbing)."""

    status = 429

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

    status = 503

    def __init__(self):
        super().__init__("The booking system is very busy right now. Please try again.")


def is_lock_timeout(exc: BaseException) -> bool:
    """The database stayed locked by another writer past the busy timeout (SQLite)."""
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower()
