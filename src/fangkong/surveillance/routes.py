"""Surveillance routes: the JSON API under /api/v1 (detection on posted series)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import client_ip, requires
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.messages import _, message
from fangkong.kernel.tabular import summarise
from fangkong.kernel.web.deps import DbSession, FormFields, RowId, parse_cursor
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.ratelimit import public_limit
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render
from fangkong.surveillance import detect, rules, service
from fangkong.surveillance.algorithms import methods
from fangkong.surveillance.models import Signal
from fangkong.surveillance.schemas import (
    AntigenResultsIn,
    CountsIn,
    DetectIn,
    DetectOut,
    ItemsOut,
    PurchasesIn,
    ReviewIn,
    SignalListOut,
    SignalOut,
)

BAD_PARAMS = message("surveillance.bad_params", _("invalid parameters of the method"))

api = APIRouter(tags=["surveillance"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanView = Annotated[Actor, Depends(requires("surveillance.view"))]


def _num(v: Any) -> Any:
    return None if v == "" or (isinstance(v, float) and not math.isfinite(v)) else v


@api.post("/surveillance/detect", response_model=DetectOut)
def detect_series(body: DetectIn, actor: CanView) -> dict[str, Any]:
    """Judge posted series (`series, t, count`) with one method; rows of a series with a bad count or a
    repeated or missing period are rejected (the series is not judged), as in `fangkong surveillance
    detect`. Nothing is stored."""
    try:
        params = methods.parse_params(body.method, body.params)
        if body.method in methods.FARRINGTON:
            methods.farrington_settings(body.method, params)
        rows = [detect.InRow(number=i + 1, series=p.series, t=str(p.t), values={"count": str(p.count)})
                for i, p in enumerate(body.items)]
        results, reports = detect.detect(rows, method=body.method, params=params,
                                         start=None if body.from_ is None else str(body.from_), period=body.period)
    except methods.BadParameter as exc:
        field = exc.name if exc.name in ("method", "from") else f"params.{exc.name}"
        raise ValidationFailed(BAD_PARAMS(), [FieldError(field, exc.message)]) from None
    return {
        "counts": summarise(reports),
        "results": [{k: _num(v) for k, v in r.items()} for r in results],
        "items": [{"row": r.row, "status": r.status, "issues": [str(i) for i in r.issues]} for r in reports],
    }


# ---------------------------------------------------------------- counts, signals, review, pages




CanReport = Annotated[Actor, Depends(requires("sentinel.report"))]
CanReview = Annotated[Actor, Depends(requires("signal.review"))]

register_nav("surveillance", N_("Surveillance"), "/surveillance", "surveillance.view", 60, group="surveillance")
register_nav("signals", N_("Signals"), "/signals", "surveillance.view", 61, group="surveillance")


def _signal(session: Session, s: Signal) -> dict[str, Any]:
    from fangkong.kernel.jurisdictions.models import Unit
    from fangkong.surveillance.models import SentinelSite

    site = session.get(SentinelSite, s.site_id) if s.site_id is not None else None
    unit = session.get(Unit, s.unit_id)
    return {"id": s.id, "level": s.level, "site_id": s.site_id, "site_ref": site.ref if site else None,
            "unit_id": s.unit_id, "unit_code": unit.code if unit else None,
            "name": site.name if site else (unit.name if unit else ""), "indicator": s.indicator,
            "algorithm": s.algorithm, "first_date": s.first_day, "last_date": s.last_day, "alarms": s.alarms,
            "status": s.status, "outcome": s.outcome, "task_id": s.task_id, "field_task_id": s.field_task_id}


@api.post("/sentinel-counts", response_model=ItemsOut)
def post_counts(body: CountsIn, session: DbSession, actor: CanReport) -> dict[str, Any]:
    """Daily sentinel counts (哨点日报), a per-item report as for file imports: `duplicate` for the same
    value again; a different value replaces it (`count: corrected from 12 to 21`)."""
    reports = service.record_counts(session, actor, [i.model_dump() for i in body.items], source="api")
    return {"counts": summarise(reports),
            "items": [{"row": r.row, "status": r.status, "issues": [str(i) for i in r.issues]} for r in reports]}


@api.post("/pharmacy-purchases", response_model=ItemsOut)
def post_purchases(body: PurchasesIn, session: DbSession, actor: CanReport) -> dict[str, Any]:
    """Pharmacy real-name registrations (药店实名登记), a per-item report as for file imports; a watched
    drug class becomes a lead (`sentinel` channel, category `pharmacy_purchase`). Idempotent by source_ref."""
    reports = service.record_purchases(session, actor, [i.model_dump() for i in body.items], source="api")
    return {"counts": summarise(reports),
            "items": [{"row": r.row, "status": r.status, "issues": [str(i) for i in r.issues]} for r in reports]}


@api.post("/antigen-results", response_model=ItemsOut)
def post_antigen(body: AntigenResultsIn, session: DbSession, actor: CanReport) -> dict[str, Any]:
    """Antigen test results (抗原检测结果), a per-item report as for file imports: a positive becomes a
    lead (`sentinel` channel, category `antigen_positive`), temporary control and a PCR confirmation
    task. Idempotent by source_ref."""
    reports = service.record_antigen(session, actor, [i.model_dump() for i in body.items], via="api")
    return {"counts": summarise(reports),
            "items": [{"row": r.row, "status": r.status, "issues": [str(i) for i in r.issues]} for r in reports]}


@api.get("/signals", response_model=SignalListOut)
def get_signals(session: DbSession, actor: CanView,
                status: Annotated[str | None, Query(max_length=16)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                cursor: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> dict[str, Any]:
    """Signals in the caller's jurisdiction, newest first; `status=open` for the ones not closed."""
    rows = service.list_signals(session, actor, status=status, limit=limit, after_id=cursor)
    return {"items": [_signal(session, s) for s in rows], "next_cursor": rows[-1].id if len(rows) == limit else None}


