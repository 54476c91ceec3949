"""Venue routes: the JSON API under /api/v1 (scans, co-location, codes, coverage, flags) and the pages —
the public scan page `/v/{token}` (plain HTML form, no scripts), the staff check form, the coverage
page and the A4 poster."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from fangkong.control import service as control_service
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import OptionalActor, requires
from fangkong.kernel.clock import BadTime, parse_time
from fangkong.kernel.errors import (
    INVALID_CURSOR,
    INVALID_TIME,
    NOT_A_CURSOR,
    REQUIRED,
    FieldError,
    ValidationFailed,
)
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import reason_of
from fangkong.kernel.people import crypto
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import check_phone, mask_id, mask_phone
from fangkong.kernel.web.deps import DbSession, RowId
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render, request_locale
from fangkong.venues import exports as _exports  # noqa: F401 (registers the venue export kinds)
from fangkong.venues.colocation import service as colocation_service
from fangkong.venues.colocation.service import INVALID_PERIOD
from fangkong.venues.fields import CATEGORIES
from fangkong.venues.schemas import (
    CodeOut,
    ColocationOut,
    CoverageOut,
    FlagIn,
    FlagOut,
    PairOut,
    ScansIn,
    ScansReportOut,
    VenueCoverageOut,
)
from fangkong.venues.service import codes as codes_service
from fangkong.venues.service import coverage as coverage_module
from fangkong.venues.service import scans as scans_service
from fangkong.venues.service import venues as venues_service

api = APIRouter(tags=["venues"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanView = Annotated[Actor, Depends(requires("venues.view"))]
CanManage = Annotated[Actor, Depends(requires("venues.manage"))]
CanPoster = Annotated[Actor, Depends(requires("venues.poster"))]
CanFlag = Annotated[Actor, Depends(requires("venues.flag"))]
CanUpload = Annotated[Actor, Depends(requires("scans.upload"))]
CanStaff = Annotated[Actor, Depends(requires("venues.scan_staff"))]
CanQuery = Annotated[Actor, Depends(requires("colocation.query"))]

register_nav("venues", N_("Venue codes"), "/venues", "venues.view", 45, group="places")
register_nav("entry_check", N_("Entry check"), "/entry-check", "venues.scan_staff", 46, group="places")

#: the device's remembered identity: AES-GCM ciphertext (authenticated, so a tampered cookie is ignored)
ID_COOKIE = "fk_scan_id"
ID_COOKIE_DAYS = 30
COLOCATION_PAGE_MAX = 10_000


def _time(value: str | None, field: str) -> dt.datetime | None:
    try:
        return parse_time(value or "")
    except BadTime as exc:
        raise ValidationFailed(INVALID_TIME(), [FieldError(field, reason_of(exc))]) from None


def _printed_url(token: str, request: Request) -> str | None:
    """The URL printed in the QR: FANGKONG_PUBLIC_URL (the request's own address only in test and drill
    databases); None when a production database has no public address configured."""
    try:
        return codes_service.venue_url(token, request_base=str(request.base_url))
    except codes_service.PublicUrlNotConfigured:
        return None


def _code_out(row: Any, request: Request) -> CodeOut:
    return CodeOut(venue_id=row.place_id, code_id=row.id, key_version=row.key_version, token=row.token,
                   url=_printed_url(row.token, request), issued_at=clock.iso_local(row.issued_at))


def _flag_out(flag: Any) -> FlagOut:
    return FlagOut(id=flag.id, venue_id=flag.place_id, reason=flag.reason, flagged_at=clock.iso_local(flag.flagged_at),
                   flagged_by=flag.flagged_by, cleared_at=clock.iso_local(flag.cleared_at) or None)


# ------------------------------------------------------------------------------------------------ API

@api.post("/scans", response_model=ScansReportOut, summary="Upload a batch of scans from a venue's system")
def post_scans(body: ScansIn, session: DbSession, actor: CanUpload,
               idempotency_key: Annotated[str | None, Header(max_length=128)] = None) -> Response:
    """Per-item report like a file import (`accepted` | `duplicate` | `rejected` with `issues`). Items
    are idempotent by `request_id`; a repeated `Idempotency-Key` returns the first answer unchanged."""
    items = [scans_service.ScanItem(i + 1, venue_ref=it.venue_ref or "", venue_code=it.venue_code or "",
                                    phone=it.phone, id_number=it.id_number, name=it.name, scanned_at=it.scanned_at,
                                    request_id=it.request_id, temperature=it.temperature, mask_ok=it.mask_ok)
             for i, it in enumerate(body.items)]
    result = scans_service.upload_scans(session, actor, items=items, idempotency_key=idempotency_key)
    # a scan resolves its person anywhere in the city; the answer names only the uploader's own (issue #11)
    seen = people_service.visible_person_ids(session, actor, (i.get("person_id") for i in result["items"]))
    shown = [i if i.get("person_id") in seen or i.get("person_id") is None else {**i, "person_id": None}
             for i in result["items"]]
    # already plain JSON in ScansReportOut's shape (the declared model documents it): encoded once, not
    # validated and dumped again per item
    return JSONResponse({"counts": result["counts"], "items": shown})


@api.get("/colocation", response_model=ColocationOut, summary="Co-location pairs of one subject")
def get_colocation(
    session: DbSession,
    actor: CanQuery,
    since: Annotated[str, Query(max_length=64)],
    until: Annotated[str, Query(max_length=64)],
    person_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    id_number: Annotated[str | None, Query(max_length=40)] = None,
    window_min: Annotated[int | None, Query(ge=0, le=1440)] = None,
    limit: Annotated[int, Query(ge=1, le=COLOCATION_PAGE_MAX)] = 1000,
    cursor: Annotated[str, Query(max_length=12, description="`next_cursor` of the previous page")] = "",
) -> ColocationOut:
    """Everyone who was at the subject's venues at the same time as the subject's scans between
    `since` and `until` (场所同时段人员): by default whose stay overlaps the subject's (a stay is the
    scan plus the venue category's dwell time from the policy pack); with `window_min`, who scanned
    within ±window_min minutes of each scan. The subject's own scans are excluded."""
    start, end = _time(since, "since"), _time(until, "until")
    if start is None or end is None:
        raise ValidationFailed(INVALID_PERIOD(), [FieldError("since" if start is None else "until", REQUIRED())])
    if cursor and not (cursor.isascii() and cursor.isdigit()):
        raise ValidationFailed(INVALID_CURSOR(), [FieldError("cursor", NOT_A_CURSOR())])
    subject = colocation_service.resolve_subject(session, actor, person_id=person_id, phone=phone,
                                                 id_number=id_number)
    window = colocation_service.window_minutes(session, window_min)
    pairs = colocation_service.colocated(session, actor, person_id=subject, since=start, until=end,
                                         window_min=window)
    # the cursor is a position in the engine's deterministic order (subject time, venue, source,
    # co-visitor time, co-visitor): a page formats only its own rows from the answer's columns
    offset = int(cursor or 0)
    cols = colocation_service.PAIR_COLUMNS
    return ColocationOut(subject_person_id=subject, since=clock.iso_local(start), until=clock.iso_local(end),
                         window_min=window, mode="overlap" if window is None else "window", count=len(pairs),
                         pairs=[PairOut(**dict(zip(cols, row, strict=True))) for row in pairs.rows(offset, offset + limit)],
                         next_cursor=str(offset + limit) if offset + limit < len(pairs) else None)


