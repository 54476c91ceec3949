"""`fangkong bench results`: 10,000 lab results arriving in a city whose members are overdue (结果回传).

A scratch database gets `results × pool` persons on key groups' lists, enrolled 30 days ago and never
tested, so every one of them is overdue and the daily job (`create_overdue_tasks`, the product's own)
gives each an open overdue task. `results` pooled tubes of `pool` persons each are sampled this morning
and wait for their result. Then the results arrive in one call of the service the API, the page and
`fangkong import results` use (`ingest_results`): tubes closed, versions stored, every member's last
negative and next due moved, and each member's overdue task closed with its `done` event and audit.

Timed in the same run on the same world, each inside a transaction rolled back afterwards
(`kernel.bench.compare`, medians of 3):
- product: `ingest_results` for the whole batch, as the API and a file's chunk call it, flushed, then
  the answer read back: every stored (tube, result), every member's new next due, every task closed
  with its outcome's last negative, every `done` event;
- baselines `postgresql` and `duckdb`: the same writes as plain set-based SQL over the same rows (one
  statement of data-modifying CTEs on PostgreSQL; a transaction of INSERT/UPDATE … FROM on DuckDB),
  returning the same answer: what the best hand-written SQL does without the product's rules, per-row
  reports, audit or hash chain (frequency groups only: the bench has no rule members);
- `single_row` (`single=1`, the quick variant): the same service called once per result, in file
  order (how the API receives results one at a time), which must leave the same answer.
`ingest_s` is the product path alone (what the user waits for; the issue's ≤ 2 s); `product_s`
includes reading the answer back, as the baselines' times include returning it.
Options: results=N pool=K database=URL (default: SQLite in a temporary directory) pg=URL single=0|1.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import Baselines, BenchResult, Table, benchmark, compare, scratch_database

STREETS = 20


def _series(pg: bool, n: int) -> str:
    if pg:
        return f"WITH s(n) AS (SELECT generate_series(0, {n - 1}))"
    return f"WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {n})"


#: the batch's time (12:00 local), its samples' (09:00) and the members' enrolment (30 days before)
NOW = dt.datetime(2022, 4, 18, 4, 0, tzinfo=dt.UTC)
LAB = "检测所1"
REPORTED = "2022-04-18 11:30"  # local
REPORTED_UTC = "2022-04-18 03:30:00"
DONE_DETAIL = '{"outcome_code": "tested", "note": null}'


def build_world(engine: Any, *, results: int, pool: int) -> Any:
    """The bench's city in `engine` (initialised, empty): `results × pool` overdue members, each with
    an open overdue task (made by the daily job's own service), in `results` pooled tubes sampled
    this morning and waiting for their result. Returns the lab actor the results arrive as."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import Actor
    from fangkong.kernel.jurisdictions import service as jurisdictions_service
    from fangkong.kernel.policy import service as policy_service
    from fangkong.testing import service

    members = results * pool
    pg = engine.dialect.name == "postgresql"
    sampled = (NOW - dt.timedelta(hours=3)).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    enrolled = (NOW - dt.timedelta(days=30)).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    true = "true" if pg else "1"
    with clock.frozen(NOW), Session(engine) as session:
        groups = [(g.code, g.frequency_days) for g in policy_service.active_pack(session).key_groups]
        root = jurisdictions_service.root_unit(session)
        # the city's lab, as `fangkong import results --as` a lab user would be: results anywhere in the city
        lab = Actor(None, "bench-lab", "lab", root.id, root.path,
                    frozenset({"testing.result", "unit.manage", "task.assign"}))
        streets = [jurisdictions_service.create_unit(session, lab, code=f"R{s:02d}", name=f"街道{s}",
                                                     level="street", parent_code=root.code) for s in range(STREETS)]
        session.commit()
        street_id = " ".join(f"WHEN {i} THEN {u.id}" for i, u in enumerate(streets))
        street_path = " ".join(f"WHEN {i} THEN '{u.path}'" for i, u in enumerate(streets))
        group_code = " ".join(f"WHEN {i} THEN '{c}'" for i, (c, _) in enumerate(groups))
        group_freq = " ".join(f"WHEN {i} THEN {f}" for i, (_, f) in enumerate(groups))
        unit = f"CASE (n / {pool}) % {STREETS} {street_id} END, CASE (n / {pool}) % {STREETS} {street_path} END"

        def run(sql: str) -> None:
            session.execute(text(sql))

        run(f"""{_series(pg, members)}
            INSERT INTO person (id, name, name_key, id_number_valid, unit_id, unit_path, created_at, updated_at, source)
            SELECT n + 1, 'R' || n, 'R' || n, {'false' if pg else '0'}, {unit}, '{enrolled}', '{enrolled}', 'bench'
            FROM s""")
        run(f"""{_series(pg, members)}
            INSERT INTO group_member (id, person_id, group_code, source, active, enrolled_at, frequency_days,
                                      unit_id, unit_path)
            SELECT n + 1, n + 1, CASE n % {len(groups)} {group_code} END, 'roster', {true}, '{enrolled}',
                   CASE n % {len(groups)} {group_freq} END, {unit} FROM s""")
        # never tested: due a frequency after enrolment, long past
        run("UPDATE group_member SET next_due_at = enrolled_at")
        run(f"""{_series(pg, results)}
            INSERT INTO tube (id, barcode, pool_size, test_type, status, collected_at, closed_at, opened_at,
                              opened_by, via, unit_id, unit_path)
            SELECT n + 1, 'RT' || n, {pool}, 'pcr', 'closed', '{sampled}', '{sampled}', '{sampled}', 'bench',
                   'import', CASE n % {STREETS} {street_id} END, CASE n % {STREETS} {street_path} END FROM s""")
        run(f"""{_series(pg, members)}
            INSERT INTO tube_sample (tube_id, person_id, position, collected_at, recorded_by)
            SELECT n / {pool} + 1, n + 1, n % {pool} + 1, '{sampled}', 'bench' FROM s""")
        if pg:  # rows given their ids: the sequences follow
            for table in ("person", "group_member", "tube"):
                run(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        session.commit()
        service.create_overdue_tasks(session, lab)  # the daily job's service
        session.commit()
        if pg:
            run("ANALYZE")
            session.commit()
    return lab


def batch(results: int) -> list[Any]:
    """The arriving batch: one negative result per tube, as a lab's file or API call gives it."""
    from fangkong.testing import service

    return [service.ResultItem(i + 2, {"tube_barcode": f"RT{i}", "result": "阴性", "lab": LAB,
                                       "reported_at": REPORTED}) for i in range(results)]


def answer(session: Any) -> list[tuple[Any, ...]]:
    """What a batch stored, as rows (kind, id, text, time): every (tube, result) version, every moved
    member's next due, every closed task with its outcome's last negative, every `done` event."""
    from sqlalchemy import select

    from fangkong.kernel.tasks.models import Task, TaskEvent
    from fangkong.testing.models import GroupMember, TubeResult

    rows: list[tuple[Any, ...]] = [("result", t, r, None) for t, r in session.execute(
        select(TubeResult.tube_id, TubeResult.result))]
    rows += [("member", m, None, due) for m, due in session.execute(
        select(GroupMember.id, GroupMember.next_due_at).where(GroupMember.last_negative_at.is_not(None)))]
    rows += [("task", t, (out or {}).get("last_negative_at"), None) for t, out in session.execute(
        select(Task.id, Task.outcome).where(Task.status == "done", Task.outcome_code == "tested"))]
    rows += [("event", t, "done", None) for (t,) in session.execute(
        select(TaskEvent.task_id).where(TaskEvent.event == "done"))]
    return rows


def _tables() -> list[Table]:
    big, text_, ts, boolean = "BIGINT", "TEXT", "TIMESTAMP", "BOOLEAN"
    return [
        Table("tube", [("id", big), ("barcode", text_), ("status", text_), ("result", text_),
                       ("reported_at", ts), ("lab", text_)],
              "SELECT id, barcode, status, result, reported_at, lab FROM tube", [("barcode",)]),
        Table("tube_result", [("tube_id", big), ("version", big), ("result", text_), ("lab", text_),
                              ("reported_at", ts), ("received_at", ts), ("status", text_), ("via", text_),
                              ("received_by", text_)],
              "SELECT tube_id, version, result, lab, reported_at, received_at, status, via, received_by "
              "FROM tube_result", [("tube_id",)]),
        Table("tube_sample", [("tube_id", big), ("person_id", big), ("collected_at", ts)],
              "SELECT tube_id, person_id, collected_at FROM tube_sample", [("tube_id", "person_id", "collected_at")]),
        Table("group_member", [("id", big), ("person_id", big), ("active", boolean), ("frequency_days", big),
                               ("last_negative_at", ts), ("next_due_at", ts)],
              "SELECT id, person_id, active, frequency_days, last_negative_at, next_due_at FROM group_member",
              [("person_id",), ("id",)]),
        Table("task", [("id", big), ("kind", text_), ("subject_type", text_), ("subject_id", big),
                       ("status", text_), ("done_at", ts), ("outcome_code", text_), ("outcome", text_)],
              "SELECT id, kind, subject_type, subject_id, status, done_at, outcome_code, outcome FROM task",
              [("subject_id", "subject_type", "kind", "status"), ("id",)]),
        Table("task_event", [("task_id", big), ('"at"', ts), ("event", text_), ("detail", text_)],
              'SELECT task_id, "at", event, detail FROM task_event', [("task_id",)]),
    ]


def _baseline_sql(results: int) -> dict[str, list[str]]:
    """The batch as plain SQL: per engine, the statements (the last one returns the answer)."""
    from fangkong.testing import kinds

    barcodes = ", ".join(f"'RT{i}'" for i in range(results))
    now = NOW.replace(tzinfo=None).isoformat(sep=" ")
    pg_local = "to_char({} + INTERVAL '8 hours', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '+08:00'"
    duck_local = "strftime({} + INTERVAL 8 HOUR, '%Y-%m-%dT%H:%M:%S') || '+08:00'"
    result_cols = "tube_id, version, result, lab, reported_at, received_at, status, via, received_by"
    result_vals = f"tube_id, 1, result, '{LAB}', TIMESTAMP '{REPORTED_UTC}', TIMESTAMP '{now}', 'accepted', 'api', 'bench-lab'"
    overdue = (f"t.kind = '{kinds.OVERDUE}' AND t.subject_type = 'group_member' AND t.status = 'open' "
               f"AND m.next_due_at > TIMESTAMP '{now}'")
    postgresql = f"""
        WITH incoming(barcode, result) AS (SELECT b, 'negative' FROM unnest(ARRAY[{barcodes}]) AS b),
        hit AS (SELECT t.id AS tube_id, i.result FROM incoming i JOIN tube t ON t.barcode = i.barcode
                WHERE NOT EXISTS (SELECT 1 FROM tube_result r WHERE r.tube_id = t.id)),
        ins AS (INSERT INTO tube_result ({result_cols}) SELECT {result_vals} FROM hit RETURNING tube_id, result),
        tub AS (UPDATE tube t SET result = h.result, status = 'closed',
                       reported_at = coalesce(t.reported_at, TIMESTAMP '{REPORTED_UTC}'), lab = coalesce(t.lab, '{LAB}')
                FROM hit h WHERE t.id = h.tube_id RETURNING t.id),
        neg AS (SELECT s.person_id, max(s.collected_at) AS at FROM tube_sample s JOIN hit h ON h.tube_id = s.tube_id
                WHERE h.result = 'negative' GROUP BY s.person_id),
        m AS (UPDATE group_member g SET last_negative_at = n.at, next_due_at = n.at + g.frequency_days * INTERVAL '1 day'
              FROM neg n WHERE g.person_id = n.person_id AND g.active AND (g.last_negative_at IS NULL OR n.at > g.last_negative_at)
              RETURNING g.id, g.last_negative_at, g.next_due_at),
        closed AS (UPDATE task t SET status = 'done', done_at = TIMESTAMP '{now}', outcome_code = 'tested',
                          outcome = json_build_object('last_negative_at', {pg_local.format("m.last_negative_at")})
                   FROM m WHERE t.subject_id = m.id AND {overdue}
                   RETURNING t.id, {pg_local.format("m.last_negative_at")} AS lna),
        ev AS (INSERT INTO task_event (task_id, "at", event, detail)
               SELECT id, TIMESTAMP '{now}', 'done', '{DONE_DETAIL}' FROM closed RETURNING task_id)
        SELECT 'result', tube_id, result, NULL::timestamp FROM ins
        UNION ALL SELECT 'member', id, NULL, next_due_at FROM m
        UNION ALL SELECT 'task', id, lna, NULL FROM closed
        UNION ALL SELECT 'event', task_id, 'done', NULL FROM ev"""
    duckdb = [
        f"""CREATE TEMP TABLE hit AS SELECT t.id AS tube_id, 'negative' AS result
            FROM (SELECT unnest([{barcodes}]) AS barcode) i JOIN tube t ON t.barcode = i.barcode
            WHERE NOT EXISTS (SELECT 1 FROM tube_result r WHERE r.tube_id = t.id)""",
        f"INSERT INTO tube_result ({result_cols}) SELECT {result_vals} FROM hit",
        f"""UPDATE tube SET result = h.result, status = 'closed',
                   reported_at = coalesce(tube.reported_at, TIMESTAMP '{REPORTED_UTC}'), lab = coalesce(tube.lab, '{LAB}')
            FROM hit h WHERE tube.id = h.tube_id""",
        """CREATE TEMP TABLE m AS SELECT g.id, n.at AS last_negative_at,
                  n.at + g.frequency_days * INTERVAL 1 DAY AS next_due_at
           FROM (SELECT s.person_id, max(s.collected_at) AS at FROM tube_sample s JOIN hit h ON h.tube_id = s.tube_id
                 WHERE h.result = 'negative' GROUP BY s.person_id) n
           JOIN group_member g ON g.person_id = n.person_id
           WHERE g.active AND (g.last_negative_at IS NULL OR n.at > g.last_negative_at)""",
        """UPDATE group_member SET last_negative_at = m.last_negative_at, next_due_at = m.next_due_at
           FROM m WHERE group_member.id = m.id""",
        f"""CREATE TEMP TABLE closed AS SELECT t.id, {duck_local.format("m.last_negative_at")} AS lna
            FROM task t JOIN m ON t.subject_id = m.id WHERE {overdue}""",
        f"""UPDATE task SET status = 'done', done_at = TIMESTAMP '{now}', outcome_code = 'tested',
                   outcome = '{{"last_negative_at": "' || c.lna || '"}}'
            FROM closed c WHERE task.id = c.id""",
        f"INSERT INTO task_event SELECT id, TIMESTAMP '{now}', 'done', '{DONE_DETAIL}' FROM closed",
        """SELECT 'result', tube_id, result, NULL::TIMESTAMP FROM tube_result
           UNION ALL SELECT 'member', id, NULL, next_due_at FROM m
           UNION ALL SELECT 'task', id, lna, NULL FROM closed
           UNION ALL SELECT 'event', id, 'done', NULL FROM closed""",
    ]
    return {"postgresql": [postgresql], "duckdb": duckdb}


@benchmark("results", quick={"results": 30, "pool": 3, "single": 1})
def bench_results(*, results: int = 10_000, pool: int = 10, database: str | None = None, pg: str | None = None,
                  single: int = 0) -> BenchResult:
    """10,000 results arriving, closing the members' overdue tasks (issue #18 goal: ≤ 2 s)."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from fangkong.kernel import clock
    from fangkong.kernel.audit.models import AuditEvent
    from fangkong.testing import service

    members = results * pool
    figures: dict[str, Any] = {"results": results, "pool": pool, "members": members}
    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-results-"))
    engine = scratch_database(database, tmp)
    figures["backend"] = engine.dialect.name
    notes = ["goal (issue #18): 10,000 results arriving ≤ 2 s, closing overdue tasks and audit in bulk",
             "each run inside a transaction rolled back afterwards (flushed, not committed)"]
    t0 = time.perf_counter()
    lab = build_world(engine, results=results, pool=pool)
    figures["setup_s"] = round(time.perf_counter() - t0, 1)
    items = batch(results)
    ingest: list[tuple[float, float]] = []
    seen: dict[str, Any] = {}

    def arrive(one_by_one: bool = False) -> list[tuple[Any, ...]]:
        with clock.frozen(NOW), Session(engine) as session:
            first_audit = session.execute(select(func.max(AuditEvent.id))).scalar_one()
            t, cpu = time.perf_counter(), time.process_time()
            if one_by_one:
                for it in items:
                    service.ingest_results(session, lab, items=[it], via="api")
            else:
                rows = service.ingest_results(session, lab, items=items, via="api")
                seen["accepted"] = sum(r.status == "accepted" for r in rows)
            session.flush()
            if not one_by_one:
                ingest.append((time.perf_counter() - t, time.process_time() - cpu))
            seen["audit_entries_single_row" if one_by_one else "audit_entries"] = session.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.id > first_audit)).scalar_one()
            out = answer(session)
            if not one_by_one:
                seen["tasks_closed"] = sum(r[0] == "task" for r in out)
            session.rollback()  # the same world for the next run
        return out

    baselines = Baselines(engine, _tables(), pg=pg).load()
    try:
        figures.update(baselines.figures)
        notes += baselines.notes
        sql = _baseline_sql(results)
        others: dict[str, Any] = {
            "postgresql": (lambda: baselines.run_script("postgresql", sql["postgresql"]))
            if baselines.has("postgresql") else None,
            "duckdb": (lambda: baselines.run_script("duckdb", sql["duckdb"])) if baselines.has("duckdb") else None,
        }
        if single:
            others["single_row"] = lambda: arrive(one_by_one=True)
        job = compare(figures, "results_arriving", arrive, others, repeat=3)
    finally:
        baselines.close()
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    walls = sorted(w for w, _c in ingest)
    job["ingest_s"] = round(walls[len(walls) // 2], 3)
    job["ingest_s_runs"] = [round(w, 3) for w, _c in ingest]
    # this process's CPU (Python + SQLite; not PostgreSQL's server): on a shared, loaded machine wall
    # time is mostly waiting for a core
    job["ingest_cpu_s_runs"] = [round(c, 3) for _w, c in ingest]
    figures.update(seen)
    return BenchResult("results", figures, notes)
