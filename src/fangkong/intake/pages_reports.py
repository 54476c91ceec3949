"""Intake report pages: daily clearance (日产日清) and risk areas (风险地区); the old reconciliation URL
redirects to the checkpoints' data closed loop (数据闭环)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from fangkong.intake import service
from fangkong.intake.models import Lead
from fangkong.intake.pages_common import (
    CHANNEL_LABELS,
    LEVEL_LABELS,
    LIST_CAP,
    STATUS_LABELS,
    CanManageAreas,
    CanView,
    labeler,
    lead_rows,
    minutes_formatter,
    parse_day,
)
from fangkong.intake.service.risk_areas import DECLARED_LEVELS, INVALID_AREA, read_time
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.imports import service as imports_service
from fangkong.kernel.jurisdictions import regions
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.messages import FieldIssue, message, translate
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import UnusableFile
from fangkong.kernel.web import routes_imports
from fangkong.kernel.web.deps import DbSession, RowId
from fangkong.kernel.web.nav import N_
from fangkong.kernel.web.templating import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
UNUSABLE_FILE = message("file.unusable", N_("unusable file"))

# --- daily clearance and reconciliation ---------------------------------------------------------------

@router.get("/leads/clearance")
def clearance_page(
    request: Request,
    session: DbSession,
    actor: CanView,
    day: Annotated[str, Query(max_length=10)] = "",
    unit_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Response:
    """日产日清 for a unit and day: the unit's totals, one row per child unit, the leads not cleared."""
    the_day = parse_day(day)
    unit = scope.base_unit(session, actor, unit_id)
    # the unit's report and each child's totals from one read of the day's leads
    report, children = service.daily_clearance_by_child(session, actor, day=the_day, unit_id=unit.id)
    ids = report["not_cleared_lead_ids"]
    not_cleared: list[Lead] = []
    if ids:
        # only what the lead table shows: the JSON columns (decision, issues) and the encrypted payload
        # cost more to load than the page takes to render; raiseload turns a new need into an error,
        # never a query per row
        shown = load_only(Lead.id, Lead.name, Lead.phone_masked, Lead.id_number_masked, Lead.channel, Lead.status,
                          Lead.received_at, Lead.known_at, Lead.managed_at, Lead.controlled_at, Lead.unit_id,
                          Lead.unit_path, Lead.verification_task_id, raiseload=True)
        stmt = scope.visible(select(Lead).options(shown).where(Lead.id.in_(ids[:LIST_CAP])), actor, Lead)
        stmt = stmt.order_by(Lead.id)
        not_cleared = list(session.execute(stmt).scalars())
    ancestors = [a for a in jurisdictions_service.ancestors(session, unit) if scope.sees(actor, a)]
    return render(request, "intake/clearance.html", actor=actor, day=the_day, unit=unit, ancestors=ancestors,
                  report=report, children=children, not_cleared=lead_rows(session, not_cleared),
                  not_cleared_total=len(ids), minutes=minutes_formatter(request),
                  channel_label=labeler(request, CHANNEL_LABELS), status_label=labeler(request, STATUS_LABELS),
                  steps=[("received_known", N_("Received → known")), ("known_managed", N_("Known → verified")),
                         ("managed_controlled", N_("Verified → controlled"))])


@router.get("/leads/reconciliation")
def reconciliation_page(actor: CanView, day: Annotated[str, Query(max_length=10)] = "") -> Response:
    """Retired: intake's first 数据闭环 page. The data closed loop is the checkpoints' page (the one
    `fangkong report reconciliation` prints); old links and bookmarks land there, on the same day."""
    the_day = parse_day(day) if day else None
    target = "/checkpoints/reconciliation" + (f"?day={the_day.isoformat()}" if the_day else "")
    return RedirectResponse(target, status_code=307)


# --- risk areas ---------------------------------------------------------------------------------------

def _time_field(value: str, field: str) -> dt.datetime | None:
    issues: list[FieldIssue] = []
    at = read_time(value, field, issues)
    if issues:
        raise ValidationFailed(INVALID_AREA(), [FieldError(i.field, i.message) for i in issues])
    return at


