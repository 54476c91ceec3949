"""One scheduler per deployment (定时作业只运行一次): several server processes each run a scheduler on one
database, and the job_run claim lets exactly one of them run a due slot — on SQLite and PostgreSQL. A run
whose process died is recorded failed, retried, and alerts the administrators once."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from own_database import own_database
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.kernel import clock, db
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.bootstrap import initialise
from fangkong.kernel.scheduler import service as scheduler
from fangkong.kernel.scheduler.models import JobRun
from fangkong.kernel.tasks.models import Task

CST = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2022, 4, 18, 9, 7, tzinfo=CST)
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, initialised database of the backend whose commits are real (every instance sees them)."""
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    own = ExitStack()
    url = own.enter_context(own_database(request.param, tmp_path, "sched"))
    engine = db.make_engine(url)
    with Session(engine) as session:
        initialise(engine, session, mode="test")
        session.commit()
    engine.dispose()
    yield url
    own.close()


def _instance(url: str) -> sessionmaker[Session]:
    """What one server process has: its own engine and connection pool on the shared database."""
    return sessionmaker(db.make_engine(url), expire_on_commit=False)


def test_two_scheduler_instances_on_one_database_run_a_due_job_once(database_url):
    ran: list[str] = []

    def counted(session: Session) -> dict[str, int]:
        ran.append(threading.current_thread().name)
        time.sleep(0.2)  # still running while the other instance ticks at the same slot
        return {"n": 1}

    jobs = {"test.once": (counted, "*/5 * * * *")}
    factories = [_instance(database_url), _instance(database_url)]
    threads = [scheduler.SchedulerThread(f, interval=0.01, jobs=jobs) for f in factories]
    with clock.frozen(AT):
        for t in threads:
            t.start()
        try:
            for _attempt in range(6000):  # each instance ticks at least 10 times over the same due slot
                if all(t.ticks >= 10 for t in threads):
                    break
                assert all(t.is_alive() for t in threads)
                time.sleep(0.01)
        finally:
            for t in threads:
                t.stop()
                t.join(timeout=30)
    assert all(t.ticks >= 10 for t in threads), [t.ticks for t in threads]
    assert len(ran) == 1, ran
    with factories[0]() as s:
        runs = s.execute(select(JobRun).where(JobRun.job == "test.once")).scalars().all()
        assert [(r.attempt, r.status) for r in runs] == [(1, "ok")]
    for f in factories:
        f.kw["bind"].dispose()


def test_a_run_whose_process_died_is_failed_retried_and_alerted_once(database_url):
    """A process dies in the middle of the last attempt: the run stays `running`. After `STALE` both
    instances notice it at the same tick; it is recorded failed once and the administrators get one task."""
    calls = []

    def works(session: Session) -> dict[str, int]:
        calls.append(1)
        return {}

    jobs = {"test.crashed": (works, "0 9 * * *")}  # daily: the same slot all along
    slot = scheduler.last_slot("0 9 * * *", AT)
    factories = [_instance(database_url), _instance(database_url)]
    with factories[0]() as s:  # attempt 1 died in a process that was killed
        s.add(JobRun(job="test.crashed", slot=slot, attempt=1, status="running", started_at=AT, result={}))
        s.commit()
    later = AT + scheduler.STALE + dt.timedelta(minutes=1)
    with clock.frozen(later):
        barrier = threading.Barrier(2)

        def both(factory: sessionmaker[Session]) -> None:
            barrier.wait()
            scheduler.tick(factory, jobs=jobs)

        workers = [threading.Thread(target=both, args=(f,)) for f in factories]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert len(calls) == 1  # retried once, by one instance
    with factories[0]() as s:
        runs = s.execute(select(JobRun).where(JobRun.job == "test.crashed").order_by(JobRun.attempt)).scalars().all()
        assert [(r.attempt, r.status) for r in runs] == [(1, "failed"), (2, "ok")]
        assert runs[0].error == scheduler.ABANDONED and runs[0].finished_at is not None

        # the last attempt dies too: recorded failed and alerted exactly once, with both instances ticking
        for r in runs[1:]:
            s.delete(r)
        s.commit()
        s.add_all([JobRun(job="test.crashed", slot=slot, attempt=a, status=st, started_at=later,
                          finished_at=later if st == "failed" else None, result={})
                   for a, st in ((2, "failed"), (scheduler.MAX_ATTEMPTS, "running"))])
        s.commit()
    with clock.frozen(later + scheduler.STALE + dt.timedelta(minutes=1)):
        barrier = threading.Barrier(2)
        workers = [threading.Thread(target=both, args=(f,)) for f in factories]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert len(calls) == 1  # no attempt beyond the last
    with factories[0]() as s:
        last = s.execute(select(JobRun).where(JobRun.job == "test.crashed", JobRun.attempt == scheduler.MAX_ATTEMPTS)
                         ).scalar_one()
        assert last.status == "failed" and last.error == scheduler.ABANDONED
        alerts = s.execute(select(Task).where(Task.kind == "system.job_failed")).scalars().all()
        assert len(alerts) == 1 and "test.crashed" in alerts[0].title
        assert s.execute(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.action == "scheduler.job_failed")).scalar_one() == 1
    for f in factories:
        f.kw["bind"].dispose()
