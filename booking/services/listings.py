"""Partner listings (human books): create, edit, submit, retire, and staff approval.

Retiring a book never drops a booking silently: its upcoming readings are cancelled, and the
bookings they hold only once the person confirmed those very bookings, each with a reason and a
notification.
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa

from booking.services import audit
from booking.services.availability import (
    Plan,
    active_bookings,
    can_manage_book,
    require_confirmation,
    withdraw_slot,
)
from booking.domain.commands import BookListing
from booking.domain.errors import DomainError, Forbidden
from booking.extensions import db, transaction
from booking.domain.models import Booking, HumanBook, ListingStatus, Partner, Role, Slot, SlotStatus, User
from booking.domain import messages

RETIRED_REASON = "The book was taken out of the catalogue."


#: What the audit log records of an edit of a book (not the volunteer's contact).
AUDITED_FIELDS = ("title", "blurb", "topics", "languages", "content_notes")


#: Who may edit, submit and retire a book: staff, or its partner's coordinator.
can_manage = can_manage_book


def create_book(user: User, partner: Partner, listing: BookListing, *,
                now: datetime) -> HumanBook:
    """Add a book to the partner's listings as a draft (audited)."""
    if not (user.role == Role.STAFF or user.partner_id == partner.id) or user.role == Role.VOLUNTEER:
        raise Forbidden("You can add books only for your own organisation.")
    with transaction():
        book = HumanBook(partner_id=partner.id, listing_status=ListingStatus.DRAFT,
                         created_at=now, updated_at=now)
        _assign(book, listing)
        db.session.add(book)
        audit.record(user, "book.create", book,
                     audit.diff({}, audit.snapshot(book, AUDITED_FIELDS)), now)
    return book


def update_book(user: User, book: HumanBook, listing: BookListing, *,
                now: datetime) -> HumanBook:
    """Edit a listing. An approved listing stays public; a retired one cannot be edited."""
    if not can_manage(user, book):
        raise Forbidden("You can edit only your own organisation's books.")
    if book.listing_status == ListingStatus.RETIRED:
        raise DomainError("This book is retired. Ask library staff if it should return.")
    with transaction():
        before = audit.snapshot(book, AUDITED_FIELDS)
        _assign(book, listing)
        book.updated_at = now
        changes = audit.diff(before, audit.snapshot(book, AUDITED_FIELDS))
        if changes:
            audit.record(user, "book.update", book, changes, now)
    return book


def submit_book(user: User, book: HumanBook, *, now: datetime) -> HumanBook:
    """Send a draft to library staff for approval (audited)."""
    if not can_manage(user, book):
        raise Forbidden("You can submit only your own organisation's books.")
    if book.listing_status != ListingStatus.DRAFT:
        raise DomainError(messages.ONLY_DRAFTS_SUBMITTED.format(
            status=book.listing_status.value))
    return _set_status(user, "listing.submit", book, ListingStatus.SUBMITTED, now)


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
    return _set_status(user, "listing.approve" if approve else "listing.send_back", book,
                       ListingStatus.APPROVED if approve else ListingStatus.DRAFT, now)


def partner_books(partner_id: int) -> list[HumanBook]:
    """Every book of the partner (retired ones too), by title."""
    return list(db.session.scalars(
        sa.select(HumanBook).where(HumanBook.partner_id == partner_id)
        .order_by(HumanBook.title, HumanBook.id)
    ))


def submitted_books() -> list[HumanBook]:
    """Books waiting for staff approval, oldest first."""
    return list(db.session.scalars(
        sa.select(HumanBook).where(HumanBook.listing_status == ListingStatus.SUBMITTED)
        .order_by(HumanBook.updated_at, HumanBook.id)
    ))


def _assign(book: HumanBook, listing: BookListing) -> None:
    book.title, book.blurb, book.content_notes = listing.title, listing.blurb, listing.content_notes
    book.topics, book.languages = list(listing.topics), list(listing.languages)
    book.volunteer_name, book.volunteer_email = listing.volunteer_name, listing.volunteer_email


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


def _set_status(user: User, action: str, book: HumanBook, status: ListingStatus,
                now: datetime) -> HumanBook:
    """Move a listing to `status`, audited as `action`, in one transaction."""
    with transaction():
        audit.record(user, action, book, {"listing_status": [book.listing_status, status]}, now)
        book.listing_status = status
        book.updated_at = now
    return book
