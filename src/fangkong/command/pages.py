"""Inspections, rectification and exposure over HTTP (督查整改闭环): JSON under /api/v1, pages for the
inspector, the unit and the verifier, and the public exposure list (曝光台, no sign-in). Thin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from fangkong.command.models import FINDING_KINDS, SEVERITIES
from fangkong.command.service import inspections
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.web.deps import DbSession, RowId
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.ratelimit import public_limit
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render

api = APIRouter(tags=["inspections"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)
register_nav("command_findings", N_("Inspections"), "/command/findings", "inspection.view", 6, group="command")

CanView = Annotated[Actor, Depends(requires("inspection.view"))]
CanRecord = Annotated[Actor, Depends(requires("inspection.record"))]
CanClose = Annotated[Actor, Depends(requires("rectification.work"))]
CanVerify = Annotated[Actor, Depends(requires("rectification.verify"))]
CanPublish = Annotated[Actor, Depends(requires("exposure.publish"))]
MAX_UPLOAD = inspections.MAX_EVIDENCE_BYTES + 1
#: how codes read on the pages (translated in the template)
LABELS = {"high": N_("High"), "medium": N_("Medium"), "low": N_("Low"), "onsite": N_("On site"),
          "unannounced": N_("Unannounced (四不两直)"), "online": N_("Online"), "open": N_("Being rectified"),
          "submitted": N_("Awaiting verification"), "verified": N_("Rectified"), "overdue": N_("Overdue")}


class FindingIn(BaseModel):
    kind: str = Field(max_length=16, description="onsite | unannounced | online")
    item: str = Field(max_length=64, description="a checklist item of the policy pack")
    severity: str = Field(max_length=8, description="high | medium | low")
    unit: str | None = Field(default=None, max_length=32, description="the inspected unit (code) …")
    venue: str | None = Field(default=None, max_length=200, description="… or venue (ref, code or QR link)")
    note: str = Field(default="", max_length=2000)
    plan: int | None = Field(default=None, ge=1, description="the unannounced plan this finding was made under")


class VerifyIn(BaseModel):
    accept: bool
    note: str = Field(default="", max_length=2000)


def _evidence(file: UploadFile | None) -> inspections.Evidence | None:
    """The uploaded file, read in the handler's worker thread (plain `def`: the handler uses the session)."""
    if file is None or not file.filename:
        return None
    return inspections.Evidence(file.filename, file.file.read(MAX_UPLOAD))


@api.post("/inspections", status_code=201, summary="Record a finding of an inspection; opens its rectification")
def post_finding(body: FindingIn, session: DbSession, actor: CanRecord) -> dict[str, Any]:
    finding, _rect = inspections.record_finding(session, actor, kind=body.kind, item=body.item,
                                                severity=body.severity, unit_code=body.unit, venue_ref=body.venue,
                                                note=body.note, plan_id=body.plan)
    return inspections.view(session, actor, finding.id)


class PlanIn(BaseModel):
    title: str = Field(max_length=200)
    level: str = Field(max_length=16, description="draw targets among the units of this level …")
    under: str | None = Field(default=None, max_length=32, description="… under this unit (default: yours)")
    size: int = Field(ge=1, le=500)
    team: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)
    seed: str | None = Field(default=None, max_length=64)


@api.post("/inspection-plans", status_code=201, summary="An unannounced inspection plan (四不两直): random targets")
def post_plan(body: PlanIn, session: DbSession, actor: CanRecord) -> dict[str, Any]:
    from fangkong.command.service import plans

    plan = plans.create_plan(session, actor, title=body.title, level=body.level, under=body.under, size=body.size,
                             team=body.team, seed=body.seed)
    return plans.view(session, actor, plan.id)


@api.get("/inspection-plans/{plan_id}", summary="A plan of your team (404 for anyone else)")
def get_plan(plan_id: RowId, session: DbSession, actor: CanView) -> dict[str, Any]:
    from fangkong.command.service import plans

    return plans.view(session, actor, plan_id)


@api.get("/findings", summary="Findings in your jurisdiction with their rectification's status")
def get_findings(session: DbSession, actor: CanView, status: Annotated[str | None, Query(max_length=16)] = None
                 ) -> list[dict[str, Any]]:
    return inspections.findings(session, actor, status=status)


@api.get("/findings/{finding_id}", summary="A finding and its rectification")
def get_finding(finding_id: RowId, session: DbSession, actor: CanView) -> dict[str, Any]:
    return inspections.view(session, actor, finding_id)


@api.post("/rectifications/{rect_id}/close", summary="Close a rectification with evidence (a note and a file)")
def close_rectification(rect_id: RowId, session: DbSession, actor: CanClose,
                              evidence: Annotated[UploadFile | None, File()] = None,
                              note: Annotated[str, Form(max_length=2000)] = "") -> dict[str, Any]:
    rect = inspections.close(session, actor, rect_id=rect_id, evidence=_evidence(evidence), note=note)
    return inspections.view(session, actor, rect.finding_id)


