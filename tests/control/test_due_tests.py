"""After a measure starts, the next work exists: every test day of every measure is a due test (应检日),
done by a sample collected on its day, shown on the person page, the samplers' lists and the API; a
missed one becomes one task (however often the job runs); ending or extending the measure updates
the list. Every number comes from the policy pack."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from control_factories import NOW, build_world, login, person, sample, user
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.control import cli as _control_cli  # noqa: F401  (registers the job, as `fangkong` does)
from fangkong.control import service as control_service
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import JOBS
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks.models import Task

DAY = dt.timedelta(days=1)
H = dt.timedelta(hours=1)
START_DAY = NOW.date()


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _at(day: int, hour: int) -> dt.datetime:
    """Local `hour` o'clock on day `day` of a measure started at NOW."""
    return dt.datetime.combine(START_DAY + dt.timedelta(days=day - 1), dt.time(hour), tzinfo=NOW.tzinfo)


def _day_end(day: int) -> dt.datetime:
    return _at(day + 1, 0)


def _on(day: int, hour: int) -> dt.datetime:
    """Local `hour` o'clock on day `day` of a measure that ends on its day count (day 0 = the start's
    date when its anchor is the start: test day k falls k days later)."""
    return dt.datetime.combine(START_DAY + dt.timedelta(days=day), dt.time(hour), tzinfo=NOW.tzinfo)


def _due_on(cat, day: int) -> dt.date:
    """A test day's date: from day 0 for a category that ends on its day count, from day 1 = the start
    for one that ends on negatives."""
    return START_DAY + dt.timedelta(days=day if cat.until_negatives is None else day - 1)


def _start(session, pid, category, **kw):
    return control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category=category,
                                         rule=f"categories.{category}", started_at=NOW, **kw)


def _by_day(session, pid, at=None):
    return {v.day: v for v in control_service.due_tests_of_person(session, pid, at=at or NOW)}


CATEGORIES_WITH_TESTS = ["close_contact", "secondary_contact", "inbound_traveller", "high_risk_area",
                         "medium_risk_area", "low_risk_area", "colocation", "case_discharge", "truck_driver",
                         "positive_pool_member"]


@pytest.mark.parametrize("category", CATEGORIES_WITH_TESTS)
def test_every_test_day_of_every_measure_is_a_due_test(session: Session, category: str) -> None:
    w = build_world(session)
    pack = policy_service.active_pack(session)
    cat = pack.category(category)
    pid = person(session, w, 10, "测试人")
    at_site = any(pack.measure(p.measure).kind == "centralised_quarantine" for p in cat.phases)
    _start(session, pid, category, **({"place_kind": "site", "place_id": w.site.id} if at_site else {}))
    due = control_service.due_tests_of_person(session, pid, at=NOW)
    schedule = cat.test_schedule()
    assert schedule, "every category listed here has test days in the pack"
    assert [v.day for v in due] == [d for d, _m in schedule]
    assert [v.phase_measure for v in due] == [m for _d, m in schedule]
    assert [v.due_on for v in due] == [_due_on(cat, d) for d, _m in schedule]
    for v in due:
        kind = pack.measure(v.phase_measure).kind
        assert v.phase_kind == kind
        assert (v.place_kind, v.site_id) == (("site", w.site.id) if kind == "centralised_quarantine" else ("home", None))
    until = cat.until_negatives
    if until is not None and until.within_days:
        n = len(due)
        for k, v in enumerate(due, start=1):
            assert v.window_end_on == START_DAY + dt.timedelta(days=max(v.day, until.within_days - (n - k)) - 1)
            assert v.min_gap_hours == (until.min_gap_hours if k > 1 else 0)
    else:
        assert all(v.window_end_on == v.due_on for v in due)
    assert all(v.state == ("due" if v.due_on == START_DAY else "upcoming") for v in due)