@api.get("/venues/coverage", response_model=CoverageOut, summary="Scan coverage of a day")
def get_coverage(session: DbSession, actor: CanView,
                 day: Annotated[dt.date | None, Query(description="local day, YYYY-MM-DD")] = None) -> CoverageOut:
    report = coverage_module.coverage(session, actor, day=day)

    def out(vs: list[Any]) -> list[VenueCoverageOut]:
        return [VenueCoverageOut(venue_id=v.venue_id, name=v.name, code=v.code, ref=v.ref, category=v.category,
                                 expected=v.expected, scans=v.scans, ratio=v.ratio, open_flags=v.open_flags) for v in vs]

    return CoverageOut(day=report.day.isoformat(), totals=report.totals, without_scans=out(report.without_scans),
                       under_scanning=out(report.under_scanning), flagged=out(report.flagged))


@api.get("/venues/{venue_id}/code", response_model=CodeOut, summary="A venue's current code (issued if none)")
def get_code(request: Request, venue_id: RowId, session: DbSession, actor: CanManage) -> CodeOut:
    return _code_out(codes_service.issue_code(session, actor, place_id=venue_id), request)


@api.post("/venues/{venue_id}/code/rotate", response_model=CodeOut, summary="Revoke a venue's code, issue a new one")
def rotate_code(request: Request, venue_id: RowId, session: DbSession, actor: CanManage) -> CodeOut:
    return _code_out(codes_service.rotate_code(session, actor, place_id=venue_id), request)


@api.post("/venues/{venue_id}/flags", response_model=FlagOut, status_code=201,
          summary="Flag a venue that does not enforce scanning")