@api.post("/rectifications/{rect_id}/verify", summary="Accept or reject a closure (a second person)")
def verify_rectification(rect_id: RowId, body: VerifyIn, session: DbSession, actor: CanVerify) -> dict[str, Any]:
    rect = inspections.verify(session, actor, rect_id=rect_id, accept=body.accept, note=body.note)
    return inspections.view(session, actor, rect.finding_id)


@api.post("/findings/{finding_id}/publish", summary="Publish a finding at a venue (曝光)")
def publish_finding(finding_id: RowId, session: DbSession, actor: CanPublish) -> dict[str, Any]:
    inspections.publish(session, actor, finding_id=finding_id)
    return inspections.view(session, actor, finding_id)


@api.post("/findings/{finding_id}/unpublish", summary="Take a published finding down")
def unpublish_finding(finding_id: RowId, session: DbSession, actor: CanPublish) -> dict[str, Any]:
    inspections.unpublish(session, actor, finding_id=finding_id)
    return inspections.view(session, actor, finding_id)


# ----------------------------------------------------------------------------------------------- pages

@pages.get("/command/findings")
def findings_page(request: Request, session: DbSession, actor: CanView) -> Response:
    return render(request, "command/findings.html", actor=actor, labels=LABELS, rows=inspections.findings(session, actor))


@pages.get("/command/findings/new")
def finding_new_page(request: Request, session: DbSession, actor: CanRecord) -> Response:
    """Record a finding on a phone (现场督查): the place, the checklist item, severity, a note, photos."""
    pack = policy_service.active_pack(session)
    return render(request, "command/finding_new.html", actor=actor, labels=LABELS,
                  checklist=sorted(pack.command.checklist.items()), kinds=FINDING_KINDS, severities=SEVERITIES)


@pages.post("/command/findings/new")
def finding_new(session: DbSession, actor: CanRecord,
                kind: Annotated[str, Form(max_length=16)], item: Annotated[str, Form(max_length=64)],
                severity: Annotated[str, Form(max_length=8)],
                unit: Annotated[str, Form(max_length=32)] = "", venue: Annotated[str, Form(max_length=200)] = "",
                note: Annotated[str, Form(max_length=2000)] = "",
                photos: Annotated[list[UploadFile] | None, File()] = None) -> Response:
    files = [e for e in (_evidence(f) for f in photos or []) if e is not None]
    finding, _rect = inspections.record_finding(session, actor, kind=kind, item=item, severity=severity,
                                                unit_code=unit.strip() or None, venue_ref=venue.strip() or None,
                                                note=note, photo_files=files)
    return _back(finding.id)


@pages.get("/command/findings/{finding_id}/photos/{n}")
def finding_photo(finding_id: RowId, n: RowId, session: DbSession, actor: CanView) -> Response:
    media, content = inspections.get_photo(session, actor, finding_id, n)
    return Response(content, media_type=media, headers={"Cache-Control": "private, max-age=3600",
                                                        "X-Content-Type-Options": "nosniff"})


@pages.get("/command/findings/{finding_id}")
def finding_page(request: Request, finding_id: RowId, session: DbSession, actor: CanView) -> Response:
    return render(request, "command/finding.html", actor=actor, labels=LABELS, f=inspections.view(session, actor, finding_id))


def _back(finding_id: int) -> Response:
    return RedirectResponse(f"/command/findings/{finding_id}", status_code=303)


