"""Never on real data (issue #17): a production database refuses to start with FANGKONG_NOW set
(`serve`, jobs, the app's start-up); a drill database says so everywhere — the red 演练 DRILL banner on
every page, `X-Fangkong-Mode: drill` on every response, the 演练 watermark on every XLSX (exports, the
daily report) and PDF (notices, the daily report) — and its SMS, pushes and assist requests stay in the
outbox, never sent."""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from fangkong import cli
from fangkong.app import create_app
from fangkong.kernel import clock, db, drillmark, export
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.bootstrap import ModeMismatch, initialise
from fangkong.kernel.cli_support import CliError
from fangkong.kernel.messaging import service as messaging
from fangkong.kernel.messaging.models import OutboxMessage
from fangkong.kernel.people import crypto
from fangkong.settings import reset_settings_cache

NOW = "2022-04-19T08:00:00+08:00"


@pytest.fixture
def drill() -> Iterator[None]:
    """The process in drill mode, as a drill database's start-up leaves it (the autouse fixture resets)."""
    clock.configure("drill")
    yield
    clock.configure("test")


# --- a production database refuses a fixed clock -------------------------------------------------------

@pytest.fixture
def own_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[callable]:
    """`own_db(mode)`: a database of its own in tmp_path, initialised in `mode`, used by the CLI and the app."""
    url = f"sqlite:///{tmp_path / 'own.db'}"
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    monkeypatch.delenv("FANGKONG_NOW", raising=False)
    reset_settings_cache()
    crypto.reset_keys()
    previous = db._engine
    engines = []

    def make(mode: str | None) -> None:
        engine = db.make_engine(url)
        engines.append(engine)
        with Session(engine) as session:
            initialise(engine, session, mode=mode)
            session.commit()
        db.set_engine(engine)

    yield make
    db.set_engine(previous)
    for engine in engines:
        engine.dispose()
    monkeypatch.undo()
    reset_settings_cache()
    crypto.reset_keys()
    clock.configure("test")


def _run(*args: str) -> tuple[int, str]:
    cli._load_commands()
    result = CliRunner().invoke(cli.app, list(args))
    if isinstance(result.exception, CliError):
        return result.exception.code, result.output + str(result.exception)
    return result.exit_code, result.output


def test_production_refuses_serve_and_jobs_with_a_fixed_clock(own_db, monkeypatch: pytest.MonkeyPatch) -> None:
    own_db(None)  # production
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert _run("jobs", "run", "kernel.deliver_outbox")[0] == 0
    monkeypatch.setenv("FANGKONG_NOW", NOW)
    reset_settings_cache()
    for args in (("jobs", "run", "kernel.deliver_outbox"), ("serve", "--port", "1")):
        code, out = _run(*args)
        assert code == 1 and "FANGKONG_NOW" in out and "production database" in out, (args, out)
    # in Chinese too, and still before anything listens
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out = _run("serve", "--port", "1")
    assert code == 1 and "FANGKONG_NOW" in out and "生产" in out, out
    # the app factory (uvicorn's) refuses as well
    with pytest.raises(ModeMismatch, match="FANGKONG_NOW"):
        create_app()


def test_a_drill_database_starts_on_the_fixed_clock(own_db, monkeypatch: pytest.MonkeyPatch) -> None:
    own_db("drill")
    monkeypatch.setenv("FANGKONG_NOW", NOW)
    reset_settings_cache()
    monkeypatch.setenv("FANGKONG_SCHEDULER", "false")
    reset_settings_cache()
    app = create_app()
    assert clock.mode() == "drill" and clock.iso_local(clock.now()) == NOW
    with TestClient(app) as client:
        assert client.get("/healthz").headers["x-fangkong-mode"] == "drill"


# --- every page, every response ----------------------------------------------------------------------

@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory)) as c:
        yield c


def test_the_red_drill_banner_on_every_page(client: TestClient, drill: None) -> None:
    for url in ("/login", "/report", "/tip", "/my-test", "/self-test"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert 'data-mode="drill"' in page.text and "演练 DRILL" in page.text and "background:#c00000" in page.text
    assert "不会发出平台" in client.get("/login").text
    clock.configure("test")
    page = client.get("/login").text
    assert 'data-mode="test"' in page and "演练 DRILL" not in page
    clock.configure("production")
    assert "mode-banner" not in client.get("/login").text


def test_every_response_names_the_drill(client: TestClient, drill: None) -> None:
    for method, url in (("GET", "/login"), ("GET", "/api/v1/leads"), ("GET", "/api/v1/nope"),
                        ("POST", "/api/v1/leads"), ("GET", "/static/css/app.css"), ("GET", "/healthz")):
        r = client.request(method, url)
        assert r.headers.get("x-fangkong-mode") == "drill", (method, url, r.status_code)
    clock.configure("production")
    assert "x-fangkong-mode" not in client.get("/api/v1/leads").headers


# --- every XLSX and PDF -------------------------------------------------------------------------------

def _drill_marked(path: Path) -> None:
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        assert "演练" in ws.oddHeader.center.text and "非真实数据" in ws.oddFooter.center.text, ws.title
    assert wb.properties.title == drillmark.LABEL
    with zipfile.ZipFile(path) as z:  # the background tile seen on screen
        assert any(n.startswith("xl/media/") and n.endswith(".png") for n in z.namelist())


def test_exports_carry_the_watermark(session: Session, tmp_path: Path, drill: None) -> None:
    out = tmp_path / "units.xlsx"
    export.write(session, SYSTEM_ACTOR, "units", out=out)
    _drill_marked(out)
    clock.configure("test")
    plain = tmp_path / "plain.xlsx"
    export.write(session, SYSTEM_ACTOR, "units", out=plain)
    assert not openpyxl.load_workbook(plain).worksheets[0].oddHeader.center.text


def _pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_the_daily_report_carries_the_watermark(session: Session, tmp_path: Path, drill: None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "command"))
    from command_factories import CUTOFF, DAY, H, actor, build_tree

    from fangkong.command.service.report import write_report

    tree = build_tree(session)
    with clock.frozen(CUTOFF + H):
        write_report(session, actor(tree.root), day=DAY, unit_code="D1", out=tmp_path / "day.xlsx")
        write_report(session, actor(tree.root), day=DAY, unit_code="D1", out=tmp_path / "day.pdf")
    _drill_marked(tmp_path / "day.xlsx")
    assert "演练 DRILL" in _pdf_text((tmp_path / "day.pdf").read_bytes())
    clock.configure("test")
    with clock.frozen(CUTOFF + H):
        write_report(session, actor(tree.root), day=DAY, unit_code="D1", out=tmp_path / "real.pdf")
    assert "演练" not in _pdf_text((tmp_path / "real.pdf").read_bytes())


