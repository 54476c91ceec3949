"""Extensions on a real database, a hand-computed case: a person in central quarantine (A-301) turns
positive — the result arrives through testing's result import, reported on day 3 at 15:00. By hand:

- their measure converts; their room goes to cleaning;
- floors rule (±1 floor, same building): A-201 and A-401 restart with day 0 = day 3's date; A-501 (two
  floors up) and B-301 (another building) do not;
- their household member at home (secondary contact, household H1) restarts as a close contact in
  central quarantine (day N = day 3 + 10), with a room-assignment task;
- a secondary contact linked to them (`contact_of`) becomes a close contact too, with a task.
Every restart is an event with the rule and the pack version, audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from control_factories import build_world, make_id, person
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.models import Measure, MeasureEvent
from fangkong.control.service.status import status_as_of
from fangkong.control.sites.service import sites as sites_service
from fangkong.control.sites.service import stays as stays_service
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.tasks.models import Task

TZ = dt.timezone(dt.timedelta(hours=8))
D0 = dt.date(2022, 4, 18)


def t(day: int, hour: float = 9) -> dt.datetime:
    return dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(0), tzinfo=TZ) + dt.timedelta(hours=hour)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(t(0, 10)):
        yield


def _central(session: Session, w, seq: int, name: str, room_id: int) -> Measure:
    pid = person(session, w, seq, name)
    m = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="close_contact",
                                      rule="categories.close_contact", started_at=t(0, 10), exposure_at=t(0, 8),
                                      planned=True)
    stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[m.id], room_id=room_id, at=t(0, 10))
    stays_service.arrive(session, SYSTEM_ACTOR, measure_id=m.id, at=t(0, 12))
    return m


def _home(session: Session, w, seq: int, name: str, **links) -> Measure:  # type: ignore[no-untyped-def]
    pid = person(session, w, seq, name)
    m = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="secondary_contact",
                                      rule="categories.secondary_contact", started_at=t(0, 10), exposure_at=t(0, 8))
    for k, v in links.items():
        setattr(m, k, v)
    return m


def _positive(session: Session, w, seq: int, collected: dt.datetime, reported: dt.datetime) -> None:
    from fangkong.testing import service as testing_service

    with clock.frozen(collected):
        testing_service.open_tube(session, SYSTEM_ACTOR, barcode=f"P{seq}", pool_size=1, sampling_point_id=w.point.id)
        testing_service.add_sample(session, SYSTEM_ACTOR, barcode=f"P{seq}", person=make_id(seq), collected_at=collected)
    with clock.frozen(reported):
        rows = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[testing_service.ResultItem(2, {
            "tube_barcode": f"P{seq}", "result": "阳性", "lab": "常州检测", "reported_at": reported.strftime("%Y-%m-%d %H:%M")})])
    assert rows[0].status == "accepted", rows[0].issues


def test_a_positive_in_central_quarantine_converts_and_restarts_floors_household_and_linked(session: Session) -> None:
    w = build_world(session)
    site = sites_service.register_site(session, SYSTEM_ACTOR, name="湖塘宾馆", ref="HT", unit_id=w.district.id)
    room = {f"{b}-{n}": sites_service.add_room(session, SYSTEM_ACTOR, site_id=site.place_id, building=b,
                                               floor=int(n[0]), number=n).id
            for b, n in (("A", "201"), ("A", "301"), ("A", "401"), ("A", "501"), ("B", "301"))}
    pos = _central(session, w, 1, "阳某", room["A-301"])
    pos.household = "H1"
    f2, f4 = _central(session, w, 2, "二楼", room["A-201"]), _central(session, w, 3, "四楼", room["A-401"])
    f5, b3 = _central(session, w, 4, "五楼", room["A-501"]), _central(session, w, 5, "B栋", room["B-301"])
    home = _home(session, w, 6, "家属", household="H1")
    linked = _home(session, w, 7, "次密接", contact_of=pos.person_id)
    session.flush()

    reported = t(3, 15)
    _positive(session, w, 1, collected=t(3, 8), reported=reported)

    assert pos.status == "converted"
    assert sites_service.room_states(session, [sites_service.get_room(session, SYSTEM_ACTOR, room["A-301"])],
                                     at=reported)[room["A-301"]] == "cleaning"
    day3 = D0 + dt.timedelta(days=3)
    for m in (f2, f4):
        assert (m.status, m.phase, m.anchor_on, m.counts_from, m.category) == (
            "active", "central", day3, reported, "close_contact")
        assert m.planned_end_on == day3 + dt.timedelta(days=10)
    for m in (f5, b3):
        assert m.anchor_on == D0 and m.counts_from is None
    # the due tests are re-dated from the restart: day k is k days after day 3, for the restarted only
    from fangkong.control.models import DueTest

    def due_on(m: Measure) -> dict[int, dt.date]:
        return {r.day: r.due_on for r in session.execute(select(DueTest).where(
            DueTest.measure_id == m.id, DueTest.status != "cancelled")).scalars()}

    assert due_on(f2) == {k: day3 + dt.timedelta(days=k) for k in (1, 2, 3, 5, 7, 10)}
    assert due_on(home) == {k: day3 + dt.timedelta(days=k) for k in (1, 2, 3, 5, 7, 10)}
    assert due_on(f5) == {k: D0 + dt.timedelta(days=k) for k in (1, 2, 3, 5, 7, 10)}
    # the status follows the new schedule: still in central quarantine after the old day 7
    assert control_service.status_of(session, [f2.person_id], at=t(8))[f2.person_id].kind == "centralised_quarantine"
    assert control_service.status_of(session, [f5.person_id], at=t(8))[f5.person_id].kind == "home_health_monitoring"
    for m in (home, linked):
        assert (m.category, m.phase, m.anchor_on, m.planned_end_on) == (
            "close_contact", "central", day3, day3 + dt.timedelta(days=10))
    events = {e.measure_id: e for e in session.execute(select(MeasureEvent).where(
        MeasureEvent.action == "restarted")).scalars()}
    assert set(events) == {f2.id, f4.id, home.id, linked.id}
    assert (events[f2.id].rule, events[home.id].rule, events[linked.id].rule) == (
        "control.floors_rule", "extensions.household", "extensions.contact_of")
    assert events[f2.id].pack_version == f2.pack_version and events[home.id].detail["from_category"] == "secondary_contact"
    tasks = session.execute(select(Task).where(Task.kind == "control_assign_room")).scalars().all()
    assert sorted(task.subject_id for task in tasks) == sorted([home.id, linked.id])
    audited = session.execute(select(AuditEvent).where(AuditEvent.action == "measure.restarted")).scalars().all()
    assert len(audited) == 4
    # as of before the positive nothing had restarted; after it, day 0 is the report date
    [before] = status_as_of(session, at=t(3, 14), person_ids=[f2.person_id])
    [after] = status_as_of(session, at=t(3, 16), person_ids=[f2.person_id])
    assert (before.anchor_on, after.anchor_on) == (D0, day3)
    # the restarted contacts await rooms on the site page's list
    from fangkong.control.sites.routes import waiting_measures

    assert {m.id for m, _p in waiting_measures(session, SYSTEM_ACTOR)} >= {home.id, linked.id}


def test_without_the_floors_rule_only_household_and_links_restart(session: Session) -> None:
    from fangkong.control import measure_rules as mr
    from fangkong.control.sites.service import extensions

    at = t(3, 15)
    members = [mr.Member(1, 10, "close_contact", t(0), site_id=5, building="A", floor=3, central_from=t(0)),
               mr.Member(2, 20, "close_contact", t(0), site_id=5, building="A", floor=4, central_from=t(0))]
    _c, on = mr.extensions(members, [mr.Positive(10, at)], TZ, floors_rule=True)
    _c, off = mr.extensions(members, [mr.Positive(10, at)], TZ, floors_rule=False)
    assert [r.measure_id for r in on] == [2] and off == []
    assert extensions.RULES["floor"] == "control.floors_rule"


def test_a_restart_withdraws_the_missed_test_tasks_of_the_old_dates(session: Session) -> None:
    """Days 1 and 2 were missed and chased by tasks; a positive on the floor below restarts the measure on
    day 3: those tasks chase dates that no longer count, so they are withdrawn (with the reason, the old
    day and date kept in their detail), the re-dated due tests hold no task, and the job makes none for
    the old dates."""
    from fangkong.control.models import DueTest
    from fangkong.kernel.tasks.models import TaskEvent
    from fangkong.testing import service as _testing  # noqa: F401  (the sample source the job needs)

    w = build_world(session)
    site = sites_service.register_site(session, SYSTEM_ACTOR, name="湖塘宾馆", ref="HT", unit_id=w.district.id)
    room = {n: sites_service.add_room(session, SYSTEM_ACTOR, site_id=site.place_id, building="A", floor=int(n[0]),
                                      number=n).id for n in ("201", "301")}
    pos = _central(session, w, 1, "阳某", room["201"])
    m = _central(session, w, 2, "三楼", room["301"])
    session.flush()
    made = control_service.create_missed_tasks(session, SYSTEM_ACTOR, at=t(3, 13))
    chased = {r.day: r.task_id for r in session.execute(select(DueTest).where(
        DueTest.measure_id == m.id, DueTest.task_id.is_not(None))).scalars()}
    assert made["tasks"] == 4 and set(chased) == {1, 2}  # days 1 and 2 of both

    _positive(session, w, 1, collected=t(3, 8), reported=t(3, 15))
    assert pos.status == "converted" and m.anchor_on == D0 + dt.timedelta(days=3)
    for day, task_id in chased.items():
        task = session.get(Task, task_id)
        assert task is not None and task.status == "cancelled", (day, task.status if task else None)
        assert task.detail["day"] == day and task.detail["due_on"] == (D0 + dt.timedelta(days=day)).isoformat()
        [event] = session.execute(select(TaskEvent).where(TaskEvent.task_id == task_id,
                                                          TaskEvent.event == "cancelled")).scalars().all()
        assert "重新计算" in event.detail["reason"] and f"第{day}天" in event.detail["reason"]
    rows = session.execute(select(DueTest).where(DueTest.measure_id == m.id, DueTest.status != "cancelled")).scalars()
    assert all(r.task_id is None and r.due_on > D0 + dt.timedelta(days=3) for r in rows)
    again = control_service.create_missed_tasks(session, SYSTEM_ACTOR, at=t(3, 16))
    assert again["tasks"] == 0
    # the converted person's own missed-test tasks are withdrawn too: tracing takes over
    own = session.execute(select(DueTest).where(DueTest.measure_id == pos.id)).scalars().all()
    assert own and all(r.task_id is None for r in own)
    assert not session.execute(select(Task).where(Task.kind == "control_missed_test", Task.status == "open",
                                                  Task.subject_id == pos.person_id)).scalars().all()
