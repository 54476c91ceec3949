"""`fangkong bench compliance`: compliance (应检尽检) over 1,000,000 members and 10,000,000 results.

A scratch database gets `members` persons, each on one key group's list (frequencies 1–7 days, one
employer per 50 members, spread over 100 streets), and `results` person-samples in tubes of `pool`
sampled over the last 14 days, all with results except 1% of tubes left pending. The members' stored
last negative and next due are loaded set-based, as result arrival keeps them.

Timed: the compliance summary per district and for one street, the first page of the overdue list,
the daily overdue-task job, 10,000 new tube results arriving (their maintenance of the stored
figures) and the full export. The city summary is a compared job (`figures.jobs`, see
kernel/bench.py `compare`): its baseline is ONE GROUP BY over the members table (per street, folded
to districts), in DuckDB and in PostgreSQL (see `Baselines`), and every district's counts must equal
the product's. For scale, `cost_recompute_last_negatives_s` is what the stored figures avoid:
recomputing every member's last negative from the results.
Options: members=N results=M pool=K seed=S database=URL (default: SQLite in a temporary directory)
pg=URL (a PostgreSQL baseline for a SQLite run; or FANGKONG_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import Baselines, BenchResult, Table, benchmark, compare, scratch_database

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


def _city_baseline_sql(now: dt.datetime, grace: dt.timedelta) -> str:
    """The baseline: one GROUP BY over the members table (per street path), in SQL both PostgreSQL and
    DuckDB run; timestamps are naive UTC as the product stores them."""
    n = now.astimezone(dt.UTC).replace(tzinfo=None)
    now_s, grace_s = n.isoformat(sep=" "), (n - grace).isoformat(sep=" ")
    return f"""SELECT unit_path, count(*),
        sum(CASE WHEN next_due_at >= TIMESTAMP '{now_s}' THEN 1 ELSE 0 END),
        sum(CASE WHEN next_due_at >= TIMESTAMP '{grace_s}' AND next_due_at < TIMESTAMP '{now_s}' THEN 1 ELSE 0 END),
        sum(CASE WHEN next_due_at < TIMESTAMP '{grace_s}' THEN 1 ELSE 0 END),
        sum(CASE WHEN next_due_at IS NULL THEN 1 ELSE 0 END)
        FROM group_member WHERE active GROUP BY unit_path"""


def _grace(policy_service: Any, engine: Any) -> dt.timedelta:
    """The missed-test grace of the active policy pack (12 hours when the pack names none), read
    independently of the service so that the baseline is not the product's own code."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        try:
            return policy_service.active_pack(session).sla("missed_test_grace")
        except KeyError:
            return dt.timedelta(hours=12)


def _fold(rows: list[tuple[Any, ...]], units: list[tuple[str, str]], root: tuple[str, str]) -> list[tuple[Any, ...]]:
    """Per-path counts folded to the root's children (`units`: (code, path)), and the root itself for
    members owned directly by it (only when it has some), as the product's summary reports them."""
    out = {code: [0] * 5 for code, _ in units}
    direct = [0] * 5
    for path, *counts in rows:
        target = next((out[code] for code, p in units if path.startswith(p)), direct if path == root[1] else None)
        if target is None:
            continue
        for i, c in enumerate(counts):
            target[i] += int(c or 0)
    result = [(code, *out[code]) for code, _ in units]
    if direct[0]:
        result.append((root[0], *direct))
    return result


@benchmark("compliance", quick={"members": 300, "results": 3000})
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
    grace = _grace(policy_service, engine)
    with Session(engine) as session:
        root_unit = session.execute(text("SELECT code, path, id FROM unit WHERE parent_id IS NULL")).one()
        children = [(c, p) for c, p in session.execute(text(
            "SELECT code, path FROM unit WHERE parent_id = :r ORDER BY code"), {"r": root_unit[2]})]
    baselines = Baselines(engine, [Table(
        "group_member", [("unit_path", "TEXT"), ("active", "BOOLEAN"), ("next_due_at", "TIMESTAMP")],
        "SELECT unit_path, active, next_due_at FROM group_member",
        indexes=[("active", "unit_path", "next_due_at")])])
    with clock.frozen(now), Session(engine) as session, baselines:
        baselines.load()
        figures.update(baselines.figures)
        t0 = time.perf_counter()
        session.execute(text("""SELECT count(*) FROM (SELECT ts.person_id, max(ts.collected_at)
                                FROM tube_sample ts JOIN tube t ON t.id = ts.tube_id
                                WHERE t.result = 'negative' GROUP BY ts.person_id) x""")).one()
        figures["cost_recompute_last_negatives_s"] = round(time.perf_counter() - t0, 3)

        city_sql = _city_baseline_sql(now, grace)
        summary: list[dict[str, Any]] = []

        def product() -> list[tuple[Any, ...]]:
            summary[:] = service.summary(session, SYSTEM_ACTOR)
            return [(r["unit_code"], r["members"], r["compliant"], r["grace"], r["overdue"], r["not_due"])
                    for r in summary]

        root_pair = (root_unit[0], root_unit[1])
        job = compare(figures, "summary_city", product,
                      {name: (lambda fn=fn: _fold(fn(), children, root_pair)) if fn else None
                       for name, fn in baselines.queries(city_sql).items()}, repeat=3)
        figures["summary_city_by_district_s"] = job["product_s"]
        figures["members_overdue"] = sum(r["overdue"] for r in summary)
        figures["members_compliant"] = sum(r["compliant"] for r in summary)
        job["members_total"] = sum(r["members"] for r in summary)
        if job["members_total"] != members:
            job["equal"] = False
            job.setdefault("differs", {})["members"] = {"expected": members, "product": job["members_total"]}
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

    for name, seconds in job["baselines"].items():
        figures[f"ratio_summary_to_{name}"] = round(job["product_s"] / max(seconds, 1e-4), 2)
    figures["ratio_recompute_to_summary"] = round(
        figures["cost_recompute_last_negatives_s"] / max(figures["summary_city_by_district_s"], 1e-3), 1)
    engine.dispose()
    notes = ["goal (issue #18): city summary at 1,000,000 members and 10,000,000 results ≤ 0.2 s, one pass",
             *baselines.notes]
    if keep:
        notes.append(f"scratch data kept in {tmp}")
    else:  # ~2 GB at the default size: never leave it behind
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return BenchResult("compliance", figures, notes)
from fangkong.testing import bench_results  # noqa: E402, F401  (registers `fangkong bench results`)
