"""The compliance summary (应检尽检汇总) in one pass: equal to a member-by-member reference on random
worlds, and a constant number of statements however many members and units there are."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from testing_factories import NOW, actor_at

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import service as people_service
from fangkong.testing import rules, service
from fangkong.testing.models import GroupMember
from fangkong.testing.service import common

GROUPS = ("courier_delivery_rider", "school_staff")
PERSONS = 6
#: due times around the edges of the statuses (grace is 12 h): exactly now, exactly now − grace …
OFFSETS_MIN = st.one_of(st.none(), st.sampled_from([0, -1, 1, -720, -719, -721, 60 * 24 * 3]),
                        st.integers(-60 * 24 * 10, 60 * 24 * 10))


@pytest.fixture
def world(session, tree):
    """The tree plus persons to enrol (members are written per example)."""
    persons = [people_service.register_person(session, SYSTEM_ACTOR, name=f"成员{i}", unit_id=tree.grid_a.id)
               for i in range(PERSONS)]
    session.flush()
    units = [tree.district, tree.street, tree.community, tree.grid_a, tree.grid_b, tree.other_street,
             tree.other_grid]
    return persons, units


def _reference(session, base: Unit, members: list[GroupMember], group: str | None) -> list[dict]:
    """Member by member with the list's own rule (`rules.compliance_status`), child by child."""
    now = clock.now()
    grace = common.grace(common.pack(session))
    children = session.execute(select(Unit).where(Unit.parent_id == base.id).order_by(Unit.code)).scalars().all()
    out = []
    for unit, owns in [*[(c, lambda m, c=c: m.unit_path.startswith(c.path)) for c in children],
                       (base, lambda m: m.unit_path == base.path)]:
        statuses = [rules.compliance_status(m.next_due_at, now, grace) for m in members
                    if m.active and owns(m) and (group is None or m.group_code == group)]
        if unit is base and not statuses:
            continue
        n = {s: statuses.count(s) for s in ("compliant", "grace", "overdue", "not_due")}
        out.append({"unit_id": unit.id, "unit_code": unit.code, "unit_name": unit.name, "members": len(statuses),
                    **n, "compliance_pct": round(100 * (n["compliant"] + n["not_due"]) / len(statuses), 1)
                    if statuses else None})
    return out


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.dictionaries(
    st.tuples(st.integers(0, PERSONS - 1), st.sampled_from(GROUPS)),
    st.tuples(st.integers(0, 6), st.booleans(), OFFSETS_MIN), max_size=12),
    base_index=st.integers(0, 2), group=st.sampled_from([None, *GROUPS]))
def test_one_pass_summary_equals_the_member_by_member_reference(session, tree, world, data, base_index, group):
    persons, units = world
    nested = session.begin_nested()
    try:
        with clock.frozen(NOW):
            members = []
            for (p, g), (u, active, offset) in data.items():
                unit = units[u]
                due = None if offset is None else clock.now() + dt.timedelta(minutes=offset)
                members.append(GroupMember(person_id=persons[p].id, group_code=g, source="manual", active=active,
                                           enrolled_at=clock.now() - dt.timedelta(days=20), next_due_at=due,
                                           unit_id=unit.id, unit_path=unit.path))
            session.add_all(members)
            session.flush()
            base = units[base_index]
            got = service.summary(session, actor_at(tree.district), unit_id=base.id, group_code=group)
            assert got == _reference(session, base, members, group)
    finally:
        nested.rollback()


@contextmanager
def _statements(connection) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def test_summary_runs_a_constant_number_of_statements(session, connection, tree, world):
    """One statement reads the members whatever their number and the number of child units: 11 per
    call for a district with 10 streets was the old shape (a count per child)."""
    persons, units = world

    def enrol(start: int, k: int) -> None:
        for i in range(start, start + k):
            unit = units[i % len(units)]
            session.add(GroupMember(person_id=persons[i % PERSONS].id, group_code=f"g{i}", source="manual",
                                    active=True, enrolled_at=clock.now(), next_due_at=clock.now(),
                                    unit_id=unit.id, unit_path=unit.path))
        session.flush()

    def run() -> tuple[int, int]:
        session.expire_all()
        with _statements(connection) as seen:
            service.summary(session, actor_at(tree.district), unit_id=tree.district.id)
        return len(seen), sum("group_member" in s for s in seen)

    with clock.frozen(NOW):
        common.pack(session)  # the active pack is cached after its first read
        enrol(0, 3)
        small = run()
        enrol(3, 60)
        for i in range(8):  # eight more streets under the district: more children, same statements
            jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code=f"T01{90 + i}", name=f"街道{i}",
                                              level="street", parent_code=tree.district.code)
        session.flush()
        large = run()
        rows = service.summary(session, actor_at(tree.district), unit_id=tree.district.id)
    assert small == large
    assert small[1] == 1, "the members are read by exactly one statement"
    # ten streets, and the district itself last for the members it owns directly
    assert len(rows) == 11 and rows[-1]["unit_id"] == tree.district.id
    assert sum(r["members"] for r in rows) == 63
