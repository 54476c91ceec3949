"""Scheduled work happens (定时作业): every job on its schedule, once per deployment, failures retried and
alerted; `fangkong serve` runs them without cron."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from fangkong.kernel import clock, db
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.bootstrap import initialise
from fangkong.kernel.scheduler import service as scheduler
from fangkong.kernel.scheduler.models import JobRun
from fangkong.kernel.tasks.models import Task

CST = dt.timezone(dt.timedelta(hours=8))
FANGKONG = Path(sys.executable).with_name("fangkong")


def test_slots_are_the_latest_fire_time_in_local_time():
    at = dt.datetime(2022, 4, 18, 9, 7, tzinfo=CST)
    assert scheduler.last_slot("*/5 * * * *", at) == dt.datetime(2022, 4, 18, 9, 5, tzinfo=CST)
    assert scheduler.next_slot("*/5 * * * *", at) == dt.datetime(2022, 4, 18, 9, 10, tzinfo=CST)
    # daily at 00:10 local: at 09:07 the due slot is this morning's, in UTC the previous evening
    assert scheduler.last_slot("10 0 * * *", at) == dt.datetime(2022, 4, 18, 0, 10, tzinfo=CST)
    assert scheduler.last_slot("10 0 * * *", dt.datetime(2022, 4, 18, 0, 9, tzinfo=CST)) == \
        dt.datetime(2022, 4, 17, 0, 10, tzinfo=CST)


def test_every_registered_job_has_a_schedule_and_runs_without_parameters(session_factory):
    jobs = scheduler.registered()
    assert {"tasks.escalate", "testing.overdue", "retention.run", "venues.colocation_index",
            "intake.daily_clearance", "auth.purge_sessions"} <= set(jobs)
    at = dt.datetime(2022, 4, 18, 9, 7, tzinfo=CST)
    with clock.frozen(at):
        first = scheduler.tick(session_factory, jobs=jobs)
        assert first.failed == [] and sorted(first.ran) == sorted(jobs)  # each job's latest slot, once
        assert scheduler.tick(session_factory, jobs=jobs).ran == []     # the same slots: nothing again
    with clock.frozen(at + dt.timedelta(minutes=5)):
        again = scheduler.tick(session_factory, jobs=jobs)
    # five minutes later only the jobs with a new slot run (escalation every 5 minutes; daily ones not)
    assert "tasks.escalate" in again.ran and "intake.daily_clearance" not in again.ran
    with session_factory() as s:
        runs = s.execute(select(JobRun).where(JobRun.job == "tasks.escalate")).scalars().all()
        assert [r.status for r in runs] == ["ok", "ok"] and "escalated" in runs[0].result


def test_a_failing_job_is_retried_then_the_administrators_get_a_task(session_factory):
    calls = []

    def broken(session):
        calls.append(1)
        raise RuntimeError("the disk is full")

    jobs = {"test.broken": (broken, "0 * * * *")}
    at = dt.datetime(2022, 4, 18, 9, 7, tzinfo=CST)
    for minutes in (0, 0, 1, 3, 6, 20):  # backoff: attempt n waits n minutes after the previous one
        with clock.frozen(at + dt.timedelta(minutes=minutes)):
            scheduler.tick(session_factory, jobs=jobs)
    assert len(calls) == scheduler.MAX_ATTEMPTS
    with session_factory() as s:
        runs = s.execute(select(JobRun).where(JobRun.job == "test.broken").order_by(JobRun.attempt)).scalars().all()
        assert [(r.attempt, r.status) for r in runs] == [(1, "failed"), (2, "failed"), (3, "failed")]
        assert "the disk is full" in (runs[-1].error or "")
        alert = s.execute(select(Task).where(Task.kind == "system.job_failed")).scalars().one()
        assert "test.broken" in alert.title and alert.status == "open"
        assert s.execute(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.action == "scheduler.job_failed")).scalar_one() == 1


def test_two_processes_ticking_at_once_run_each_slot_once(tmp_path, monkeypatch):
    """Several server workers each run a scheduler: the claim lets exactly one of them run a slot."""
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    engine = db.make_engine(f"sqlite:///{tmp_path / 'sched.db'}")
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        initialise(engine, session, mode="test")
        session.commit()
    ran: list[str] = []
    lock = threading.Lock()

    def counted(session):
        with lock:
            ran.append(threading.current_thread().name)
        time.sleep(0.05)  # long enough for the other worker to try the same slot meanwhile
        return {"n": 1}

    jobs = {f"test.count{i}": (counted, "*/5 * * * *") for i in range(6)}
    at = dt.datetime(2022, 4, 18, 9, 7, tzinfo=CST)
    with clock.frozen(at):
        workers = [threading.Thread(target=scheduler.tick, args=(factory,), kwargs={"jobs": jobs},
                                    name=f"w{i}") for i in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert len(ran) == len(jobs)
    with factory() as s:
        assert s.execute(select(func.count()).select_from(JobRun)).scalar_one() == len(jobs)
    engine.dispose()


@pytest.mark.slow
def test_serve_runs_the_jobs_by_itself(tmp_path):
    """A real `fangkong serve`: without any cron, the job runs appear in the database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8")
    assert subprocess.run([str(FANGKONG), "init"], env=env, capture_output=True, timeout=600).returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(FANGKONG), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'fangkong.db'}")
    try:
        deadline = time.monotonic() + 180
        names: set[str] = set()
        while time.monotonic() < deadline and "tasks.escalate" not in names:
            time.sleep(0.5)
            with engine.connect() as conn:
                names = {r[0] for r in conn.execute(select(JobRun.job).where(JobRun.status == "ok"))}
        assert "tasks.escalate" in names, server.stderr.read1().decode() if server.poll() is not None else names
    finally:
        server.terminate()
        server.wait(timeout=30)
        engine.dispose()


def test_every_job_says_what_it_does_in_chinese():
    from fangkong.kernel import i18n
    from fangkong.kernel.cli_support import JOB_LABELS

    jobs = scheduler.registered()
    unlabelled = sorted(set(jobs) - set(JOB_LABELS))
    assert not unlabelled, f"jobs without a label (job(name, label=...)): {unlabelled}"
    zh = i18n.translations("zh_CN")
    untranslated = [name for name in jobs if zh.gettext(JOB_LABELS[name]) == JOB_LABELS[name]]
    assert not untranslated, untranslated
