"""`end_many` (a lifted zone's residents) ends measures as `end_measure` does one at a time: the same
state, `ended` event and cancelled due tests for each, one audit entry naming the ids; a measure no
longer active is left as it is; one outside the actor's jurisdiction refuses the whole batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from control_factories import build_world, person
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.models import DueTest, Measure, MeasureEvent
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent as AuditEntry
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import NotFound

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=TZ)
LATER = NOW + dt.timedelta(days=2, hours=3)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _shape(session: Session, mid: int) -> tuple:
    m = session.get(Measure, mid)
    session.refresh(m)
    due = [(d.day, d.status, d.cancelled_at) for d in session.execute(
        select(DueTest).where(DueTest.measure_id == mid).order_by(DueTest.day)).scalars()]
    ev = session.execute(select(MeasureEvent).where(MeasureEvent.measure_id == mid)
                         .order_by(MeasureEvent.id.desc())).scalars().first()
    assert ev is not None
    return (m.status, m.phase, m.ended_at, m.end_reason, due,
            (ev.at, ev.action, ev.from_status, ev.to_status, ev.from_phase, ev.to_phase, ev.reason, ev.rule,
             ev.pack_version, ev.username, ev.override, ev.detail, ev.unit_path))


def test_end_many_equals_one_end_measure_each(session: Session) -> None:
    w = build_world(session)
    specs = [{"category": "sealed_zone_resident"}, {"category": "controlled_zone_resident"},
             {"category": "close_contact", "place_kind": "site", "place_id": w.site.id,
              "exposure_at": NOW - dt.timedelta(days=2)}]
    singles, batch = [], []
    for n, spec in enumerate(specs):
        a, b = person(session, w, 100 + n, f"单{n}"), person(session, w, 200 + n, f"批{n}")
        singles.append(control_service.start_measure(session, SYSTEM_ACTOR, person_id=a, rule="zone:7", **spec).id)
        batch.append(control_service.start_measure(session, SYSTEM_ACTOR, person_id=b, rule="zone:7", **spec).id)
    gone = control_service.start_measure(session, SYSTEM_ACTOR, person_id=person(session, w, 300, "已解除"),
                                         category="sealed_zone_resident", rule="zone:7").id
    control_service.end_measure(session, SYSTEM_ACTOR, measure_id=gone, reason="earlier")
    before = _shape(session, gone)
    audits = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    with clock.frozen(LATER):
        for mid in singles:
            control_service.end_measure(session, SYSTEM_ACTOR, measure_id=mid, reason="zone 7 medium", at=LATER)
        after_singles = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        ended = control_service.end_many(session, SYSTEM_ACTOR, [*batch, gone], reason="zone 7 medium", at=LATER)
    assert ended == sorted(batch)
    for one, many in zip(singles, batch, strict=True):
        assert _shape(session, one) == _shape(session, many)
    assert any(s == "cancelled" for _d, s, _c in _shape(session, batch[0])[4])  # due tests were cancelled
    assert _shape(session, gone) == before  # no longer active: left as it was
    assert after_singles - audits == len(singles)
    entries = session.execute(select(AuditEntry).where(AuditEntry.action == "measure.ended")
                              .order_by(AuditEntry.id.desc())).scalars().first()
    assert session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == after_singles + 1
    assert entries is not None and entries.detail["count"] == len(batch)


def test_a_measure_outside_the_jurisdiction_refuses_the_batch(session: Session) -> None:
    from control_factories import make_id, user

    from fangkong.kernel.people import service as people_service

    w = build_world(session)
    inside = control_service.start_measure(session, SYSTEM_ACTOR, person_id=person(session, w, 1, "甲"),
                                           category="sealed_zone_resident", rule="zone:1").id
    elsewhere = people_service.register_person(session, SYSTEM_ACTOR, name="乙", id_number=make_id(2),
                                               unit_id=w.other.id).id
    outside = control_service.start_measure(session, SYSTEM_ACTOR, person_id=elsewhere,
                                            category="sealed_zone_resident", rule="zone:1").id
    actor = user(session, "endm_district", "district", w.district)
    with pytest.raises(NotFound):
        control_service.end_many(session, actor, [inside, outside, 10**9], reason="x")
    assert session.get(Measure, inside).status == "active"  # type: ignore[union-attr]
