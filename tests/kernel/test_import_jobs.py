"""An import submitted from a page runs as a job (页面导入任务): the upload is stored, the request answers
at once with the job's progress view (polled every second), the import runs after the request's commit
in a unit of work of its own as the submitting user, and the per-row report is shown and downloadable."""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.intake import imports as intake_imports
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.imports import service as imports_service
from fangkong.kernel.imports.models import ImportJob

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "intake"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from intake_factories import NOW, Tree, make_id
from web_world import PASSWORD, login

ADDR = "幸福路12号3幢2单元301室"
FILE = f"上报名单\n姓名,身份证号,手机号,现住址,编号\n张三,{make_id()},13812345678,{ADDR},X1\n王五,,,,X2\n"


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def tree(session: Session) -> Tree:
    t = Tree(session)
    for name, role, unit in (("staff", "community", t.community), ("other", "community", None),
                             ("street1", "street", t.street)):
        if unit is None:  # a community of another street: outside staff's jurisdiction and staff outside its
            from fangkong.kernel.jurisdictions import service as jurisdictions_service

            s2 = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="320412002", name="牛塘镇",
                                                   level="street", parent_code=t.district.code)
            unit = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="320412002001", name="青云社区",
                                                     level="community", parent_code=s2.code)
        auth_service.create_user(session, SYSTEM_ACTOR, username=name, role=role, unit_code=unit.code,
                                 password=PASSWORD)
    session.flush()
    return t


def _job(session: Session, job_id: int) -> ImportJob:
    session.expire_all()
    job = session.get(ImportJob, job_id)
    assert job is not None
    return job