@pages.post("/command/findings/{finding_id}/close")
def finding_close(finding_id: RowId, session: DbSession, actor: CanClose,
                        evidence: Annotated[UploadFile | None, File()] = None,
                        note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    rect = inspections.rectification_of(session, inspections.get_finding(session, actor, finding_id).id)
    inspections.close(session, actor, rect_id=rect.id, evidence=_evidence(evidence), note=note)
    return _back(finding_id)


@pages.post("/command/findings/{finding_id}/verify")
def finding_verify(finding_id: RowId, session: DbSession, actor: CanVerify,
                   accept: Annotated[str, Form(max_length=3)] = "",
                   note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    rect = inspections.rectification_of(session, inspections.get_finding(session, actor, finding_id).id)
    inspections.verify(session, actor, rect_id=rect.id, accept=accept == "1", note=note)
    return _back(finding_id)


@pages.post("/command/findings/{finding_id}/publish")
def finding_publish(finding_id: RowId, session: DbSession, actor: CanPublish,
                    undo: Annotated[str, Form(max_length=3)] = "") -> Response:
    if undo == "1":
        inspections.unpublish(session, actor, finding_id=finding_id)
    else:
        inspections.publish(session, actor, finding_id=finding_id)
    return _back(finding_id)


@pages.get("/command/rectifications/{rect_id}/evidence")
def evidence_file(rect_id: RowId, session: DbSession, actor: CanView) -> Response:
    name, content = inspections.get_evidence(session, actor, rect_id)
    return Response(content, media_type="application/octet-stream",
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''" + _quote(name)})


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


@pages.get("/public/exposure", dependencies=[public_limit()])
def exposure_page(request: Request, session: DbSession) -> Response:
    """The public exposure list (曝光台): venues, findings, dates, and when rectified; no sign-in."""
    return render(request, "command/exposure.html", rows=inspections.exposure(session))


@pages.get("/public/exposure.json", dependencies=[public_limit()])
def exposure_json(session: DbSession) -> list[dict[str, Any]]:
    return inspections.exposure(session)


# ----------------------------------------------------------------------------------------- case review

CanReview = Annotated[Actor, Depends(requires("case.view"))]
CanConclude = Annotated[Actor, Depends(requires("case.manage"))]


class ActionIn(BaseModel):
    cause: str = Field(max_length=64, description="one of the review's cause codes")
    unit: str = Field(max_length=32, description="the unit at fault (code): it gets the rectification")
    note: str = Field(default="", max_length=2000)


class ReviewIn(BaseModel):
    causes: list[Annotated[str, Field(max_length=64)]] = Field(max_length=20,
                                                               description="cause codes (command.review_causes)")
    actions: list[ActionIn] = Field(default_factory=list, max_length=20)
    note: str = Field(default="", max_length=4000)


@api.get("/command/reviews/{case_id}", summary="Case review (复盘): events from every source, stages against targets")
def get_review(case_id: RowId, session: DbSession, actor: CanReview) -> dict[str, Any]:
    from fangkong.command.service import review

    return review.review(session, actor, case_id)


@api.post("/command/reviews/{case_id}", summary="Conclude a case review: cause codes and actions (rectifications)")
def post_review(case_id: RowId, body: ReviewIn, session: DbSession, actor: CanConclude) -> dict[str, Any]:
    from fangkong.command.service import review

    review.complete_review(session, actor, case_id=case_id, causes=body.causes,
                           actions=[a.model_dump() for a in body.actions], note=body.note)
    return review.review(session, actor, case_id)


@pages.get("/command/reviews/{case_id}")
def review_page(request: Request, case_id: RowId, session: DbSession, actor: CanReview) -> Response:
    from fangkong.command.service import review
    from fangkong.kernel.policy import service as policy_service

    causes = policy_service.active_pack(session).command.review_causes
    return render(request, "command/review.html", actor=actor, r=review.review(session, actor, case_id),
                  kinds=REVIEW_LABELS, causes=causes)


@pages.post("/command/reviews/{case_id}")
def review_conclude_page(case_id: RowId, session: DbSession, actor: CanConclude,
                         causes: Annotated[list[str] | None, Form(max_length=64)] = None,
                         action_cause: Annotated[str, Form(max_length=64)] = "",
                         action_unit: Annotated[str, Form(max_length=32)] = "",
                         action_note: Annotated[str, Form(max_length=2000)] = "",
                         note: Annotated[str, Form(max_length=4000)] = "") -> Response:
    from fangkong.command.service import review

    actions = [{"cause": action_cause, "unit": action_unit, "note": action_note}] if action_unit.strip() else []
    review.complete_review(session, actor, case_id=case_id, causes=causes or [], actions=actions, note=note)
    return RedirectResponse(f"/command/reviews/{case_id}", status_code=303)


#: how the review's codes read (translated in the template)
REVIEW_LABELS = {
    "onset": N_("Onset"), "sampled": N_("Sampled"), "result": N_("Result"), "case_created": N_("Case registered"),
    "core_done": N_("Core information reported"), "report_done": N_("Investigation report done"),
    "isolated": N_("Isolated"), "lead_received": N_("Lead received"), "lead_known": N_("Person resolved"),
    "lead_managed": N_("Lead verified"), "lead_controlled": N_("Measure started"),
    "test_sampled": N_("Test sampled"), "test_pooled": N_("Test sampled (pooled)"),
    "contact_confirmed": N_("Contact confirmed"), "contact_managed": N_("Contact verified"),
    "contact_controlled": N_("Contact under control"), "core_investigation": N_("Core investigation"),
    "report": N_("Investigation report"), "lead_verify": N_("Lead verification"),
    "unverified_lead": N_("A lead not verified in time"), "test_without_result": N_("A test without a result"),
    "tracing": N_("Case investigation"), "intake": N_("Leads"), "testing": N_("Testing"),
}