@api.post("/signals/{signal_id}/review", response_model=SignalOut)
def post_review(signal_id: RowId, body: ReviewIn, session: DbSession, actor: CanReview) -> dict[str, Any]:
    """Review a signal: dismiss (closes it), investigate (a field task, stays open) or escalate (to the
    parent unit and the command centre)."""
    return _signal(session, service.review_signal(session, actor, signal_id=signal_id, action=body.action,
                                                  note=body.note))


def _curve_data(rows: list[Any]) -> dict[str, Any]:
    return {"days": [v.day.isoformat() for v in rows],
            "observed": [v.observed for v in rows],
            "upperbound": [None if v.upperbound is None else round(v.upperbound, 2) for v in rows],
            "alarm": [bool(v.alarm) for v in rows],
            "insufficient": [v.status != "judged" for v in rows]}


def _series_list(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every series the actor sees with its last verdict, units first (city → district → site)."""
    from sqlalchemy import func, select

    from fangkong.kernel import scope
    from fangkong.kernel.jurisdictions.models import Unit
    from fangkong.surveillance.models import SentinelSite, Verdict

    last = (scope.visible(select(Verdict.series_key, Verdict.indicator, func.max(Verdict.day)), actor, Verdict)
            .group_by(Verdict.series_key, Verdict.indicator))
    out = []
    for key, indicator, day in session.execute(last):
        v = session.execute(select(Verdict).where(Verdict.series_key == key, Verdict.indicator == indicator,
                                                  Verdict.day == day)).scalar_one()
        if v.site_id is not None:
            site = session.get(SentinelSite, v.site_id)
            name, depth = (site.name if site else key), 99
        else:
            unit = session.get(Unit, v.unit_id)
            name, depth = (unit.name if unit else key), (unit.path.count("/") if unit else 0)
        out.append({"key": key, "indicator": indicator, "name": name, "level": v.level, "depth": depth,
                    "last": v, "weekly": key.endswith(rules.WEEK_SUFFIX)})
    out.sort(key=lambda r: (r["depth"], r["name"], r["indicator"]))
    return out


@pages.get("/surveillance")
def surveillance_page(request: Request, session: DbSession, actor: CanView,
                      series: Annotated[str | None, Query(max_length=32)] = None,
                      indicator: Annotated[str | None, Query(max_length=32)] = None) -> Any:
    rows = _series_list(session, actor)
    chosen = next((r for r in rows if r["key"] == series and r["indicator"] == indicator), None)
    if chosen is None and rows:
        chosen = rows[0]
    curve = _curve_data(service.curve(session, actor, series_key=chosen["key"], indicator=chosen["indicator"])) \
        if chosen else None
    return render(request, "surveillance/overview.html", actor=actor, rows=rows, chosen=chosen, curve=curve)


@pages.get("/surveillance/rt")
def rt_page(request: Request, session: DbSession, actor: CanView,
            si_mean: Annotated[float, Query(gt=1, le=30)] = 4.7,
            si_sd: Annotated[float, Query(gt=0, le=30)] = 2.9,
            window: Annotated[int, Query(ge=2, le=28)] = 7) -> Any:
    """R_t with its 95% interval from the cases by onset day, local and imported (ECharts)."""
    from dataclasses import asdict

    from fangkong.surveillance.service import rt

    data = rt.rt_curve(session, actor, si_mean=si_mean, si_sd=si_sd, window=window) \
        if actor.can("case.view") else rt.RtCurve()
    curve = {k: [x.isoformat() if isinstance(x, dt.date) else x for x in v] for k, v in asdict(data).items()}
    return render(request, "surveillance/rt.html", actor=actor, curve=curve, si_mean=si_mean, si_sd=si_sd,
                  window=window, cases=sum(data.local) + sum(data.imported), can_cases=actor.can("case.view"))


SIGNALS_PAGE = 50


@pages.get("/signals")
def signals_page(request: Request, session: DbSession, actor: CanView,
                 status: Annotated[str | None, Query(max_length=16)] = None,
                 cursor: Annotated[str, Query(max_length=24)] = "") -> Any:
    """Newest first, 50 a page; `cursor` is the last id of the previous page (the list grows long:
    a city's seasonal history holds hundreds of closed signals)."""
    rows = service.list_signals(session, actor, status=status or None, limit=SIGNALS_PAGE + 1,
                                after_id=parse_cursor(cursor))
    next_cursor = str(rows[SIGNALS_PAGE - 1].id) if len(rows) > SIGNALS_PAGE else None
    rows = rows[:SIGNALS_PAGE]
    return render(request, "surveillance/signals.html", actor=actor, rows=rows, status=status,
                  names=_signal_names(session, rows), next_cursor=next_cursor, first_page=not cursor)


def _signal_names(session: Session, rows: list[Signal]) -> dict[int, str]:
    """Where each signal is, in words: the sentinel site's name and ref, else the unit's name."""
    from sqlalchemy import select

    from fangkong.kernel.jurisdictions.models import Unit
    from fangkong.surveillance.models import SentinelSite

    site_ids = {s.site_id for s in rows if s.site_id is not None}
    unit_ids = {s.unit_id for s in rows if s.site_id is None}
    sites = {i: f"{n}({r})" for i, n, r in session.execute(
        select(SentinelSite.id, SentinelSite.name, SentinelSite.ref).where(SentinelSite.id.in_(site_ids)))} \
        if site_ids else {}
    units = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).tuples().all()) if unit_ids else {}
    return {s.id: sites.get(s.site_id, str(s.site_id)) if s.site_id is not None
            else units.get(s.unit_id, str(s.unit_id)) for s in rows}