def _levels(session: Session) -> tuple[str, ...]:
    """The levels a person declares: the active pack's (二十条: high and low; 新十条: high only), low
    excepted — a low-risk area is the derived rest of a county (9th edition)."""
    pack = policy_service.active_pack(session)
    return tuple(lv for lv in (pack.levels or DECLARED_LEVELS) if lv in DECLARED_LEVELS)


def _areas_page(request: Request, session: Session, actor: Actor, *, status_code: int = 200,
                errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                active_only: bool = False) -> Response:
    now = clock.now()
    areas = service.list_risk_areas(session, actor, active_at=now if active_only else None)
    return render(request, "intake/risk_areas.html", status_code=status_code, actor=actor, areas=areas,
                  levels=_levels(session), level_label=labeler(request, LEVEL_LABELS), errors=errors or {},
                  values=values or {}, can_manage=actor.can("risk_area.manage"), active_only=active_only,
                  now=now, county_name=regions.full_name,
                  derived=service.derived_low_areas(session, actor, at=now))


@router.get("/risk-areas")
def risk_areas_page(request: Request, session: DbSession, actor: CanView,
                    active: Annotated[str, Query(max_length=5)] = "") -> Response:
    return _areas_page(request, session, actor, active_only=active in ("1", "on"))


@router.post("/risk-areas")
def risk_area_add(
    request: Request,
    session: DbSession,
    actor: CanManageAreas,
    region_name: Annotated[str, Form(max_length=200)] = "",
    place: Annotated[str, Form(max_length=200)] = "",
    region_code: Annotated[str, Form(max_length=20)] = "",
    level: Annotated[str, Form(max_length=16)] = "",
    start_at: Annotated[str, Form(max_length=64)] = "",
    end_at: Annotated[str, Form(max_length=64)] = "",
    source: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    locale = request_locale(request)
    values = {"region_name": region_name, "place": place, "region_code": region_code, "level": level,
              "start_at": start_at, "end_at": end_at, "source": source}
    try:
        service.add_risk_area(session, actor, region_name=region_name, place=place or None, level=level,
                              start_at=_time_field(start_at, "start_at"), end_at=_time_field(end_at, "end_at"),
                              region_code=region_code.strip() or None, source=source.strip() or None)
    except ValidationFailed as exc:
        return _areas_page(request, session, actor, status_code=422, values=values,
                           errors={e.field: translate(e.message, locale) for e in exc.fields})
    return RedirectResponse("/risk-areas", status_code=303)


@router.post("/risk-areas/import")
def risk_areas_import(request: Request, session: DbSession, actor: CanManageAreas, file: UploadFile) -> Response:
    """A risk-area file runs as an import job; the answer is its progress view, then the per-row report."""
    from fangkong.intake import imports

    try:
        job = imports_service.submit(session, actor, kind=imports.RISK_AREAS, filename=file.filename,
                                     stream=file.file)
    except UnusableFile as exc:
        raise ValidationFailed(UNUSABLE_FILE(), [FieldError("file", exc.message)]) from None
    return routes_imports.start(request, job)


@router.post("/risk-areas/{area_id}")
def risk_area_edit(
    request: Request,
    area_id: RowId,
    session: DbSession,
    actor: CanManageAreas,
    level: Annotated[str, Form(max_length=16)] = "",
    end_at: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Change the level or the end (an empty end keeps the area open); HTMX gets the row back."""
    end = _time_field(end_at, "end_at")
    area = service.update_risk_area(session, actor, area_id=area_id, level=level or None, end_at=end,
                                    clear_end=end is None)
    if request.headers.get("HX-Request") == "true":
        _ = gettext_for(request)
        return render(request, "intake/_risk_area_row.html", actor=actor, a=area, levels=_levels(session),
                      level_label=labeler(request, LEVEL_LABELS), can_manage=True, now=clock.now(),
                      county_name=regions.full_name, saved=_("Saved."))
    return RedirectResponse("/risk-areas", status_code=303)
