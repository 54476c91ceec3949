"""`fangkong bench colocation [scans=N]`: the co-location engine against a plain indexed SQL join.

Generates N scans (default 30 million) over `days` days: venue popularity Zipf-skewed (rank^-zipf),
times of day from an hourly profile with morning, lunch and evening peaks, and `cases` subjects with
`visits` scans each drawn from the same distributions. Loads them into a scratch SQLite table
`scan(venue, t, person)` with B-tree indexes on (venue, t) and (person, t), builds the columnar index
from that table, then times, on the same queries and in the same run:

    sql     SELECT … FROM scan s JOIN scan c ON c.venue = s.venue AND c.t BETWEEN s.t - w AND s.t + w
            WHERE s.person IN (…) AND s.t BETWEEN :since AND :until AND c.person <> s.person
    engine  the subjects' visits from the (person, t) index, then `core.search` on the memory-mapped
            segments, results turned into Python rows like the SQL driver returns

for one case at a time (`single_*`, median and max over `single_cases` cases) and for all `cases` in one
call (`batch_*`), and checks that both give exactly the same rows. The engine's answer is columnar
(numpy arrays: `*_engine_*`); `*_engine_rows_*` adds turning it into Python tuples like the SQL driver's
rows, which at millions of pairs costs more than the search itself. Nothing touches the configured
database; the scratch directory is removed unless keep=1.

`figures.jobs` (kernel/bench.py `compare`) holds the same comparison in the framework's shape, for one
case (median of 3) and for the batch: the engine's rows against the SQLite join, DuckDB over the same
rows, and PostgreSQL (pg=URL or FANGKONG_BENCH_POSTGRES_URL: a copy in a scratch schema with covering
indexes); every answer must be equal. NB: "product" here is the engine and its row conversion, not yet
the `colocated()` service a user's request goes through.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from fangkong.kernel.bench import Baselines, BenchResult, Table, benchmark, compare, timer
from fangkong.venues.colocation.core import Hits, Segment, Visits, search

#: relative scan volume by local hour (0–23): night lull, 7–9, 11–13 and 17–20 peaks
HOURLY = np.array([0.3, 0.15, 0.1, 0.1, 0.15, 0.4, 1.2, 2.8, 3.4, 2.6, 2.5, 3.4,
                   3.6, 2.6, 2.1, 2.1, 2.5, 3.4, 4.0, 3.6, 2.6, 1.6, 0.9, 0.5])
START = int(dt.datetime(2022, 3, 21, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())
LOAD_CHUNK = 1_000_000


def _times(rng: np.random.Generator, n: int, days: int) -> np.ndarray:
    hour = np.searchsorted(np.cumsum(HOURLY / HOURLY.sum()), rng.random(n), side="right")
    day = rng.integers(0, days, n)
    return START + day * 86400 + hour * 3600 + rng.integers(0, 3600, n)


def generate(n: int, *, venues: int, persons: int, days: int, zipf: float, cases: int, visits: int,
             seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(venue, t, person) in arrival order, and the case subjects' person ids (persons+1 …)."""
    rng = np.random.default_rng(seed)
    weights = np.arange(1, venues + 1, dtype=np.float64) ** -zipf
    cdf = np.cumsum(weights / weights.sum())
    ids = rng.permutation(venues) + 1  # popularity rank → venue id, so popular venues are spread out
    background = n - cases * visits
    venue = ids[np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), venues - 1)]
    t = _times(rng, n, days)
    person = rng.integers(1, persons + 1, n)
    subjects = np.arange(persons + 1, persons + cases + 1)
    person[background:] = np.repeat(subjects, visits)
    order = np.argsort(t, kind="stable")
    return venue[order], t[order], person[order], subjects


#: venue categories of the generated city (their dwell times come from the active policy pack)
BENCH_CATEGORIES = ("restaurant", "supermarket", "station", "office", "market", "mall")


def _series(pg: bool, n: int) -> str:
    if pg:
        return f"s(n) AS (SELECT generate_series(0, {n - 1}))"
    return f"s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {n})"


