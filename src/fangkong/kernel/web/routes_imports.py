"""Page imports' progress view (导入进度): a job's page polls its status every second until the
import has run, then shows the per-row report and offers it as CSV. See `kernel.imports.service`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from fangkong.kernel.auth.deps import CurrentActor
from fangkong.kernel.errors import NotFound
from fangkong.kernel.imports import service as imports_service
from fangkong.kernel.imports.models import ImportJob
from fangkong.kernel.messages import field_label
from fangkong.kernel.web.deps import DbSession, ReadsOnly, RowId
from fangkong.kernel.web.templating import gettext_for, render, request_locale

pages = APIRouter(include_in_schema=False)


def start(request: Request, job: ImportJob) -> Response:
    """Answer an upload: go to the job's page; the import runs once this request has committed (a
    response's background task runs after the request's unit of work, in a worker thread)."""
    return RedirectResponse(f"/imports/{job.id}", status_code=303, background=BackgroundTask(
        imports_service.run, job.id, request.app.state.session_factory))


def _issue_text(item: dict[str, Any], locale: str) -> tuple[str, str]:
    """(the field's name as a person reads it, the message in their language)."""
    field = item.get("field") or ""
    return (field_label(field, locale) if field else ""), imports_service.shown(item.get("message"), locale)


def _context(request: Request, job: ImportJob) -> dict[str, Any]:
    _ = gettext_for(request)
    locale = request_locale(request)
    kind = imports_service._KINDS.get(job.kind)
    rows = [{**r, "issues": [_issue_text(i, locale) for i in r.get("issues", [])]}
            for r in imports_service.report_rows(job)]
    record = kind.record if kind else None
    return {
        "job": job, "title": _(kind.label) if kind else job.kind, "rows": rows, "shown": len(rows),
        "progress": imports_service.progress(job), "counts": job.counts or {},
        "error": imports_service.shown(job.error, locale) if job.error else "",
        "record": (record[0], record[1], _(record[2])) if record else None,
        "back_url": kind.back[0] if kind else "/", "back_label": _(kind.back[1]) if kind else _("Home"),
    }


@pages.get("/imports/{job_id}", dependencies=[ReadsOnly])
def job_page(request: Request, job_id: RowId, session: DbSession, actor: CurrentActor) -> Response:
    job = imports_service.get_job(session, actor, job_id)
    return render(request, "import_job.html", actor=actor, **_context(request, job))


@pages.get("/imports/{job_id}/status", dependencies=[ReadsOnly])
def job_status(request: Request, job_id: RowId, session: DbSession, actor: CurrentActor) -> Response:
    """HTMX: the status section, polled every second while the job is queued or running."""
    job = imports_service.get_job(session, actor, job_id)
    return render(request, "_import_job_status.html", actor=actor, **_context(request, job))


@pages.get("/imports/{job_id}/report.csv", dependencies=[ReadsOnly])
def job_report(job_id: RowId, session: DbSession, actor: CurrentActor) -> Response:
    """The per-row report (row,status,person_id,issues,…), UTF-8 with BOM."""
    job = imports_service.get_job(session, actor, job_id)
    path = imports_service.report_csv(job)
    if path is None:
        raise NotFound(f"report of import job {job_id}")
    stem = job.filename.rsplit(".", 1)[0]
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"{stem}-report.csv")