def test_a_sample_collected_on_the_day_does_the_test(session: Session) -> None:
    w = build_world(session)
    pid = person(session, w, 11, "钱密接")
    # sampled this morning at the site, before the verification started the measure: day 0 is no test day
    sample(session, w, 11, NOW - 2 * H, "DT-0")
    m = _start(session, pid, "close_contact", place_kind="site", place_id=w.site.id)
    assert min(_by_day(session, pid)) == 1 and _by_day(session, pid)[1].state == "upcoming"
    sample(session, w, 11, _on(1, 7), "DT-1")
    days = _by_day(session, pid, _on(1, 8))
    assert days[1].state == "done" and days[1].sampled_at == _on(1, 7)
    # day 4 is not a test day: its sample does not do day 5's test; day 5's sample does (its result does not matter)
    sample(session, w, 11, _on(4, 10), "DT-4")
    assert _by_day(session, pid, _on(5, 8))[5].state == "due"
    sample(session, w, 11, _on(5, 23), "DT-5")
    days = _by_day(session, pid, _on(6, 8))
    assert days[5].state == "done" and days[5].sampled_at == _on(5, 23)
    assert days[2].state == days[3].state == "missed" and days[7].state == "upcoming"
    # the home day of the close contact's home health monitoring is a due test too
    home_day = max(days)
    assert days[home_day].phase_kind == "home_health_monitoring" and days[home_day].place_kind == "home"
    assert m.test_dates == [v.due_on.isoformat() for v in control_service.due_tests_of_person(session, pid, at=NOW)]


def test_three_days_two_tests_need_the_gap_within_the_window(session: Session) -> None:
    w = build_world(session)
    pack = policy_service.active_pack(session)
    until = pack.category("colocation").until_negatives
    assert until is not None and until.min_gap_hours and until.within_days
    pid = person(session, w, 12, "孙伴随")
    _start(session, pid, "colocation")
    first = _at(1, 20)
    sample(session, w, 12, first, "TT-1")
    too_soon = first + dt.timedelta(hours=until.min_gap_hours) - H
    sample(session, w, 12, too_soon, "TT-2")
    days = _by_day(session, pid, too_soon + H)
    assert days[1].state == "done" and days[1].sampled_at == first
    second_day = max(days)
    assert days[second_day].state == "due"  # 13 hours is not 24: still due, its window runs to day 3
    late = first + dt.timedelta(hours=until.min_gap_hours) + H
    sample(session, w, 12, late, "TT-3")
    days = _by_day(session, pid, late + H)
    assert days[second_day].state == "done" and days[second_day].sampled_at == late


def test_a_missed_test_day_becomes_one_task(session: Session) -> None:
    w = build_world(session)
    grace = policy_service.active_pack(session).sla("missed_test_grace")
    pid = person(session, w, 13, "李次密")
    pool = person(session, w, 14, "周混采")
    m = _start(session, pid, "secondary_contact")
    _start(session, pool, "positive_pool_member", chase_missed=False)  # its retest task chases it
    job = JOBS["control.missed_tests"]

    def tasks() -> list[Task]:
        return list(session.execute(select(Task).where(Task.kind == "control_missed_test")).scalars())

    before = _on(2, 0) + grace - dt.timedelta(minutes=1)
    assert job(session, at=before.isoformat())["tasks"] == 0
    after = _on(2, 0) + grace + dt.timedelta(minutes=1)
    assert job(session, at=after.isoformat())["tasks"] == 1
    assert job(session, at=after.isoformat())["tasks"] == 0
    assert control_service.create_missed_tasks(session, SYSTEM_ACTOR, at=after + H)["tasks"] == 0
    [task] = tasks()
    day1 = _by_day(session, pid, after)[1]
    assert (task.unit_id, task.subject_type, task.subject_id, task.status) == (m.unit_id, "person", pid, "open")
    assert task.detail["due_test_id"] == day1.id and day1.task_id == task.id and day1.state == "missed"
    assert task.rule == "sla_hours.missed_test_grace" and task.due_at == after + grace
    # a sample collected on day 1 that reaches the system late does the test and closes the task
    sample(session, w, 13, _on(1, 15), "MT-1")
    assert _by_day(session, pid, after)[1].state == "done"
    session.refresh(task)
    assert (task.status, task.outcome_code) == ("done", "sampled")
    assert job(session, at=(after + DAY).isoformat())["tasks"] == 0
    # an ended measure's missed days make no task
    control_service.end_measure(session, SYSTEM_ACTOR, measure_id=m.id, reason="released", at=_on(3, 8))
    far = _on(8, 0) + grace + H
    assert control_service.create_missed_tasks(session, SYSTEM_ACTOR, at=far)["tasks"] == 0
    assert len(tasks()) == 1


