"""The demo city: structure, places, identities and determinism, on a real database."""

from __future__ import annotations

import collections
import hashlib
import os
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select

from fangkong.drill import catalog
from fangkong.drill import city as city_module
from fangkong.drill.city import CityExists, city_exists, generate_city
from fangkong.drill.generator import AS_OF, CityGenerator, IdBase, Root, _split
from fangkong.drill.residents import region_pools
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.jurisdictions.address import normalise_address
from fangkong.kernel.jurisdictions.models import LEVELS, Address, Unit
from fangkong.kernel.people import crypto, regions
from fangkong.kernel.people.identity import check_id_number, mask_id, mask_phone, name_key
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import KINDS, Place

PERSONS = 600
PHONE = re.compile(r"^1[3-9]\d{9}$")


@pytest.fixture
def city(session):
    stats = generate_city(session, persons=PERSONS, seed=7)
    return stats


def _rows(persons: int, seed: int) -> list[tuple[str, dict]]:
    return list(CityGenerator(persons=persons, seed=seed, root=Root(1, "/1/", 0)).rows())


# ---------------------------------------------------------------------------------- jurisdictions

def test_every_level_present_and_paths_follow_parents(session, city):
    units = {u.id: u for u in session.execute(select(Unit)).scalars()}
    counts = collections.Counter(u.level for u in units.values())
    assert all(counts[lv] >= 1 for lv in LEVELS)
    assert counts["district"] >= 4
    assert dict(city.units) == {lv: counts[lv] for lv in LEVELS[1:]}
    for u in units.values():
        if u.parent_id is None:
            continue
        parent = units[u.parent_id]
        assert u.path == f"{parent.path}{u.id}/"
        assert u.depth == parent.depth + 1
        assert LEVELS.index(u.level) == LEVELS.index(parent.level) + 1
        if parent.level != "city":
            assert u.code.startswith(parent.code) and len(u.code) == len(parent.code) + 3
    grids = [u for u in units.values() if u.level == "grid"]
    assert all(re.fullmatch(r".+(社区|村)第\d+网格", g.name) for g in grids)
    # grids hold about the right number of residents
    per_grid = collections.Counter(session.execute(select(Person.unit_id)).scalars())
    assert sum(per_grid.values()) == PERSONS
    assert set(per_grid) <= {g.id for g in grids}


# ------------------------------------------------------------------------------------------ places

def test_every_place_kind_and_category_present(session, city):
    places = list(session.execute(select(Place)).scalars())
    kinds = collections.Counter(p.kind for p in places)
    assert set(kinds) == set(KINDS)
    assert dict(kinds) == city.places
    by_kind = collections.defaultdict(set)
    for p in places:
        by_kind[p.kind].add(p.category)
    assert by_kind["checkpoint"] == {c.code for c in catalog.CHECKPOINTS}
    assert {"highway_exit", "rail_station", "airport", "dock", "coach_station"} <= by_kind["checkpoint"]
    assert by_kind["venue"] == {v.code for v in catalog.VENUES}
    assert len(catalog.VENUES) == 39
    assert by_kind["employer"] == {e.code for e in catalog.EMPLOYERS}
    assert by_kind["sentinel"] == {"pharmacy", "fever_clinic"}
    assert len({p.code for p in places}) == len(places)


def test_quarantine_rooms_and_employer_headcounts(session, city):
    rooms = session.execute(select(func.sum(Place.capacity)).where(Place.kind == "quarantine_site")).scalar_one()
    assert rooms == city.quarantine_rooms
    assert rooms >= 20 * PERSONS / 10_000
    staff = collections.Counter(
        session.execute(select(Person.employer_id).where(Person.employer_id.is_not(None))).scalars())
    employers = session.execute(select(Place.id, Place.capacity).where(Place.kind == "employer")).all()
    assert {pid: cap for pid, cap in employers} == {pid: staff.get(pid, 0) for pid, _ in employers}
    assert sum(staff.values()) == city.employed > 0