def test_notices_carry_the_watermark(session: Session, drill: None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "control"))
    from control_factories import build_world, person

    from fangkong.control import service as control_service
    from fangkong.control.service import notices

    tz = dt.timezone(dt.timedelta(hours=8))
    w = build_world(session)
    pid = person(session, w, 1, "张演练")
    with clock.frozen(dt.datetime(2022, 4, 28, 20, tzinfo=tz)):
        m = control_service.start_measure(
            session, SYSTEM_ACTOR, person_id=pid, category="close_contact", rule="categories.close_contact",
            place_kind="home", place_id=None, started_at=dt.datetime(2022, 4, 20, 10, tzinfo=tz),
            exposure_at=dt.datetime(2022, 4, 18, 19, tzinfo=tz))
        printed = notices.issue_notices(session, SYSTEM_ACTOR, kind="home_notice", measure_ids=[m.id])
    text = _pdf_text(printed.pdf)
    assert "演练 DRILL" in text and "张演练" in text


# --- the outbox ---------------------------------------------------------------------------------------

def test_a_drill_holds_every_message(session: Session, drill: None) -> None:
    calls: list[int] = []
    messaging.register_sender("sms", lambda s, msg: calls.append(msg.id))
    try:
        msg = messaging.send(session, SYSTEM_ACTOR, channel="sms", body="请按时打卡", recipient="grid-1")
        assert (msg.status, msg.mode) == ("held", "drill")
        assert messaging.deliver_pending(session) == {"sent": 0, "retrying": 0, "failed": 0, "waiting": 0}
        # even a production start-up later never sends a drill's held message
        clock.configure("production")
        assert messaging.deliver_pending(session)["sent"] == 0
    finally:
        messaging.register_sender("sms", None)
    assert calls == [] and msg.status == "held"


def test_production_queues_and_the_sender_delivers(session: Session) -> None:
    clock.configure("production")
    sent: list[str] = []

    def flaky(s: Session, msg: OutboxMessage) -> None:
        if msg.channel == "push":
            raise ConnectionError("gateway down")
        sent.append(msg.body)

    messaging.register_sender("sms", flaky)
    messaging.register_sender("push", flaky)
    try:
        sms = messaging.send(session, SYSTEM_ACTOR, channel="sms", body="请按时打卡")
        push = messaging.send(session, SYSTEM_ACTOR, channel="push", body="x", recipient="bigdata")
        assist = messaging.send(session, SYSTEM_ACTOR, channel="assist", body="协查", recipient="南京市")
        assert (sms.status, push.status, assist.status) == ("queued", "queued", "queued")
        assert messaging.deliver_pending(session) == {"sent": 1, "retrying": 1, "failed": 0, "waiting": 1}
        assert (sms.status, sent) == ("sent", ["请按时打卡"])
        assert (push.status, push.attempts, push.error) == ("queued", 1, "ConnectionError: gateway down")
        for _ in range(messaging.MAX_ATTEMPTS - 1):
            messaging.deliver_pending(session)
        assert (push.status, push.attempts) == ("failed", messaging.MAX_ATTEMPTS)
        assert assist.status == "queued"  # no sender plugged in: the outbox is the list of what to send
    finally:
        messaging.register_sender("sms", None)
        messaging.register_sender("push", None)
    with pytest.raises(ValueError):
        messaging.send(session, SYSTEM_ACTOR, channel="fax", body="x")


def test_an_assist_request_goes_through_the_outbox(session: Session, drill: None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "intake"))
    from intake_factories import NOW as LEAD_NOW
    from intake_factories import Tree, actor_at

    from fangkong.intake.models import AssistRequest, Lead
    from fangkong.intake.service import LeadItem, ingest_leads, record_verification

    tree = Tree(session)
    with clock.frozen(LEAD_NOW):
        res = ingest_leads(session, actor_at(tree.root), channel="bigdata", items=[LeadItem(1, {
            "name": "张三", "phone": "13812345678", "address": "幸福路12号3幢2单元301室"})])
        lead = session.get(Lead, res.rows[0].extra["lead_id"])
        record_verification(session, actor_at(tree.grid1), lead_id=lead.id, outcome_code="left_city",
                            destination="南京市鼓楼区")
    req = session.execute(select(AssistRequest).where(AssistRequest.lead_id == lead.id)).scalar_one()
    msg = session.execute(select(OutboxMessage).where(OutboxMessage.subject_type == "assist_request",
                                                      OutboxMessage.subject_id == req.id)).scalar_one()
    assert (msg.channel, msg.status, msg.recipient, msg.person_id) == ("assist", "held", "南京市鼓楼区", lead.person_id)
