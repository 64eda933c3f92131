"""Staff add partner organisations: the rules, tested on `partners.create_partner` directly."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from booking.services import audit, partners
from booking.domain.commands import Profile
from booking.domain.errors import Forbidden, ValidationFailed
from booking.domain.models import AuditEntry, Partner, Role, User
from booking.web.errors import status_for


@pytest.fixture
def people(db, make_partner):
    """Staff, a coordinator of an existing partner "Literacy Council", and a volunteer."""
    council = make_partner("Literacy Council", slug="literacy-council")
    users = {
        "staff": User(email="s@example.org", name="Sam", role=Role.STAFF),
        "coordinator": User(email="c@example.org", name="Cora", role=Role.COORDINATOR,
                            partner_id=council.id),
        "volunteer": User(email="v@example.org", name="Vera", role=Role.VOLUNTEER,
                          partner_id=council.id),
    }
    db.session.add_all(users.values())
    db.session.commit()
    return {"council": council, **users}


def partner_names(db) -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(sa.select(Partner.name)))


def test_staff_add_a_partner_with_a_slug_of_its_own_and_an_audit_entry(db, people, now):
    partner = partners.create_partner(people["staff"], Profile.parse(
        name="  Riverside Museum ", kind="museum", website="https://museum.example.org",
        description="Local history.", contact_email="Hello@Museum.Example.org"), now)

    db.session.expire_all()
    stored = db.session.get(Partner, partner.id)
    assert (stored.name, stored.slug, stored.kind) == ("Riverside Museum", "riverside-museum",
                                                       "museum")
    assert stored.contact_email == "Hello@museum.example.org"
    assert stored in partners.all_partners()
    [entry] = db.session.scalars(sa.select(AuditEntry)).all()
    assert (entry.action, entry.target_type, entry.target_id) == ("partner.create", "partner",
                                                                  partner.id)
    assert entry.user_id == people["staff"].id and entry.event_id is None
    assert entry.changes["name"] == [None, "Riverside Museum"]
    assert entry.changes["slug"] == [None, "riverside-museum"]
    assert audit.entries() == ([entry], False)


def test_a_name_whose_slug_is_taken_gets_the_next_free_slug(db, people, now):
    staff = people["staff"]
    made = [partners.create_partner(staff, Profile.parse(name=name), now)
            for name in ("Literacy-Council", "Literacy Council!", "!!!", "Café Ünïcode")]
    assert [partner.slug for partner in made] == [
        "literacy-council-2", "literacy-council-3", "partner", "cafe-unicode"]


@pytest.mark.parametrize("name", ["Literacy Council", "literacy council", " LITERACY  council "])
def test_a_name_in_use_is_refused_whatever_its_case_and_spacing(db, people, now, name):
    with pytest.raises(ValidationFailed) as refused:
        partners.create_partner(people["staff"], Profile.parse(name=name), now)
    assert refused.value.errors["name"] == [
        "A partner called “Literacy Council” already exists. Choose another name."]
    assert partner_names(db) == ["Literacy Council"]
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 0


def test_a_name_in_use_is_reported_with_the_other_problems_at_once(db, people, now):
    with pytest.raises(ValidationFailed) as refused:
        partners.create_partner(people["staff"], Profile.parse(
            name="literacy council", website="lit.example.org",
            context=partners.profile_context()), now)
    assert set(refused.value.errors) == {"name", "website"}
    assert "already exists" in refused.value.errors["name"][0]


@pytest.mark.parametrize(
    ("entered", "field"),
    [({"name": ""}, "name"), ({"name": "   "}, "name"), ({"name": "x" * 201}, "name"),
     ({"kind": "k" * 81}, "kind"), ({"website": "javascript:alert(1)"}, "website"),
     ({"website": "museum.example.org"}, "website"), ({"description": "d" * 2001}, "description"),
     ({"contact_email": "not-an-address"}, "contact_email")],
)
def test_bad_fields_are_refused_and_nothing_is_stored(db, people, now, entered, field):
    with pytest.raises(ValidationFailed) as refused:
        partners.create_partner(people["staff"], Profile.parse(
            **{"name": "Riverside Museum", **entered}), now)
    assert list(refused.value.errors) == [field]
    assert partner_names(db) == ["Literacy Council"]
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 0


@pytest.mark.parametrize("who", ["coordinator", "volunteer", None])
def test_only_staff_add_partners(db, people, now, who):
    with pytest.raises(Forbidden) as refused:
        partners.create_partner(people[who] if who else None,
                                Profile.parse(name="Riverside Museum"), now)
    assert status_for(refused.value) == 403
    assert partner_names(db) == ["Literacy Council"]


def test_names_compare_alike_beyond_ascii(db, people, now):
    partners.create_partner(people["staff"], Profile.parse(name="Musée Ünïon"), now)
    with pytest.raises(ValidationFailed) as refused:
        partners.create_partner(people["staff"], Profile.parse(name="MUSÉE ÜNÏON"), now)
    assert "“Musée Ünïon” already exists" in refused.value.errors["name"][0]


def test_a_partner_added_at_the_same_moment_is_a_clear_refusal(db, people, now, monkeypatch):
    # Another request took the slug between the check and the write: the unique slug holds.
    monkeypatch.setattr(partners, "_slug_taken", lambda slug: False)
    with pytest.raises(ValidationFailed) as refused:
        partners.create_partner(people["staff"], Profile.parse(name="Literacy-Council"),
                                now)
    assert "added at the same moment" in refused.value.errors["name"][0]
    assert partner_names(db) == ["Literacy Council"]
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 0


def test_renaming_to_another_partners_name_is_refused_but_keeping_ones_own_is_not(
    db, people, make_partner, now
):
    make_partner("City Museum")
    coordinator, council = people["coordinator"], people["council"]
    with pytest.raises(ValidationFailed) as refused:
        partners.update_profile(coordinator, council, Profile.parse(name="city  MUSEUM"),
                                now=now)
    assert "already exists" in refused.value.errors["name"][0]
    partners.update_profile(coordinator, council,
                            Profile.parse(name="literacy council", kind="charity"), now=now)
    assert partner_names(db) == ["City Museum", "literacy council"]


def test_a_partner_whose_name_already_reads_like_anothers_can_still_save_its_profile(
    db, people, make_partner, now
):
    twin = make_partner("literacy  COUNCIL")  # older data, from before the check

    partners.update_profile(people["staff"], twin, Profile.parse(
        name="literacy  COUNCIL", description="Adults learn to read."), now=now)

    db.session.expire_all()
    assert db.session.get(Partner, twin.id).description == "Adults learn to read."