def test_places_sit_on_grids_at_their_address(session, city):
    grid_ids = set(session.execute(select(Unit.id).where(Unit.level == "grid")).scalars())
    rows = session.execute(select(Place, Address).join(Address, Address.id == Place.address_id)).all()
    assert len(rows) == sum(city.places.values())
    for place, address in rows:
        assert place.unit_id in grid_ids
        assert (place.unit_id, place.unit_path, place.address_text) == (
            address.unit_id, address.unit_path, address.text)


# ------------------------------------------------------------------------------------------ persons

def test_person_identities_are_valid_and_consistent(session, city):
    persons = list(session.execute(select(Person)).scalars())
    assert len(persons) == PERSONS == city.persons
    seen_bidx = set()
    for p in persons:
        id_number = crypto.decrypt(p.id_number_enc)
        check = check_id_number(id_number)
        assert check is not None and check.valid, (id_number, check)
        assert (check.birth_date, check.sex) == (p.birth_date, p.sex)
        assert p.id_number_valid
        assert p.id_number_bidx == crypto.blind_index(id_number, "id_number")
        assert p.id_number_masked == mask_id(id_number)
        seen_bidx.add(p.id_number_bidx)
        assert p.name_key == name_key(p.name)
        assert p.source == "demo"
        if p.phone_enc is None:
            assert p.phone_bidx is None
            continue
        phone = crypto.decrypt(p.phone_enc)
        assert PHONE.match(phone)
        assert p.phone_bidx == crypto.blind_index(phone, "phone")
        assert p.phone_masked == mask_phone(phone)
    assert len(seen_bidx) == PERSONS
    # some have no phone; some share one (an elderly parent on a child's number): different names
    phones = collections.defaultdict(set)
    for p in persons:
        if p.phone_bidx:
            phones[p.phone_bidx].add(p.id)
    shared = [ids for ids in phones.values() if len(ids) > 1]
    assert shared and city.persons_sharing_phone > 0
    assert 0 < city.persons_without_phone < PERSONS / 2
    by_id = {p.id: p for p in persons}
    for ids in shared:
        assert len({by_id[i].id_number_bidx for i in ids}) == len(ids)


def test_persons_live_on_their_address_grid(session, city):
    rows = session.execute(select(Person, Address, Unit).join(Address, Address.id == Person.address_id)
                           .join(Unit, Unit.id == Person.unit_id)).all()
    assert len(rows) == PERSONS
    households = collections.Counter()
    for person, address, unit in rows:
        assert unit.level == "grid"
        assert (person.unit_id, person.unit_path) == (address.unit_id, address.unit_path) == (unit.id, unit.path)
        assert person.address_text == address.text
        households[address.id] += 1
    assert max(households.values()) <= 5 and len(households) == city.households


def test_addresses_are_keyed_by_the_gazetteer_normaliser(session, city):
    addresses = list(session.execute(select(Address)).scalars())
    assert len(addresses) == city.addresses
    for a in addresses:
        parts = normalise_address(a.text)
        assert (a.key, a.building_key, a.road, a.house_no, a.building, a.entrance, a.room) == (
            parts.key, parts.building_key, parts.road, parts.house_no, parts.building, parts.entrance, parts.room)
        assert not parts.issues, (a.text, parts.issues)
    assert any(a.room for a in addresses)


def test_ids_after_the_city_do_not_collide(session, city):
    root = session.execute(select(Unit).where(Unit.parent_id.is_(None))).scalar_one()
    unit = Unit(code="X-after-demo", name="新单位", level="district", parent_id=root.id, path="", depth=1)
    session.add(unit)
    session.flush()
    assert unit.id > session.execute(select(func.max(Unit.id)).where(Unit.code != "X-after-demo")).scalar_one()


# ------------------------------------------------------------------------------------------ refusal

def test_a_second_city_is_refused(session, city):
    assert city_exists(session)
    before = session.execute(select(func.count()).select_from(Person)).scalar_one()
    with pytest.raises(CityExists):
        generate_city(session, persons=50, seed=1)
    assert session.execute(select(func.count()).select_from(Person)).scalar_one() == before


def test_an_empty_database_has_no_city(session):
    assert not city_exists(session)


