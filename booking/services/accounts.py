"""Accounts: sign-in, invitations by signed link, password resets. The rules of who invites whom."""
from __future__ import annotations

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from booking.services import tokens as auth, passwords
from booking.services.outbox import notifications
from booking.domain.errors import Forbidden, ValidationFailed
from booking.extensions import db
from booking.domain.models import HumanBook, Partner, Role, User, utcnow
from booking.services.reservations import normalize_email
from booking.domain.text import check_text

PASSWORD_MIN = 8
PASSWORD_MAX = 128
NAME_MAX = 200


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def user_by_id(user_id) -> User | None:
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
    """Refuse a new password that is too short, too long, or too easy to guess; `hints` are
    the person's own e-mail and name, which a password should not lean on."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise ValidationFailed({"password": [f"Use at least {PASSWORD_MIN} characters."]})
    if len(password) > PASSWORD_MAX:
        raise ValidationFailed({"password": [f"Use at most {PASSWORD_MAX} characters."]})
    if problem := passwords.guessable(password, hints):
        raise ValidationFailed({"password": [problem]})


def invite(
    inviter: User, *, email: str, role: Role, partner_id: int | None = None,
    human_book_id: int | None = None,
) -> tuple[auth.Invitation, str]:
    """Check that `inviter` may invite this person; return the invitation and its signed token.

    Staff invite coordinators, other staff, or (acting for a partner) its volunteers; a
    coordinator invites volunteers of their own partner, optionally linked to one of the
    partner's human books.
    """
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except (EmailNotValidError, AttributeError):
        raise ValidationFailed({"email": ["Enter a valid e-mail address, like name@example.org."]})
    if inviter.role == Role.STAFF:
        if role == Role.COORDINATOR and db.session.get(Partner, partner_id or 0) is None:
            raise ValidationFailed({"partner_id": ["Choose the partner this coordinator works for."]})
        if role == Role.VOLUNTEER and db.session.get(Partner, partner_id or 0) is None:
            raise ValidationFailed({"partner_id": ["Choose the partner this volunteer works with."]})
        if role == Role.STAFF:
            partner_id = None
    elif inviter.role == Role.COORDINATOR:
        if role != Role.VOLUNTEER:
            raise Forbidden("Coordinators can invite volunteers only.")
        partner_id = inviter.partner_id
    else:
        raise Forbidden("Your account cannot send invitations.")
    if human_book_id is not None:
        book = db.session.get(HumanBook, human_book_id)
        if book is None or book.partner_id != partner_id or role != Role.VOLUNTEER:
            raise ValidationFailed({"human_book_id": ["Choose one of your partner's human books."]})
    if find_user(address) is not None:
        raise ValidationFailed({"email": ["Someone with this e-mail address already has an account."]})
    invitation = auth.Invitation(
        email=address, role=role, partner_id=partner_id, human_book_id=human_book_id,
        inviter_id=inviter.id,
    )
    return invitation, auth.invitation_token(invitation)


def accept_invitation(token: str, *, name: str, password: str) -> User:
    """Create the invited person's account. A link works once: the account then exists."""
    invitation = auth.read_invitation(token)
    if find_user(invitation.email) is not None:
        raise auth.LinkInvalid("This invitation has already been used. Sign in instead.")
    errors = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["Enter your name."]
    elif len(name.strip()) > NAME_MAX:
        errors["name"] = [f"Name must be at most {NAME_MAX} characters."]
    check_text(errors, "name", name)
    if errors:
        raise ValidationFailed(errors)
    check_password_rules(password, invitation.email, name)
    user = User(
        email=invitation.email, name=name.strip(), role=invitation.role,
        partner_id=invitation.partner_id, human_book_id=invitation.human_book_id,
        created_at=utcnow(),
    )
    passwords.set_password(user, password)
    db.session.add(user)
    db.session.commit()
    return user


def password_reset_token(email: str) -> tuple[User, str] | None:
    """A reset link for the account with this e-mail, or None when there is none."""
    user = find_user(email) if isinstance(email, str) else None
    if user is None or not user.active:
        return None
    return user, auth.reset_token(user)


def request_password_reset(email: str, *, now) -> bool:
    """E-mail a reset link to the account with this e-mail, if there is one (True when sent)."""
    found = password_reset_token(email)
    if found is None:
        return False
    user, token = found
    link = notifications.public_url("auth.reset_password", token=token)
    notifications.queue_password_reset(user.email, link, now)
    db.session.commit()
    return True


def create_account(email: str, *, role: Role, password: str, name: str = "",
                   partner_slug: str | None = None, now) -> User:
    """An account created by an operator (the first staff member); every problem at once."""
    errors: dict[str, list[str]] = {}
    address = ""
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except (EmailNotValidError, AttributeError):
        errors["email"] = ["Enter a valid e-mail address, like name@example.org."]
    else:
        if find_user(address) is not None:
            errors["email"] = ["Someone with this e-mail address already has an account."]
    if not isinstance(name, str) or len(name.strip()) > NAME_MAX:
        errors["name"] = [f"Name must be at most {NAME_MAX} characters."]
    check_text(errors, "name", name)
    partner = None
    if role == Role.STAFF:
        if partner_slug:
            errors["partner"] = ["Staff accounts belong to the library, not to a partner."]
    elif not partner_slug:
        errors["partner"] = [f"A {role.value} account needs the partner it works for."]
    else:
        partner = db.session.scalar(sa.select(Partner).where(Partner.slug == partner_slug))
        if partner is None:
            errors["partner"] = [f"There is no partner with the slug {partner_slug!r}."]
    try:
        check_password_rules(password, address, name if isinstance(name, str) else "")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    user = User(email=address, name=name.strip(), role=role,
                partner_id=partner.id if partner is not None else None, created_at=now)
    passwords.set_password(user, password)
    db.session.add(user)
    db.session.commit()
    return user


def reset_password(token: str, password: str) -> User:
    """Set the new password a reset link allows; every session of the account ends."""
    user = auth.read_reset(token, user_by_id)
    check_password_rules(password, user.email, user.name)
    passwords.set_password(user, password)
    _end_sessions(user)
    db.session.commit()
    return user


def change_password(user: User, *, current: str, new: str) -> User:
    """A signed-in person's new password, given their current one; every session ends (the
    caller signs this browser in again)."""
    if not passwords.matches(user.password_hash, current if isinstance(current, str) else ""):
        raise ValidationFailed({"current_password": ["That is not your current password."]})
    check_password_rules(new, user.email, user.name)
    passwords.set_password(user, new)
    _end_sessions(user)
    db.session.commit()
    return user


def sign_out_everywhere(user: User) -> None:
    """End every session and remember cookie of the account, on every device."""
    _end_sessions(user)
    db.session.commit()


def deactivate(email: str) -> User:
    """Stop an account from signing in, and end its sessions; its records stay."""
    user = find_user(email) if isinstance(email, str) else None
    if user is None:
        raise ValidationFailed({"email": ["There is no account with this e-mail address."]})
    user.active = False
    _end_sessions(user)
    db.session.commit()
    return user


def _end_sessions(user: User) -> None:
    # Sessions and remember cookies carry the version they were signed in with (auth.sign_in_id).
    user.session_version = (user.session_version or 0) + 1
