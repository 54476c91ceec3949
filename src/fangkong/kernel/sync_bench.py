"""`fangkong bench sqlite-sync`: what `synchronous=FULL` costs the embedded database.

An acknowledged commit must survive a power loss, so SQLite runs `PRAGMA synchronous=FULL` (the WAL is
fsynced at every commit) rather than `NORMAL` (fsync at checkpoints only: a power loss may take the last
commits; a crash of the process never does). This bench measures the price on this disk: the same
workload of small write transactions — one person registered through `people.service.register_person`
(encrypted ID and phone, blind indexes, audit entry) per transaction, as one API call makes it — in a
fresh scratch SQLite database under each setting, rounds alternating so that a busy machine weighs
on both. Figures: commits per second under each, and FULL's time as a ratio to NORMAL's.

Options: commits=N per round (default 300), rounds=R (default 2).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from fangkong.kernel.bench import BenchResult, benchmark, scratch_database

MODES = ("NORMAL", "FULL")


def _id_number(n: int) -> str:
    from fangkong.kernel.people.identity import id_check_digit

    first = f"320412198001{n // 1000 % 28 + 1:02d}{n % 1000:03d}"
    return first + id_check_digit(first)


def _one_round(mode: str, commits: int, tmp: Path) -> float:
    """Seconds for `commits` one-person write transactions under `mode`, in a fresh database."""
    from sqlalchemy.orm import Session

    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.people import service as people_service

    os.environ["FANGKONG_SQLITE_SYNCHRONOUS"] = mode
    engine = scratch_database(None, tmp)
    try:
        t0 = time.perf_counter()
        for i in range(commits):
            with Session(engine) as session, session.begin():
                people_service.register_person(session, SYSTEM_ACTOR, name=f"测试{i}", id_number=_id_number(i),
                                               phone=f"139{i:08d}", source="bench")
        return time.perf_counter() - t0
    finally:
        engine.dispose()


@benchmark("sqlite-sync", quick={"commits": 5, "rounds": 2})
def bench_sqlite_sync(*, commits: int = 300, rounds: int = 2) -> BenchResult:
    """Commits per second with synchronous=FULL against NORMAL, same workload, same run."""
    from fangkong.settings import reset_settings_cache

    saved = os.environ.get("FANGKONG_SQLITE_SYNCHRONOUS")
    seconds: dict[str, float] = dict.fromkeys(MODES, 0.0)
    try:
        for r in range(rounds):
            for mode in MODES if r % 2 == 0 else reversed(MODES):
                tmp = Path(tempfile.mkdtemp(prefix=f"fangkong-bench-sync-{mode.lower()}-"))
                try:
                    seconds[mode] += _one_round(mode, commits, tmp)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if saved is None:
            os.environ.pop("FANGKONG_SQLITE_SYNCHRONOUS", None)
        else:
            os.environ["FANGKONG_SQLITE_SYNCHRONOUS"] = saved
        reset_settings_cache()
    total = commits * rounds
    figures = {
        "commits": total,
        "normal_commits_per_s": round(total / seconds["NORMAL"], 1),
        "full_commits_per_s": round(total / seconds["FULL"], 1),
        "ratio_full_to_normal_time": round(seconds["FULL"] / seconds["NORMAL"], 2),
    }
    return BenchResult("sqlite-sync", figures, notes=[
        "one person registered (encrypted, indexed, audited) per transaction",
        "baseline: the same workload under synchronous=NORMAL in the same run",
    ])