# ---------------------------------------------------------------------------------- pure generator

def test_same_seed_same_rows_other_seed_other_rows():
    a = _rows(800, 3)
    assert a == _rows(800, 3)
    b = _rows(800, 4)
    assert a != b
    assert [r for t, r in a if t == "person"] != [r for t, r in b if t == "person"]


_DIGEST = """
import hashlib
from fangkong.drill.generator import CityGenerator, Root
rows = CityGenerator(persons=400, seed=9, root=Root(1, "/1/", 0)).rows()
print(hashlib.sha256(repr(list(rows)).encode()).hexdigest())
"""


def test_the_generator_process_gives_the_same_rows_and_stats():
    """A big city is generated in a second process (spawn); its rows, stats and headcounts are the
    ones the generator gives in this process."""
    out: dict = {}
    rows = list(city_module._rows_in_process(700, 5, Root(1, "/1/", 0), IdBase(), AS_OF, out))
    gen = CityGenerator(persons=700, seed=5, root=Root(1, "/1/", 0))
    assert rows == list(gen.rows())
    assert out["stats"] == gen.stats
    assert out["headcount"] == gen.employer_headcount


def test_every_person_is_audited_in_chunks_and_the_indexes_are_back(session, monkeypatch):
    """One audit entry per stored chunk of persons, their id ranges covering every person once; the
    indexes dropped for the load are all there again afterwards."""
    conn = session.connection()
    before = {t: sorted(ix["name"] for ix in inspect(conn).get_indexes(t)) for t in ("person", "address")}
    monkeypatch.setattr(city_module, "CHUNK", 256)
    generate_city(session, persons=PERSONS, seed=3, parallel=True)
    entries = session.execute(select(AuditEvent).where(AuditEvent.action == "drill.demo_persons")
                              .order_by(AuditEvent.id)).scalars().all()
    ids = sorted(session.execute(select(Person.id)).scalars())
    covered = [i for e in entries for i in range(e.detail["first_id"], e.detail["last_id"] + 1)]
    assert len(entries) == -(-PERSONS // 256) and covered == ids
    assert sum(e.detail["count"] for e in entries) == PERSONS
    after = {t: sorted(ix["name"] for ix in inspect(session.connection()).get_indexes(t)) for t in ("person", "address")}
    assert after == before and "ix_person_phone_bidx" in after["person"]


def test_rows_do_not_depend_on_the_hash_seed():
    """Set or dict-of-unhashable ordering would change with PYTHONHASHSEED; the rows must not."""
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    rows = CityGenerator(persons=400, seed=9, root=Root(1, "/1/", 0)).rows()
    digests.add(hashlib.sha256(repr(list(rows)).encode()).hexdigest())
    assert len(digests) == 1


def test_names_and_regions_look_real():
    rows = _rows(5000, 1)
    persons = [r for t, r in rows if t == "person"]
    names = collections.Counter(p["name"] for p in persons)
    assert names.most_common(1)[0][1] >= 5  # very common names recur
    assert {"王伟", "张伟"} & set(names)
    codes = [p["id_number"][:6] for p in persons]
    pools = region_pools(frozenset(regions.all_region_codes()))
    local = sum(c.startswith("32") for c in codes)
    assert local > len(codes) * 0.6
    assert any(not c.startswith("32") for c in codes)
    abolished = set(pools.abolished_near) | set(pools.abolished_far)
    old_abolished = [p for p in persons if p["id_number"][:6] in abolished]
    assert old_abolished and all(p["birth_date"].year < 1970 for p in old_abolished)
    # sex digit consistent with sex, ages from 0 to past 85
    assert all((int(p["id_number"][16]) % 2 == 1) == (p["sex"] == "M") for p in persons)
    years = [p["birth_date"].year for p in persons]
    assert max(years) >= 2021 and min(years) < 1937


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 60), st.integers(0, 10**6))
def test_split_gives_positive_parts_that_add_up(total, parts, seed):
    import random

    parts = min(parts, total)
    out = _split(random.Random(seed), total, parts)
    assert len(out) == parts and sum(out) == total and min(out) >= 1
