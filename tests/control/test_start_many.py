"""`start_many`: the bulk start is the single start in one pass — the same measure columns, first event,
due tests (re-matched to samples already taken) and pack version as `start_measure` for the same input;
one audit entry names every id; bad input refuses the whole batch before anything is written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from control_factories import build_world, person, sample
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.models import DueTest, Measure, MeasureEvent
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import NotFound, ValidationFailed

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=TZ)
COLUMNS = ("category", "measure_code", "kind", "phases", "test_dates", "started_at", "planned_end_at", "status",
           "pack_version", "rule", "place_kind", "place_id", "unit_id", "unit_path", "phase", "anchor", "anchor_on",
           "planned_end_on")


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _shape(session: Session, m: Measure) -> tuple:
    session.refresh(m)
    due = [(d.day, d.due_on, d.window_end_on, d.phase_kind, d.place_kind, d.site_id, d.status, d.sampled_at)
           for d in session.execute(select(DueTest).where(DueTest.measure_id == m.id).order_by(DueTest.day)).scalars()]
    [ev] = session.execute(select(MeasureEvent).where(MeasureEvent.measure_id == m.id)).scalars().all()
    return (tuple(getattr(m, c) for c in COLUMNS), due,
            (ev.action, ev.to_status, ev.to_phase, ev.rule, ev.reason, ev.pack_version, ev.detail))


@pytest.mark.parametrize(("category", "place", "extra"), [
    ("close_contact", "site", {"exposure_at": NOW - dt.timedelta(days=2)}),
    ("secondary_contact", "home", {"exposure_at": NOW - dt.timedelta(days=1)}),
    ("medium_risk_area", "home", {}),
    ("low_risk_area", "home", {}),
    ("high_risk_area", "site", {"arrival_at": NOW - dt.timedelta(days=1)}),
])
def test_one_bulk_start_equals_one_single_start(session: Session, category: str, place: str, extra: dict) -> None:
    w = build_world(session)
    a, b = person(session, w, 1, "单启"), person(session, w, 2, "批启")
    sample(session, w, 1, NOW - dt.timedelta(hours=1), "T1")  # a sample today, before the start: day 1 when it counts
    sample(session, w, 2, NOW - dt.timedelta(hours=1), "T2")
    site = {"place_kind": place, "place_id": w.site.id if place == "site" else None}
    single = control_service.start_measure(session, SYSTEM_ACTOR, person_id=a, category=category,
                                           rule=f"categories.{category}", started_at=NOW, **site, **extra)
    [mid] = control_service.start_many(session, SYSTEM_ACTOR, [control_service.NewMeasure(
        person_id=b, category=category, rule=f"categories.{category}", started_at=NOW, **site, **extra)])
    one, many = _shape(session, single), _shape(session, session.get(Measure, mid))
    assert one == many
    assert control_service.status_of(session, [a, b], at=NOW + dt.timedelta(hours=1))[b].kind != "none"


def test_a_batch_is_audited_once_with_every_id_and_refused_whole(session: Session) -> None:
    w = build_world(session)
    pids = [person(session, w, i, f"居民{i}") for i in range(10, 16)]
    before = session.execute(select(func.count()).select_from(Measure)).scalar()
    with pytest.raises(ValidationFailed) as bad:
        control_service.start_many(session, SYSTEM_ACTOR, [
            control_service.NewMeasure(person_id=pids[0], category="secondary_contact", rule="zone:1"),
            control_service.NewMeasure(person_id=pids[1], category="no_such", rule="zone:1"),
            control_service.NewMeasure(person_id=pids[2], category="close_contact", rule="zone:1", place_kind="site")])
    assert [f.field for f in bad.value.fields] == ["items[1].category", "items[2].site_place_id"]
    with pytest.raises(NotFound):
        control_service.start_many(session, SYSTEM_ACTOR, [
            control_service.NewMeasure(person_id=999_999, category="secondary_contact", rule="zone:1")])
    assert session.execute(select(func.count()).select_from(Measure)).scalar() == before
    ids = control_service.start_many(session, SYSTEM_ACTOR, [control_service.NewMeasure(
        person_id=p, category="medium_risk_area", rule="zone:1", started_at=NOW) for p in pids])
    assert len(ids) == 6 and all(session.get(Measure, i).category == "medium_risk_area" for i in ids)
    [entry] = session.execute(select(AuditEvent).where(AuditEvent.action == "measure.started")).scalars().all()
    assert entry.detail["count"] == 6 and entry.detail["ids"] == [[ids[0], ids[-1]]]
    assert entry.detail["due_tests"] == 6 * 3