def _scan_copy_binary(place: np.ndarray, t: np.ndarray, person: np.ndarray, recorded: int) -> bytes:
    """One PostgreSQL COPY BINARY payload of scans (place_id int4, person_id int4, scanned_at, recorded_at
    timestamp, source text 'file'). Every field has a fixed width, so the rows are one numpy structured
    array: no per-row Python (psycopg's `write_row` costs ~2 µs a row, 10 min at 300 M)."""
    pg_epoch = 946684800  # 2000-01-01 UTC: PostgreSQL timestamps are µs since then
    dtype = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("place", ">i4"), ("l2", ">i4"), ("person", ">i4"),
                      ("l3", ">i4"), ("at", ">i8"), ("l4", ">i4"), ("rec", ">i8"), ("l5", ">i4"), ("src", "S4")])
    rows = np.empty(t.shape[0], dtype)
    rows["nf"], rows["l1"], rows["l2"], rows["l3"], rows["l4"], rows["l5"] = 5, 4, 4, 8, 8, 4
    rows["place"], rows["person"] = place, person
    rows["at"] = (np.asarray(t, np.int64) - pg_epoch) * 1_000_000
    rows["rec"] = (recorded - pg_epoch) * 1_000_000
    rows["src"] = b"file"
    return rows.tobytes()


SCAN_INDEXES = ("ix_scan_place_time", "ix_scan_person_time", "ix_scan_scanned_at")


