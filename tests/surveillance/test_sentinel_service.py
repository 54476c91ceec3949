"""Sentinel sites, counts, the detection run and signals on a real database (SQLite, and PostgreSQL
when FANGKONG_TEST_DATABASE_URL is set): corrections with history, missing days that are never zero, a
school's school days, an injected outbreak raising one signal per series, a second run and a re-import
changing nothing, the review's three outcomes and the jurisdiction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sentinel_factories import NOW, OUTBREAK, build_city, daily_counts, epidemiologist, reporter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import Conflict, NotFound, ValidationFailed
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.tasks.models import Task
from fangkong.surveillance import kinds, rules, service
from fangkong.surveillance.models import SentinelCount, SentinelCountChange, Signal, Verdict

UNTIL = dt.date(2022, 4, 17)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _statuses(reports) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.status for r in reports]


def test_counts_duplicates_corrections_and_bad_rows(session: Session) -> None:
    c = build_city(session, "a")
    staff = reporter(c.district)
    day = "2022-04-10"
    first = service.record_counts(session, staff, [
        {"site_ref": "FCa", "date": day, "indicator": "fever_visits", "count": "12"},
        {"site_ref": "FCa", "date": day, "indicator": "ili_visits", "count": "１２.0"},
    ], source="api")
    assert _statuses(first) == ["accepted", "accepted"]
    again = service.record_counts(session, staff, [
        {"site_ref": "FCa", "date": day, "indicator": "fever_visits", "count": 12},
        {"site_ref": "FCa", "date": day, "indicator": "fever_visits", "count": 21},
    ], source="api")
    assert _statuses(again) == ["duplicate", "accepted"]
    assert [str(i) for i in again[1].issues] == ["count: corrected from 12 to 21"]
    stored = session.execute(select(SentinelCount).where(SentinelCount.indicator == "fever_visits")).scalar_one()
    assert (stored.count, stored.version) == (21, 2)
    change = session.execute(select(SentinelCountChange)).scalar_one()
    assert (change.old_count, change.new_count, change.changed_by) == (12, 21, "staff")
    bad = service.record_counts(session, staff, [
        {"site_ref": "NOPE", "date": day, "indicator": "fever_visits", "count": 1},
        {"site_ref": "PHa", "date": day, "indicator": "fever_visits", "count": 1},
        {"site_ref": "FCa", "date": "2022-04-19", "indicator": "fever_visits", "count": 1},
        {"site_ref": "FCa", "date": day, "indicator": "fever_visits", "count": "-1"},
        {"site_ref": "FCa", "date": day, "indicator": "fever_visits", "count": "1.5"},
        {"site_ref": "FWa", "date": day, "indicator": "fever_visits", "count": 1},  # the other district's site
    ], source="api")
    assert _statuses(bad) == ["rejected"] * 6
    assert [r.issues[0].field for r in bad] == ["site_ref", "indicator", "date", "count", "count", "site_ref"]


def test_run_signals_idempotence_missing_days_and_school_days(session: Session) -> None:
    c = build_city(session, "b")
    gap = dt.date(2022, 3, 20)
    reports = service.record_counts(session, SYSTEM_ACTOR, daily_counts("b", skip=(gap,)), source="file")
    assert set(_statuses(reports)) == {"accepted"}
    stats = service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
    assert stats["signals_opened"] >= 2 and stats["missing_tasks"] == 1
    # the missing day is insufficient, never a zero, and so is every verdict whose baseline holds it
    v = {x.day: x for x in session.execute(select(Verdict).where(
        Verdict.level == "site", Verdict.indicator == "fever_visits", Verdict.series_key.like("site:%"),
        Verdict.unit_path == c.district.path)).scalars()}
    assert v[gap].status == "insufficient" and v[gap].observed is None
    assert all(v[gap + dt.timedelta(days=d)].status == "insufficient" for d in range(3, 10))
    assert v[gap + dt.timedelta(days=10)].status == "judged"
    # the outbreak: one signal for the east clinic's fever visits and one for each unit above it
    sigs = session.execute(select(Signal).where(Signal.indicator == "fever_visits")).scalars().all()
    east = [s for s in sigs if s.level == "site"]
    assert len(east) == 1 and east[0].first_day == OUTBREAK and east[0].alarms >= 2
    assert {s.unit_id for s in sigs if s.level == "unit"} == {c.city.parent_id, c.city.id, c.district.id}
    task = session.get(Task, east[0].task_id)
    assert task.kind == kinds.REVIEW and task.unit_id == c.district.id and task.status == "open"
    assert task.due_at == NOW + dt.timedelta(hours=24)
    # a school reports on school days only: its weekends are not missing
    school = session.execute(select(Verdict).where(Verdict.indicator == "absent_ill",
                                                   Verdict.level == "site")).scalars().all()
    assert school and all(x.day.weekday() < 5 and x.status == "judged" for x in school)
    # a second run and a re-import change nothing
    before = session.execute(select(func.count()).select_from(Verdict)).scalar_one()
    again = service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
    assert again["judged"] == again["insufficient"] == again["signals_opened"] == again["missing_tasks"] == 0
    assert set(_statuses(service.record_counts(session, SYSTEM_ACTOR, daily_counts("b", skip=(gap,)),
                                               source="file"))) == {"duplicate"}
    assert service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)["judged"] == 0
    assert session.execute(select(func.count()).select_from(Verdict)).scalar_one() == before
    # the missing day reported late: its verdict and those whose baseline holds it are redone
    service.record_counts(session, SYSTEM_ACTOR, [{"site_ref": "FCb", "date": gap.isoformat(),
                                                  "indicator": "fever_visits", "count": 11}], source="api")  # late: past the page's cut-off
    redo = service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
    assert redo["judged"] >= 8 and redo["signals_opened"] == 0


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 40), min_size=12, max_size=30), st.randoms(use_true_random=False))
def test_reimporting_and_rerunning_in_any_order_change_nothing(session: Session, counts: list[int],
                                                              rnd: object) -> None:
    nested = session.begin_nested()
    try:
        build_city(session, "h")
        items = [{"site_ref": "FWh", "date": (dt.date(2022, 3, 1) + dt.timedelta(days=i)).isoformat(),
                  "indicator": "fever_visits", "count": n} for i, n in enumerate(counts)]
        service.record_counts(session, SYSTEM_ACTOR, items, source="api")
        first = service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
        snapshot = sorted((v.series_key, v.day, v.status, v.alarm, v.upperbound) for v in
                          session.execute(select(Verdict)).scalars())
        shuffled = list(items)
        rnd.shuffle(shuffled)  # type: ignore[attr-defined]
        assert set(_statuses(service.record_counts(session, SYSTEM_ACTOR, shuffled, source="api"))) == {"duplicate"}
        second = service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
        assert second["judged"] == second["signals_opened"] == 0 and first["series"] == second["series"]
        assert sorted((v.series_key, v.day, v.status, v.alarm, v.upperbound) for v in
                      session.execute(select(Verdict)).scalars()) == snapshot
    finally:
        nested.rollback()


def test_review_dismiss_investigate_escalate_and_scope(session: Session) -> None:
    c = build_city(session, "c")
    service.record_counts(session, SYSTEM_ACTOR, daily_counts("c"), source="file")
    service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
    epi = epidemiologist(c.district)
    west = epidemiologist(c.other, "west")
    mine = service.list_signals(session, epi)
    assert mine and all(s.unit_path.startswith(c.district.path) for s in mine)
    site_signal = next(s for s in mine if s.level == "site")
    assert service.list_signals(session, west) == [] or all(
        s.unit_path.startswith(c.other.path) for s in service.list_signals(session, west))
    with pytest.raises(NotFound):
        service.review_signal(session, west, signal_id=site_signal.id, action="dismiss")
    with pytest.raises(ValidationFailed):
        service.review_signal(session, epi, signal_id=site_signal.id, action="ignore")
    done = service.review_signal(session, epi, signal_id=site_signal.id, action="investigate", note="现场核查")
    assert done.status == "investigating" and done.field_task_id is not None
    assert session.get(Task, done.task_id).status == "done"
    assert session.get(Task, done.field_task_id).kind == kinds.FIELD
    unit_signal = next(s for s in mine if s.level == "unit" and s.unit_id == c.district.id)
    up = service.review_signal(session, epi, signal_id=unit_signal.id, action="escalate")
    assert up.status == "escalated" and up.unit_id == c.city.id
    assert session.get(Task, up.task_id).unit_id == c.city.id
    # the command centre (the tree's root) is told too, unless the parent is the root itself
    told = session.execute(select(Task.unit_id).where(Task.kind == kinds.ESCALATED,
                                                      Task.subject_id == up.id)).scalars().all()
    root = jurisdictions_service.root_unit(session)
    assert c.city.id != root.id and told == [root.id]
    with pytest.raises(NotFound):  # now the city's: outside the district epidemiologist's jurisdiction
        service.get_signal(session, epi, up.id)
    city_epi = epidemiologist(c.city, "city")
    closed = service.review_signal(session, city_epi, signal_id=up.id, action="dismiss", note="已知原因")
    assert closed.status == "closed" and closed.outcome == "dismissed"
    with pytest.raises(Conflict):
        service.review_signal(session, city_epi, signal_id=up.id, action="dismiss")


def test_an_escalation_below_the_top_also_reaches_the_command_centre(session: Session) -> None:
    """Escalating hands a signal to the parent unit and to the command centre (the tree's root)."""
    c = build_city(session, "e")
    service.record_counts(session, SYSTEM_ACTOR, daily_counts("e"), source="file")
    service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
    epi = epidemiologist(c.district)
    signal = next(s for s in service.list_signals(session, epi) if s.level == "unit" and s.unit_id == c.district.id)
    # the same signal one level lower: a community under the street
    community = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="SVKe", name="东社区",
                                                  level="community", parent_code=c.district.code)
    signal.unit_id, signal.unit_path = community.id, community.path
    session.flush()
    up = service.review_signal(session, epi, signal_id=signal.id, action="escalate")
    assert up.unit_id == c.district.id and session.get(Task, up.task_id).unit_id == c.district.id
    notices = session.execute(select(Task).where(Task.kind == kinds.ESCALATED,
                                                 Task.subject_id == signal.id)).scalars().all()
    assert [(t.unit_id, t.status) for t in notices] == [(jurisdictions_service.root_unit(session).id, "open")]
    assert "上报指挥部" in notices[0].title


