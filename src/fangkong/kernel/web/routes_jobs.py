"""The scheduled-jobs page (定时作业): every job with its schedule, last and next run, and recent runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.cli_support import JOB_LABELS
from fangkong.kernel.scheduler import service as scheduler
from fangkong.kernel.web.deps import DbSession
from fangkong.kernel.web.nav import N_
from fangkong.kernel.web.templating import render

pages = APIRouter(include_in_schema=False)

CanViewJobs = Annotated[Actor, Depends(requires("job.view"))]

STATUS_LABELS = {"ok": N_("Succeeded"), "failed": N_("Failed"), "running": N_("Running")}


@pages.get("/jobs")
def jobs_page(request: Request, session: DbSession, actor: CanViewJobs) -> Response:
    now = clock.now()
    runs = scheduler.recent_runs(session, limit=100)
    last = {}
    for run in runs:
        last.setdefault(run.job, run)
    jobs = [{"name": name, "label": JOB_LABELS.get(name), "schedule": expr, "last": last.get(name),
             "next": scheduler.next_slot(expr, now)} for name, (_fn, expr) in scheduler.registered().items()]
    return render(request, "jobs.html", actor=actor, jobs=jobs, runs=runs, status_labels=STATUS_LABELS,
                  job_labels=JOB_LABELS)
