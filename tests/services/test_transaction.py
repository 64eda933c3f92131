"""The one commit point: transaction() commits once per action; nested, it is a savepoint."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from booking.extensions import db, transaction
from booking.domain.models import Partner


def partner(slug: str) -> Partner:
    return Partner(slug=slug, name=slug.title())


def slugs() -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(sa.select(Partner.slug)))


def test_a_nested_block_that_fails_undoes_only_its_own_writes(db):
    with transaction():
        db.session.add(partner("outer"))
        with pytest.raises(ValueError):
            with transaction():
                db.session.add(partner("inner"))
                db.session.flush()
                raise ValueError("refused")
        db.session.add(partner("after"))

    db.session.rollback()  # anything not committed by the outer block would go now
    assert slugs() == ["after", "outer"]


def test_nothing_a_nested_block_wrote_survives_the_outer_blocks_failure(db):
    with pytest.raises(RuntimeError):
        with transaction():
            with transaction():
                db.session.add(partner("inner"))
            db.session.add(partner("outer"))
            raise RuntimeError("half-way")

    assert slugs() == []
    with transaction():  # and the next action starts afresh, as the outermost
        db.session.add(partner("next"))
    db.session.rollback()
    assert slugs() == ["next"]
