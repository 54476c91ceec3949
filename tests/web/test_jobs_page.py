"""The scheduled-jobs page (定时作业): what runs when, and how the last runs went."""

from __future__ import annotations

import datetime as dt

from web_world import add_user, build_world, login

from fangkong.kernel import clock
from fangkong.kernel.scheduler import service as scheduler

CST = dt.timezone(dt.timedelta(hours=8))


def test_the_jobs_page_lists_jobs_and_runs_for_admins_only(client, session, session_factory):
    w = build_world(session)
    admin = add_user(session, "jobs_admin", "admin", w.district)
    with clock.frozen(dt.datetime(2022, 4, 18, 9, 7, tzinfo=CST)):
        scheduler.tick(session_factory, jobs={"tasks.escalate": scheduler.registered()["tasks.escalate"]})
    login(client, admin)
    page = client.get("/jobs")
    assert page.status_code == 200
    assert "逾期任务上报上级单位" in page.text and "成功" in page.text and "定时作业" in page.text
    client.cookies.clear()
    login(client, w.worker_username)
    assert client.get("/jobs").status_code == 403
