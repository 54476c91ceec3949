"""A positive pool's single-tube retest task is closed by the lab's result, or by a result chosen by hand
with a note saying where it comes from — never from a form with 阴性 already ticked."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from signin import sign_in
from sqlalchemy import select
from testing_factories import NOW, make_id, person

from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import ValidationFailed
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.tasks.models import Task
from fangkong.testing import kinds, service
from fangkong.testing.service.results import ResultItem

PASSWORD = "correct-horse-9"


def _positive_pool(session, tree, pids_seq: list[int], barcode: str = "RP-1") -> None:
    service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=len(pids_seq), sampling_point_id=tree.point.id)
    for seq in pids_seq:
        service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=make_id(seq),
                           collected_at=NOW - dt.timedelta(hours=3))
    rows = service.ingest_results(session, SYSTEM_ACTOR, items=[ResultItem(1, {
        "tube_barcode": barcode, "result": "阳性", "ct": "30", "lab": "常州检测",
        "reported_at": (NOW - dt.timedelta(hours=1)).isoformat()})])
    assert rows[0].status == "accepted", rows[0].issues


def _retest_task(session, pid: int) -> Task:
    return session.execute(select(Task).where(Task.kind == kinds.RETEST, Task.subject_id == pid)).scalar_one()


def test_the_retest_form_preselects_nothing_and_refuses_a_result_without_its_source(client, session, tree, at_now):
    a = person(session, 1, tree.grid_a)
    b = person(session, 2, tree.grid_a)
    _positive_pool(session, tree, [1, 2])
    auth_service.create_user(session, SYSTEM_ACTOR, username="rt_grid", role="grid", unit_code=tree.grid_a.code,
                             password=PASSWORD)
    session.flush()
    r = sign_in(client, "rt_grid", PASSWORD)
    assert r.status_code == 303
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)
    task = _retest_task(session, a)
    inbox = client.get("/tasks")
    card = re.search(rf'<li[^>]*data-testid="task-{task.id}".*?</li>', inbox.text, re.S).group(0)
    radios = re.findall(r'<input type="radio" name="outcome_code"[^>]*>', card)
    assert len(radios) == len(kinds.RETEST_OUTCOMES)
    assert not any("checked" in radio for radio in radios)  # 阴性 is not ticked for the worker

    # no result chosen: refused; a result chosen by hand without saying where it comes from: refused
    assert client.post(f"/tasks/{task.id}/complete", data={"csrf_token": csrf}).status_code == 422
    r = client.post(f"/tasks/{task.id}/complete", data={"csrf_token": csrf, "outcome_code": "negative"})
    assert r.status_code == 422
    session.refresh(task)
    assert task.status == "open"
    with pytest.raises(ValidationFailed):
        tasks_service.complete_task(session, auth_service.actor_for(session, "rt_grid"), task.id,
                                    outcome_code="negative", note="  ")
    # entered explicitly, with its source: closed, and the audit log keeps who typed what and why
    r = client.post(f"/tasks/{task.id}/complete", data={"csrf_token": csrf, "outcome_code": "negative",
                                                        "note": "市一院检验科报告 2022-0418-031"})
    assert r.status_code == 200, r.text
    session.refresh(task)
    assert (task.status, task.outcome_code) == ("done", "negative")
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "task.completed",
                                                     AuditEvent.object_id == str(task.id))).scalar_one()
    assert event.detail["entered_by_hand"] is True and "2022-0418-031" in event.detail["note"]
    # "not reached" is no result: no note needed
    other = _retest_task(session, b)
    assert client.post(f"/tasks/{other.id}/complete", data={"csrf_token": csrf, "outcome_code": "not_reached"}
                       ).status_code == 200


def test_the_lab_result_closes_the_retest_by_itself(session, tree, at_now):
    a = person(session, 3, tree.grid_a)
    person(session, 4, tree.grid_a)
    _positive_pool(session, tree, [3, 4], barcode="RP-2")
    service.open_tube(session, SYSTEM_ACTOR, barcode="RS-1", pool_size=1, sampling_point_id=tree.point.id)
    service.add_sample(session, SYSTEM_ACTOR, barcode="RS-1", person=make_id(3), collected_at=NOW)
    service.ingest_results(session, SYSTEM_ACTOR, items=[ResultItem(1, {
        "tube_barcode": "RS-1", "result": "阴性", "lab": "常州检测", "reported_at": NOW.isoformat()})])
    task = _retest_task(session, a)
    assert (task.status, task.outcome_code) == ("done", "negative")
    assert task.outcome == {"tube_barcode": "RS-1"}  # from the lab's tube, no note needed
    assert _retest_task(session, _other(session, a)).status == "open"


def _other(session, pid: int) -> int:
    return session.execute(select(Task.subject_id).where(Task.kind == kinds.RETEST, Task.subject_id != pid)
                           ).scalar_one()
