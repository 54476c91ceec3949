"""Scheduled work without cron (定时作业): every registered job runs on its schedule, once per deployment.

- A job's schedule is a crontab expression in the platform's time zone, given where the job is
  registered (`@job("tasks.escalate", schedule="*/5 * * * *")`); a job registered without one runs every
  15 minutes, so a later capability's jobs are scheduled as soon as they exist. The schedule arithmetic is
  APScheduler's `CronTrigger` (a maintained library); the loop that asks it is ours, because it must ask
  the platform's clock (a drill runs on simulated time).
- Each tick looks at every job's latest due slot (the most recent fire time not after now). A slot that
  has no successful run is *claimed* by inserting `job_run(job, slot, attempt)`: the unique constraint
  lets exactly one of several server processes win, on SQLite and PostgreSQL alike, so `fangkong serve`
  with several workers still runs each slot once. Slots missed while the server was down are not replayed
  one by one: the latest is run, which is what every job here needs (they work on the state, not on
  the slot).
- A failed run is recorded with its error and retried on later ticks (after 1, then 2 minutes); after
  the last attempt the administrators get a task (`system.job_failed`) in the root unit's inbox and an
  audit entry. A run left `running` by a process that died is recorded failed after `STALE` (and
  alerts, if it was the last attempt), then retried like any failure.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fangkong.kernel import clock
from fangkong.kernel.scheduler.models import JobRun
from fangkong.kernel.tasks.kinds import register_kind

log = logging.getLogger("fangkong.scheduler")

DEFAULT_SCHEDULE = "*/15 * * * *"
MAX_ATTEMPTS = 3
#: wait after a failed attempt before the next one: attempt n waits n × this
BACKOFF = dt.timedelta(minutes=1)
#: a run still `running` after this long belonged to a process that died
STALE = dt.timedelta(hours=2)
#: how far back a slot is looked for (a job scheduled less often than this would never be due)
LOOKBACK = dt.timedelta(days=8)
TICK_SECONDS = 20.0
ABANDONED = "abandoned: the process running it stopped before it finished"

JOB_FAILED = register_kind(
    "system.job_failed", label_zh="定时作业失败", label_en="Scheduled job failed",
    outcomes={"fixed": ("已排除故障", "Fixed"), "ignored": ("已知悉，无需处理", "Acknowledged")})


def _tz() -> ZoneInfo:
    from fangkong.settings import get_settings

    return ZoneInfo(get_settings().timezone)


def trigger(expr: str) -> CronTrigger:
    """A crontab expression (minute hour day month weekday) in the platform's time zone."""
    return CronTrigger.from_crontab(expr, timezone=_tz())


def last_slot(expr: str, now: dt.datetime) -> dt.datetime | None:
    """The most recent fire time of `expr` not after `now` (UTC), within `LOOKBACK`."""
    trig = trigger(expr)
    fire = trig.get_next_fire_time(None, now - LOOKBACK)
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trig.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
    return None if last is None else last.astimezone(dt.UTC)


def next_slot(expr: str, now: dt.datetime) -> dt.datetime | None:
    fire = trigger(expr).get_next_fire_time(None, now + dt.timedelta(seconds=1))
    return None if fire is None else fire.astimezone(dt.UTC)


def registered() -> dict[str, tuple[Callable[..., Any], str]]:
    """Every registered job with its schedule (the modules that register jobs are loaded first)."""
    from fangkong.cli import _load_commands
    from fangkong.kernel.cli_support import JOBS, SCHEDULES

    _load_commands()
    return {name: (fn, SCHEDULES.get(name) or DEFAULT_SCHEDULE) for name, fn in sorted(JOBS.items())}


@dataclass
class TickResult:
    ran: list[str]
    failed: list[str]


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _claim(factory: sessionmaker[Session], name: str, slot: dt.datetime, now: dt.datetime) -> JobRun | None:
    """Insert the run row for the next attempt of (job, slot), or None when it is not due or taken."""
    with factory() as session:
        runs = session.execute(select(JobRun).where(JobRun.job == name, JobRun.slot == slot)
                               .order_by(JobRun.attempt)).scalars().all()
        if any(r.status == "ok" for r in runs):
            return None
        if runs:
            last = runs[-1]
            if last.status == "running":
                if now - last.started_at < STALE:
                    return None
                if not _abandon(session, last, now):  # another process recorded it first
                    return None
            elif last.finished_at is not None and now - last.finished_at < BACKOFF * last.attempt:
                return None
            if len(runs) >= MAX_ATTEMPTS:
                return None
        run = JobRun(job=name, slot=slot, attempt=len(runs) + 1, status="running", started_at=now,
                     result={}, worker=_worker())
        session.add(run)
        try:
            session.commit()
        except IntegrityError:  # another process claimed this attempt first
            session.rollback()
            return None
        return run