def product_database(database: str | None, tmp: Path, *, scans: int, venues: int, persons: int, cases: int,
                     visits: int, zipf: float, seed: int, days: int = 0, per_day: int = 10_000_000,
                     figures: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    """A scratch product database (SQLite under `tmp`, or the empty PostgreSQL `database`) holding the
    generated city: `venues` places (kind venue, six categories), `persons + cases` persons and the
    scans, loaded day by day with the backend's bulk path (SQLite: one prepared INSERT per chunk through
    the raw connection, the scan indexes dropped during the load and rebuilt; PostgreSQL: COPY BINARY).
    Returns the engine and the facts the bench needs (subjects, period)."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from fangkong.kernel.bench import scratch_database
    from fangkong.kernel.jurisdictions import service as jurisdictions_service

    figures = figures if figures is not None else {}
    engine = scratch_database(database, tmp)
    pg = engine.dialect.name == "postgresql"
    days = days or max(1, -(-scans // per_day))
    with Session(engine) as session:
        root = jurisdictions_service.root_unit(session)
        unit_id, unit_path = root.id, root.path
        cats = " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(BENCH_CATEGORIES))
        t0 = time.perf_counter()
        session.execute(text(f"""WITH RECURSIVE {_series(pg, venues)}
            INSERT INTO place (id, kind, category, code, name, ref, unit_id, unit_path)
            SELECT n + 1, 'venue', CASE n % {len(BENCH_CATEGORIES)} {cats} END, 'BV' || n, '场所' || n,
                   'V' || n, {unit_id}, '{unit_path}' FROM s"""))
        session.execute(text(f"""WITH RECURSIVE {_series(pg, persons + cases)}
            INSERT INTO person (id, name, name_key, id_number_valid, unit_id, unit_path, created_at, updated_at,
                                source)
            SELECT n + 1, 'P' || n, 'P' || n, {'false' if pg else '0'}, {unit_id}, '{unit_path}',
                   '2022-03-01 00:00:00{'' if pg else '.000000'}', '2022-03-01 00:00:00{'' if pg else '.000000'}',
                   'bench' FROM s"""))
        if pg:
            session.execute(text(f"SELECT setval('place_id_seq', {venues}), setval('person_id_seq', {persons + cases})"))
        session.commit()
        figures["load_places_persons_s"] = round(time.perf_counter() - t0, 1)
    # the scans, a day at a time (bounded memory: a day of a 10 M/day city is ~0.5 GB of columns)
    rng_seed = np.random.SeedSequence(seed)
    venue_all, t_all, person_all, subjects = None, None, None, None
    per = -(-scans // days)
    subjects = np.arange(persons + 1, persons + cases + 1)
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if not pg:
            cur.execute("PRAGMA synchronous=OFF")
            # the generated scans name existing venues and persons by construction; checking each row's two
            # foreign keys would triple the load time (measured: 200,000 rows 3.2 s against 1.1 s)
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.execute("PRAGMA cache_size=-1000000")
        for ix in SCAN_INDEXES:
            cur.execute(f"DROP INDEX IF EXISTS {ix}")
        raw.commit()
        for day, child in enumerate(rng_seed.spawn(days)):
            n = min(per, scans - day * per)
            if n <= 0:
                break
            venue, t, person, _subjects = generate(n, venues=venues, persons=persons, days=1, zipf=zipf,
                                                  cases=cases, visits=max(1, visits // days),
                                                  seed=int(child.generate_state(1)[0]))
            t = t + day * 86400
            recorded = START + days * 86400
            if not pg:
                cur.execute("BEGIN")  # the platform's connections run in autocommit between BEGINs
            for i in range(0, n, LOAD_CHUNK):
                sl = slice(i, i + LOAD_CHUNK)
                if pg:
                    with cur.copy("COPY scan (place_id, person_id, scanned_at, recorded_at, source) "
                                  "FROM STDIN (FORMAT BINARY)") as copy:
                        copy.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
                        copy.write(_scan_copy_binary(venue[sl], t[sl], person[sl], recorded))
                        copy.write(b"\xff\xff")
                else:
                    cur.executemany(
                        "INSERT INTO scan (place_id, person_id, scanned_at, recorded_at, source) "
                        "VALUES (?, ?, datetime(?, 'unixepoch') || '.000000', ?, 'file')",
                        zip(venue[sl].tolist(), person[sl].tolist(), t[sl].tolist(),
                            itertools.repeat(dt.datetime.fromtimestamp(recorded, dt.UTC)
                                             .strftime("%Y-%m-%d %H:%M:%S.000000")), strict=False))
            raw.commit()
            del venue, t, person
        figures["load_scans_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        cur.execute("CREATE INDEX ix_scan_place_time ON scan (place_id, scanned_at)")
        cur.execute("CREATE INDEX ix_scan_person_time ON scan (person_id, scanned_at)")
        cur.execute("CREATE INDEX ix_scan_scanned_at ON scan (scanned_at)")
        cur.execute("ANALYZE")
        raw.commit()
        figures["load_scan_indexes_s"] = round(time.perf_counter() - t0, 1)
    finally:
        raw.close()
        engine.dispose()  # the pooled connections get the platform's pragmas back
    return engine, {"subjects": subjects, "since": START, "until": START + days * 86400, "days": days}


def _load_sqlite(path: Path, venue: np.ndarray, t: np.ndarray, person: np.ndarray) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    con.execute("PRAGMA temp_store=MEMORY")
    con.execute("CREATE TABLE scan (id INTEGER PRIMARY KEY, venue INTEGER NOT NULL, t INTEGER NOT NULL, "
                "person INTEGER NOT NULL)")
    for i in range(0, venue.shape[0], LOAD_CHUNK):
        con.executemany("INSERT INTO scan (venue, t, person) VALUES (?, ?, ?)",
                        zip(venue[i:i + LOAD_CHUNK].tolist(), t[i:i + LOAD_CHUNK].tolist(),
                            person[i:i + LOAD_CHUNK].tolist(), strict=True))
    con.commit()
    return con


SQL = ("SELECT s.person, c.person, s.venue, s.t, c.t FROM scan AS s JOIN scan AS c "
       "ON c.venue = s.venue AND c.t BETWEEN s.t - :w AND s.t + :w "
       "WHERE s.person IN ({ids}) AND s.t BETWEEN :since AND :until AND c.person <> s.person")


def sql_pairs(con: sqlite3.Connection, subjects: list[int], since: int, until: int, w: int) -> list[tuple]:
    ids = ",".join(str(int(s)) for s in subjects)
    return con.execute(SQL.format(ids=ids), {"w": w, "since": since, "until": until}).fetchall()


def _build_engine(con: sqlite3.Connection, directory: Path) -> Segment:
    """The columnar copy of the table: read in id ranges, sort by (venue, t), save, memory-map."""
    top = con.execute("SELECT max(id) FROM scan").fetchone()[0] or 0
    parts = []
    for lo in range(0, top, LOAD_CHUNK):
        rows = con.execute("SELECT venue, t, person FROM scan WHERE id > ? AND id <= ?",
                           (lo, lo + LOAD_CHUNK)).fetchall()
        parts.append(np.array(rows, dtype=np.int64).reshape(-1, 3))
    rows = np.concatenate(parts)
    del parts
    seg = Segment.from_unsorted(rows[:, 0], rows[:, 1], rows[:, 2])
    del rows
    np.save(directory / "keys.npy", seg.keys)
    np.save(directory / "persons.npy", seg.persons)
    return Segment(np.load(directory / "keys.npy", mmap_mode="r"), np.load(directory / "persons.npy", mmap_mode="r"))


def engine_hits(con: sqlite3.Connection, seg: Segment, subjects: list[int], since: int, until: int,
                w: int) -> tuple[Visits, Hits]:
    """The engine's answer, columnar: the visits from the (person, t) index, then one vectorised search."""
    ids = ",".join(str(int(s)) for s in subjects)
    rows = con.execute(f"SELECT person, venue, t FROM scan WHERE person IN ({ids}) AND t BETWEEN ? AND ?",
                       (since, until)).fetchall()
    a = np.array(rows, dtype=np.int64).reshape(-1, 3)
    visits = Visits(np.zeros(a.shape[0], np.int64), a[:, 0], a[:, 1], a[:, 2])
    return visits, search([seg], visits, w)


def as_rows(visits: Visits, hits: Hits) -> list[tuple]:
    """The engine's answer as the SQL driver's rows (subject, co-visitor, venue, t subject, t co-visitor)."""
    v = hits.visit
    return list(zip(visits.subject[v].tolist(), hits.person.tolist(), visits.venue[v].tolist(),
                    visits.t[v].tolist(), hits.t.tolist(), strict=True))


def engine_pairs(con: sqlite3.Connection, seg: Segment, subjects: list[int], since: int, until: int,
                 w: int) -> list[tuple]:
    return as_rows(*engine_hits(con, seg, subjects, since, until, w))


def literal_sql(subjects: list[int], since: int, until: int, w: int) -> str:
    """`SQL` with its parameters written in (the baseline engines run it as text)."""
    ids = ",".join(str(int(s)) for s in subjects)
    return (SQL.format(ids=ids).replace(":w", str(int(w))).replace(":since", str(int(since)))
            .replace(":until", str(int(until))))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


@benchmark("colocation", quick={"scans": 30_000, "single_cases": 5})
def bench_colocation(scans: int = 30_000_000, cases: int = 500, visits: int = 50, days: int = 0,
                     per_day: int = 10_000_000, venues: int = 33_000, persons: int = 5_000_000,
                     zipf: str | float = 0.7, window_min: int = 30,
                     single_cases: int = 20, seed: int = 20220418, keep: int = 0, dir: str = "") -> BenchResult:
    """Co-location engine vs a plain indexed SQL join (1 case and a batch), same data, same run."""
    zipf = float(zipf)
    # the city of the issue: 5 million people, ~33,000 venues (the drill catalog's density), 10 million
    # scans a day, so 30 million scans are three days and 300 million a month
    days = days or max(1, -(-scans // per_day))
    w = window_min * 60
    figures: dict[str, Any] = {"scans": scans, "venues": venues, "persons": persons, "days": days, "zipf": zipf,
                               "cases": cases, "visits_per_case": visits, "window_min": window_min}
    notes: list[str] = []
    scratch = Path(dir) if dir else Path(tempfile.mkdtemp(prefix="fangkong-bench-coloc-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        with timer(figures, "generate_s"):
            venue, t, person, subjects = generate(scans, venues=venues, persons=persons, days=days, zipf=zipf,
                                                  cases=cases, visits=visits, seed=seed)
        since, until = START, START + days * 86400
        db_path = scratch / "scans.db"
        with timer(figures, "sql_load_s"):
            con = _load_sqlite(db_path, venue, t, person)
        del venue, t, person
        with timer(figures, "sql_index_s"):
            con.execute("CREATE INDEX ix_scan_venue_t ON scan (venue, t)")
            con.execute("CREATE INDEX ix_scan_person_t ON scan (person, t)")
            con.execute("ANALYZE")
        figures["sql_db_mb"] = round(os.path.getsize(db_path) / 2**20)
        with timer(figures, "engine_build_s"):
            seg = _build_engine(con, scratch)
        figures["engine_files_mb"] = round(sum(f.stat().st_size for f in scratch.glob("*.npy")) / 2**20)
        subject_list = [int(s) for s in subjects]

        # warm both (page cache, SQLite cache) on a case not timed below
        sql_pairs(con, subject_list[-1:], since, until, w)
        engine_pairs(con, seg, subject_list[-1:], since, until, w)

        single_sql, single_engine, single_rows, single_pairs, differ = [], [], [], [], []
        for s in subject_list[:single_cases]:
            t0 = time.perf_counter()
            a = sql_pairs(con, [s], since, until, w)
            single_sql.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            found = engine_hits(con, seg, [s], since, until, w)
            single_engine.append(time.perf_counter() - t0)
            b = as_rows(*found)
            single_rows.append(time.perf_counter() - t0)
            if sorted(a) != sorted(b):
                differ.append(s)
            single_pairs.append(len(a))
        figures["single_pairs_median"] = int(statistics.median(single_pairs))
        figures["single_sql_ms_median"] = _ms(statistics.median(single_sql))
        figures["single_sql_ms_max"] = _ms(max(single_sql))
        figures["single_engine_ms_median"] = _ms(statistics.median(single_engine))
        figures["single_engine_ms_max"] = _ms(max(single_engine))
        figures["single_engine_rows_ms_median"] = _ms(statistics.median(single_rows))
        figures["single_engine_rows_ms_max"] = _ms(max(single_rows))
        figures["single_speedup"] = round(statistics.median(single_sql) / statistics.median(single_engine), 1)
        # every one of the single cases checked, in the jobs' shape (a difference fails the run)
        figures.setdefault("jobs", []).append({
            "job": "single_cases", "product_s": round(statistics.median(single_rows), 4),
            "baselines": {"sqlite": round(statistics.median(single_sql), 4)}, "equal": not differ,
            "rows": sum(single_pairs), "cases": len(single_pairs),
            **({"differs": {"sqlite": {"subjects": differ[:5]}}} if differ else {})})

        t0 = time.perf_counter()
        batch_sql = sql_pairs(con, subject_list, since, until, w)
        figures["batch_sql_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        found = engine_hits(con, seg, subject_list, since, until, w)
        figures["batch_engine_s"] = round(time.perf_counter() - t0, 3)
        batch_engine = as_rows(*found)
        figures["batch_engine_rows_s"] = round(time.perf_counter() - t0, 3)
        figures["batch_pairs"] = len(batch_engine)
        figures["batch_speedup"] = round(figures["batch_sql_s"] / max(figures["batch_engine_s"], 1e-6), 1)
        batch_sql.sort()
        batch_engine.sort()
        figures["answers_identical"] = batch_sql == batch_engine  # the "batch" job below fails the run if not
        del batch_sql, batch_engine

        # the framework's jobs: the same answers against SQLite, DuckDB and (if configured) PostgreSQL
        from sqlalchemy import create_engine

        source = create_engine(f"sqlite:///{db_path}")
        with Baselines(source, [Table("scan", [("venue", "BIGINT"), ("t", "BIGINT"), ("person", "BIGINT")],
                                      "SELECT venue, t, person FROM scan",
                                      indexes=[("venue", "t", "person"), ("person", "t", "venue")])],
                       batch=LOAD_CHUNK) as baselines:
            baselines.load()
            figures.update(baselines.figures)
            notes.extend(baselines.notes)
            for job, chosen, repeat in (("one_case", subject_list[:1], 3), ("batch", subject_list, 1)):
                compare(figures, job, lambda c=chosen: engine_pairs(con, seg, c, since, until, w),
                        {"sqlite": lambda c=chosen: sql_pairs(con, c, since, until, w),
                         **baselines.queries(literal_sql(chosen, since, until, w))}, repeat=repeat)
        source.dispose()
        con.close()
        goals = (figures["single_engine_ms_max"] <= 50 and figures["batch_engine_s"] <= 5
                 and figures["single_speedup"] >= 10 and figures["batch_speedup"] >= 10)
        figures["goals_met"] = goals
        notes.append("goals: one case ≤ 50 ms, 500 cases ≤ 5 s, ≥ 10× the indexed SQL join "
                     + ("— met" if goals else "— NOT met"))
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            notes.append(f"scratch kept in {scratch}")
    return BenchResult("colocation", figures, notes)
from fangkong.venues import bench_scans as _bench_scans  # noqa: E402,F401 (registers "scan-ingest")
