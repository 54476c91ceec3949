"""`fangkong bench compliance`: compliance (应检尽检) over 1,000,000 members and 10,000,000 results.

A scratch database gets `members` persons, each on one key group's list (frequencies 1–7 days, one
employer per 50 members, spread over 100 streets), and `results` person-samples in tubes of `pool`
sampled over the last 14 days, all with results except 1% of tubes left pending. The members' stored
last negative and next due are loaded set-based, as result arrival keeps them.

Timed: the compliance summary per district and for one street, the first page of the overdue list,
the daily overdue-task job, 10,000 new tube results arriving (their maintenance of the stored
figures) and the full export. Baselines in the same run: a plain scan of the results table, and
recomputing every member's last negative from the results (what the stored figures avoid).
Options: members=N results=M pool=K seed=S database=URL (default: SQLite in a temporary directory).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import BenchResult, benchmark, scratch_database

DISTRICTS = 10
STREETS_PER_DISTRICT = 10
MEMBERS_PER_EMPLOYER = 50
DAYS = 14
STEP = 7919  # persons of consecutive samples: n · STEP mod members (distinct within a tube)


def _series(pg: bool, n: int) -> str:
    """A CTE `s(n)` counting 0 … n−1."""
    if pg:
        return f"s(n) AS (SELECT generate_series(0, {n - 1}))"
    return f"s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {n})"


def _ts(pg: bool, base: str, seconds_expr: str) -> str:
    """SQL for `base` (naive UTC text) plus an integer number of seconds, as the column stores it."""
    if pg:
        return f"(TIMESTAMP '{base}' + ({seconds_expr}) * INTERVAL '1 second')"
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'
    return f"(strftime('%Y-%m-%d %H:%M:%S', '{base}', '+' || ({seconds_expr}) || ' seconds') || '.000000')"


def _add_days(pg: bool, col: str, days_col: str) -> str:
    if pg:
        return f"({col} + {days_col} * INTERVAL '1 day')"
    return f"(strftime('%Y-%m-%d %H:%M:%S', {col}, '+' || {days_col} || ' days') || substr({col}, 20))"


@benchmark("compliance")
def bench_compliance(*, members: int = 1_000_000, results: int = 10_000_000, pool: int = 10, seed: int = 1,
                     database: str | None = None, keep: int = 0) -> BenchResult:
    """Compliance over 1,000,000 members and 10,000,000 results (issue #4 goal: seconds)."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
    from fangkong.kernel.jurisdictions import service as jurisdictions_service
    from fangkong.kernel.policy import service as policy_service
    from fangkong.testing import service

    if members < 100 or results < pool or pool < 1:
        raise ValueError("members ≥ 100, results ≥ pool ≥ 1")
    tubes = results // pool
    results = tubes * pool
    figures: dict[str, Any] = {"members": members, "results": results, "tubes": tubes, "pool": pool}
    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-compliance-"))
    engine = scratch_database(database, tmp)
    pg = engine.dialect.name == "postgresql"
    figures["backend"] = engine.dialect.name
    now = dt.datetime(2022, 4, 18, 1, 0, tzinfo=dt.UTC)  # 09:00 local
    start = now - dt.timedelta(days=DAYS)
    base = start.replace(tzinfo=None).isoformat(sep=" ")
    enrolled = (start - dt.timedelta(days=30)).replace(tzinfo=None).isoformat(sep=" ")

    t_all = time.perf_counter()
    with clock.frozen(now), Session(engine) as session:
        pack = policy_service.active_pack(session)
        groups = [(g.code, g.frequency_days) for g in pack.key_groups]
        root = jurisdictions_service.root_unit(session)
        streets = []
        for d in range(DISTRICTS):
            dist = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code=f"B{d:02d}", name=f"区{d}",
                                                     level="district", parent_code=root.code)
            for s in range(STREETS_PER_DISTRICT):
                streets.append(jurisdictions_service.create_unit(
                    session, SYSTEM_ACTOR, code=f"B{d:02d}{s:02d}", name=f"街道{d}-{s}", level="street",
                    parent_code=dist.code))
        streets = [(u.id, u.path) for u in streets]
        session.commit()
        street_case = " ".join(f"WHEN {i} THEN {uid}" for i, (uid, _) in enumerate(streets))
        path_case = " ".join(f"WHEN {i} THEN '{path}'" for i, (_, path) in enumerate(streets))
        group_case = " ".join(f"WHEN {i} THEN '{c}'" for i, (c, _) in enumerate(groups))
        freq_case = " ".join(f"WHEN {i} THEN {f}" for i, (_, f) in enumerate(groups))
        ns = len(streets)
        employers = max(1, members // MEMBERS_PER_EMPLOYER)

        def run(sql: str) -> None:
            session.execute(text(sql))

        t0 = time.perf_counter()
        run(f"""WITH RECURSIVE {_series(pg, employers)}
            INSERT INTO place (id, kind, category, code, name, unit_id, unit_path)
            SELECT n + 1, 'employer', NULL, 'BE' || n, '单位' || n, CASE n % {ns} {street_case} END,
                   CASE n % {ns} {path_case} END FROM s""")
        run(f"""WITH RECURSIVE {_series(pg, members)}
            INSERT INTO person (id, name, name_key, id_number_valid, unit_id, unit_path, employer_id,
                                created_at, updated_at, source)
            SELECT n + 1, 'P' || n, 'P' || n, {'false' if pg else '0'}, CASE (n / {MEMBERS_PER_EMPLOYER}) % {ns}
                   {street_case} END, CASE (n / {MEMBERS_PER_EMPLOYER}) % {ns} {path_case} END,
                   (n / {MEMBERS_PER_EMPLOYER}) % {employers} + 1, '{enrolled}', '{enrolled}', 'bench' FROM s""")
        run(f"""WITH RECURSIVE {_series(pg, members)}
            INSERT INTO group_member (id, person_id, group_code, employer_id, source, active, enrolled_at,
                                      frequency_days, unit_id, unit_path)
            SELECT n + 1, n + 1, CASE (n / {MEMBERS_PER_EMPLOYER}) % {len(groups)} {group_case} END,
                   (n / {MEMBERS_PER_EMPLOYER}) % {employers} + 1, 'roster', {'true' if pg else '1'},
                   '{enrolled}', CASE (n / {MEMBERS_PER_EMPLOYER}) % {len(groups)} {freq_case} END,
                   CASE (n / {MEMBERS_PER_EMPLOYER}) % {ns} {street_case} END,
                   CASE (n / {MEMBERS_PER_EMPLOYER}) % {ns} {path_case} END FROM s""")
        session.commit()
        figures["load_members_s"] = round(time.perf_counter() - t0, 1)

        t0 = time.perf_counter()
        span = DAYS * 86400
        # tube t: sampled at an even spread over the 14 days; 0.1% positive, 1% still pending
        run(f"""WITH RECURSIVE {_series(pg, tubes)}
            INSERT INTO tube (id, barcode, pool_size, test_type, status, collected_at, closed_at, opened_at,
                              opened_by, via, result, reported_at, lab, unit_id, unit_path)
            SELECT n + 1, 'BT' || n, {pool}, 'pcr', 'closed', {_ts(pg, base, f'(n * {span}) / {tubes}')},
                   {_ts(pg, base, f'(n * {span}) / {tubes}')}, {_ts(pg, base, f'(n * {span}) / {tubes}')},
                   'bench', 'import',
                   CASE WHEN n % 100 = 99 THEN NULL WHEN n % 1000 = 7 THEN 'positive' ELSE 'negative' END,
                   CASE WHEN n % 100 = 99 THEN NULL ELSE {_ts(pg, base, f'(n * {span}) / {tubes} + 36000')} END,
                   CASE WHEN n % 100 = 99 THEN NULL ELSE '检测所' || (n % 7) END,
                   CASE n % {ns} {street_case} END, CASE n % {ns} {path_case} END FROM s""")
        run(f"""WITH RECURSIVE {_series(pg, tubes)}
            INSERT INTO tube_result (tube_id, version, result, lab, reported_at, received_at, status, via,
                                     received_by)
            SELECT id, 1, result, lab, reported_at, reported_at, 'accepted', 'import', 'bench' FROM tube
            WHERE result IS NOT NULL""".replace(f"WITH RECURSIVE {_series(pg, tubes)}\n", ""))
        run(f"""WITH RECURSIVE {_series(pg, results)}
            INSERT INTO tube_sample (tube_id, person_id, position, collected_at, recorded_by)
            SELECT n / {pool} + 1, (n * {STEP}) % {members} + 1, n % {pool} + 1,
                   {_ts(pg, base, f'((n / {pool}) * {span}) / {tubes}')}, 'bench' FROM s""")
        session.commit()
        figures["load_results_s"] = round(time.perf_counter() - t0, 1)

        # the stored figures, as result arrival keeps them (loaded set-based once)
        t0 = time.perf_counter()
        run("""UPDATE group_member SET last_negative_at = (
                 SELECT max(ts.collected_at) FROM tube_sample ts JOIN tube t ON t.id = ts.tube_id
                 WHERE ts.person_id = group_member.person_id AND t.result = 'negative')""")
        run(f"""UPDATE group_member SET next_due_at =
                 {_add_days(pg, "coalesce(last_negative_at, enrolled_at)", "frequency_days")}""")
        session.commit()
        figures["load_stored_figures_s"] = round(time.perf_counter() - t0, 1)
        session.execute(text("ANALYZE"))
        session.commit()
    figures["setup_total_s"] = round(time.perf_counter() - t_all, 1)

    street_id, street_path = streets[3]
    street_actor = Actor(None, "bench-street", "street", street_id, street_path,
                         frozenset({"testing.view", "data.export"}))
    with clock.frozen(now), Session(engine) as session:
        # baselines: a plain scan of the results; recomputing every last negative from them
        t0 = time.perf_counter()
        session.execute(text("SELECT count(*), max(collected_at) FROM tube_sample")).one()
        figures["baseline_scan_results_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        session.execute(text("""SELECT count(*) FROM (SELECT ts.person_id, max(ts.collected_at)
                                FROM tube_sample ts JOIN tube t ON t.id = ts.tube_id
                                WHERE t.result = 'negative' GROUP BY ts.person_id) x""")).one()
        figures["baseline_recompute_last_negatives_s"] = round(time.perf_counter() - t0, 3)

        t0 = time.perf_counter()
        summary = service.summary(session, SYSTEM_ACTOR)
        figures["summary_city_by_district_s"] = round(time.perf_counter() - t0, 3)
        figures["members_overdue"] = sum(r["overdue"] for r in summary)
        figures["members_compliant"] = sum(r["compliant"] for r in summary)
        t0 = time.perf_counter()
        service.summary(session, street_actor)
        figures["summary_one_street_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        page = service.list_compliance(session, SYSTEM_ACTOR, status="overdue", limit=50)
        figures["overdue_list_first_page_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        service.list_compliance(session, street_actor, status="overdue", limit=50, after_id=page[-1].member_id
                                if page else None)
        figures["overdue_list_street_page_s"] = round(time.perf_counter() - t0, 3)

        t0 = time.perf_counter()
        figures["overdue_tasks_created"] = service.create_overdue_tasks(session, SYSTEM_ACTOR)
        session.commit()
        figures["overdue_task_job_s"] = round(time.perf_counter() - t0, 2)

        pending = [b for (b,) in session.execute(text(
            "SELECT barcode FROM tube WHERE result IS NULL ORDER BY id LIMIT 10000"))]
        items = [service.ResultItem(i + 2, {"tube_barcode": b, "result": "阴性", "lab": "检测所9",
                                            "reported_at": "2022-04-18 08:30"}) for i, b in enumerate(pending)]
        t0 = time.perf_counter()
        rows = service.ingest_results(session, SYSTEM_ACTOR, items=items)
        session.commit()
        figures["results_arriving"] = len(rows)
        figures["results_arrival_s"] = round(time.perf_counter() - t0, 2)

        out = tmp / "compliance.csv"
        t0 = time.perf_counter()
        figures["export_rows"] = service.export_compliance(session, SYSTEM_ACTOR, out=out)
        figures["export_csv_s"] = round(time.perf_counter() - t0, 1)
        session.commit()

    base_s = max(figures["baseline_scan_results_s"], 1e-3)
    figures["ratio_summary_to_scan"] = round(figures["summary_city_by_district_s"] / base_s, 2)
    figures["ratio_recompute_to_summary"] = round(
        figures["baseline_recompute_last_negatives_s"] / max(figures["summary_city_by_district_s"], 1e-3), 1)
    engine.dispose()
    notes = ["goal (issue #4): compliance at 1,000,000 members and 10,000,000 results in seconds"]
    if keep:
        notes.append(f"scratch data kept in {tmp}")
    else:  # ~2 GB at the default size: never leave it behind
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return BenchResult("compliance", figures, notes)
from fangkong.testing import bench_results  # noqa: E402, F401  (registers `fangkong bench results`)
