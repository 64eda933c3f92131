"""Partner organisations: their public profile, and which one a person may act for."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from booking.services import audit
from booking.domain import messages
from booking.domain.commands import Profile, name_in_use
from booking.domain.errors import Forbidden, ValidationFailed
from booking.services.events import free_slug, slugify
from booking.extensions import db, transaction
from booking.domain.models import Partner, Role, User

#: A partner's profile fields, as the Profile command names them and the audit log records them.
PROFILE_FIELDS = ("name", "kind", "website", "description", "contact_email")


def can_act_for(user: User, partner: Partner) -> bool:
    """Staff act for any partner; a coordinator only for their own."""
    return user.role == Role.STAFF or (
        user.role == Role.COORDINATOR and user.partner_id == partner.id
    )


def all_partners() -> list[Partner]:
    """Every partner by name, for staff to choose from."""
    return list(db.session.scalars(sa.select(Partner).order_by(Partner.name, Partner.id)))


def profile_context(partner: Partner | None = None) -> dict:
    """What a Profile command needs to refuse a name in use with the other problems at once:
    the other partners' names, and `partner`'s own (which it may keep)."""
    others = sa.select(Partner.name)
    if partner is not None:
        others = others.where(Partner.id != partner.id)
    return {"partner_names": list(db.session.scalars(others)),
            "own_name": partner.name if partner is not None else None}


def update_profile(user: User, partner: Partner, profile: Profile, *, now: datetime) -> Partner:
    """Change a partner's name, kind, website, description and contact address (audited)."""
    if not can_act_for(user, partner):
        raise Forbidden("You can edit only your own organisation's profile.")
    with transaction():
        _refuse_taken_name(profile.name, partner)
        before = audit.snapshot(partner, PROFILE_FIELDS)
        for name in PROFILE_FIELDS:
            setattr(partner, name, getattr(profile, name))
        changes = audit.diff(before, audit.snapshot(partner, PROFILE_FIELDS))
        if changes:
            audit.record(user, "partner.update", partner, changes, now)
    return partner


def create_partner(user: User | None, profile: Profile, now: datetime) -> Partner:
    """A new partner organisation, added by staff and audited; a name already in use is refused.

    Names are compared ignoring case and repeated spaces (commands.reads_alike), so the hosts
    list of an event never offers two organisations that read alike.
    """
    if user is None or user.role != Role.STAFF:
        raise Forbidden("Only library staff add partner organisations.")
    with transaction():
        _refuse_taken_name(profile.name)
        partner = Partner(slug=free_slug(slugify(profile.name, "partner"), _slug_taken),
                          created_at=now, **profile.model_dump(include=set(PROFILE_FIELDS)))
        db.session.add(partner)
        try:
            db.session.flush()
        except sa.exc.IntegrityError as exc:
            # Another request added a partner with this slug between our check and our write.
            raise ValidationFailed({"name": [messages.PARTNER_NAME_RACE]}) from exc
        audit.record(user, "partner.create", partner,
                     audit.diff({}, {**profile.model_dump(include=set(PROFILE_FIELDS)),
                                     "slug": partner.slug}), now)
    return partner


def _refuse_taken_name(name: str, partner: Partner | None = None) -> None:
    """ValidationFailed when another partner than `partner` has a name that reads alike.

    Compared in Python (commands.name_in_use): SQLite's lower() folds ASCII letters only.
    """
    context = profile_context(partner)
    taken = name_in_use(name, context["partner_names"], context["own_name"])
    if taken is not None:
        raise ValidationFailed({"name": [messages.PARTNER_NAME_TAKEN.format(name=taken)]})


def _slug_taken(slug: str) -> bool:
    return db.session.scalar(sa.select(Partner.id).where(Partner.slug == slug).limit(1)) is not None
