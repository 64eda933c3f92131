"""Accounts: sign-in, invitations by signed link, password resets. The rules of who invites whom.

Each write is one transaction taking the actor (if any), its command (domain/commands.py) and,
when it records a time, `now`.
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from email_validator import validate_email

from booking.domain import messages
from booking.domain.commands import (
    AcceptInvitation,
    ChangePassword,
    ForgottenPassword,
    Invite,
    NewAccount,
    NewPassword,
)
from booking.domain.errors import Forbidden, LinkInvalid, ValidationFailed
from booking.domain.models import HumanBook, ListingStatus, Partner, Role, User
from booking.extensions import db, transaction
from booking.services import passwords, tokens as auth
from booking.services.listings import partner_books
from booking.services.outbox import notifications
from booking.services.reservations import normalize_email


def find_user(email: str) -> User | None:
    """The account with this e-mail address (compared as accounts store it), or None."""
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def user_by_id(user_id) -> User | None:
    """The account with this id, or None (also for a value that is no id: a signed payload's)."""
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        return None
    return db.session.get(User, user_id)


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same answer for both mistakes).

    A password is checked even when there is no such account, so the time taken does not
    tell which addresses have one.
    """
    user = find_user(email) if isinstance(email, str) else None
    right = passwords.matches(user.password_hash if user else None,
                              password if isinstance(password, str) else "")
    if user is None or not right or not user.active:
        return None
    return user


def check_password_rules(password: str, *hints: str) -> None:
    """Refuse a new password that is too short or too long (the commands' rule), or too easy
    to guess; `hints` are the person's own e-mail and name, which a password should not lean
    on. The commands cannot judge that last part: the hints are what the service knows of the
    account (the signed invitation's address, the stored name), not what was typed."""
    NewPassword.parse(password=password, confirm=password)  # given once here
    if problem := passwords.guessable(password, hints):
        raise ValidationFailed({"password": [problem]})


# -- invitations -----------------------------------------------------------------------------

class Invited(NamedTuple):
    """An invitation sent: what it says, its signed token, and the link e-mailed with it
    (shown to the inviter as well, never logged: it is a credential)."""

    invitation: auth.Invitation
    token: str
    link: str


def invitable_books(partner_id: int) -> list[HumanBook]:
    """The partner's human books a new volunteer may be linked to: all but retired ones."""
    return [book for book in partner_books(partner_id) if _invitable(book, partner_id)]


def _invitable(book: HumanBook | None, partner_id: int | None) -> bool:
    return (book is not None and book.partner_id == partner_id
            and book.listing_status != ListingStatus.RETIRED)


def invite(inviter: User, command: Invite, *, now: datetime) -> Invited:
    """Check that `inviter` may invite this person, and e-mail them a signed link.

    Staff invite coordinators, other staff, or (acting for a partner) its volunteers; a
    coordinator invites volunteers of their own partner, optionally linked to one of the
    partner's human books.
    """
    role, partner_id = Role(command.role), command.partner_id
    with transaction():
        if inviter.role == Role.STAFF:
            if role == Role.COORDINATOR and db.session.get(Partner, partner_id or 0) is None:
                raise ValidationFailed({"partner_id": [messages.COORDINATOR_PARTNER_MISSING]})
            if role == Role.VOLUNTEER and db.session.get(Partner, partner_id or 0) is None:
                raise ValidationFailed({"partner_id": [messages.VOLUNTEER_PARTNER_MISSING]})
            if role == Role.STAFF:
                partner_id = None
        elif inviter.role == Role.COORDINATOR:
            if role != Role.VOLUNTEER:
                raise Forbidden("Coordinators can invite volunteers only.")
            partner_id = inviter.partner_id
        else:
            raise Forbidden("Your account cannot send invitations.")
        if command.human_book_id is not None and (
                role != Role.VOLUNTEER
                or not _invitable(db.session.get(HumanBook, command.human_book_id), partner_id)):
            raise ValidationFailed({"human_book_id": [messages.NOT_THE_PARTNERS_BOOK]})
        address = _address(command.email)
        if find_user(address) is not None:
            raise ValidationFailed({"email": [messages.EMAIL_TAKEN]})
        invitation = auth.Invitation(
            email=address, role=role, partner_id=partner_id,
            human_book_id=command.human_book_id, inviter_id=inviter.id,
        )
        token = auth.invitation_token(invitation)
        link = notifications.public_url("auth.accept_invitation", token=token)
        notifications.queue_invitation(address, link, inviter.name or inviter.email, role.value,
                                       now)
    return Invited(invitation, token, link)


def open_invitation(token: str) -> auth.Invitation:
    """The invitation a link carries while it can be accepted; LinkInvalid when it was
    tampered with or has expired, or once it was used (its account exists)."""
    invitation = auth.read_invitation(token)
    if find_user(invitation.email) is not None:
        raise LinkInvalid("This invitation has already been used. Sign in instead.")
    return invitation


def accept_invitation(token: str, command: AcceptInvitation, *, now: datetime) -> User:
    """Create the invited person's account. A link works once: the account then exists."""
    with transaction():
        invitation = open_invitation(token)
        check_password_rules(command.password, invitation.email, command.name)
        user = User(
            email=invitation.email, name=command.name, role=invitation.role,
            partner_id=invitation.partner_id, human_book_id=invitation.human_book_id,
            created_at=now,
        )
        passwords.set_password(user, command.password)
        db.session.add(user)
    return user


# -- passwords -------------------------------------------------------------------------------

def password_reset_token(email: str) -> tuple[User, str] | None:
    """A reset link for the account with this e-mail, or None when there is none."""
    user = find_user(email) if isinstance(email, str) else None
    if user is None or not user.active:
        return None
    return user, auth.reset_token(user)


def request_password_reset(command: ForgottenPassword, *, now: datetime) -> bool:
    """E-mail a reset link to the account with this e-mail, if there is one (True when sent)."""
    with transaction():
        found = password_reset_token(command.email)
        if found is None:
            return False
        user, token = found
        link = notifications.public_url("auth.reset_password", token=token)
        notifications.queue_password_reset(user.email, link, now)
    return True


def reset_password(token: str, command: NewPassword) -> User:
    """Set the new password a reset link allows; every session of the account ends."""
    with transaction():
        user = auth.read_reset(token, user_by_id)
        check_password_rules(command.password, user.email, user.name)
        passwords.set_password(user, command.password)
        _end_sessions(user)
    return user


def change_password(user: User, command: ChangePassword) -> User:
    """A signed-in person's new password, given their current one; every session ends (the
    caller signs this browser in again)."""
    with transaction():
        if not passwords.matches(user.password_hash, command.current_password):
            raise ValidationFailed({"current_password": [messages.CURRENT_PASSWORD_WRONG]})
        check_password_rules(command.password, user.email, user.name)
        passwords.set_password(user, command.password)
        _end_sessions(user)
    return user


# -- the operator's accounts, and sessions ---------------------------------------------------

def create_account(command: NewAccount, *, now: datetime) -> User:
    """An account created by an operator (the first staff member); every problem at once."""
    address = _address(command.email)
    with transaction():
        errors: dict[str, list[str]] = {}
        if find_user(address) is not None:
            errors["email"] = [messages.EMAIL_TAKEN]
        partner = None
        if command.partner:
            partner = db.session.scalar(sa.select(Partner).where(Partner.slug == command.partner))
            if partner is None:
                errors["partner"] = [messages.NO_SUCH_PARTNER.format(slug=command.partner)]
        try:
            check_password_rules(command.password, address, command.name)
        except ValidationFailed as exc:
            errors.update(exc.errors)
        if errors:
            raise ValidationFailed(errors)
        user = User(email=address, name=command.name, role=Role(command.role),
                    partner_id=partner.id if partner is not None else None, created_at=now)
        passwords.set_password(user, command.password)
        db.session.add(user)
    return user


def sign_out_everywhere(user: User) -> None:
    """End every session and remember cookie of the account, on every device."""
    with transaction():
        _end_sessions(user)


def deactivate(email: str) -> User:
    """Stop an account from signing in, and end its sessions; its records stay."""
    with transaction():
        user = find_user(email) if isinstance(email, str) else None
        if user is None:
            raise ValidationFailed({"email": [messages.NO_SUCH_ACCOUNT]})
        user.active = False
        _end_sessions(user)
    return user


def _address(email: str) -> str:
    """An address the command accepted, as accounts store it (normalised, lower case)."""
    return validate_email(email, check_deliverability=False).normalized.lower()


def _end_sessions(user: User) -> None:
    # Sessions and remember cookies carry the version they were signed in with (auth.sign_in_id).
    user.session_version = (user.session_version or 0) + 1
