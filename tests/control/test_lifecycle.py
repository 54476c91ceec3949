"""The measure lifecycle on a real database: a measure starts with day 0 from its anchor and a first
event; single-tube results (through testing) make it releasable; release by rule, refused with the
missing test days named, or by an override with a reason (audited); stepdown; the one as-of read;
`fangkong export measures` and `fangkong control release --due` as an operator runs them."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from control_factories import build_world, make_id, person, user
from own_database import initialised_database
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.control import service as control_service
from fangkong.control.models import Measure, MeasureEvent
from fangkong.control.service.status import status_as_of
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import Conflict, PermissionDenied, ValidationFailed

TZ = dt.timezone(dt.timedelta(hours=8))
#: day 0 of the examples (the last exposure's date); the contact is found on day 2
D0 = dt.date(2022, 4, 18)
FANGKONG = Path(sys.executable).parent / "fangkong"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


def t(day: int, hour: float = 9) -> dt.datetime:
    return dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(0), tzinfo=TZ) + dt.timedelta(hours=hour)


FOUND = t(2, 10)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(FOUND):
        yield


def sampled(session: Session, w, seq: int, day: int, result: str | None = "阴性", *, hour: float = 11,
           report_after: float = 8) -> None:
    """A single-tube sample of person `seq` on `day`, and its result `report_after` hours later."""
    from fangkong.testing import service as testing_service

    barcode = f"S{seq}-{day}-{int(hour * 10)}"
    with clock.frozen(t(day, hour)):
        testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=1, sampling_point_id=w.point.id)
        testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=make_id(seq), collected_at=t(day, hour))
    if result is None:
        return
    reported = t(day, hour + report_after)
    with clock.frozen(reported):
        rows = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[testing_service.ResultItem(2, {
            "tube_barcode": barcode, "result": result, "lab": "常州检测",
            "reported_at": reported.strftime("%Y-%m-%d %H:%M")})])
    assert rows[0].status == "accepted", rows[0].issues


def close_contact(session: Session, w, seq: int = 10) -> Measure:
    pid = person(session, w, seq, "张密接")
    return control_service.start_measure(
        session, SYSTEM_ACTOR, person_id=pid, category="close_contact", rule="categories.close_contact",
        place_kind="site", place_id=w.site.id, started_at=FOUND, exposure_at=t(0, 19))


def test_a_close_contact_counts_from_the_exposure_and_the_start_is_kept(session: Session) -> None:
    w = build_world(session)
    m = close_contact(session, w)
    assert (m.status, m.phase, m.anchor, m.anchor_on, m.planned_end_on) == (
        "active", "central", "exposure", D0, D0 + dt.timedelta(days=10))
    [event] = session.execute(select(MeasureEvent).where(MeasureEvent.measure_id == m.id)).scalars().all()
    assert (event.action, event.from_status, event.to_status, event.username, event.reason) == (
        "started", None, "active", SYSTEM_ACTOR.username, "categories.close_contact")
    audit = session.execute(select(AuditEvent).where(AuditEvent.action == "measure.started")).scalars().all()
    assert len(audit) == 1 and audit[0].detail["anchor_on"] == D0.isoformat()
    # the issue's codes are the pack's aliases
    pid = person(session, w, 11, "李入境")
    inbound = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="inbound",
                                            rule="categories.inbound_traveller", arrival_at=t(1, 8), started_at=FOUND,
                                            place_kind="site", place_id=w.site.id)
    assert (inbound.category, inbound.anchor, inbound.anchor_on) == ("inbound_traveller", "arrival", D0 + dt.timedelta(1))


def test_release_by_rule_refused_naming_the_days_or_by_override(session: Session) -> None:
    w = build_world(session)
    m = close_contact(session, w)
    for day in (2, 3, 5, 7, 10):  # day 1 was served (found on day 2)
        sampled(session, w, 10, day)
    at = t(10, 20)
    [state] = status_as_of(session, at=at, person_ids=[m.person_id])
    assert (state.status, state.releasable_on, state.missed_tests) == ("releasable", D0 + dt.timedelta(10), ())
    # as of day 9 it was active, in home monitoring by rule
    [before] = status_as_of(session, at=t(9), person_ids=[m.person_id])
    assert (before.status, before.phase, before.stepdown_on) == ("active", "home_monitoring", D0 + dt.timedelta(7))

    other = close_contact(session, w, seq=12)
    sampled(session, w, 12, 2)
    sampled(session, w, 12, 3)
    sampled(session, w, 12, 10)
    with pytest.raises(Conflict) as refused:
        control_service.release_measure(session, SYSTEM_ACTOR, measure_id=other.id, at=at)
    assert "test days 7, 10" in str(refused.value.message)  # day 10's sample made up day 5
    grid = user(session, "grid1", "grid", w.grid)
    with pytest.raises(PermissionDenied):  # a grid worker may release by rule, not override it
        control_service.release_measure(session, grid, measure_id=other.id, at=at, override_reason="医生签批")
    done = control_service.release_measure(session, SYSTEM_ACTOR, measure_id=other.id, at=at,
                                           override_reason="医生会诊同意提前解除")
    assert (done.status, done.phase, done.released_at) == ("released", "ended", at)
    event = session.execute(select(MeasureEvent).where(MeasureEvent.measure_id == other.id,
                                                       MeasureEvent.action == "released")).scalar_one()
    assert event.override and event.reason == "医生会诊同意提前解除" and event.detail["missing_days"] == [7, 10]

    released = control_service.release_measure(session, grid, measure_id=m.id, at=at)
    assert released.status == "released"
    assert status_as_of(session, at=at, person_ids=[m.person_id])[0].status == "released"
    assert status_as_of(session, at=t(10, 12), person_ids=[m.person_id])[0].status == "active"
    with pytest.raises(Conflict):
        control_service.release_measure(session, SYSTEM_ACTOR, measure_id=m.id, at=at)


def test_a_positive_is_never_released(session: Session) -> None:
    w = build_world(session)
    m = close_contact(session, w)
    for day in (2, 3, 5, 7, 10):
        sampled(session, w, 10, day)
    sampled(session, w, 10, 8, "阳性", report_after=40)
    with pytest.raises(Conflict):
        control_service.release_measure(session, SYSTEM_ACTOR, measure_id=m.id, at=t(10, 20),
                                        override_reason="想解除")
    assert [s.action for s in control_service.due_steps(session, SYSTEM_ACTOR, at=t(10, 20))] == []


def test_due_steps_step_down_then_release(session: Session) -> None:
    w = build_world(session)
    m = close_contact(session, w)
    for day in (2, 3, 5, 7):
        sampled(session, w, 10, day)
    assert control_service.due_steps(session, SYSTEM_ACTOR, at=t(7, 18)) == []  # day 7's result not in
    steps = control_service.apply_due_steps(session, SYSTEM_ACTOR, at=t(7, 20))
    assert [(s.measure_id, s.action) for s in steps] == [(m.id, "stepdown")]
    assert (m.phase, m.stepped_down_at) == ("home_monitoring", t(7, 20))
    assert control_service.due_steps(session, SYSTEM_ACTOR, at=t(8)) == []
    sampled(session, w, 10, 10)
    steps = control_service.apply_due_steps(session, SYSTEM_ACTOR, at=t(10, 20))
    assert [(s.person_id, s.action, s.notice_no) for s in steps] == [(m.person_id, "release", "")]
    actions = [e.action for e in control_service.events_of(session, [m.id])[m.id]]
    assert actions == ["started", "stepped_down", "released"]


def test_missed_test_days_are_listed_and_made_up(session: Session) -> None:
    w = build_world(session)
    m = close_contact(session, w)
    for day in (2, 3, 6, 7):  # day 5 missed; day 6 makes it up
        sampled(session, w, 10, day)
    [state] = status_as_of(session, at=t(8), person_ids=[m.person_id])
    assert state.missed_tests == (5,) and state.stepdown_on == D0 + dt.timedelta(7)


def test_planned_then_active_then_transferred_out_each_with_who_and_why(session: Session) -> None:
    w = build_world(session)
    pid = person(session, w, 20, "王待转")
    m = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="high_risk_area",
                                      rule="categories.high_risk_area", planned=True, started_at=FOUND)
    assert (m.status, m.phase, m.anchor) == ("planned", "central", "start")
    assert status_as_of(session, at=t(3), person_ids=[pid])[0].status == "planned"
    with pytest.raises(ValidationFailed):
        control_service.change_status(session, SYSTEM_ACTOR, measure_id=m.id, to_status="active", reason=" ")
    control_service.change_status(session, SYSTEM_ACTOR, measure_id=m.id, to_status="active", reason="已到达隔离点",
                                  at=t(2, 14))
    control_service.change_status(session, SYSTEM_ACTOR, measure_id=m.id, to_status="transferred_out",
                                  reason="转至定点医院", at=t(4))
    with pytest.raises(Conflict):
        control_service.release_measure(session, SYSTEM_ACTOR, measure_id=m.id, at=t(9))
    events = control_service.events_of(session, [m.id])[m.id]
    assert [(e.from_status, e.to_status, e.reason) for e in events] == [
        (None, "planned", "categories.high_risk_area"), ("planned", "active", "已到达隔离点"),
        ("active", "transferred_out", "转至定点医院")]
    assert [s.status for s in (status_as_of(session, at=a, person_ids=[pid])[0] for a in (t(2, 12), t(3), t(5)))] == [
        "planned", "active", "transferred_out"]
    # ending a pool's temporary control by its retest is a change like any other
    pool = person(session, w, 21, "周混采")
    tc = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pool, category="pool_positive",
                                       rule="categories.positive_pool_member", started_at=FOUND)
    control_service.end_measure(session, SYSTEM_ACTOR, measure_id=tc.id, reason="单管复核阴性", at=t(3))
    assert [e.action for e in control_service.events_of(session, [tc.id])[tc.id]] == ["started", "ended"]


# ----------------------------------------------------------------------------- the command line

@pytest.fixture(params=BACKENDS)
def operator_db(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[sessionmaker, dict]]:
    with initialised_database(request.param, tmp_path, monkeypatch, "lifecycle") as (url, factory):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
        env.update(FANGKONG_DATA_DIR=str(tmp_path), FANGKONG_DATABASE_URL=url, LANG="en_US.UTF-8",
                   LC_ALL="en_US.UTF-8", FANGKONG_NOW=t(10, 20).isoformat(), PYTHONPATH=os.environ.get("PYTHONPATH", ""))
        yield factory, env
    monkeypatch.undo()


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fangkong", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def test_export_measures_and_release_due_from_the_command_line(operator_db, tmp_path: Path) -> None:
    factory, env = operator_db
    with factory() as session:
        w = build_world(session)
        done = close_contact(session, w, 10)
        for day in (2, 3, 5, 7, 10):
            sampled(session, w, 10, day)
        waiting = close_contact(session, w, 12)
        for day in (2, 5, 7):  # day 3 missed
            sampled(session, w, 12, day)
        ids = (done.person_id, done.id, waiting.person_id, waiting.id)
        session.commit()

    out = tmp_path / "measures.csv"
    r = _run(env, "export", "measures", "--at", "2022-04-28 20:00", "--out", str(out))
    assert r.returncode == 0, r.stderr
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["person_id", "measure_id", "category", "phase", "status", "anchor_on", "planned_end_on",
                       "stepdown_on", "releasable_on", "released_at", "site", "room", "missed_tests",
                       "checkins_missed", "fevers"]
    by_id = {int(r[1]): dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_id[ids[1]]["status"] == "releasable" and by_id[ids[1]]["releasable_on"] == "2022-04-28"
    assert by_id[ids[3]]["status"] == "active" and by_id[ids[3]]["missed_tests"] == "3"
    assert by_id[ids[3]]["site"] == "湖塘隔离酒店" and by_id[ids[3]]["anchor_on"] == "2022-04-18"
    # as of day 6 nothing was releasable yet
    r = _run(env, "export", "measures", "--at", "2022-04-24 09:00", "--out", str(out))
    with out.open(encoding="utf-8-sig") as fh:
        assert {line[4] for line in list(csv.reader(fh))[1:]} == {"active"}

    r = _run(env, "control", "release", "--due", "--as-of", "2022-04-28 20:00")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["person_id,measure_id,action,notice_no", f"{ids[0]},{ids[1]},release,"]
    with factory() as session:
        assert session.get(Measure, ids[1]).status == "active"  # listing changes nothing
    r = _run(env, "control", "release", "--due", "--as-of", "2022-04-28 20:00", "--yes")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == [f"{ids[0]},{ids[1]},release,"]
    with factory() as session:
        assert session.get(Measure, ids[1]).status == "released"
        assert session.get(Measure, ids[3]).status == "active"
    assert _run(env, "control", "release", "--as-of", "2022-04-28").returncode == 2
