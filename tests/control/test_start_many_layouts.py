"""`start_many` with a batch of several layouts at once (categories, start times, home and site, chased or
not): every measure gets the same due tests and first event as its own single start — the due tests and
events are derived per layout from the inserted measures, so a mixed batch must not mix them up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from control_factories import build_world, person
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.models import DueTest, Measure, MeasureEvent
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _shape(session: Session, mid: int) -> tuple:
    m = session.get(Measure, mid)
    session.refresh(m)
    due = [(d.day, d.due_on, d.window_end_on, d.min_gap_hours, d.phase_measure, d.phase_kind, d.place_kind,
            d.site_id, d.status, d.chase, d.unit_path)
           for d in session.execute(select(DueTest).where(DueTest.measure_id == mid).order_by(DueTest.day)).scalars()]
    [ev] = session.execute(select(MeasureEvent).where(MeasureEvent.measure_id == mid)).scalars().all()
    return (m.category, m.kind, m.anchor_on, m.planned_end_on, due,
            (ev.at, ev.action, ev.to_status, ev.to_phase, ev.rule, ev.reason, ev.pack_version, ev.detail, ev.unit_path))


def test_a_mixed_batch_equals_one_single_start_each(session: Session) -> None:
    w = build_world(session)
    specs = [
        {"category": "close_contact", "place_kind": "site", "place_id": w.site.id,
         "exposure_at": NOW - dt.timedelta(days=2)},
        {"category": "medium_risk_area", "started_at": NOW - dt.timedelta(days=1), "chase_missed": False},
        {"category": "secondary_contact", "exposure_at": NOW - dt.timedelta(days=1)},
        {"category": "medium_risk_area"},
        {"category": "close_contact", "exposure_at": NOW - dt.timedelta(days=3)},
    ]
    singles, batch = [], []
    for n, spec in enumerate(specs):
        spec = {"started_at": NOW, **spec}
        chase = spec.pop("chase_missed", True)
        a, b = person(session, w, 100 + n, f"单{n}"), person(session, w, 200 + n, f"批{n}")
        singles.append(control_service.start_measure(session, SYSTEM_ACTOR, person_id=a, rule="zone:7",
                                                     chase_missed=chase, **spec).id)
        batch.append(control_service.NewMeasure(person_id=b, rule="zone:7", chase_missed=chase, **spec))
    ids = control_service.start_many(session, SYSTEM_ACTOR, batch)
    for one, many in zip(singles, ids, strict=True):
        assert _shape(session, one) == _shape(session, many)
    assert len({_shape(session, i)[0:4] for i in ids}) == len(specs)  # several layouts really were in the batch
