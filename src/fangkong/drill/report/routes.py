"""The drill run report over HTTP (演练报告): the list of runs, one run's page, and its after-action
report as XLSX or PDF. Runs are files under `$FANGKONG_DATA_DIR/drills/`, not rows: they belong to the
command centre (`command.view`), with no jurisdiction to narrow them by."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse, Response

from fangkong.drill.report import aar, runs
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.web.deps import DbSession
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.templating import render, request_locale

pages = APIRouter(include_in_schema=False)

CanView = Annotated[Actor, Depends(requires("command.view"))]
RunId = Annotated[str, Path(max_length=100)]
Fmt = Annotated[str, Path(pattern=r"^(xlsx|pdf)$")]
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}

register_nav("drill_runs", N_("Drill runs"), "/drill/runs", "command.view", 90, group="command")


@pages.get("/drill/runs")
def runs_page(request: Request, actor: CanView) -> Response:
    return render(request, "drill_report/runs.html", actor=actor, runs=runs.list_runs(), current_nav="/drill/runs")


@pages.get("/drill/runs/{run_id}")
def run_page(request: Request, run_id: RunId, actor: CanView) -> Response:
    run = runs.load_run(run_id)
    return render(request, "drill_report/run.html", actor=actor, run=run, facts=aar.facts(run), scores=runs.score_rows(run, request_locale(request)),
                  clocks=runs.clocks(run), chains=runs.slowest_chains(run), curves=runs.curves(run),
                  current_nav="/drill/runs")


@pages.get("/drill/runs/{run_id}/aar.{fmt}")
def aar_download(run_id: RunId, fmt: Fmt, session: DbSession, actor: CanView) -> Response:
    """The after-action report, written into the run's directory when missing or older than its scores."""
    path = runs.run_path(run_id)
    target = path / f"aar.{fmt}"
    if not target.exists() or target.stat().st_mtime < (path / "score.json").stat().st_mtime:
        aar.write_aar(path)
    audit.record(session, actor, "drill.aar_downloaded", object_type="drill_run", run=run_id, format=fmt)
    return FileResponse(target, media_type=MEDIA[fmt], filename=f"演练复盘-{run_id}.{fmt}")
