"""Intake JSON API under /api/v1 (线索接口): leads in (one or a batch), lists, verification, reports,
risk areas. Thin: parse, call the service, shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from fangkong.intake import service
from fangkong.intake.schemas import (
    DerivedLowOut,
    ItemOut,
    LeadOut,
    LeadPage,
    LeadsIn,
    LeadsReportOut,
    RiskAreaIn,
    RiskAreaOut,
    RiskAreaPatch,
    VerificationErrorOut,
    VerificationIn,
    VerificationItemOut,
    VerificationsIn,
    VerificationsOut,
)
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.auth.scopes import declare_operation
from fangkong.kernel.clock import BadTime, parse_time
from fangkong.kernel.errors import INVALID_TIME, FieldError, ValidationFailed
from fangkong.kernel.idempotency import IdempotencyKey, answer_once
from fangkong.kernel.messages import _, labels, reason_of
from fangkong.kernel.people import service as people_service
from fangkong.kernel.web.deps import DbSession, RowId, parse_cursor
from fangkong.kernel.web.errors import error_body
from fangkong.kernel.web.schemas import ERROR_RESPONSES

api = APIRouter(tags=["intake"], responses=ERROR_RESPONSES)

CanView = Annotated[Actor, Depends(requires("lead.view"))]
CanImport = Annotated[Actor, Depends(requires("lead.import"))]
CanVerify = Annotated[Actor, Depends(requires("lead.verify"))]
CanManageAreas = Annotated[Actor, Depends(requires("risk_area.manage"))]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str, Query(max_length=24, description="`next_cursor` of the previous page")]
Day = Annotated[dt.date, Query(description="local day, YYYY-MM-DD")]

#: a grid worker's phone app (or another system) syncing a round of four checks
declare_operation("leads.verify", labels("token_operation", {"leads.verify": _("Record the four checks of leads (batch)")})
                  ["leads.verify"], ("POST", "/api/v1/leads/verifications"))


def _time(value: str | None, field: str) -> dt.datetime | None:
    try:
        return parse_time(value or "")
    except BadTime as exc:
        raise ValidationFailed(INVALID_TIME(), [FieldError(field, reason_of(exc))]) from None


@api.post("/leads", response_model=LeadsReportOut, summary="Receive one lead or a batch")
def post_leads(body: LeadsIn, session: DbSession, actor: CanImport, idempotency_key: IdempotencyKey = None) -> Any:
    """Same validation and per-item report as a file import; a repeat (same source_ref, or the same
    content without one) is reported `duplicate` with the first answer's lead and person. A repeated
    `Idempotency-Key` returns the first answer itself, unchanged."""
    items = [service.LeadItem(i + 1, it.values(), it.extra(), it.model_dump(exclude_none=True))
             for i, it in enumerate(body.items or [])]

    def answer() -> LeadsReportOut:
        result = service.ingest_leads(session, actor, channel=body.channel, items=items, category=body.category,
                                      via="api")
        people_service.hide_foreign_persons(session, actor, result.rows)  # no one outside the caller's area
        return LeadsReportOut(batch_id=result.batch_id, counts=result.counts, items=[
            ItemOut(row=r.row, status=r.status, person_id=r.person_id, issues=r.issues,
                    lead_id=r.extra.get("lead_id"), match_rule=r.extra.get("match_rule")) for r in result.rows])

    return answer_once(session, actor, idempotency_key, operation="intake.leads",
                       body=body.model_dump(), answer=answer)


@api.get("/leads", response_model=LeadPage, summary="Leads in your jurisdiction, newest first")
def get_leads(
    session: DbSession,
    actor: CanView,
    status: Annotated[str | None, Query(max_length=16)] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    person_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    unit_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    received_from: Annotated[str | None, Query(max_length=64)] = None,
    received_to: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    cursor: Cursor = "",
) -> LeadPage:
    found = service.list_leads(session, actor, status=status, channel=channel, person_id=person_id,
                               unit_id=unit_id, received_from=_time(received_from, "received_from"),
                               received_to=_time(received_to, "received_to"), limit=limit + 1,
                               after_id=parse_cursor(cursor))
    next_cursor = str(found[limit - 1].id) if len(found) > limit else None
    return LeadPage(items=[LeadOut.of(lead) for lead in found[:limit]], next_cursor=next_cursor)


@api.get("/leads/{lead_id}", response_model=LeadOut, summary="One lead")
def get_one_lead(lead_id: RowId, session: DbSession, actor: CanView) -> LeadOut:
    return LeadOut.of(service.get_lead(session, actor, lead_id))


@api.post("/leads/{lead_id}/verification", response_model=LeadOut, summary="Record the four checks")
def post_verification(lead_id: RowId, body: VerificationIn, session: DbSession, actor: CanVerify) -> LeadOut:
    lead = service.record_verification(session, actor, lead_id=lead_id, outcome_code=body.outcome_code,
                                       four_checks=body.four_checks, destination=body.destination,
                                       site_place_id=body.site_place_id, note=body.note)
    return LeadOut.of(lead)


@api.post("/leads/verifications", response_model=VerificationsOut, summary="Record the four checks of many leads")
def post_verifications(body: VerificationsIn, session: DbSession, actor: CanVerify,
                       idempotency_key: IdempotencyKey = None) -> Any:
    """A round of four checks at once: each item as `POST /leads/{id}/verification` would take it (the
    same rules and steps, one audit event each), under its own savepoint; a refused item is reported with
    its error (and the lead as it stands, when you see it) and leaves nothing behind. A repeated
    `Idempotency-Key` returns the first answer itself."""
    items = [service.VerificationItem(lead_id=it.lead_id, outcome_code=it.outcome_code, four_checks=it.four_checks,
                                      destination=it.destination, site_place_id=it.site_place_id, note=it.note)
             for it in body.items]

    def answer() -> VerificationsOut:
        reports = service.record_verifications(session, actor, items)
        out = []
        for n, r in enumerate(reports, 1):
            error = None
            if r.error is not None:
                e = error_body(r.error.code, r.error.message, r.error.fields)["error"]
                error = VerificationErrorOut(code=e["code"], reason=e.get("reason"), message=e["message"],
                                             fields=e["fields"])
            out.append(VerificationItemOut(row=n, lead_id=r.lead_id, status=r.status, error=error,
                                           lead=LeadOut.of(r.lead) if r.lead is not None else None))
        counts = {"verified": sum(r.status == "verified" for r in reports),
                  "rejected": sum(r.status == "rejected" for r in reports)}
        return VerificationsOut(counts=counts, items=out)

    return answer_once(session, actor, idempotency_key, operation="intake.verifications",
                       body=body.model_dump(), answer=answer)


@api.get("/reports/clearance", summary="Daily clearance (日产日清) for a day and unit")
def get_clearance(session: DbSession, actor: CanView, day: Day,
                  unit_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> dict[str, Any]:
    return service.daily_clearance(session, actor, day=day, unit_id=unit_id)


@api.get("/reports/reconciliation", summary="Reconciliation across channels (数据闭环)")
def get_reconciliation(session: DbSession, actor: CanView, day: Day,
                       unit_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> dict[str, Any]:
    return service.reconciliation(session, actor, day=day, unit_id=unit_id)


@api.get("/risk-areas", response_model=list[RiskAreaOut], summary="Risk areas")
def get_risk_areas(session: DbSession, actor: CanView,
                   active_at: Annotated[str | None, Query(max_length=64)] = None) -> list[RiskAreaOut]:
    areas = service.list_risk_areas(session, actor, active_at=_time(active_at, "active_at"))
    return [RiskAreaOut.of(a) for a in areas]


@api.get("/risk-areas/derived-low", response_model=list[DerivedLowOut], summary="Derived low-risk areas")
def get_derived_low(session: DbSession, actor: CanView,
                    at: Annotated[str | None, Query(max_length=64)] = None) -> list[DerivedLowOut]:
    """The rest of each county with a high- or medium-risk area in force at `at` (default now) is low-risk
    (第九版: 中高风险区所在县区的其他地区); derived, never declared."""
    when = _time(at, "at") or clock.now()
    return [DerivedLowOut(county_code=d.county_code, county_name=d.county_name, since=clock.iso_local(d.since),
                          area_ids=[a.id for a in d.areas])
            for d in service.derived_low_areas(session, actor, at=when)]


@api.post("/risk-areas", response_model=RiskAreaOut, status_code=201, summary="Declare a risk area")
def post_risk_area(body: RiskAreaIn, session: DbSession, actor: CanManageAreas) -> RiskAreaOut:
    area = service.add_risk_area(session, actor, region_name=body.region_name, level=body.level,
                                 start_at=_time(body.start_at, "start_at"), end_at=_time(body.end_at, "end_at"),
                                 region_code=body.region_code, province=body.province, city=body.city,
                                 county=body.county, place=body.place, source=body.source)
    return RiskAreaOut.of(area)


@api.patch("/risk-areas/{area_id}", response_model=RiskAreaOut, summary="Change or lift a risk area")
def patch_risk_area(area_id: RowId, body: RiskAreaPatch, session: DbSession, actor: CanManageAreas) -> RiskAreaOut:
    """A change that makes the area the same as another (same place, level and start) is 409."""
    area = service.update_risk_area(session, actor, area_id=area_id, level=body.level,
                                    end_at=_time(body.end_at, "end_at"), clear_end=body.end_at == "",
                                    source=body.source, region_name=body.region_name,
                                    region_code=body.region_code, place=body.place)
    return RiskAreaOut.of(area)
