"""Control's file imports over HTTP: quarantine sites, rooms, measures already running and check-ins.

API (other systems): `POST /api/v1/quarantine-sites/import`, `/rooms/import`, `/measures/import`,
`/checkins/import`, a multipart `file` (CSV or XLSX, at most the kernel's upload limit), answered with
the per-row report in the request. Pages (site staff): the same files as import jobs with a progress
view (`kernel.imports`). Both run the services of `fangkong import sites|rooms|measures|checkins`.
Included by `control.routes`."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import Response

from fangkong.control import imports
from fangkong.control.schemas import ReportItemOut, ReportOut
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.idempotency import IdempotencyKey, answer_once
from fangkong.kernel.imports import service as imports_service
from fangkong.kernel.messages import translate
from fangkong.kernel.people import service as people_service
from fangkong.kernel.tabular import UnusableFile, summarise
from fangkong.kernel.web import routes_imports
from fangkong.kernel.web.deps import DbSession
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render, request_locale

api = APIRouter(tags=["control imports"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanManagePlaces = Annotated[Actor, Depends(requires("place.manage"))]
CanStart = Annotated[Actor, Depends(requires("measure.start"))]
CanCheckIn = Annotated[Actor, Depends(requires("measure.checkin"))]
Anchor = Annotated[str, Form(pattern="^(start|exposure)$",
                             description="day 0: the local date of started_at (start) or of exposure_at")]
Kind = Annotated[str, Form(pattern="^(sites|rooms)$")]


# ------------------------------------------------------------------------------------------------ API

def _import(session: DbSession, actor: Actor, file: UploadFile, *, kind: str, key: str | None,
            options: dict[str, Any] | None = None) -> Any:
    data = file.file.read(imports_service.MAX_UPLOAD + 1)

    def answer() -> ReportOut:
        import io

        try:
            rows = imports.run_now(session, actor, kind=kind, filename=file.filename, stream=io.BytesIO(data),
                                   options=options)
        except UnusableFile as exc:
            raise ValidationFailed("unusable file", [FieldError("file", exc.message)]) from None
        rows = list(rows)
        people_service.hide_foreign_persons(session, actor, rows)
        return ReportOut(counts=summarise(rows), items=[ReportItemOut(
            row=r.row, status=r.status, person_id=r.person_id, issues=[str(i) for i in r.issues],
            extra={k: v for k, v in r.extra.items() if not k.startswith("_") and v is not None}) for r in rows])

    body = {"file": hashlib.sha256(data).hexdigest(), "name": file.filename or "", **(options or {})}
    return answer_once(session, actor, key, operation=kind, body=body, answer=answer)


@api.post("/quarantine-sites/import", response_model=ReportOut,
          summary="Import quarantine sites from a file (导入隔离点: as `fangkong import sites`)")
def import_sites_api(session: DbSession, actor: CanManagePlaces, file: UploadFile,
                     idempotency_key: IdempotencyKey = None) -> Any:
    """A CSV or XLSX file (ref, name, address, unit, status, contacts): the per-row report. Idempotent
    by ref (a stored ref is a `duplicate`)."""
    return _import(session, actor, file, kind=imports.SITES, key=idempotency_key)


@api.post("/rooms/import", response_model=ReportOut,
          summary="Import rooms of quarantine sites from a file (导入房间: as `fangkong import rooms`)")
def import_rooms_api(session: DbSession, actor: CanManagePlaces, file: UploadFile,
                     idempotency_key: IdempotencyKey = None) -> Any:
    """A CSV or XLSX file (site_ref, building, floor, room, beds, status): the per-row report.
    Idempotent by site, building and room; an unknown site rejects the row."""
    return _import(session, actor, file, kind=imports.ROOMS, key=idempotency_key)


@api.post("/measures/import", response_model=ReportOut,
          summary="Import measures already running (接管在管人员: as `fangkong import measures`)")
def import_measures_api(session: DbSession, actor: CanStart, file: UploadFile, anchor: Anchor = "start",
                        idempotency_key: IdempotencyKey = None) -> Any:
    """A CSV or XLSX file (source_ref, name, id_number, phone, category, started_at, exposure_at, site,
    room, household, contact_of, address): the per-row report. Idempotent by source_ref."""
    return _import(session, actor, file, kind=imports.MEASURES, key=idempotency_key, options={"anchor": anchor})


@api.post("/checkins/import", response_model=ReportOut,
          summary="Import check-ins from a file (导入健康打卡: as `fangkong import checkins`)")
def import_checkins_api(session: DbSession, actor: CanCheckIn, file: UploadFile,
                        idempotency_key: IdempotencyKey = None) -> Any:
    """A CSV or XLSX file (id_number or phone, name, checked_at, temperature, symptoms, by): the
    per-row report, as `POST /api/v1/checkins`. Idempotent by person and checked_at."""
    return _import(session, actor, file, kind=imports.CHECKINS, key=idempotency_key)


# ---------------------------------------------------------------------------------------------- pages

def _submit(request: Request, session: Any, actor: Actor, file: UploadFile, *, kind: str, back: str,
            options: dict[str, Any] | None = None) -> Response:
    try:
        job = imports_service.submit(session, actor, kind=kind, filename=file.filename, stream=file.file,
                                     options=options)
    except UnusableFile as exc:
        return render(request, "control/import_refused.html", status_code=422, actor=actor, back=back,
                      error=translate(exc.message, request_locale(request)))
    return routes_imports.start(request, job)


@pages.post("/quarantine-sites/import")
def import_sites_page(request: Request, session: DbSession, actor: CanManagePlaces, file: UploadFile,
                      what: Kind = "sites") -> Response:
    """A site or room file from the sites page runs as an import job (progress, then the report)."""
    return _submit(request, session, actor, file, kind=imports.SITES if what == "sites" else imports.ROOMS,
                   back="/quarantine-sites")


@pages.post("/releases/import")
def import_measures_page(request: Request, session: DbSession, actor: CanStart, file: UploadFile,
                         anchor: Anchor = "start") -> Response:
    """A file of measures already running, from the releases page, as an import job."""
    return _submit(request, session, actor, file, kind=imports.MEASURES, back="/releases",
                   options={"anchor": anchor})


@pages.post("/checkins/import")
def import_checkins_page(request: Request, session: DbSession, actor: CanCheckIn, file: UploadFile) -> Response:
    """A check-in file from the check-ins page, as an import job."""
    return _submit(request, session, actor, file, kind=imports.CHECKINS, back="/checkins")
