"""Missed test days (漏检): a test day with no sample collected on its own date is missed from 12 h
after the day ends → one task, which escalates up the units while nobody acts; a later make-up sample
closes the task (`made_up`) and counts for release, but the day stays listed as missed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from control_factories import NOW, build_world, person, sample
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.service.status import status_as_of
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.tasks.models import Task
from fangkong.testing import service as _testing  # noqa: F401  (answers for samples, as in the app)

H = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _on(day: int, hour: float) -> dt.datetime:
    """Day `day` of a measure whose day 0 is NOW's date, at `hour` local."""
    return dt.datetime.combine(NOW.date() + dt.timedelta(days=day), dt.time(0), tzinfo=NOW.tzinfo) + hour * H


def test_a_missed_day_escalates_until_made_up_and_stays_listed(session: Session) -> None:
    w = build_world(session)
    pid = person(session, w, 41, "冯次密")
    m = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="secondary_contact",
                                      rule="categories.secondary_contact", started_at=NOW)
    # day 1 passes without a sample: nothing before 12 h after its end, one task after
    assert control_service.create_missed_tasks(session, SYSTEM_ACTOR, at=_on(2, 11.9))["tasks"] == 0
    found = _on(2, 12) + dt.timedelta(minutes=1)
    assert control_service.create_missed_tasks(session, SYSTEM_ACTOR, at=found)["tasks"] == 1
    [task] = session.execute(select(Task).where(Task.kind == "control_missed_test")).scalars().all()
    assert task.due_at == found + 12 * H
    # nobody acts: it goes up to the community's parent (the grid's community, then the street …)
    with clock.frozen(found + 13 * H):
        assert tasks_service.escalate_overdue(session) >= 1
    session.refresh(task)
    assert task.escalation_level == 1
    with clock.frozen(found + 38 * H):
        tasks_service.escalate_overdue(session)
    session.refresh(task)
    assert task.escalation_level == 2
    # a make-up on day 3 closes the task; the day stays missed, and counts for release
    with clock.frozen(_on(3, 10)):
        sample(session, w, 41, _on(3, 9), "MU-1")
    session.refresh(task)
    assert (task.status, task.outcome_code) == ("done", "made_up")
    day1 = {v.day: v for v in control_service.due_tests_of_person(session, pid, at=_on(3, 12))}[1]
    assert day1.state == "missed"
    [state] = status_as_of(session, at=_on(3, 12), measures=[m])
    assert 1 in state.missed_tests
    # the job does not make the task again
    assert control_service.create_missed_tasks(session, SYSTEM_ACTOR, at=_on(3, 13))["tasks"] == 0
