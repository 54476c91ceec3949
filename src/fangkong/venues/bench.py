"""`fangkong bench colocation [scans=N] [pg=URL]`: co-location through the product, against PostgreSQL
and DuckDB returning the same rows.

Generates N scans (default 30 million, 10 million a day) of a city of `persons` people and `venues`
venues (six categories, whose dwell times come from the policy pack): venue popularity Zipf-skewed
(rank^-zipf), times of day from an hourly profile with morning, lunch and evening peaks, and `cases`
subjects with `visits` scans each. They go into a scratch *product* database (SQLite, the product's
schema and indexes) day by day through the raw connection (the subjects have person rows; the other
persons exist only as ids in the scans — the co-location path never reads a co-visitor's row); the
co-location index is built by the product's own job (`ColocationIndex.extend`: `index_build_*`). Then, on the same data and in the same
run, through the service the API, page and CLI call:

    one_case    `colocated()` for one subject, its rows streamed as CSV lines as `fangkong colocation --out`
                writes them (median of 3; `as_python_rows_s`: the same case as Python rows, for reference)
    api_pages   every page of `page_size` pairs of the largest of the single cases, each page a request's
                work (service, then the page's rows at the cursor): p95 and median per page; the pages
                concatenated must be the whole answer
    batch_csv   `colocated_batch()` for all cases, streamed as CSV lines into a file through the export
                writer (`export.write_csv_lines`, audited)

each compared (kernel/bench.py `compare`) with the same rows from PostgreSQL (pg=URL or
FANGKONG_BENCH_POSTGRES_URL: a copy in a scratch schema with covering indexes on (venue, t, person) and
(person, t, venue)) and DuckDB (in memory): one self-join of the scans with the venues' dwell times,
times formatted as local ISO 8601 in SQL. Every answer must be equal. The scratch directory is removed
unless keep=1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fangkong.kernel.bench import Baselines, BenchResult, Table, benchmark, compare

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


def _series(n: int) -> str:
    return f"s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {n})"


SCAN_INDEXES = ("ix_scan_place_time", "ix_scan_person_time", "ix_scan_scanned_at")


def product_database(tmp: Path, *, scans: int, venues: int, persons: int, cases: int,
                     visits: int, zipf: float, seed: int, days: int = 0, per_day: int = 10_000_000,
                     figures: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    """A scratch product database (SQLite under `tmp`, the product's schema) holding the generated city:
    `venues` places (kind venue, six categories), the case subjects' person rows, and the scans, loaded
    day by day (one prepared INSERT per chunk through the raw connection; the scan indexes dropped
    during the load and rebuilt). Returns the engine and the facts the bench needs (subjects, period)."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from fangkong.kernel.bench import scratch_database
    from fangkong.kernel.jurisdictions import service as jurisdictions_service

    figures = figures if figures is not None else {}
    engine = scratch_database(None, tmp)
    days = days or max(1, -(-scans // per_day))
    with Session(engine) as session:
        root = jurisdictions_service.root_unit(session)
        unit_id, unit_path = root.id, root.path
        cats = " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(BENCH_CATEGORIES))
        t0 = time.perf_counter()
        session.execute(text(f"""WITH RECURSIVE {_series(venues)}
            INSERT INTO place (id, kind, category, code, name, ref, unit_id, unit_path)
            SELECT n + 1, 'venue', CASE n % {len(BENCH_CATEGORIES)} {cats} END, 'BV' || n, '场所' || n,
                   'V' || n, {unit_id}, '{unit_path}' FROM s"""))
        # person rows for the case subjects only: the co-location path reads the subjects' rows (their
        # jurisdiction) and never a co-visitor's; 5 M registry rows would add minutes and ~1.5 GB
        session.execute(text(f"""WITH RECURSIVE {_series(cases)}
            INSERT INTO person (id, name, name_key, id_number_valid, unit_id, unit_path, created_at, updated_at,
                                source)
            SELECT {persons} + n + 1, 'P' || n, 'P' || n, 0, {unit_id}, '{unit_path}',
                   '2022-03-01 00:00:00.000000', '2022-03-01 00:00:00.000000',
                   'bench' FROM s"""))
        session.commit()
        figures["load_places_persons_s"] = round(time.perf_counter() - t0, 1)
    # the scans, a day at a time (bounded memory: a day of a 10 M/day city is ~0.5 GB of columns)
    rng_seed = np.random.SeedSequence(seed)
    per = -(-scans // days)
    subjects = np.arange(persons + 1, persons + cases + 1)
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        # co-visitors have no person row (above); checking each row's two foreign keys would also
        # triple the load time (measured: 200,000 rows 3.2 s against 1.1 s)
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
            cur.execute("BEGIN")  # the platform's connections run in autocommit between BEGINs
            for i in range(0, n, LOAD_CHUNK):
                sl = slice(i, i + LOAD_CHUNK)
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


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _baseline_sql(subjects: list[int], since: int, until: int, offset: int) -> dict[str, str]:
    """The product's rows in plain SQL, per engine: (subject, co-visitor, venue ref, venue name, subject
    time, co-visitor time as local ISO 8601, gap in minutes) for every co-visitor scan at a subject's
    venue within the venue's dwell time of the subject's scan (two stays of that length overlap), the
    subject's own scans excluded. `offset`: the local zone's UTC offset in the bench period (fixed)."""
    ids = ",".join(str(int(x)) for x in subjects)
    sign = "+" if offset >= 0 else "-"
    zone = f"{sign}{abs(offset) // 3600:02d}:{abs(offset) % 3600 // 60:02d}"
    iso = {"postgresql": "to_char(to_timestamp({t} + {o}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '{z}'",
           "duckdb": "strftime(make_timestamp(({t} + {o}) * 1000000), '%Y-%m-%dT%H:%M:%S') || '{z}'"}
    out = {}
    for engine, fmt in iso.items():
        out[engine] = (
            f"SELECT s.person, c.person, v.ref, v.name, {fmt.format(t='s.t', o=offset, z=zone)}, "
            f"{fmt.format(t='c.t', o=offset, z=zone)}, round((c.t - s.t) / 60.0, 2) "
            "FROM scan AS s JOIN venue AS v ON v.id = s.venue "
            "JOIN scan AS c ON c.venue = s.venue AND c.t BETWEEN s.t - v.dwell AND s.t + v.dwell "
            f"WHERE s.person IN ({ids}) AND s.t BETWEEN {int(since)} AND {int(until)} AND c.person <> s.person")
    return out


@benchmark("colocation", quick={"scans": 30_000, "single_cases": 5, "cases": 20, "venues": 2_000,
                                "persons": 20_000, "page_size": 200})
def bench_colocation(scans: int = 30_000_000, cases: int = 500, visits: int = 50, days: int = 0,
                     per_day: int = 10_000_000, venues: int = 33_000, persons: int = 5_000_000,
                     zipf: str | float = 0.7, single_cases: int = 20, page_size: int = 500,
                     seed: int = 20220418, keep: int = 0, pg: str = "") -> BenchResult:
    """Co-location through the product (service → streamed rows, CSV, API pages; index built by the
    product's job) against PostgreSQL (covering indexes) and DuckDB returning the same rows."""
    from sqlalchemy.orm import Session

    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.bench import peak_rss_mb
    from fangkong.kernel.export import write_csv_lines
    from fangkong.venues.colocation import service
    from fangkong.venues.colocation.store import get_index
    from fangkong.venues.exports import COLOCATION

    zipf = float(zipf)
    figures: dict[str, Any] = {"scans": scans, "venues": venues, "persons": persons, "zipf": zipf,
                               "cases": cases, "visits_per_case": visits}
    notes: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-coloc-"))
    try:
        t0 = time.perf_counter()
        engine, info = product_database(tmp, scans=scans, venues=venues, persons=persons, cases=cases,
                                        visits=visits, zipf=zipf, seed=seed, days=days, per_day=per_day,
                                        figures=figures)
        figures["setup_s"] = round(time.perf_counter() - t0, 1)
        figures["days"] = info["days"]
        figures["db_mb"] = round(sum(f.stat().st_size for f in tmp.glob("*.db*")) / 2**20)
        subjects = [int(x) for x in info["subjects"]]
        since_s, until_s = int(info["since"]), int(info["until"])
        since = dt.datetime.fromtimestamp(since_s, dt.UTC)
        until = dt.datetime.fromtimestamp(until_s, dt.UTC)
        actor = SYSTEM_ACTOR

        # the product's own index job (what `fangkong jobs run venues.colocation_index` runs)
        index = get_index()
        with Session(engine) as session:
            rss0 = peak_rss_mb()
            t0 = time.perf_counter()
            built = index.extend(session)
            session.commit()
            seconds = time.perf_counter() - t0
        figures["index_build_s"] = round(seconds, 2)
        figures["index_build_scans_per_s"] = round(built.added / max(seconds, 1e-9))
        figures["index_segments"] = built.segments
        figures["index_files_mb"] = round(sum(f.stat().st_size for f in index.dir.glob("*.npy")) / 2**20)
        figures["peak_rss_mb_before_build"] = rss0
        figures["peak_rss_mb_after_build"] = peak_rss_mb()

        offset = int(dt.datetime.fromtimestamp(since_s, dt.UTC).astimezone(clock.tz()).utcoffset().total_seconds())
        offset_end = int(dt.datetime.fromtimestamp(until_s, dt.UTC).astimezone(clock.tz()).utcoffset().total_seconds())
        if offset != offset_end:
            raise ValueError("the bench period spans a change of UTC offset; choose another period")
        with Session(engine) as session:
            def one(subject: int) -> list[tuple[Any, ...]]:
                """One case as Python rows (what `rows()` gives a caller that wants objects)."""
                pairs = service.colocated(session, actor, person_id=subject, since=since, until=until)
                return [(subject, *row) for row in pairs.rows()]

            def one_streamed(subject: int) -> Iterator[tuple[Any, ...]]:
                """One case as the CLI's `--out` and a streamed answer get it: the service, then its rows
                streamed as CSV lines into a sink (parsed back, untimed, for the comparison)."""
                pairs = service.colocated(session, actor, person_id=subject, since=since, until=until)
                sink = io.BytesIO()
                for chunk in pairs.csv_chunks():
                    sink.write(chunk)
                return _parse_lines(sink.getvalue(), subject)

            one(subjects[-1])  # warm the page cache and the process on a case not timed below
            single, single_rows, sizes = [], [], []
            for subject in subjects[:single_cases]:
                t0 = time.perf_counter()
                streamed = one_streamed(subject)
                single.append(time.perf_counter() - t0)
                rows = list(streamed)
                t0 = time.perf_counter()
                one(subject)
                single_rows.append(time.perf_counter() - t0)
                sizes.append(len(rows))
            figures["single_case_ms_median"] = _ms(statistics.median(single))
            figures["single_case_ms_max"] = _ms(max(single))
            figures["single_case_as_python_rows_ms_median"] = _ms(statistics.median(single_rows))
            figures["single_case_pairs_median"] = int(statistics.median(sizes))

            # API pages of the largest of those cases: each page is one request's work (the service's
            # answer, then the page's rows at the cursor); the pages concatenated must be the answer
            big = subjects[int(np.argmax(sizes))] if sizes else subjects[0]
            page_times: list[float] = []
            walked = {"cursor": 0, "total": 0}

            def api_pages() -> list[tuple[Any, ...]]:
                page_times.clear()
                got: list[tuple[Any, ...]] = []
                cursor = 0
                while True:
                    t0 = time.perf_counter()
                    pairs = service.colocated(session, actor, person_id=big, since=since, until=until)
                    body = {"count": len(pairs), "pairs": [dict(zip(service.PAIR_COLUMNS, r, strict=True))
                                                           for r in pairs.rows(cursor, cursor + page_size)]}
                    page_times.append(time.perf_counter() - t0)
                    got.extend((big, *d.values()) for d in body["pairs"])
                    cursor += page_size
                    walked.update(cursor=cursor, total=body["count"])
                    if cursor >= body["count"]:
                        break
                return got

            csv_path = tmp / "batch.csv"
            batch_counts: list[int] = []

            def batch_csv() -> Iterator[tuple[Any, ...]]:
                """500 cases as the export writes them: `colocated_batch`, then each case's pairs streamed
                as CSV lines into one file (read back, untimed, for the comparison)."""
                sets = service.colocated_batch(session, actor, queries=[
                    service.CaseQuery(x, since, until) for x in subjects])
                batch_counts[:] = [len(p) for p in sets]
                write_csv_lines(session, actor, COLOCATION, out=csv_path,
                                lines=service.csv_lines(sets), rows=sum(batch_counts))
                return _read_back(csv_path, subjects, batch_counts)

            baseline_tables = [
                Table("scan", [("venue", "BIGINT"), ("t", "BIGINT"), ("person", "BIGINT")],
                      "SELECT place_id, CAST(strftime('%s', scanned_at) AS INTEGER), person_id FROM scan",
                      indexes=[("venue", "t", "person"), ("person", "t", "venue")]),
                Table("venue", [("id", "BIGINT"), ("ref", "TEXT"), ("name", "TEXT"), ("dwell", "BIGINT")],
                      _venue_select(session), indexes=[("id", "ref", "name", "dwell")])]
            with Baselines(engine, baseline_tables, pg=pg or None, batch=LOAD_CHUNK) as baselines:
                baselines.load()
                figures.update(baselines.figures)
                notes.extend(baselines.notes)
                entry = compare(figures, "one_case", lambda: one_streamed(subjects[0]),
                                baselines.queries(_baseline_sql(subjects[:1], since_s, until_s, offset)), repeat=3)
                rows_s = []
                for _i in range(3):
                    t0 = time.perf_counter()
                    one(subjects[0])
                    rows_s.append(time.perf_counter() - t0)
                entry["as_python_rows_s"] = round(statistics.median(rows_s), 4)
                cpu = []
                for _i in range(3):  # this process's CPU for the product path (the parse is lazy: not in it)
                    t0 = time.process_time()
                    one_streamed(subjects[0])
                    cpu.append(time.process_time() - t0)
                entry["product_cpu_s"] = round(statistics.median(cpu), 4)
                entry = compare(figures, "api_pages", api_pages,
                                baselines.queries(_baseline_sql([big], since_s, until_s, offset)))
                ranked = sorted(page_times)
                entry.update(pages=len(ranked), pairs_in_case=walked["total"],
                             page_ms_p95=_ms(ranked[min(len(ranked) - 1, int(0.95 * len(ranked)))]),
                             page_ms_median=_ms(statistics.median(ranked)))
                figures["api_page_ms_p95"] = entry["page_ms_p95"]
                entry = compare(figures, "batch_csv", batch_csv,
                                baselines.queries(_baseline_sql(subjects, since_s, until_s, offset)))
                entry["csv_mb"] = round(csv_path.stat().st_size / 2**20, 1)
        figures["peak_rss_mb"] = peak_rss_mb()
        jobs = {j["job"]: j for j in figures.get("jobs", [])}
        ratio = {name: round(min(j["baselines"].values()) / max(j["product_s"], 1e-9), 1)
                 for name, j in jobs.items() if j["baselines"]}
        figures["speedup_vs_best_baseline"] = ratio
        goals = (jobs["one_case"]["product_s"] <= 0.002 and jobs["batch_csv"]["product_s"] <= 1.0
                 and figures["api_page_ms_p95"] <= 50 and figures["index_build_scans_per_s"] >= 1_000_000
                 and all(ratio.get(j, 0) >= 10 for j in ("one_case", "batch_csv")))
        figures["goals_met"] = goals
        notes.append("goals (issue #18): one case ≤ 2 ms, 500 cases to CSV ≤ 1 s, both ≥ 10× the best "
                     "baseline; API page p95 ≤ 50 ms; index build ≥ 1 M scans/s " + ("— met" if goals else "— NOT met"))
        engine.dispose()
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            notes.append(f"scratch kept in {tmp}")
    return BenchResult("colocation", figures, notes)


def _venue_select(session: Any) -> str:
    """The venues' (id, ref, name, dwell seconds) as the product's policy pack gives their dwell times."""
    from fangkong.kernel.policy import service as policy_service

    pack = policy_service.active_pack(session).venues
    cases = " ".join(f"WHEN '{c}' THEN {pack.dwell(c) * 60}" for c in BENCH_CATEGORIES)
    return (f"SELECT id, coalesce(ref, code), name, CASE category {cases} ELSE {pack.dwell(None) * 60} END "
            "FROM place WHERE kind = 'venue'")


def _parse_lines(data: bytes, subject: int) -> Iterator[tuple[Any, ...]]:
    """CSV lines (no header) as the comparison reads them: (subject, *cells), numbers parsed."""
    for p, ref, name, a, b, g in csv.reader(io.StringIO(data.decode("utf-8"), newline="")):
        yield (subject, int(p), ref, name, a, b, float(g))


def _read_back(path: Path, subjects: list[int], counts: list[int]) -> Iterator[tuple[Any, ...]]:
    """The CSV's rows as the comparison reads them: (subject, *cells), numbers parsed."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for subject, n in zip(subjects, counts, strict=True):
            for _i in range(n):
                p, ref, name, a, b, g = next(reader)
                yield (subject, int(p), ref, name, a, b, float(g))
from fangkong.venues import bench_scans as _bench_scans  # noqa: E402,F401 (registers "scan-ingest")
