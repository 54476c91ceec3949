"""Places (场所): create, get and list, scoped to the actor's jurisdiction."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.roles import MATRIX
from fangkong.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fangkong.kernel.jurisdictions import service as js
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.places import service as ps


def actor_at(unit: Unit, role: str) -> Actor:
    return Actor(user_id=7, username=role, role=role, unit_id=unit.id, unit_path=unit.path,
                 permissions=frozenset(MATRIX[role]))


@pytest.fixture
def units(session: Session, system: Actor) -> dict[str, Unit]:
    out = {}
    for code, level, parent in [("P1", "district", None), ("P1A", "street", "P1"), ("P1B", "street", "P1"),
                                ("P1AG", "grid", "P1A"), ("P1BG", "grid", "P1B")]:
        out[code] = js.create_unit(session, system, code=code, name=code, level=level, parent_code=parent)
    return out


def test_create_place_generates_code_and_defaults_to_root(session: Session, system: Actor, units) -> None:
    p = ps.create_place(session, system, kind="venue", name="菜市场", category="market", capacity=500)
    assert p.code == f"VEN{p.id:06d}"
    assert p.unit_id == js.root_unit(session).id and p.unit_path == js.root_unit(session).path
    q = ps.create_place(session, system, kind="quarantine_site", name="某酒店", code="Q-1", ref="ext-9")
    assert q.code == "Q-1" and ps.get_place_by_ref(session, system, "ext-9") is q
    assert ps.get_place_by_code(session, system, "Q-1") is q
    with pytest.raises(Conflict):
        ps.create_place(session, system, kind="venue", name="x", code="Q-1")
    with pytest.raises(Conflict):
        ps.create_place(session, system, kind="venue", name="x", ref="ext-9")


def test_create_place_unit_from_address_or_given(session: Session, system: Actor, units) -> None:
    addr = js.add_address(session, system, text="幸福路12号", grid_code="P1AG")
    p = ps.create_place(session, system, kind="employer", name="某厂", address_text="江苏省常州市幸福路１２号")
    assert (p.unit_id, p.address_id) == (units["P1AG"].id, addr.id)
    q = ps.create_place(session, system, kind="checkpoint", name="卡口", address_text="无名路1号",
                        unit_id=units["P1B"].id)
    assert (q.unit_id, q.address_id, q.address_text) == (units["P1B"].id, None, "无名路1号")
    # a street worker's unplaceable place stays in their own unit, not the root they cannot see
    r = ps.create_place(session, actor_at(units["P1A"], "street"), kind="venue", name="小店", address_text="无名路2号")
    assert r.unit_id == units["P1A"].id


def test_create_place_validation_and_permission(session: Session, system: Actor, units) -> None:
    with pytest.raises(ValidationFailed) as e:
        ps.create_place(session, system, kind="castle", name="")
    assert {f.field for f in e.value.fields} == {"kind", "name"}
    with pytest.raises(PermissionDenied):
        ps.create_place(session, actor_at(units["P1AG"], "grid"), kind="venue", name="x")
    with pytest.raises(NotFound):  # a unit outside the actor's subtree
        ps.create_place(session, actor_at(units["P1A"], "street"), kind="venue", name="x", unit_id=units["P1B"].id)


def test_get_and_list_are_scoped(session: Session, system: Actor, units) -> None:
    a = ps.create_place(session, system, kind="venue", name="A", category="market", unit_id=units["P1AG"].id)
    b = ps.create_place(session, system, kind="venue", name="B", unit_id=units["P1BG"].id)
    c = ps.create_place(session, system, kind="sentinel", name="C", unit_id=units["P1A"].id)
    street_a = actor_at(units["P1A"], "street")
    assert ps.get_place(session, street_a, a.id) is a
    with pytest.raises(NotFound):
        ps.get_place(session, street_a, b.id)
    assert [p.id for p in ps.list_places(session, street_a)] == [a.id, c.id]
    assert [p.id for p in ps.list_places(session, street_a, kind="venue")] == [a.id]
    assert [p.id for p in ps.list_places(session, street_a, category="market")] == [a.id]
    assert [p.id for p in ps.list_places(session, street_a, limit=1, after_id=a.id)] == [c.id]
    everyone = [p.id for p in ps.list_places(session, system, limit=1000) if p.id in {a.id, b.id, c.id}]
    assert everyone == [a.id, b.id, c.id]
