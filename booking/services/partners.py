"""Partner organisations: their public profile, and which one a person may act for."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from booking.services import audit
from booking.domain.errors import Forbidden, ValidationFailed
from booking.services.events import free_slug, slugify
from booking.extensions import db
from booking.domain.models import Partner, Role, User, utcnow
from booking.domain.text import check_text

NAME_MAX = 200
KIND_MAX = 80
WEBSITE_MAX = 300
DESCRIPTION_MAX = 2000
EMAIL_MAX = 254


@dataclass(frozen=True)
class ProfileFields:
    """A partner's profile as its coordinator (or staff) enters it."""

    name: str
    kind: str = ""
    website: str = ""
    description: str = ""
    contact_email: str = ""


#: A partner's profile fields, as `ProfileFields` names them and the audit log records them.
PROFILE_FIELDS = ("name", "kind", "website", "description", "contact_email")


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
    for field, value in (("name", name), ("kind", kind), ("website", website),
                         ("contact_email", email)):
        check_text(errors, field, value)
    check_text(errors, "description", description, multiline=True)
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


def update_profile(user: User, partner: Partner, fields: ProfileFields, *,
                   now: datetime | None = None) -> Partner:
    """Change a partner's name, kind, website, description and contact address (audited)."""
    if not can_act_for(user, partner):
        raise Forbidden("You can edit only your own organisation's profile.")
    clean = _check_profile_and_name(fields, partner)
    before = audit.snapshot(partner, PROFILE_FIELDS)
    partner.name, partner.kind, partner.website = clean.name, clean.kind, clean.website
    partner.description, partner.contact_email = clean.description, clean.contact_email
    changes = audit.diff(before, audit.snapshot(partner, PROFILE_FIELDS))
    if changes:
        audit.record(user, "partner.update", partner, changes, now or utcnow())
    db.session.commit()
    return partner


def create_partner(user: User, fields: ProfileFields, now: datetime) -> Partner:
    """A new partner organisation, added by staff and audited; a name already in use is refused.

    Names are compared ignoring case and repeated spaces, so the hosts list of an event never
    offers two organisations that read alike.
    """
    if user is None or user.role != Role.STAFF:
        raise Forbidden("Only library staff add partner organisations.")
    clean = _check_profile_and_name(fields)
    partner = Partner(slug=free_slug(slugify(clean.name, "partner"), _slug_taken),
                      name=clean.name, kind=clean.kind, website=clean.website,
                      description=clean.description, contact_email=clean.contact_email,
                      created_at=now)
    try:
        db.session.add(partner)
        db.session.flush()
        audit.record(user, "partner.create", partner,
                     audit.diff({}, {**asdict(clean), "slug": partner.slug}), now)
        db.session.commit()
    except sa.exc.IntegrityError as exc:
        # Another request added a partner with this slug between our check and our write.
        db.session.rollback()
        raise ValidationFailed({"name": [
            "Another partner with a name like this was added at the same moment. "
            "Reload the staff page to see it, or choose another name."]}) from exc
    except BaseException:
        db.session.rollback()
        raise
    return partner


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _check_profile_and_name(fields: ProfileFields, partner: Partner | None = None) -> ProfileFields:
    """`check_profile`, and a name no other partner than `partner` has: every problem at once."""
    errors: dict[str, list[str]] = {}
    try:
        clean = check_profile(fields)
    except ValidationFailed as exc:
        errors = exc.errors
    # A name it already has is its own, even if another partner's reads alike (older data).
    renamed = partner is None or _name_key(fields.name) != _name_key(partner.name)
    if "name" not in errors and renamed:
        _refuse_taken_name(fields.name, errors, partner)
    if errors:
        raise ValidationFailed(errors)
    return clean


def _refuse_taken_name(name: str, errors: dict[str, list[str]],
                       partner: Partner | None = None) -> None:
    """Add a message to `errors` when another partner (not `partner`) already has this name.

    Compared in Python: SQLite's lower() folds ASCII letters only.
    """
    key = _name_key(name)
    if not key:
        return
    others = sa.select(Partner.name)
    if partner is not None:
        others = others.where(Partner.id != partner.id)
    for existing in db.session.scalars(others):
        if _name_key(existing) == key:
            errors["name"] = [f"A partner called “{existing}” already exists. Choose another "
                              "name."]
            return


def _slug_taken(slug: str) -> bool:
    return db.session.scalar(sa.select(Partner.id).where(Partner.slug == slug).limit(1)) is not None