@pages.get("/signals/{signal_id}")
def signal_page(request: Request, signal_id: RowId, session: DbSession, actor: CanView) -> Any:
    s = service.get_signal(session, actor, signal_id)
    since = s.first_day - dt.timedelta(days=28)
    curve = _curve_data(service.curve(session, actor, series_key=s.series_key, indicator=s.indicator, since=since))
    return render(request, "surveillance/signal.html", actor=actor, s=s, curve=curve,
                  name=_signal_names(session, [s])[s.id])


@pages.post("/signals/{signal_id}/review")
def review_page(signal_id: RowId, session: DbSession, actor: CanReview, action: Annotated[str, Form()],
                note: Annotated[str, Form()] = "") -> Any:
    service.review_signal(session, actor, signal_id=signal_id, action=action, note=note.strip() or None)
    return RedirectResponse(f"/signals/{signal_id}?done={action}", status_code=303)


@pages.post("/signals/{signal_id}/result")
def result_page(signal_id: RowId, session: DbSession, actor: CanReview, result: Annotated[str, Form()],
                note: Annotated[str, Form()] = "") -> Any:
    service.record_field_result(session, actor, signal_id=signal_id, result=result, note=note.strip() or None)
    return RedirectResponse(f"/signals/{signal_id}?done={result}", status_code=303)


