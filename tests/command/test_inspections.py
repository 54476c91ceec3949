"""Inspections, rectification and exposure (督查整改闭环): a finding due by severity with a task, closed
only with evidence, verified by a second person (a rejection reopens), escalated when late, a repeat
flagged, published at a venue to the public list (no ID or phone), scoped; the API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from command_factories import NOW, H, actor, build_tree
from fastapi.testclient import TestClient
from signin import user_headers
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from fangkong import cli
from fangkong.app import create_app
from fangkong.command.jobs import rectification_escalation
from fangkong.command.service import inspections
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import CliError
from fangkong.kernel.errors import Conflict, NotFound, ValidationFailed
from fangkong.kernel.places import service as places_service
from fangkong.kernel.tasks.models import Task

PHOTO = inspections.Evidence("整改照片.jpg", b"\xff\xd8\xff\xe0 a photo")


def _venue(session: Session, unit_id: int, name: str = "万达广场", address: str = "幸福路1号") -> str:
    places_service.create_place(session, SYSTEM_ACTOR, kind="venue", name=name, ref=f"V-{name}", unit_id=unit_id,
                                capacity=100, category="mall", address_text=address)
    return f"V-{name}"


def test_finding_closed_with_evidence_verified_and_published(session: Session) -> None:
    tree = build_tree(session)
    inspector = actor(tree.root, "inspector", "inspector")
    chief, grid = actor(tree.root, "command", "chief"), actor(tree.g1, "grid", "g1")
    other = actor(tree.d2, "district", "d2")
    ref = _venue(session, tree.g1.id)
    with clock.frozen(NOW):
        finding, rect = inspections.record_finding(session, inspector, kind="onsite", venue_ref=ref,
                                                   item="scan_not_enforced", severity="high", note="入口无人查码")
    assert (finding.unit_id, rect.status, rect.due_at) == (tree.g1.id, "open", NOW + 24 * H)  # high: 24 h
    assert finding.rule == "command.rectify_hours.high = 24 h" and finding.pack_version
    task = session.get(Task, rect.task_id)
    assert (task.kind, task.unit_id, task.status) == ("command_rectify", tree.g1.id, "open")
    # outside the subtree: 404; without evidence: 422 naming the field
    with pytest.raises(NotFound):
        inspections.view(session, other, finding.id)
    with pytest.raises(ValidationFailed) as err:
        inspections.close(session, grid, rect_id=rect.id, evidence=None, note="已整改")
    assert [f.field for f in err.value.fields] == ["evidence"]
    with clock.frozen(NOW + 2 * H):
        inspections.close(session, grid, rect_id=rect.id, evidence=PHOTO, note="已安排专人查码")
    assert rect.status == "submitted" and rect.evidence_sha256 and rect.evidence_name == "整改照片.jpg"
    assert inspections.get_evidence(session, chief, rect.id)[1] == PHOTO.content
    # the one who closed it may not verify it; a rejection reopens
    with pytest.raises(Exception) as same:
        inspections.verify(session, actor(tree.g1, "command", "g1"), rect_id=rect.id, accept=True)
    assert getattr(same.value, "status", None) == 403
    with clock.frozen(NOW + 3 * H):
        inspections.verify(session, inspector, rect_id=rect.id, accept=False, note="照片看不清")
    assert (rect.status, rect.rejections) == ("open", 1)
    with pytest.raises(Conflict):
        inspections.verify(session, inspector, rect_id=rect.id, accept=True)
    with clock.frozen(NOW + 4 * H):
        inspections.close(session, grid, rect_id=rect.id, evidence=PHOTO, note="补充照片")
    with clock.frozen(NOW + 5 * H):
        inspections.verify(session, inspector, rect_id=rect.id, accept=True)
    assert (rect.status, rect.verified_by, session.get(Task, rect.task_id).status) == ("verified", "inspector", "done")
    # published: venue, address, finding, date, rectified on
    with clock.frozen(NOW + 6 * H):
        inspections.publish(session, chief, finding_id=finding.id)
    assert inspections.exposure(session) == [{"id": finding.id, "venue": "万达广场", "address": "幸福路1号",
                                             "finding": "未落实扫码查验", "date": "2022-04-18",
                                             "rectified_on": "2022-04-18"}]
    actions = set(session.execute(select(AuditEvent.action).where(AuditEvent.object_type.in_(
        ["finding", "rectification"]))).scalars())
    assert {"command.finding_recorded", "command.rectification_closed", "command.rectification_rejected",
            "command.rectification_verified", "command.finding_published"} <= actions
    inspections.unpublish(session, chief, finding_id=finding.id)
    assert inspections.exposure(session) == []


def test_repeat_escalation_and_what_is_not_published(session: Session) -> None:
    tree = build_tree(session)
    inspector = actor(tree.root, "inspector", "inspector")
    chief = actor(tree.root, "command", "chief")
    with clock.frozen(NOW):
        first, r1 = inspections.record_finding(session, inspector, kind="unannounced", unit_code="S1",
                                               item="register_missing", severity="low")
    with clock.frozen(NOW + 24 * 29 * H):
        again, r2 = inspections.record_finding(session, inspector, kind="onsite", unit_code="S1",
                                               item="register_missing", severity="medium")
    with clock.frozen(NOW + 24 * 60 * H):
        later, _r3 = inspections.record_finding(session, inspector, kind="onsite", unit_code="S1",
                                                item="register_missing", severity="medium")
    assert (first.repeat_of_id, again.repeat_of_id, later.repeat_of_id) == (None, first.id, None)
    assert "repeat of finding" in again.rule
    # r1 due after 168 h (low): escalated by the job at 170 h, its parent (D1) tasked; r2 is not due yet
    assert r1.due_at == NOW + 168 * H
    with clock.frozen(NOW + 170 * H):
        assert rectification_escalation(session) == {"escalated": 1}
    assert (r1.status, r2.status) == ("overdue", "open")
    chase = session.execute(select(Task).where(Task.kind == "command_rectify_escalated")).scalar_one()
    assert (chase.unit_id, chase.subject_id) == (tree.d1.id, r1.id)
    # a unit finding is not published; nor a venue whose name holds a phone number
    with pytest.raises(ValidationFailed):
        inspections.publish(session, chief, finding_id=first.id)
    ref = _venue(session, tree.g2.id, name="联系13812345678小店")
    with clock.frozen(NOW):
        f, _r = inspections.record_finding(session, inspector, kind="onsite", venue_ref=ref, item="mask_not_worn",
                                           severity="medium")
    with pytest.raises(ValidationFailed) as err:
        inspections.publish(session, chief, finding_id=f.id)
    assert [x.field for x in err.value.fields] == ["venue_name"]
    with pytest.raises(ValidationFailed) as bad:
        inspections.record_finding(session, inspector, kind="nope", unit_code="S1", item="x", severity="y")
    assert {x.field for x in bad.value.fields} == {"kind", "item", "severity"}


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_api_and_public_list(client: TestClient, session: Session) -> None:
    tree = build_tree(session)
    ref = _venue(session, tree.g1.id)
    insp = user_headers(session, "insp", "inspector", tree.root.code)
    grid = user_headers(session, "grid1", "grid", "G1")
    chief = user_headers(session, "chief", "command", tree.root.code)
    d2 = user_headers(session, "dist2", "district", "D2")
    session.commit()
    with clock.frozen(NOW):
        r = client.post("/api/v1/inspections", headers=insp, json={"kind": "onsite", "venue": ref,
                                                                  "item": "temperature_not_checked", "severity": "medium"})
        assert r.status_code == 201, r.text
        fid, rid = r.json()["finding_id"], r.json()["rectification_id"]
        assert r.json()["rectification"]["due_at"] == "2022-04-21T09:00:00+08:00"  # medium: 72 h
        assert client.get(f"/api/v1/findings/{fid}", headers=d2).status_code == 404
        r = client.post(f"/api/v1/rectifications/{rid}/close", headers=grid, data={"note": "已整改"})
        assert r.status_code == 422 and "evidence" in r.text
        r = client.post(f"/api/v1/rectifications/{rid}/close", headers=grid, data={"note": "已设测温点"},
                        files={"evidence": ("photo.jpg", b"jpeg-bytes", "image/jpeg")})
        assert r.json()["rectification"]["status"] == "submitted"
        r = client.post(f"/api/v1/rectifications/{rid}/verify", headers=insp, json={"accept": True})
        assert r.json()["rectification"]["status"] == "verified"
        assert client.post(f"/api/v1/findings/{fid}/publish", headers=grid).status_code == 403
        assert client.post(f"/api/v1/findings/{fid}/publish", headers=chief).status_code == 200
    public = client.get("/public/exposure.json")
    assert public.status_code == 200
    assert [(x["venue"], x["finding"], x["rectified_on"]) for x in public.json()] == [
        ("万达广场", "未落实测温", "2022-04-18")]
    page = client.get("/public/exposure")
    assert page.status_code == 200 and "已整改 (2022-04-18)" in page.text



def _run(*args: str) -> tuple[int, str]:
    cli._load_commands()
    result = CliRunner().invoke(cli.app, list(args))
    if isinstance(result.exception, CliError):
        return result.exception.code, result.output + str(result.exception)
    return result.exit_code, result.output


def test_cli(cli_db: Engine, tmp_path: Path) -> None:
    from fangkong.kernel.auth import service as auth_service

    with Session(cli_db) as session:
        tree = build_tree(session)
        ref = _venue(session, tree.g1.id)
        for name, role, unit in (("insp", "inspector", tree.root), ("grid1", "grid", tree.g1),
                                 ("chief", "command", tree.root)):
            auth_service.create_user(session, SYSTEM_ACTOR, username=name, role=role, unit_code=unit.code,
                                     password="correct-horse-9")
        session.commit()
    code, out = _run("inspections", "record", "--kind", "onsite", "--venue", ref, "--item", "scan_not_enforced",
                     "--severity", "high", "--as", "insp", "--json")
    assert code == 0, out
    made = json.loads(out)
    assert set(made) >= {"id", "finding_id", "rectification_id"}
    rid = made["rectification_id"]
    code, out = _run("rectifications", "close", str(rid), "--as", "grid1")
    assert code == 2 and "evidence" in out
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"jpeg")
    code, out = _run("rectifications", "close", str(rid), "--evidence", str(photo), "--note", "已整改", "--as", "grid1",
                     "--json")
    assert code == 0 and json.loads(out)["status"] == "submitted", out
    code, out = _run("rectifications", "verify", str(rid), "--accept", "--as", "insp", "--json")
    assert code == 0 and json.loads(out)["status"] == "verified", out
    code, out = _run("exposure", "publish", str(made["finding_id"]), "--as", "chief", "--json")
    assert code == 0 and json.loads(out)["published"] is True, out


def test_unannounced_plan_random_targets_seed_kept_team_only(session: Session) -> None:
    """四不两直: targets drawn from the grids with the seed kept (the same seed draws the same grids, and
    the draw checks out), the plan seen by its team only, findings under it only at its targets."""
    from fangkong.command.service import plans

    tree = build_tree(session)
    lead = actor(tree.root, "inspector", "inspector")
    chief = actor(tree.root, "command", "chief")  # above everyone, not in the team
    mate = actor(tree.root, "inspector", "mate")
    with clock.frozen(NOW):
        plan = plans.create_plan(session, lead, title="四月暗访", level="grid", under=None, size=1,
                                 team=["mate"], seed="2022-04-18")
        again = plans.create_plan(session, lead, title="复核", level="grid", under=None, size=1, team=[],
                                  seed="2022-04-18")
        with pytest.raises(ValidationFailed):  # only two grids under the root
            plans.create_plan(session, lead, title="太多", level="grid", under=None, size=3, team=[])
    assert plan.targets == again.targets and plan.targets[0] in ("G1", "G2")
    assert plan.team == ["inspector", "mate"]
    seen = plans.view(session, mate, plan.id)
    assert (seen["seed"], seen["draw_verified"], [t["unit_code"] for t in seen["targets"]]) == (
        "2022-04-18", True, plan.targets)
    with pytest.raises(NotFound):
        plans.view(session, chief, plan.id)
    assert [p["id"] for p in plans.plans(session, chief)] == []
    target = plan.targets[0]
    other = "G2" if target == "G1" else "G1"
    with clock.frozen(NOW + H):
        with pytest.raises(ValidationFailed):  # not a target of the plan
            inspections.record_finding(session, mate, kind="onsite", item="register_missing", severity="low",
                                       unit_code=other, plan_id=plan.id)
        with pytest.raises(NotFound):  # not in the team: the plan does not exist for them
            inspections.record_finding(session, chief, kind="onsite", item="register_missing", severity="low",
                                       unit_code=target, plan_id=plan.id)
        finding, _rect = inspections.record_finding(session, mate, kind="onsite", item="register_missing",
                                                    severity="low", unit_code=target, plan_id=plan.id)
    assert (finding.kind, finding.plan_id) == ("unannounced", plan.id)
