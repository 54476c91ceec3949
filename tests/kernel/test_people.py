"""Person registry on a real database: encryption at rest, blind-index lookups, duplicates, scope,
unmasking and its audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.roles import MATRIX
from fangkong.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fangkong.kernel.jurisdictions.address import normalise_address
from fangkong.kernel.jurisdictions.models import Address, Unit
from fangkong.kernel.people import crypto
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import check_id_number, check_phone, id_check_digit
from fangkong.kernel.people.models import Person


def make_id(region: str, born: dt.date, seq: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


ID_A = make_id("320402", dt.date(1970, 3, 7), 123)   # male
ID_B = make_id("320483", dt.date(1985, 11, 2), 44)   # female, abolished region code
PHONE = "13812345678"


def _root(session: Session) -> Unit:
    return session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).scalars().first()


def _grid(session: Session, code: str) -> Unit:
    root = _root(session)
    unit = Unit(code=code, name=f"网格{code}", level="grid", parent_id=root.id, path="", depth=1)
    session.add(unit)
    session.flush()
    unit.path = f"{root.path}{unit.id}/"
    session.flush()
    return unit


def _actor(unit: Unit, role: str = "grid") -> Actor:
    return Actor(user_id=None, username=f"{role}-{unit.code}", role=role, unit_id=unit.id, unit_path=unit.path,
                 permissions=frozenset(MATRIX[role]))


@pytest.fixture
def grid_a(session: Session) -> Unit:
    return _grid(session, "t-grid-a")


@pytest.fixture
def grid_b(session: Session) -> Unit:
    return _grid(session, "t-grid-b")


@pytest.fixture
def worker_a(grid_a: Unit) -> Actor:
    return _actor(grid_a)


@pytest.fixture
def worker_b(grid_b: Unit) -> Actor:
    return _actor(grid_b)


def _count(session: Session, model=Person) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _audits(session: Session, action: str) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                .order_by(AuditEvent.id)).scalars())


# ------------------------------------------------------------------------------------------ storage

def test_numbers_are_encrypted_at_rest(session, worker_a):
    person = people_service.register_person(session, worker_a, name="陳偉", id_number=ID_A,
                                            phone="+86 138-1234-5678")
    row = session.execute(text("SELECT * FROM person WHERE id = :id"), {"id": person.id}).mappings().one()
    for column, value in row.items():
        raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        assert ID_A.encode() not in raw, column
        assert PHONE.encode() not in raw, column
        assert ID_A[6:14].encode() not in raw or column == "birth_date", column
    assert crypto.decrypt(bytes(row["id_number_enc"])) == ID_A
    assert crypto.decrypt(bytes(row["phone_enc"])) == PHONE
    assert row["id_number_masked"] == ID_A[:6] + "********" + ID_A[-4:]
    assert row["phone_masked"] == "138****5678"
    assert person.sex == "M" and person.birth_date == dt.date(1970, 3, 7)
    assert person.name == "陳偉" and person.name_key == "陈伟"
    assert person.unit_id == worker_a.unit_id  # no address: the registering worker's grid


def test_blind_index_lookup_finds_normalised_forms(session, system):
    person = people_service.register_person(session, system, name="李娜", id_number=ID_B, phone=PHONE)
    full_width = ID_B.translate(str.maketrans("0123456789X", "０１２３４５６７８９ｘ"))
    assert people_service.find_by_id_number(session, full_width) is person
    assert people_service.find_by_id_number(session, " " + ID_B.lower() + " ") is person
    assert people_service.find_by_id_number(session, ID_A) is None
    assert people_service.find_by_phone(session, "0086 138 1234 5678") == [person]
    assert people_service.find_by_phone(session, "13900000000") == []


def test_fifteen_digit_number_is_stored_converted_and_matches(session, system):
    eighteen = make_id("320402", dt.date(1960, 6, 1), 17)
    fifteen = eighteen[:6] + eighteen[8:17]
    person = people_service.register_person(session, system, name="王芳", id_number=fifteen)
    assert person.id_number_valid
    assert people_service.find_by_id_number(session, eighteen) is person
    assert people_service.unmask(session, system, person.id, field="id_number") == eighteen


def test_shared_phone_two_names_two_people(session, system):
    mother = people_service.register_person(session, system, name="张秀英", phone=PHONE)
    son = people_service.register_person(session, system, name="张伟", phone=PHONE, id_number=ID_A)
    assert people_service.find_by_phone(session, PHONE) == [mother, son]


# ------------------------------------------------------------------------------------------ refusals

def test_duplicate_valid_id_is_a_conflict_naming_the_person(session, system):
    first = people_service.register_person(session, system, name="陈伟", id_number=ID_A)
    before = _count(session)
    with pytest.raises(Conflict) as exc:
        people_service.register_person(session, system, name="陳偉", id_number=ID_A.lower())
    assert exc.value.person_id == first.id
    assert str(first.id) in exc.value.message
    assert _count(session) == before


def test_bad_input_stores_nothing(session, worker_a):
    persons, audits = _count(session), _count(session, AuditEvent)
    bad_id = ID_A[:17] + ("0" if ID_A[17] != "0" else "1")
    with pytest.raises(ValidationFailed) as exc:
        people_service.register_person(session, worker_a, name="赵六", id_number=bad_id, phone="138****5678")
    fields = {f.field: f.message for f in exc.value.fields}
    assert fields == {"id_number": f"check digit should be {ID_A[17]}", "phone": "masked number"}
    with pytest.raises(ValidationFailed) as exc:
        people_service.register_person(session, worker_a, name="  ")
    assert [f.field for f in exc.value.fields] == ["name"]
    with pytest.raises(ValidationFailed) as exc:
        people_service.register_person(session, worker_a, name="x" * 65)
    assert [f.field for f in exc.value.fields] == ["name"]
    assert (_count(session), _count(session, AuditEvent)) == (persons, audits)


def test_lenient_registration_keeps_invalid_numbers_out_of_the_index(session, system):
    bad_id = make_id("990101", dt.date(1980, 1, 1), 5)  # unknown region
    p1 = people_service.register_person(session, system, name="甲", id_number=bad_id, phone="123",
                                        strict=False, source="lead")
    p2 = people_service.register_person(session, system, name="乙", id_number=bad_id, strict=False)
    assert p1.id != p2.id
    assert not p1.id_number_valid and p1.id_number_bidx is None and p1.phone_bidx is None
    assert p1.sex is None and p1.birth_date is None
    assert p1.id_number_masked == bad_id[:6] + "********" + bad_id[-4:]
    assert people_service.find_by_id_number(session, bad_id) is None
    assert people_service.unmask(session, system, p1.id, field="id_number") == bad_id
    assert p1.source == "lead"


def test_register_requires_person_edit(session, grid_a):
    viewer = _actor(grid_a, "viewer")
    with pytest.raises(PermissionDenied):
        people_service.register_person(session, viewer, name="王伟")


def test_unit_outside_the_actor_jurisdiction_is_refused(session, worker_a, grid_b):
    with pytest.raises(ValidationFailed) as exc:
        people_service.register_person(session, worker_a, name="王伟", unit_id=grid_b.id)
    assert [f.field for f in exc.value.fields] == ["unit_id"]


# ----------------------------------------------------------------------------------------- placement

def test_placement_by_address_unit_or_root(session, system, worker_a, grid_a, grid_b):
    parts = normalise_address("青果巷8号3幢2单元301室")
    session.add(Address(text="青果巷8号3幢2单元301室", key=parts.key, building_key=parts.building_key,
                        road=parts.road, house_no=parts.house_no, building=parts.building,
                        entrance=parts.entrance, room=parts.room, unit_id=grid_b.id, unit_path=grid_b.path))
    session.flush()
    by_address = people_service.register_person(session, worker_a, name="甲",
                                                address_text="江苏省常州市天宁区青果巷8号3幢2单元301室")
    assert by_address.unit_id == grid_b.id and by_address.address_id is not None
    by_unit = people_service.register_person(session, system, name="乙", unit_id=grid_a.id)
    assert (by_unit.unit_id, by_unit.unit_path) == (grid_a.id, grid_a.path)
    unknown = people_service.register_person(session, system, name="丙", address_text="火星路1号")
    root = _root(session)
    assert unknown.unit_id == root.id and unknown.address_id is None and unknown.address_text == "火星路1号"


# ------------------------------------------------------------------------------------ scoped reading

def test_scope_hides_persons_of_other_grids(session, worker_a, worker_b):
    person = people_service.register_person(session, worker_a, name="陈伟", id_number=ID_A, phone=PHONE)
    assert people_service.get_person(session, worker_a, person.id) is person
    with pytest.raises(NotFound):
        people_service.get_person(session, worker_b, person.id)
    with pytest.raises(NotFound):
        people_service.unmask(session, worker_b, person.id, field="id_number")
    for q in (ID_A, PHONE, "陈伟", ""):
        assert people_service.search_persons(session, worker_b, q=q) == []
        assert people_service.search_persons(session, worker_a, q=q) == [person]


def test_get_person_is_audited(session, worker_a):
    person = people_service.register_person(session, worker_a, name="陈伟")
    people_service.get_person(session, worker_a, person.id)
    people_service.get_person(session, worker_a, person.id, audit_view=False)
    views = _audits(session, "person.view")
    assert len(views) == 1 and views[0].object_id == str(person.id) and views[0].actor_name == worker_a.username


def test_search_kinds_and_audit_without_numbers(session, system):
    a = people_service.register_person(session, system, name="陳偉", id_number=ID_A, phone=PHONE)
    b = people_service.register_person(session, system, name="陈伟华", id_number=ID_B)
    people_service.register_person(session, system, name="张伟")
    assert people_service.search_persons(session, system, q=ID_A.lower()) == [a]
    assert people_service.search_persons(session, system, q="+86 138 1234 5678") == [a]
    assert people_service.search_persons(session, system, q="陈伟") == [a, b]        # exact or prefix
    assert people_service.search_persons(session, system, q="陳 偉 華") == [b]
    assert people_service.search_persons(session, system, q=ID_A[:10]) == []         # partial numbers: nobody
    assert people_service.search_persons(session, system, q="陈%") == []              # no wildcards
    events = _audits(session, "person.search")
    assert [e.detail["kind"] for e in events] == ["id_number", "phone", "name", "name", "number", "name"]
    for e in events:
        dumped = str(e.detail)
        assert ID_A not in dumped and PHONE not in dumped and ID_A[:10] not in dumped


def test_search_pages_by_id(session, system):
    made = [people_service.register_person(session, system, name="王伟") for _ in range(5)]
    first = people_service.search_persons(session, system, q="王伟", limit=2)
    rest = people_service.search_persons(session, system, q="王伟", limit=10, after_id=first[-1].id)
    assert first + rest == made


def test_search_requires_person_view(session, grid_a):
    lab = _actor(grid_a, "lab")
    with pytest.raises(PermissionDenied):
        people_service.search_persons(session, lab, q="王伟")


# ------------------------------------------------------------------------------------------- unmask

def test_unmask_returns_the_value_and_is_audited(session, worker_a):
    person = people_service.register_person(session, worker_a, name="陈伟", id_number=ID_A, phone=PHONE)
    assert people_service.unmask(session, worker_a, person.id, field="id_number") == ID_A
    assert people_service.unmask(session, worker_a, person.id, field="phone") == PHONE
    events = _audits(session, "person.unmask")
    assert [(e.object_id, e.detail["field"], e.actor_name) for e in events] == [
        (str(person.id), "id_number", worker_a.username), (str(person.id), "phone", worker_a.username)]
    assert all(ID_A not in str(e.detail) and PHONE not in str(e.detail) for e in events)


def test_unmask_refused_without_permission(session, grid_a):
    person = people_service.register_person(session, _actor(grid_a), name="陈伟", id_number=ID_A)
    before = _count(session, AuditEvent)
    with pytest.raises(PermissionDenied):
        people_service.unmask(session, _actor(grid_a, "viewer"), person.id, field="id_number")
    with pytest.raises(ValidationFailed):
        people_service.unmask(session, _actor(grid_a), person.id, field="name")
    with pytest.raises(NotFound):
        people_service.unmask(session, _actor(grid_a), person.id, field="phone")  # none recorded
    assert _count(session, AuditEvent) == before


# ------------------------------------------------------------------------------------ helper outputs

def test_identity_columns_index_only_valid_numbers():
    cols = people_service.identity_columns(id_check=check_id_number(ID_B), phone_check=check_phone("1381234567"))
    assert cols["id_number_valid"] and cols["id_number_bidx"] == crypto.blind_index(ID_B, "id_number")
    assert cols["sex"] == "F" and cols["birth_date"] == dt.date(1985, 11, 2)
    assert cols["phone_bidx"] is None and cols["phone_masked"] == "138****4567"
    assert crypto.decrypt(cols["phone_enc"]) == "1381234567"
    empty = people_service.identity_columns(id_check=None, phone_check=None)
    assert set(empty) == set(cols) and not any(v for v in empty.values())


def test_masked_view(session, system):
    person = people_service.register_person(session, system, name="陈伟", id_number=ID_A, phone=PHONE,
                                            address_text="  青果巷  1号 ")
    with clock.frozen(dt.datetime(2022, 4, 18, 8, tzinfo=dt.UTC)):
        view = people_service.masked_view(person)
    assert view == {
        "id": person.id, "name": "陈伟", "id_number_masked": ID_A[:6] + "********" + ID_A[-4:],
        "id_number_valid": True, "phone_masked": "138****5678", "sex": "M", "birth_date": "1970-03-07",
        "age": 52, "address_text": "青果巷 1号", "unit_id": person.unit_id, "employer_id": None,
    }
    assert ID_A not in str(view) and PHONE not in str(view)
