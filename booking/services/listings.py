"""Partner listings (human books): create, edit, submit, retire, and staff approval.

Retiring a book never drops a booking silently: its upcoming readings are cancelled, and the
bookings they hold only once the person confirmed those very bookings, each with a reason and a
notification.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from booking.services import audit
from booking.services.availability import Plan, active_bookings, require_confirmation, withdraw_slot
from booking.domain.errors import DomainError, Forbidden, ValidationFailed
from booking.extensions import db, transaction
from booking.domain.models import Booking, HumanBook, ListingStatus, Partner, Role, Slot, SlotStatus, User
from booking.domain.text import check_text

TITLE_MAX = 120
TEXT_MAX = 2000
TAGS_MAX = 12
RETIRED_REASON = "The book was taken out of the catalogue."


@dataclass(frozen=True)
class BookFields:
    """A human book as a coordinator enters it."""

    title: str
    blurb: str = ""
    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    content_notes: str = ""
    volunteer_name: str = ""
    volunteer_email: str = ""


#: What the audit log records of an edit of a book (not the volunteer's contact).
AUDITED_FIELDS = ("title", "blurb", "topics", "languages", "content_notes")


def parse_tags(text: str) -> tuple[str, ...]:
    """'migration, family ,  resilience' -> ('migration', 'family', 'resilience')."""
    return tuple(dict.fromkeys(t.strip() for t in (text or "").split(",") if t.strip()))


def check_fields(fields: BookFields) -> None:
    errors: dict[str, list[str]] = {}
    if not fields.title.strip():
        errors["title"] = ["Give the book a title, such as “Refugee” or “Retired military”."]
    elif len(fields.title) > TITLE_MAX:
        errors["title"] = [f"A title has at most {TITLE_MAX} characters."]
    for name in ("blurb", "content_notes"):
        if len(getattr(fields, name)) > TEXT_MAX:
            errors[name] = [f"At most {TEXT_MAX} characters."]
    for name in ("topics", "languages"):
        tags = getattr(fields, name)
        if len(tags) > TAGS_MAX or any(len(t) > 40 for t in tags):
            errors[name] = [f"At most {TAGS_MAX} entries of up to 40 characters each."]
        check_text(errors, name, "".join(tags))
    for name in ("title", "volunteer_name", "volunteer_email"):
        check_text(errors, name, getattr(fields, name).strip())
    for name in ("blurb", "content_notes"):
        check_text(errors, name, getattr(fields, name).strip(), multiline=True)
    if errors:
        raise ValidationFailed(errors)


def can_manage(user: User, book: HumanBook) -> bool:
    return user.role == Role.STAFF or (
        user.role == Role.COORDINATOR and user.partner_id == book.partner_id
    )


def create_book(user: User, partner: Partner, fields: BookFields, *, now: datetime) -> HumanBook:
    if not (user.role == Role.STAFF or user.partner_id == partner.id) or user.role == Role.VOLUNTEER:
        raise Forbidden("You can add books only for your own organisation.")
    check_fields(fields)
    book = HumanBook(partner_id=partner.id, listing_status=ListingStatus.DRAFT,
                     created_at=now, updated_at=now)
    _assign(book, fields)
    db.session.add(book)
    audit.record(user, "book.create", book,
                 audit.diff({}, audit.snapshot(book, AUDITED_FIELDS)), now)
    db.session.commit()
    return book


def update_book(user: User, book: HumanBook, fields: BookFields, *, now: datetime) -> HumanBook:
    """Edit a listing. An approved listing stays public; a retired one cannot be edited."""
    if not can_manage(user, book):
        raise Forbidden("You can edit only your own organisation's books.")
    if book.listing_status == ListingStatus.RETIRED:
        raise DomainError("This book is retired. Ask library staff if it should return.")
    check_fields(fields)
    before = audit.snapshot(book, AUDITED_FIELDS)
    _assign(book, fields)
    book.updated_at = now
    changes = audit.diff(before, audit.snapshot(book, AUDITED_FIELDS))
    if changes:
        audit.record(user, "book.update", book, changes, now)
    db.session.commit()
    return book


def submit_book(user: User, book: HumanBook, *, now: datetime) -> HumanBook:
    if not can_manage(user, book):
        raise Forbidden("You can submit only your own organisation's books.")
    if book.listing_status != ListingStatus.DRAFT:
        raise DomainError(f"Only a draft can be sent for approval; this one is {book.listing_status.value}.")
    audit.record(user, "listing.submit", book,
                 {"listing_status": [book.listing_status, ListingStatus.SUBMITTED]}, now)
    return _set_status(book, ListingStatus.SUBMITTED, now)


def retire_book(user: User, book: HumanBook, *, now: datetime, confirmed: Collection[int] = (),
                reason: str = RETIRED_REASON) -> list[Booking]:
    """Take a book out of the catalogue with its upcoming readings, in one transaction.

    Raises ConfirmationNeeded (changing nothing) when those readings hold bookings that are
    not among the `confirmed` booking ids; returns the bookings cancelled.
    """
    if not can_manage(user, book):
        raise Forbidden("You can retire only your own organisation's books.")
    with transaction():
        upcoming = _lock_upcoming_readings(book, now)
        lost = [booking for slot in sorted(upcoming, key=lambda slot: slot.starts_at)
                for booking in active_bookings(slot)]
        require_confirmation(Plan(remove=upcoming, lost=lost), confirmed, reason)
        for slot in upcoming:
            withdraw_slot(slot, now=now, reason=reason)
        audit.record(user, "book.retire", book, {
            "listing_status": [book.listing_status, ListingStatus.RETIRED],
            "readings_cancelled": len(upcoming), "bookings_cancelled": len(lost)}, now)
        book.listing_status = ListingStatus.RETIRED
        book.updated_at = now
    return lost


def review_book(user: User, book: HumanBook, *, approve: bool, now: datetime) -> HumanBook:
    """Staff approve a submitted listing (it goes public) or send it back to draft."""
    if user.role != Role.STAFF:
        raise Forbidden("Only library staff approve listings.")
    if book.listing_status != ListingStatus.SUBMITTED:
        raise DomainError("Only a submitted listing can be reviewed.")
    status = ListingStatus.APPROVED if approve else ListingStatus.DRAFT
    audit.record(user, "listing.approve" if approve else "listing.send_back", book,
                 {"listing_status": [book.listing_status, status]}, now)
    return _set_status(book, status, now)


def partner_books(partner_id: int) -> list[HumanBook]:
    return list(db.session.scalars(
        sa.select(HumanBook).where(HumanBook.partner_id == partner_id)
        .order_by(HumanBook.title, HumanBook.id)
    ))


def submitted_books() -> list[HumanBook]:
    return list(db.session.scalars(
        sa.select(HumanBook).where(HumanBook.listing_status == ListingStatus.SUBMITTED)
        .order_by(HumanBook.updated_at, HumanBook.id)
    ))


def _assign(book: HumanBook, fields: BookFields) -> None:
    book.title = fields.title.strip()
    book.blurb = fields.blurb.strip()
    book.topics = list(fields.topics)
    book.languages = list(fields.languages)
    book.content_notes = fields.content_notes.strip()
    book.volunteer_name = fields.volunteer_name.strip()
    book.volunteer_email = fields.volunteer_email.strip()


def _lock_upcoming_readings(book: HumanBook, now: datetime) -> list[Slot]:
    """Lock the book, then its readings not yet started, in id order (as availability does)."""
    db.session.scalar(
        sa.select(HumanBook.id).where(HumanBook.id == book.id).with_for_update()
    )
    return list(db.session.scalars(
        sa.select(Slot)
        .where(Slot.book_id == book.id, Slot.starts_at > now, Slot.status != SlotStatus.CANCELLED)
        .order_by(Slot.id)
        .with_for_update(of=Slot)
        .execution_options(populate_existing=True)
    ))


def _set_status(book: HumanBook, status: ListingStatus, now: datetime) -> HumanBook:
    book.listing_status = status
    book.updated_at = now
    db.session.commit()
    return book