def test_pure_rules() -> None:
    days = rules.reporting_days("school", dt.date(2022, 4, 1), dt.date(2022, 4, 10), [dt.date(2022, 4, 4)])
    assert [d.day for d in days] == [1, 5, 6, 7, 8]
    assert len(rules.reporting_days("pharmacy", dt.date(2022, 4, 1), dt.date(2022, 4, 10))) == 10
    assert rules.joins_signal(dt.date(2022, 4, 1), dt.date(2022, 4, 8), 7)
    assert not rules.joins_signal(dt.date(2022, 4, 1), dt.date(2022, 4, 9), 7)
    assert rules.fingerprint("ears-c2", {"baseline": 7}, [1, None]) != rules.fingerprint("ears-c2", {"baseline": 7},
                                                                                          [1, 0])


def test_the_command_screen_counts_signals_open_at_the_cut_off(session: Session) -> None:
    """未处置预警 on the command centre's indicators, by hand: every signal the run opened is open at the
    day's cut-off; one dismissed after it still counts for that day, not for the next; an escalated one
    counts at the unit it was handed to."""
    from fangkong.command import service as command_service

    c = build_city(session, "o")
    service.record_counts(session, SYSTEM_ACTOR, daily_counts("o"), source="file")
    service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
    opened = list(session.execute(select(Signal).where(Signal.unit_path.startswith(c.district.path))).scalars())
    assert len(opened) >= 2

    def open_at(unit_code: str, day: dt.date) -> float | None:
        t = command_service.indicators(session, SYSTEM_ACTOR, day=day)
        return next(r.value for r in t.rows if r.unit_code == unit_code and r.indicator == "signals.open")

    today = clock.to_local(NOW).date()
    assert open_at(c.district.code, today) == len(opened)
    city_before = open_at(c.city.code, today)
    epi = epidemiologist(c.district)
    tomorrow = NOW + dt.timedelta(days=1)
    with clock.frozen(tomorrow):
        service.review_signal(session, epi, signal_id=opened[0].id, action="dismiss", note="录入错误")
        assert open_at(c.district.code, today) == len(opened)  # closed after that day's cut-off
        assert open_at(c.district.code, clock.to_local(tomorrow).date()) == len(opened) - 1
    unit_signal = next(s for s in opened[1:] if s.level == "unit" and s.unit_id == c.district.id)
    service.review_signal(session, epi, signal_id=unit_signal.id, action="escalate")
    assert open_at(c.district.code, today) == len(opened) - 1
    assert open_at(c.city.code, today) == city_before  # handed up, still in the city's subtree