def test_ending_and_extending_update_the_due_list(session: Session) -> None:
    w = build_world(session)
    pid = person(session, w, 15, "吴中风险")
    m = _start(session, pid, "medium_risk_area")
    last = max(_by_day(session, pid))
    control_service.extend_measure(session, SYSTEM_ACTOR, measure_id=m.id, days=3, reason="new exposure",
                                   at=_at(2, 9))
    days = _by_day(session, pid)
    assert max(days) == last + 3 and last in days  # the test before release moves with the end
    assert m.planned_end_at == NOW + dt.timedelta(days=policy_service.active_pack(session).category(
        "medium_risk_area").total_days + 3)
    sample(session, w, 15, _on(1, 10), "EX-1")
    control_service.end_measure(session, SYSTEM_ACTOR, measure_id=m.id, reason="released", at=_on(2, 9))
    all_days = {v.day: v for v in control_service.due_tests_of_person(session, pid, at=_on(2, 9),
                                                                      include_cancelled=True)}
    assert all_days[1].state == "done"
    assert {d for d, v in all_days.items() if v.state == "cancelled"} == set(all_days) - {1}
    assert control_service.due_tests_of_person(session, pid, at=_on(2, 9))[0].day == 1  # the done one stays


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_due_tests_show_on_the_person_page_the_sampling_lists_and_the_api(client: TestClient,
                                                                         session: Session) -> None:
    w = build_world(session)
    at_home = person(session, w, 16, "郑居家")
    at_site = person(session, w, 17, "冯集中")
    _start(session, at_home, "secondary_contact")
    _start(session, at_site, "high_risk_area", place_kind="site", place_id=w.site.id)
    sample(session, w, 17, NOW + DAY + H, "SL-1")  # day 1 of both measures is tomorrow
    user(session, "c_sampler", "sampler", w.community)
    user(session, "c_other", "sampler", w.other)
    session.flush()
    with clock.frozen(NOW + DAY + 2 * H):
        _lists_and_api(client, session, at_home, at_site)


def _lists_and_api(client: TestClient, session: Session, at_home: int, at_site: int) -> None:
    day1 = START_DAY + DAY
    login(client, "c_sampler")
    page = client.get("/sampling")
    assert page.status_code == 200 and 'data-testid="sampling-due"' in page.text
    assert f'data-person="{at_home}"' in page.text and f'data-person="{at_site}"' in page.text
    assert 'data-state="due"' in page.text and 'data-state="done"' in page.text and "湖塘隔离酒店" in page.text
    listed = client.get(f"/due-tests?on={day1.isoformat()}&place_kind=site")
    assert listed.status_code == 200 and f'data-person="{at_site}"' in listed.text
    assert f'data-person="{at_home}"' not in listed.text
    api = client.get("/api/v1/due-tests", params={"on": day1.isoformat(), "state": "due"}).json()
    assert [i["person_id"] for i in api["items"]] == [at_home]
    assert api["items"][0]["due_on"] == day1.isoformat() and api["items"][0]["kind"] == "home_quarantine"
    section = client.get(f"/persons/{at_home}/control", headers={"HX-Request": "true"})
    assert section.status_code == 200 and section.text.count('data-state="') == len(
        policy_service.active_pack(session).category("secondary_contact").test_schedule())
    mine = client.get(f"/api/v1/persons/{at_site}/control").json()
    assert mine["due_tests"][0]["state"] == "done"
    # another district's sampler sees none of them
    client.post("/logout")
    login(client, "c_other")
    assert client.get("/api/v1/due-tests").json()["items"] == []
    assert client.get(f"/api/v1/persons/{at_home}/control").status_code == 404