def _abandon(session: Session, run: JobRun, now: dt.datetime) -> bool:
    """A run left `running` past `STALE` (its process died): record it failed — and alert, when it was
    the last attempt — exactly once, however many processes notice it at the same tick."""
    taken = session.execute(update(JobRun).where(JobRun.id == run.id, JobRun.status == "running").values(
        status="failed", finished_at=now, error=ABANDONED)).rowcount == 1
    if taken and run.attempt >= MAX_ATTEMPTS:
        session.refresh(run)
        _alert(session, run)
    session.commit()
    return taken


def _finish(factory: sessionmaker[Session], run_id: int, *, status: str, result: dict[str, Any] | None = None,
            error: str | None = None) -> JobRun:
    with factory() as session:
        run = session.get(JobRun, run_id)
        assert run is not None
        run.status, run.finished_at = status, clock.now()
        run.result = result or {}
        run.error = error
        if status == "failed" and run.attempt >= MAX_ATTEMPTS:
            _alert(session, run)
        session.commit()
        return run


def _alert(session: Session, run: JobRun) -> None:
    """The last attempt failed: a task for the administrators (root unit) and an audit entry."""
    from fangkong.kernel.audit import service as audit
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.auth.service import root_unit
    from fangkong.kernel.tasks import service as tasks_service

    audit.record(session, SYSTEM_ACTOR, "scheduler.job_failed", object_type="job_run", object_id=run.id,
                 job=run.job, slot=clock.iso_local(run.slot), attempts=run.attempt)
    tasks_service.create_task(
        session, SYSTEM_ACTOR, kind=JOB_FAILED.code, unit_id=root_unit(session).id,
        title=f"定时作业 {run.job} 连续 {run.attempt} 次失败（{clock.iso_local(run.slot)[:16]}）",
        due_at=clock.now() + dt.timedelta(hours=4), detail={"job": run.job, "run_id": run.id,
                                                            "error": (run.error or "")[-500:]})


def run_once(factory: sessionmaker[Session], name: str, fn: Callable[..., Any], run: JobRun) -> bool:
    """Run one claimed job in its own unit of work; record the outcome. True when it succeeded."""
    from fangkong.kernel.bootstrap import load_mode

    try:
        with factory() as session:
            load_mode(session)
            result = fn(session)
            session.commit()
    except Exception as exc:  # a failing job must not stop the others; it is recorded and retried
        log.exception("scheduled job %s failed (attempt %s)", name, run.attempt)
        _finish(factory, run.id, status="failed", error="".join(traceback.format_exception(exc))[-4000:])
        return False
    _finish(factory, run.id, status="ok", result=result if isinstance(result, dict) else {"result": result})
    return True


def tick(factory: sessionmaker[Session], *, now: dt.datetime | None = None,
         jobs: dict[str, tuple[Callable[..., Any], str]] | None = None) -> TickResult:
    """Run every job whose latest slot has not run yet (what the scheduler thread does each tick)."""
    now = now or clock.now()
    out = TickResult([], [])
    for name, (fn, expr) in (jobs if jobs is not None else registered()).items():
        slot = last_slot(expr, now)
        if slot is None:
            continue
        run = _claim(factory, name, slot, now)
        if run is None:
            continue
        (out.ran if run_once(factory, name, fn, run) else out.failed).append(name)
    return out


def recent_runs(session: Session, *, limit: int = 200, job: str | None = None) -> list[JobRun]:
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job:
        stmt = stmt.where(JobRun.job == job)
    return list(session.execute(stmt).scalars())


class SchedulerThread(threading.Thread):
    """Ticks every `TICK_SECONDS` until stopped; started by `fangkong serve` (one per process; the claim
    makes it one run per deployment)."""

    def __init__(self, factory: sessionmaker[Session], interval: float = TICK_SECONDS,
                 jobs: dict[str, tuple[Callable[..., Any], str]] | None = None) -> None:
        super().__init__(name="fangkong-scheduler", daemon=True)
        self.factory, self.interval, self.jobs = factory, interval, jobs
        self.stopped = threading.Event()
        self.ticks = 0  # ticks completed (tests wait on it instead of the clock)

    def run(self) -> None:
        jobs = self.jobs if self.jobs is not None else registered()
        while not self.stopped.is_set():
            try:
                tick(self.factory, jobs=jobs)
            except Exception:  # the database may be briefly unreachable: try again next tick
                log.exception("scheduler tick failed")
            self.ticks += 1
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