def test_a_lead_file_from_the_page_runs_as_a_job_as_the_person_who_sent_it(client: TestClient, session: Session,
                                                                          tree: Tree) -> None:
    csrf = login(client, "staff")
    with clock.frozen(NOW):
        r = client.post("/leads/import", data={"csrf_token": csrf, "channel": "employer"},
                        files={"file": ("名单.csv", FILE.encode("utf-8"), "text/csv")}, follow_redirects=False)
    # the request answers with the progress view; the import ran after its commit
    assert r.status_code == 303, r.text
    job_id = int(re.fullmatch(r"/imports/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    job = _job(session, job_id)
    staff = auth_service.actor_for(session, "staff")
    assert (job.status, job.rows, job.counts, job.actor_id) == ("done", 2, {"accepted": 1, "rejected": 1},
                                                               staff.user_id)
    assert imports_service.upload_path(job) is None  # the upload is not kept once imported
    page = client.get(f"/imports/{job_id}")
    assert page.status_code == 200 and 'data-status="done"' in page.text and "every 1s" not in page.text
    assert re.search(r'status-accepted"[^>]*>已接收<', page.text) and re.search(r'status-rejected"[^>]*>已拒绝<', page.text)
    assert re.search(r'href="/leads/\d+">线索 #\d+', page.text)
    report = client.get(f"/imports/{job_id}/report.csv")
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["row", "status", "person_id", "issues", "lead_id"]
    assert [(x[0], x[1]) for x in lines[1:]] == [("3", "accepted"), ("4", "rejected")]
    # every audit row of the import names the person who sent the file
    actions = session.execute(select(AuditEvent.action, AuditEvent.actor_name).where(
        AuditEvent.action.in_(["import.submitted", "intake.leads_received", "person.registered", "task.created",
                               "import.finished"]))).all()
    assert {a for a, _ in actions} == {"import.submitted", "intake.leads_received", "person.registered",
                                       "task.created", "import.finished"}
    assert {n for _, n in actions} == {"staff"}
    # someone of another jurisdiction does not see the job, nor its report
    client.post("/logout", data={"csrf_token": csrf})
    login(client, "other")
    assert client.get(f"/imports/{job_id}").status_code == 404
    assert client.get(f"/imports/{job_id}/report.csv").status_code == 404


def test_the_progress_view_polls_until_the_job_has_run(client: TestClient, session: Session, tree: Tree,
                                                       session_factory: sessionmaker[Session]) -> None:
    staff = auth_service.actor_for(session, "staff")
    with clock.frozen(NOW):
        job = imports_service.submit(session, staff, kind=intake_imports.LEADS, filename="名单.csv",
                                     stream=io.BytesIO(FILE.encode()), options={"channel": "employer"})
    session.flush()
    login(client, "staff")
    queued = client.get(f"/imports/{job.id}")
    assert queued.status_code == 200 and 'data-status="queued"' in queued.text
    assert f'hx-get="/imports/{job.id}/status"' in queued.text and 'hx-trigger="every 1s"' in queued.text
    fragment = client.get(f"/imports/{job.id}/status")
    assert fragment.text.lstrip().startswith("<section") and "every 1s" in fragment.text
    assert client.get(f"/imports/{job.id}/report.csv").status_code == 404  # no report before the run
    with clock.frozen(NOW):
        imports_service.run(job.id, session_factory)
    done = client.get(f"/imports/{job.id}/status")
    assert 'data-status="done"' in done.text and "every 1s" not in done.text and "import-report" in done.text


def test_a_job_fails_cleanly_and_says_why(client: TestClient, session: Session, tree: Tree,
                                          session_factory: sessionmaker[Session]) -> None:
    staff = auth_service.actor_for(session, "staff")
    with clock.frozen(NOW):
        job = imports_service.submit(session, staff, kind=intake_imports.LEADS, filename="名单.csv",
                                     stream=io.BytesIO(FILE.encode()), options={"channel": "employer"})
        # the submitter is disabled before the job runs: it must not run with their old permissions
        auth_service.set_active(session, SYSTEM_ACTOR, user_id=staff.user_id, active=False)
        session.flush()
        imports_service.run(job.id, session_factory)
    job = _job(session, job.id)
    assert job.status == "failed" and job.error and job.error["code"] == "import.submitter_gone"
    login(client, "street1")  # the street sees its community's imports
    page = client.get(f"/imports/{job.id}")
    assert 'data-testid="import-failed"' in page.text and "提交该文件的用户已无法登录" in page.text
    from fangkong.intake.models import Lead

    assert session.execute(select(Lead)).first() is None  # nothing stored


def test_unusable_and_wrong_files_are_refused_at_once(client: TestClient, session: Session, tree: Tree) -> None:
    csrf = login(client, "staff")
    unusable = client.post("/leads/import", data={"csrf_token": csrf, "channel": "employer"},
                           files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
    wrong = client.post("/leads/import", data={"csrf_token": csrf, "channel": "employer"},
                        files={"file": ("x.txt", b"hello", "text/plain")})
    assert unusable.status_code == 422 and "未保存任何数据" in unusable.text
    assert wrong.status_code == 422
    assert session.execute(select(ImportJob)).first() is None


# --- in a real browser, against a served site (a real worker thread, a real SQLite file) --------------

@pytest.mark.browser
def test_the_progress_view_in_a_browser(live_site: Any, chromium: Any, tmp_path: Path) -> None:
    from browser_support import BROWSER_TIMEOUT_MS
    from playwright.sync_api import expect

    def build(session: Session) -> None:
        Tree(session)
        auth_service.create_user(session, SYSTEM_ACTOR, username="staff", role="community",
                                 unit_code="320412001001", password=PASSWORD)

    site = live_site(build)
    upload = tmp_path / "名单.csv"
    upload.write_text(FILE, encoding="utf-8")
    page = chromium.new_context(locale="zh-CN").new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(site.base + "/login")
    page.fill("#username", "staff")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(site.base + "/leads/import")
    page.select_option("#channel", "employer")
    page.set_input_files("#file", str(upload))
    page.click("[data-testid=lead-import] button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+$"))
    expect(page.locator("[data-testid=import-job]")).to_have_attribute("data-status", "done")
    expect(page.locator("[data-testid=status-accepted]")).to_have_count(1)
    expect(page.locator("[data-testid=status-rejected]")).to_have_count(1)
    with page.expect_download() as info:
        page.click("[data-testid=import-report-download]")
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "row,status,person_id,issues,lead_id"


@pytest.mark.browser
def test_the_progress_view_answers_while_the_import_holds_the_write_lock(live_site: Any) -> None:
    """On SQLite an import holds the write lock until it ends; the progress view only reads, so it still
    answers (a request that began as a writer would wait for the import, then fail)."""
    import threading

    import httpx

    from fangkong.kernel.people import service as people_service
    from fangkong.kernel.tabular import ReportRow

    holding, release = threading.Event(), threading.Event()

    def run(session: Session, actor: Any, path: Path, *, progress: Any) -> list[ReportRow]:
        people_service.register_person(session, actor, name="锁住写入", phone="13900001111")  # the write lock
        progress(7)
        holding.set()
        release.wait(120)
        return [ReportRow(1, "accepted")]

    imports_service.register_import("test.holds_the_lock", label="Lead import report", permission="lead.import",
                                    run=run)

    def build(session: Session) -> str:
        Tree(session)
        auth_service.create_user(session, SYSTEM_ACTOR, username="staff", role="community",
                                 unit_code="320412001001", password=PASSWORD)
        session.flush()
        return auth_service.create_token(session, SYSTEM_ACTOR, username="staff")[1]

    site = live_site(build)
    headers = {"Authorization": f"Bearer {site.data}"}
    with site.factory() as session:
        staff = auth_service.actor_for(session, "staff")
        job = imports_service.submit(session, staff, kind="test.holds_the_lock", filename="x.csv",
                                     stream=io.BytesIO(b"a\n1\n"))
        session.commit()
        job_id = job.id
    worker = threading.Thread(target=imports_service.run, args=(job_id, site.factory), daemon=True)
    worker.start()
    try:
        assert holding.wait(120), "the import did not start"
        running = httpx.get(f"{site.base}/imports/{job_id}/status", headers=headers, timeout=120)
        assert running.status_code == 200, running.text
        assert 'data-status="running"' in running.text and "已处理 7 行" in running.text
    finally:
        release.set()
        worker.join(120)
    done = httpx.get(f"{site.base}/imports/{job_id}/status", headers=headers, timeout=120)
    assert 'data-status="done"' in done.text