def post_flag(venue_id: RowId, body: FlagIn, session: DbSession, actor: CanFlag) -> FlagOut:
    return _flag_out(venues_service.flag_venue(session, actor, place_id=venue_id, reason=body.reason))


@api.post("/venues/flags/{flag_id}/clear", response_model=FlagOut, summary="Close a flag")
def clear_flag(flag_id: RowId, session: DbSession, actor: CanFlag) -> FlagOut:
    return _flag_out(venues_service.clear_flag(session, actor, flag_id=flag_id))


# ------------------------------------------------------------------------------------- the scan page

def _saved_identity(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(ID_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(crypto.decrypt(base64.urlsafe_b64decode(raw.encode())))
    except Exception:  # tampered, encrypted under another key, or not ours: ask again
        return None
    return data if isinstance(data, dict) and data.get("phone") else None


def _identity_cookie(response: Response, request: Request, identity: dict[str, str]) -> None:
    value = base64.urlsafe_b64encode(crypto.encrypt(json.dumps(identity, ensure_ascii=False))).decode()
    response.set_cookie(ID_COOKIE, value, max_age=ID_COOKIE_DAYS * 86400, path="/v", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")


def _refused(request: Request, exc: codes_service.CodeRefused) -> Response:
    return render(request, "venues/scan_refused.html", status_code=exc.status, revoked=exc.revoked)


def _scan_form(request: Request, token: str, venue_name: str, *, saved: dict[str, str] | None,
               values: dict[str, str] | None = None, errors: list[FieldError] | None = None,
               status_code: int = 200, staff_link: bool = False) -> Response:
    return render(request, "venues/scan.html", status_code=status_code, token=token, venue_name=venue_name,
                  saved=saved, saved_phone=mask_phone(saved["phone"]) if saved else "",
                  values=values or {}, errors={e.field: e.message for e in errors or []},
                  request_id=uuid.uuid4().hex, staff_link=staff_link)


@pages.get("/v/{token}")
def scan_page(request: Request, token: str, session: DbSession, actor: OptionalActor,
              change: Annotated[int, Query(ge=0, le=1)] = 0) -> Response:
    """The page a venue's QR opens: the venue's name and a one-tap check-in (扫码登记)."""
    try:
        venue = codes_service.venue_for_token(session, token)
    except codes_service.CodeRefused as exc:
        return _refused(request, exc)
    saved = None if change else _saved_identity(request)
    return _scan_form(request, token, venue.name, saved=saved,
                      staff_link=scans_service.can_check_at(session, actor, venue.place_id))


@pages.post("/v/{token}")
def scan_submit(
    request: Request,
    token: str,
    session: DbSession,
    request_id: Annotated[str, Form(max_length=64)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    id_number: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=64)] = "",
    remember: Annotated[str, Form(max_length=8)] = "",
    use_saved: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Record the check-in; remember the identity on this device when asked (an encrypted cookie)."""
    saved = _saved_identity(request) if use_saved else None
    if saved is not None:
        phone, id_number, name = saved.get("phone", ""), saved.get("id_number", ""), saved.get("name", "")
    try:
        venue = codes_service.venue_for_token(session, token)
    except codes_service.CodeRefused as exc:
        return _refused(request, exc)
    values = {"phone": phone, "id_number": id_number, "name": name}
    errors: list[FieldError] = []
    if not phone.strip():
        errors.append(FieldError("phone", REQUIRED()))
    if not errors:
        try:
            done = scans_service.record_page_scan(session, token=token, phone=phone, id_number=id_number or None,
                                                  name=name or None, request_id=request_id or None,
                                                  venue=venue)
        except ValidationFailed as exc:
            errors = exc.fields
    if errors:
        return _scan_form(request, token, venue.name, saved=None, values=values, errors=errors, status_code=422)
    check = check_phone(phone)
    shown = mask_phone(check.value if check else phone)
    control = done.control
    response = render(request, "venues/scan_done.html", venue_name=venue.name, phone_masked=shown,
                      id_masked=mask_id(id_number.strip().upper()) if id_number else "",
                      scanned_at=done.scanned_at, duplicate=done.duplicate, token=token,
                      level=control.level if control is not None else None,
                      warning=control_service.entry_warning(control) if control is not None else None)
    if remember or saved is not None:
        identity = {"phone": check.value if check else phone.strip()}
        if id_number.strip():
            identity["id_number"] = id_number.strip()
        if name.strip():
            identity["name"] = name.strip()
        _identity_cookie(response, request, identity)
    return response


@pages.post("/v/{token}/forget")
def scan_forget(token: str) -> Response:
    """Forget the identity remembered on this device."""
    response = RedirectResponse(f"/v/{token}?change=1", status_code=303)
    response.delete_cookie(ID_COOKIE, path="/v")
    return response


def _staff_form(request: Request, actor: Actor, *, action: str, venue_name: str, values: dict[str, str] | None = None,
                errors: list[FieldError] | None = None, done: dict[str, str] | None = None,
                request_id: str = "", status_code: int = 200) -> Response:
    return render(request, "venues/staff.html", status_code=status_code, actor=actor, action=action,
                  venue_name=venue_name, values=values or {}, errors={e.field: e.message for e in errors or []},
                  done=done, request_id=request_id or uuid.uuid4().hex)


def _staff_record(request: Request, session: Any, actor: Actor, *, place_id: int, venue_name: str, action: str,
                  request_id: str, phone: str, id_number: str, temperature: str, mask_ok: str) -> Response:
    values = {"phone": phone, "id_number": id_number, "temperature": temperature, "mask_ok": mask_ok}
    try:
        report = scans_service.record_staff_check(session, actor, place_id=place_id, phone=phone or None,
                                                  id_number=id_number or None, temperature=temperature or None,
                                                  mask_ok=mask_ok or None, request_id=request_id or None)
    except ValidationFailed as exc:
        return _staff_form(request, actor, action=action, venue_name=venue_name, values=values, errors=exc.fields,
                           request_id=request_id, status_code=422)
    check = check_phone(phone)
    done = {"who": mask_phone(check.value) if check else mask_id(id_number.strip().upper()),
            "temperature": temperature, "mask_ok": mask_ok, "level": None, "warning": None}
    control = report.extra.get("control")
    if control is not None and control.level is not None:  # under a measure: a clear warning, not a tick
        done["level"] = control.level
        done["warning"] = control_service.entry_warning(control, unit_name=_community_of(session, control.unit_id))
    return _staff_form(request, actor, action=action, venue_name=venue_name, done=done)


@pages.get("/entry-check")
def entry_check_page(request: Request, session: DbSession, actor: CanStaff,
                     q: Annotated[str, Query(max_length=64)] = "") -> Response:
    """Venue staff's start page (入场查验): the venues of their jurisdiction, each opening its check form."""
    venues = venues_service.staff_venues(session, actor, query=q, limit=201)
    return render(request, "venues/entry_check.html", actor=actor, venues=venues[:200], more=len(venues) > 200, q=q,
                  category_label=_category_label(request))


@pages.get("/venues/{venue_id}/staff")
def venue_staff_page(request: Request, venue_id: RowId, session: DbSession, actor: CanStaff) -> Response:
    """The entry check form (入场查验) of a venue in the actor's jurisdiction (404 otherwise)."""
    place = scans_service.staff_venue(session, actor, venue_id)
    return _staff_form(request, actor, action=f"/venues/{place.id}/staff", venue_name=place.name)


@pages.post("/venues/{venue_id}/staff")
def venue_staff_submit(
    request: Request,
    venue_id: RowId,
    session: DbSession,
    actor: CanStaff,
    request_id: Annotated[str, Form(max_length=64)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    id_number: Annotated[str, Form(max_length=40)] = "",
    temperature: Annotated[str, Form(max_length=16)] = "",
    mask_ok: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    place = scans_service.staff_venue(session, actor, venue_id)
    return _staff_record(request, session, actor, place_id=place.id, venue_name=place.name,
                         action=f"/venues/{place.id}/staff", request_id=request_id, phone=phone,
                         id_number=id_number, temperature=temperature, mask_ok=mask_ok)


@pages.get("/v/{token}/staff")
def staff_page(request: Request, token: str, session: DbSession, actor: CanStaff) -> Response:
    """Venue staff's entry check (入场查验) reached from the scanned code: the visitor's phone or ID,
    temperature, mask. Only at a venue in the staff's jurisdiction (404 otherwise, as the form would be)."""
    try:
        venue = codes_service.venue_for_token(session, token)
    except codes_service.CodeRefused as exc:
        return _refused(request, exc)
    scans_service.staff_venue(session, actor, venue.place_id)
    return _staff_form(request, actor, action=f"/v/{token}/staff", venue_name=venue.name)


@pages.post("/v/{token}/staff")
def staff_submit(
    request: Request,
    token: str,
    session: DbSession,
    actor: CanStaff,
    request_id: Annotated[str, Form(max_length=64)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    id_number: Annotated[str, Form(max_length=40)] = "",
    temperature: Annotated[str, Form(max_length=16)] = "",
    mask_ok: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        venue = codes_service.venue_for_token(session, token)
    except codes_service.CodeRefused as exc:
        return _refused(request, exc)
    return _staff_record(request, session, actor, place_id=venue.place_id, venue_name=venue.name,
                         action=f"/v/{token}/staff", request_id=request_id, phone=phone, id_number=id_number,
                         temperature=temperature, mask_ok=mask_ok)


def _community_of(session: Any, unit_id: int | None) -> str:
    """Whom the entrance staff call about a person: their grid with its community ("花园社区 花园一网格")."""
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    if unit is None:
        return ""
    parent = session.get(Unit, unit.parent_id) if unit.level == "grid" and unit.parent_id else None
    return f"{parent.name} {unit.name}" if parent is not None else unit.name


# ------------------------------------------------------------------------------------- office pages

def _category_label(request: Request) -> Any:
    zh = request_locale(request) == "zh_CN"
    return lambda c: (CATEGORIES.get(c, c) if zh else (c or "").replace("_", " ")) if c else ""


@pages.get("/venues")
def venues_page(request: Request, session: DbSession, actor: CanView,
                day: Annotated[dt.date | None, Query()] = None,
                tab: Annotated[str, Query(max_length=16)] = "none") -> Response:
    """Scan coverage of a day: venues without scans, under-scanning venues, flagged venues."""
    report = coverage_module.coverage(session, actor, day=day)
    tab = tab if tab in ("none", "low", "flagged", "all") else "none"
    rows = {"none": report.without_scans, "low": report.under_scanning, "flagged": report.flagged,
            "all": report.venues}[tab]
    return render(request, "venues/venues.html", actor=actor, report=report, rows=rows[:500], total_rows=len(rows),
                  tab=tab, day=report.day, category_label=_category_label(request),
                  can_flag=actor.can("venues.flag"), can_poster=actor.can("venues.poster"),
                  low_ratio=coverage_module.LOW_RATIO)


@pages.post("/venues/{venue_id}/flag")
def flag_submit(venue_id: RowId, session: DbSession, actor: CanFlag,
                reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    venues_service.flag_venue(session, actor, place_id=venue_id, reason=reason)
    return RedirectResponse("/venues?tab=flagged", status_code=303)


@pages.get("/venues/{venue_id}/poster")
def poster_page(request: Request, venue_id: RowId, session: DbSession, actor: CanPoster,
                rotated: Annotated[int, Query(ge=0, le=1)] = 0) -> Response:
    """The A4 poster (场所码张贴): venue name, QR and instructions; print from the browser. Without a
    configured public address (production) the page says so instead of printing a wrong host."""
    row = codes_service.poster_code(session, actor, place_id=venue_id)
    place = codes_service._venue(session, actor, row.place_id)
    try:
        url = codes_service.venue_url(row.token, request_base=str(request.base_url))
    except codes_service.PublicUrlNotConfigured as exc:
        return render(request, "venues/poster.html", actor=actor, venue=place, url=None, qr=None,
                      not_configured=exc.message, key_version=row.key_version, rotated=rotated,
                      can_rotate=actor.can("venues.manage"))
    return render(request, "venues/poster.html", actor=actor, venue=place, url=url, qr=codes_service.qr_svg(url),
                  not_configured=None, key_version=row.key_version, rotated=rotated,
                  can_rotate=actor.can("venues.manage"))


@pages.get("/venues/{venue_id}/rotate")
def rotate_confirm_page(request: Request, venue_id: RowId, session: DbSession, actor: CanManage) -> Response:
    """更换场所码, step one: what replacing the code does (every printed poster stops working), and the
    button that does it. Nothing changes until the form is sent."""
    place = codes_service._venue(session, actor, venue_id)
    current = codes_service.active_code(session, place.id)
    return render(request, "venues/rotate_confirm.html", actor=actor, venue=place,
                  key_version=current.key_version if current else None)


@pages.post("/venues/{venue_id}/rotate")
def rotate_submit(venue_id: RowId, session: DbSession, actor: CanManage,
                  confirm: Annotated[str, Form(max_length=8)] = "") -> Response:
    """更换场所码, step two: only a form sent from the confirmation page (`confirm=yes`) rotates; anything
    else goes back to that page. The API (`POST /api/v1/venues/{id}/code/rotate`) asks no question."""
    if confirm != "yes":
        return RedirectResponse(f"/venues/{venue_id}/rotate", status_code=303)
    codes_service.rotate_code(session, actor, place_id=venue_id)
    return RedirectResponse(f"/venues/{venue_id}/poster?rotated=1", status_code=303)