@pages.get("/sentinel-report")
def report_form(request: Request, session: DbSession, actor: CanReport,
                site: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    from fangkong.kernel import clock
    from fangkong.kernel.policy import service as policy_service

    sites = service.reporting_sites(session, actor)
    chosen = next((s for s in sites if s.ref == site), sites[0] if sites else None)
    indicators = policy_service.active_pack(session).surveillance.indicators.get(chosen.kind, []) if chosen else []
    today = clock.today()
    stored = service.site_counts(session, actor, chosen.id, since=today) if chosen else {}
    return render(request, "surveillance/report.html", actor=actor, sites=sites, chosen=chosen,
                  indicators=indicators, today=today, stored=stored, saved=request.query_params.get("saved"))


@pages.post("/sentinel-report")
def report_submit(session: DbSession, actor: CanReport, form: FormFields) -> Any:
    ref = str(form.get("site_ref") or "")
    day = str(form.get("date") or "")
    items = [{"site_ref": ref, "date": day, "indicator": k[len("count_"):], "count": str(v)}
             for k, v in form.items() if k.startswith("count_") and str(v).strip() != ""]
    reports = service.record_counts(session, actor, items, source="page") if items else []
    bad = [str(i) for r in reports for i in r.issues if r.status == "rejected"]
    if bad:
        raise ValidationFailed(BAD_COUNTS(), [FieldError("count", "; ".join(bad))])
    return RedirectResponse(f"/sentinel-report?site={ref}&saved={len(reports)}", status_code=303)


BAD_COUNTS = message("sentinel.bad_counts", _("some counts were not stored"))


# ------------------------------------------------- phone pages: pharmacy registrations, antigen results

PURCHASE_FIELDS = ("name", "id_number", "phone", "address", "drug_name", "drug_class", "quantity", "temperature",
                   "symptoms", "purchased_at")
ANTIGEN_FIELDS = ("source", "employer", "tested_at", "result", "name", "id_number", "phone", "address")


def _new_ref(prefix: str) -> str:
    """A fresh client id for one form: submitting the same form twice stores it once (duplicate)."""
    import secrets

    return f"{prefix}-{secrets.token_hex(8)}"


def _local_now_input() -> str:
    from fangkong.kernel import clock

    return clock.to_local(clock.now()).strftime("%Y-%m-%dT%H:%M")  # type: ignore[union-attr]


@pages.get("/pharmacy-register")
def pharmacy_form(request: Request, session: DbSession, actor: CanReport,
                  site: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    """药店实名登记 on a phone: one buyer of fever, cough, antiviral or antibiotic medicine per form."""
    sites = [s for s in service.reporting_sites(session, actor) if s.kind == "pharmacy"]
    chosen = next((s for s in sites if s.ref == site), sites[0] if sites else None)
    return _pharmacy_render(request, session, actor, sites, chosen, values={"quantity": "1",
                            "purchased_at": _local_now_input()}, issues=[],
                            saved=request.query_params.get("saved"))


def _pharmacy_render(request: Request, session: Session, actor: Actor, sites: list[Any], chosen: Any,
                     values: dict[str, str], issues: list[Any], saved: str | None, status_code: int = 200) -> Any:
    from fangkong.kernel import clock
    from fangkong.surveillance.models import DRUG_CLASSES

    today = clock.today()
    registered = service.purchases_of_day(session, actor, chosen.id, today) \
        if chosen is not None and actor.can("surveillance.view") else []
    response = render(request, "surveillance/pharmacy.html", actor=actor, sites=sites, chosen=chosen,
                      values=values, issues=issues, saved=saved, classes=DRUG_CLASSES, registered=registered,
                      source_ref=_new_ref("page"), today=today)
    response.status_code = status_code
    return response


@pages.post("/pharmacy-register")
def pharmacy_submit(request: Request, session: DbSession, actor: CanReport, form: FormFields) -> Any:
    values = {k: str(form.get(k) or "").strip() for k in (*PURCHASE_FIELDS, "pharmacy_ref", "source_ref")}
    sites = [s for s in service.reporting_sites(session, actor) if s.kind == "pharmacy"]
    chosen = next((s for s in sites if s.ref == values["pharmacy_ref"]), sites[0] if sites else None)
    item = {**values, "purchased_at": values["purchased_at"].replace("T", " ")}
    [report] = service.record_purchases(session, actor, [item], source="page")
    if report.status == "rejected":
        return _pharmacy_render(request, session, actor, sites, chosen, values=values, issues=report.issues,
                                saved=None, status_code=422)
    return RedirectResponse(f"/pharmacy-register?site={values['pharmacy_ref']}&saved={report.status}",
                            status_code=303)


def _photo_bytes(photo: UploadFile | None) -> bytes | None:
    """The uploaded cassette photo's bytes (b"" when none was chosen), None when it is not a photo of at
    most 5 MB (`antigen.photo_ok`): the staff page and the citizen's page check it alike."""
    from fangkong.surveillance.service import antigen

    content = photo.file.read(antigen.MAX_PHOTO_BYTES + 1) if photo is not None and photo.filename else b""
    return None if content and not antigen.photo_ok(content) else content


@pages.get("/antigen-report")
def antigen_form(request: Request, session: DbSession, actor: CanReport) -> Any:
    """抗原检测结果上报 on a phone: a self-test (with the cassette's photo), or a pharmacy's, clinic's or
    employer's test."""
    return _antigen_render(request, session, actor, values={"source": "self", "tested_at": _local_now_input()},
                           issues=[], saved=request.query_params.get("saved"))


def _antigen_render(request: Request, session: Session, actor: Actor, values: dict[str, str], issues: list[Any],
                    saved: str | None, status_code: int = 200) -> Any:
    from fangkong.surveillance.models import ANTIGEN_SOURCES

    sites = [s for s in service.reporting_sites(session, actor) if s.kind in ("pharmacy", "clinic", "fever_clinic")]
    response = render(request, "surveillance/antigen.html", actor=actor, sites=sites, values=values, issues=issues,
                      saved=saved, sources=ANTIGEN_SOURCES, source_ref=_new_ref("ag"))
    response.status_code = status_code
    return response


@pages.post("/antigen-report")
def antigen_submit(request: Request, session: DbSession, actor: CanReport,
                   photo: Annotated[UploadFile | None, File()] = None,
                   source_ref: Annotated[str, Form(max_length=64)] = "",
                   site_ref: Annotated[str, Form(max_length=64)] = "",
                   source: Annotated[str, Form(max_length=16)] = "",
                   employer: Annotated[str, Form(max_length=120)] = "",
                   tested_at: Annotated[str, Form(max_length=40)] = "",
                   result: Annotated[str, Form(max_length=16)] = "",
                   name: Annotated[str, Form(max_length=60)] = "",
                   id_number: Annotated[str, Form(max_length=40)] = "",
                   phone: Annotated[str, Form(max_length=40)] = "",
                   address: Annotated[str, Form(max_length=200)] = "") -> Any:
    from fangkong.kernel.messages import FieldIssue
    from fangkong.surveillance.service import antigen

    values = {"source_ref": source_ref, "site_ref": site_ref, "source": source, "employer": employer,
              "tested_at": tested_at, "result": result, "name": name, "id_number": id_number, "phone": phone,
              "address": address}
    item: dict[str, Any] = {**values, "tested_at": tested_at.replace("T", " ")}
    content = _photo_bytes(photo)
    if content is None:
        return _antigen_render(request, session, actor, values=values,
                               issues=[FieldIssue("photo", antigen.BAD_PHOTO())], saved=None, status_code=422)
    if content:
        item["photo"] = antigen.store_photo(content)
    [report] = service.record_antigen(session, actor, [item], via="page")
    if report.status == "rejected":
        return _antigen_render(request, session, actor, values=values, issues=report.issues, saved=None,
                               status_code=422)
    return RedirectResponse(f"/antigen-report?saved={report.status}", status_code=303)


# ------------------------------------------------- the citizen's own self-test page (no sign-in)


@pages.get("/self-test")
def self_test_page(request: Request, session: DbSession) -> Any:
    """抗原自测上报: a resident reports their own antigen self-test on a phone, by their ID number and the
    phone registered with it (no sign-in; throttled)."""
    return render(request, "surveillance/self_test.html", values={"tested_at": _local_now_input()}, issues=[],
                  report=None, checked=False)


@pages.post("/self-test", dependencies=[public_limit()])
def self_test_submit(request: Request, session: DbSession,
                     photo: Annotated[UploadFile | None, File()] = None,
                     id_number: Annotated[str, Form(max_length=32)] = "",
                     phone: Annotated[str, Form(max_length=32)] = "",
                     tested_at: Annotated[str, Form(max_length=40)] = "",
                     result: Annotated[str, Form(max_length=16)] = "") -> Any:
    from fangkong.kernel.messages import FieldIssue
    from fangkong.surveillance.service import antigen

    values = {"tested_at": tested_at, "result": result}

    def page(status_code: int, **kw: Any) -> Any:
        args: dict[str, Any] = {"values": values, "issues": [], "report": None, "checked": True, **kw}
        return render(request, "surveillance/self_test.html", status_code=status_code, **args)

    content = _photo_bytes(photo)
    if content is None:
        return page(422, issues=[FieldIssue("photo", antigen.BAD_PHOTO())])
    report = service.record_self_test(session, id_number=id_number, phone=phone, tested_at=tested_at or
                                      _local_now_input(), result=result, photo=content, ip=client_ip(request))
    if report is None:
        return page(404)
    if report.status == "rejected":
        session.rollback()
        return page(422, issues=report.issues)
    return page(200, report=report, result=antigen.result_of(result))
