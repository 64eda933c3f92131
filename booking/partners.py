"""Partner organisations: their public profile, and which one a person may act for."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from .errors import DomainError, ValidationFailed
from .extensions import db
from .models import Partner, Role, User

NAME_MAX = 200
KIND_MAX = 80
WEBSITE_MAX = 300
DESCRIPTION_MAX = 2000
EMAIL_MAX = 254


class PartnerNotAllowed(DomainError):
    status = 403


@dataclass(frozen=True)
class ProfileFields:
    """A partner's profile as its coordinator (or staff) enters it."""

    name: str
    kind: str = ""
    website: str = ""
    description: str = ""
    contact_email: str = ""


def can_act_for(user: User, partner: Partner) -> bool:
    """Staff act for any partner; a coordinator only for their own."""
    return user.role == Role.STAFF or (
        user.role == Role.COORDINATOR and user.partner_id == partner.id
    )


def all_partners() -> list[Partner]:
    """Every partner by name, for staff to choose from."""
    return list(db.session.scalars(sa.select(Partner).order_by(Partner.name, Partner.id)))


def check_profile(fields: ProfileFields) -> ProfileFields:
    """The profile, trimmed, or ValidationFailed with every problem at once."""
    errors: dict[str, list[str]] = {}
    name, kind = fields.name.strip(), fields.kind.strip()
    website, email = fields.website.strip(), fields.contact_email.strip()
    description = fields.description.strip()
    if not name:
        errors["name"] = ["Enter the organisation's name."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"A name has at most {NAME_MAX} characters."]
    if len(kind) > KIND_MAX:
        errors["kind"] = [f"At most {KIND_MAX} characters."]
    if website:
        parts = urlsplit(website) if len(website) <= WEBSITE_MAX else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc \
                or any(c.isspace() for c in website):
            errors["website"] = ["Enter a web address starting with https:// or http://, "
                                 "like https://example.org."]
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [f"At most {DESCRIPTION_MAX} characters."]
    if email:
        try:
            if len(email) > EMAIL_MAX:
                raise EmailNotValidError("too long")
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["contact_email"] = ["Enter a valid e-mail address, like name@example.org."]
    if errors:
        raise ValidationFailed(errors)
    return ProfileFields(name, kind, website, description, email)


def update_profile(user: User, partner: Partner, fields: ProfileFields) -> Partner:
    """Change a partner's name, kind, website, description and contact address."""
    if not can_act_for(user, partner):
        raise PartnerNotAllowed("You can edit only your own organisation's profile.")
    clean = check_profile(fields)
    partner.name, partner.kind, partner.website = clean.name, clean.kind, clean.website
    partner.description, partner.contact_email = clean.description, clean.contact_email
    db.session.commit()
    return partner
