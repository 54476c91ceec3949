"""`fangkong bench NAME`: speed and memory goals live here, never in timed unit tests.

A benchmark times the path a user takes (the service the API, page and CLI call) and, in the same run
on the same data, independent baselines (PostgreSQL, DuckDB, …), so a slow or busy machine moves both
numbers together; `compare()` also checks that every baseline gives the product's answer, and the run
fails on any difference (a fast wrong answer must never look like a win). Benchmarks build their own
scratch database unless told otherwise; they never touch the configured one. docs/performance.md
describes the JSON shape and the figures measured.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import resource
import shutil
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import EXIT_UNUSABLE, fail, print_rows
from fangkong.kernel.i18n import _

#: the environment variable naming a PostgreSQL database for baselines of benches that run on SQLite
POSTGRES_URL_ENV = "FANGKONG_BENCH_POSTGRES_URL"


@dataclass
class BenchResult:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def mismatches(self) -> list[dict[str, Any]]:
        """The jobs whose answer differs from a baseline's."""
        return [j for j in self.figures.get("jobs", []) if not j.get("equal", True)]


#: name → function(**options) -> BenchResult
BENCHMARKS: dict[str, Callable[..., BenchResult]] = {}
#: name → the small options of `--quick` (seconds, for CI: answers checked, figures not meaningful)
QUICK: dict[str, dict[str, Any]] = {}


def benchmark(name: str, *, quick: dict[str, Any] | None = None
              ) -> Callable[[Callable[..., BenchResult]], Callable[..., BenchResult]]:
    """Register a bench; `quick` are the options `fangkong bench --quick` runs it with."""
    def deco(fn: Callable[..., BenchResult]) -> Callable[..., BenchResult]:
        BENCHMARKS[name] = fn
        QUICK[name] = dict(quick or {})
        return fn

    return deco


@contextmanager
def timer(out: dict[str, Any], key: str):  # type: ignore[no-untyped-def]
    """Time a block into `out[key]` (seconds, 3 decimals)."""
    t0 = time.perf_counter()
    yield
    out[key] = round(time.perf_counter() - t0, 3)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ------------------------------------------------------------------------------------ answers compared

def _value(v: Any) -> Any:
    """One value as every engine can agree on it: integral Decimals/floats as int, other numbers
    rounded to 6 places, timestamps without time zone (naive UTC, as the product stores them)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, decimal.Decimal | float):
        return int(v) if v == int(v) else round(float(v), 6)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    return v


_PLAIN = (int, str, bytes, type(None))


def canonical(answer: Iterable[Sequence[Any]] | None, *, ordered: bool = False) -> list[tuple[Any, ...]]:
    """An answer (rows) in a form two engines' answers compare equal in: values normalised by
    `_value`; sorted unless `ordered` (a set answer: engines may return rows in any order).

    A list answer is normalised and sorted in place (answers run to millions of rows: no second copy)."""
    rows: list[Any] = answer if isinstance(answer, list) else list(answer or [])
    for i, row in enumerate(rows):
        if type(row) is not tuple or any(type(v) not in _PLAIN for v in row):
            rows[i] = tuple(_value(v) for v in row)
    if not ordered:
        try:
            rows.sort()
        except TypeError:  # None beside values, or mixed types: a total order by (is None, type, value)
            rows.sort(key=lambda r: tuple((x is None, str(type(x)), x) for x in r))
    return rows


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The median seconds of `repeat` calls of `fn`, and the last call's answer."""
    seconds, answer = [], None
    for _i in range(max(1, repeat)):
        t0 = time.perf_counter()
        answer = fn()
        seconds.append(time.perf_counter() - t0)
    return round(statistics.median(seconds), 4), answer


def compare(figures: dict[str, Any], job: str, product: Callable[[], Iterable[Sequence[Any]]],
            baselines: dict[str, Callable[[], Iterable[Sequence[Any]]] | None], *, ordered: bool = False,
            repeat: int = 1, **extra: Any) -> dict[str, Any]:
    """Time the product's `job` and each baseline on the same data (median of `repeat` runs each,
    product first, then the baselines in turn) and compare their answers (rows; see `canonical`).

    Appends `{"job", "product_s", "baselines": {name: s}, "equal", "rows", **extra}` to
    `figures["jobs"]` and returns it; a differing baseline is named in `"differs"` with the first
    differing rows, and makes `fangkong bench` exit non-zero. A `None` baseline is skipped (not
    configured in this run)."""
    product_s, answer = _timed(product, repeat)
    want = canonical(answer, ordered=ordered)
    del answer
    entry: dict[str, Any] = {"job": job, "product_s": product_s, "baselines": {}, "equal": True, "rows": len(want)}
    differs: dict[str, Any] = {}
    for name, fn in baselines.items():
        if fn is None:
            continue
        seconds, got = _timed(fn, repeat)
        entry["baselines"][name] = seconds
        got_rows = canonical(got, ordered=ordered)
        del got
        if got_rows != want:
            first = next((i for i, (a, b) in enumerate(zip(want, got_rows, strict=False)) if a != b),
                         min(len(want), len(got_rows)))
            differs[name] = {"rows": len(got_rows), "at": first,
                             "product": [str(r) for r in want[first:first + 2]],
                             "baseline": [str(r) for r in got_rows[first:first + 2]]}
        del got_rows
    if differs:
        entry["equal"] = False
        entry["differs"] = differs
    entry.update(extra)
    figures.setdefault("jobs", []).append(entry)
    return entry


# ------------------------------------------------------------------------------ baselines: same rows

@dataclass
class Table:
    """A table the baseline engines get a copy of. `select` runs on the bench's database and returns
    `columns` ((name, type) with type BIGINT, DOUBLE, TEXT, TIMESTAMP or BOOLEAN) in that order;
    `indexes` (column lists) are created on the PostgreSQL copy — covering the baseline's query, so
    that the baseline is the best plain SQL can do."""
    name: str
    columns: Sequence[tuple[str, str]]
    select: str
    indexes: Sequence[Sequence[str]] = ()


def postgres_url(option: str | None = None) -> str | None:
    """The PostgreSQL database for baselines of a bench that runs on SQLite: the bench's `pg=URL`
    option, else `FANGKONG_BENCH_POSTGRES_URL`; None (no PostgreSQL baseline) when neither is set."""
    return option or os.environ.get(POSTGRES_URL_ENV) or None


def _naive_utc(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    return v


class Baselines:
    """The same rows in the independent engines a bench compares its product path with.

    - DuckDB (in memory; a dev/bench dependency): each `Table` is fetched from the bench's database as
      tuples in batches and loaded column-wise (numpy object arrays, cast to the declared types). No
      DuckDB extension is ever installed or loaded (the sqlite scanner would need a download).
    - PostgreSQL: when the bench itself runs on PostgreSQL, its own tables (the baseline query runs on
      the bench's database, with the product's indexes); when it runs on SQLite, only if `pg` (the
      bench's `pg=URL` option or FANGKONG_BENCH_POSTGRES_URL) names a database: the tables are copied
      with COPY into a scratch schema of their own there (`indexes` created), dropped at `close()`.

    Load times go to `figures` (`baseline_load_<engine>_s`); the baseline queries use the `Table`
    names, so one SQL text usually serves both engines."""

    def __init__(self, engine: Any, tables: Sequence[Table], *, pg: str | None = None, batch: int = 100_000) -> None:
        self.engine = engine
        self.tables = list(tables)
        self.batch = batch
        self.figures: dict[str, Any] = {}
        self.notes: list[str] = []
        self._duck: Any = None
        self._pg_engine: Any = None
        self._pg: Any = None  # a DBAPI connection
        self._schema: str | None = None
        if engine.dialect.name == "postgresql":
            self._pg_engine = engine
        elif pg := postgres_url(pg):
            from sqlalchemy import create_engine

            self._pg_engine = create_engine(pg)
            self._schema = f"fangkong_bench_{uuid.uuid4().hex[:10]}"
        else:
            self.notes.append(_("no PostgreSQL baseline: set {env} or pg=URL (the rows are copied into a "
                                "scratch schema there)").format(env=POSTGRES_URL_ENV))
        try:
            import duckdb
        except ImportError:  # a production install without the dev extra
            self.notes.append(_("no DuckDB baseline: install the dev extra (duckdb)"))
        else:
            self._duck = duckdb.connect(config={"autoinstall_known_extensions": False,
                                                "autoload_known_extensions": False})

    def __enter__(self) -> Baselines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load(self) -> Baselines:
        """Copy the tables' rows into the engines that need a copy."""
        if self._pg_engine is not None:
            self._pg = self._pg_engine.raw_connection()
            if self._schema:
                t0 = time.perf_counter()
                self._copy_to_postgres()
                self.figures["baseline_load_postgresql_s"] = round(time.perf_counter() - t0, 3)
        if self._duck is not None:
            t0 = time.perf_counter()
            self._copy_to_duckdb()
            self.figures["baseline_load_duckdb_s"] = round(time.perf_counter() - t0, 3)
        return self

    def _batches(self, table: Table) -> Iterable[list[tuple[Any, ...]]]:
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(table.select)
            while rows := cur.fetchmany(self.batch):
                yield rows
            cur.close()
        finally:
            raw.close()

    def _copy_to_duckdb(self) -> None:
        import numpy as np

        for table in self.tables:
            cols = ", ".join(f"{n} {t}" for n, t in table.columns)
            self._duck.execute(f"CREATE TABLE {table.name} ({cols})")
            casts = ", ".join(f"CAST(c{i} AS {t})" for i, (_n, t) in enumerate(table.columns))
            stamps = [i for i, (_n, t) in enumerate(table.columns) if t == "TIMESTAMP"]
            for rows in self._batches(table):
                columns = list(zip(*rows, strict=True))
                for i in stamps:
                    columns[i] = tuple(_naive_utc(v) for v in columns[i])
                self._duck.register("bench_batch", {f"c{i}": np.array(c, dtype=object) for i, c in enumerate(columns)})
                self._duck.execute(f"INSERT INTO {table.name} SELECT {casts} FROM bench_batch")
                self._duck.unregister("bench_batch")
            self._duck.execute(f"ANALYZE {table.name}")

    def _copy_to_postgres(self) -> None:
        cur = self._pg.cursor()
        cur.execute(f"CREATE SCHEMA {self._schema}")
        cur.execute(f"SET search_path TO {self._schema}")
        for table in self.tables:
            cur.execute(f"CREATE TABLE {table.name} ({', '.join(f'{n} {t}' for n, t in table.columns)})")
            names = ", ".join(n for n, _t in table.columns)
            for rows in self._batches(table):
                with cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            for i, cols in enumerate(table.indexes):
                cur.execute(f"CREATE INDEX ix_{table.name}_{i} ON {table.name} ({', '.join(cols)})")
            cur.execute(f"ANALYZE {table.name}")
        self._pg.commit()

    def run(self, engine: str, sql: str) -> list[tuple[Any, ...]]:
        """The rows of `sql` on `engine` ("postgresql" or "duckdb")."""
        if engine == "duckdb":
            return self._duck.execute(sql).fetchall()
        cur = self._pg.cursor()
        try:
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()
            self._pg.rollback()  # a read: end it (the scratch search_path was committed, it stays)

    def has(self, engine: str) -> bool:
        """Whether `engine` ("postgresql" or "duckdb") is available in this run."""
        return (self._pg if engine == "postgresql" else self._duck) is not None

    def run_script(self, engine: str, statements: Sequence[str]) -> list[tuple[Any, ...]]:
        """Run `statements` in one transaction on `engine` — a baseline that writes, as the product's
        job does — and return the last one's rows; the transaction is rolled back (the same data for
        the next run)."""
        if engine == "duckdb":
            self._duck.execute("BEGIN")
            try:
                for sql in statements[:-1]:
                    self._duck.execute(sql)
                return self._duck.execute(statements[-1]).fetchall()
            finally:
                self._duck.execute("ROLLBACK")
        cur = self._pg.cursor()
        try:
            for sql in statements[:-1]:
                cur.execute(sql)
            cur.execute(statements[-1])
            return [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()
            self._pg.rollback()

    def queries(self, sql: str | dict[str, str]) -> dict[str, Callable[[], list[tuple[Any, ...]]] | None]:
        """Baseline callables for `compare()`: one SQL text for all engines, or one per engine name;
        None for an engine not available in this run."""
        def of(name: str) -> str:
            return sql if isinstance(sql, str) else sql[name]

        return {"postgresql": (lambda: self.run("postgresql", of("postgresql"))) if self._pg is not None else None,
                "duckdb": (lambda: self.run("duckdb", of("duckdb"))) if self._duck is not None else None}

    def close(self) -> None:
        if self._duck is not None:
            self._duck.close()
            self._duck = None
        if self._pg is not None:
            try:
                if self._schema:
                    self._pg.rollback()
                    cur = self._pg.cursor()
                    cur.execute(f"DROP SCHEMA IF EXISTS {self._schema} CASCADE")
                    self._pg.commit()
            finally:
                self._pg.close()
                self._pg = None
        if self._schema and self._pg_engine is not None:
            self._pg_engine.dispose()


# ------------------------------------------------------------------------------------------------ CLI

def _load_benchmarks() -> None:
    import importlib

    from fangkong.registry import CAPABILITIES

    importlib.import_module("fangkong.kernel.keys.bench")
    importlib.import_module("fangkong.kernel.sync_bench")
    for cap in CAPABILITIES:
        name = f"fangkong.{cap}.bench"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def _parse(options: list[str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for opt in options:
        if "=" not in opt:
            fail(_("options are KEY=VALUE, got {opt}").format(opt=opt), 2)
        k, v = opt.split("=", 1)
        kwargs[k.replace("-", "_")] = int(v) if v.isascii() and v.isdigit() else v
    return kwargs


def run_bench(name: str, kwargs: dict[str, Any]) -> BenchResult:
    """Run one registered bench with `kwargs`; `pg=URL` is taken by the framework (it becomes
    FANGKONG_BENCH_POSTGRES_URL for the run, read by `Baselines`), so every bench accepts it."""
    kwargs = dict(kwargs)
    pg = kwargs.pop("pg", None)
    saved = os.environ.get(POSTGRES_URL_ENV)
    if pg:
        os.environ[POSTGRES_URL_ENV] = str(pg)
    try:
        result = BENCHMARKS[name](**kwargs)
    finally:
        if pg:
            if saved is None:
                os.environ.pop(POSTGRES_URL_ENV, None)
            else:
                os.environ[POSTGRES_URL_ENV] = saved
    result.figures.setdefault("peak_rss_mb", peak_rss_mb())
    return result


def _as_dict(result: BenchResult) -> dict[str, Any]:
    return {"name": result.name, "figures": result.figures, "notes": result.notes}


def _print(result: BenchResult) -> None:
    jobs = result.figures.get("jobs", [])
    flat = [(k, v) for k, v in result.figures.items() if k != "jobs"]
    print_rows(["figure", "value"], flat, title=f"bench {result.name}")
    if jobs:
        engines = sorted({b for j in jobs for b in j["baselines"]})
        print_rows(["job", "rows", "product_s", *[f"{e}_s" for e in engines], "equal"],
                   [(j["job"], j["rows"], j["product_s"], *[j["baselines"].get(e, "") for e in engines], j["equal"])
                    for j in jobs], title=f"bench {result.name}: jobs")
    for note in result.notes:
        typer.echo(note)


@app.command("bench", help=_("Run a benchmark: fangkong bench NAME [KEY=VALUE ...]; without NAME, list them."))
def bench_cmd(
    name: str = typer.Argument(None, help=_("Benchmark name.")),
    options: list[str] = typer.Argument(None, help=_("Options as KEY=VALUE, e.g. persons=1000000.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
    run_all: bool = typer.Option(False, "--all", help=_("Run every benchmark (a list of results with --json).")),
    quick: bool = typer.Option(False, "--quick", help=_("Small sizes each benchmark declares (for CI).")),
) -> None:
    _load_benchmarks()
    if run_all:
        # `fangkong bench --all pg=URL`: Typer sees the first option as NAME
        kwargs = _parse([name, *(options or [])] if name else list(options or []))
        if set(kwargs) - {"pg"}:
            fail(_("with --all, the only option is pg=URL"), 2)
        names = sorted(BENCHMARKS)
    elif not name:
        print_rows(["name", "description"],
                   [(n, ((f.__doc__ or "").strip().splitlines() or [""])[0]) for n, f in sorted(BENCHMARKS.items())])
        return
    else:
        if name not in BENCHMARKS:
            fail(_("unknown benchmark {name}; known: {known}").format(name=name, known=", ".join(sorted(BENCHMARKS))),
                 2)
        kwargs = _parse(options or [])
        names = [name]
    results = _run_with_progress(names, kwargs, quick=quick)
    if as_json:
        out: Any = [_as_dict(r) for r in results] if run_all else _as_dict(results[0])
        typer.echo(json.dumps(out, ensure_ascii=False, default=str))
    else:
        for result in results:
            _print(result)
    bad = [(r.name, j) for r in results for j in r.mismatches()]
    if bad:
        fail("; ".join(_("bench {name}: job {job} gives a different answer from {engines}").format(
            name=n, job=j["job"], engines=", ".join(sorted(j.get("differs", {})))) for n, j in bad), EXIT_UNUSABLE)


def _run_with_progress(names: list[str], kwargs: dict[str, Any], *, quick: bool) -> list[BenchResult]:
    """Run the benches in turn; a Rich progress line on a terminal (stderr, so --json stays clean)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    results: list[BenchResult] = []
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True,
                  disable=not console.is_terminal or len(names) < 2) as progress:
        task = progress.add_task("bench", total=len(names))
        for n in names:
            progress.update(task, description=f"bench {n}")
            results.append(run_bench(n, {**(QUICK.get(n, {}) if quick else {}), **kwargs}))
            progress.advance(task)
            jobs = results[-1].figures.get("jobs", [])
            if len(names) > 1 and console.is_terminal and jobs:  # answers as they come: = equal, ≠ different
                console.print(f"bench {n}: " + ", ".join(f"{j['job']} {'=' if j['equal'] else '≠'}" for j in jobs))
    return results


def scratch_database(database: str | None, tmp: Path) -> Any:
    """An initialised test-mode database for a benchmark: SQLite under `tmp`, or the empty scratch
    `database` URL given; never the configured one. Returns the engine (also the process engine)."""
    import base64
    import os

    from sqlalchemy.orm import Session

    from fangkong.kernel import db
    from fangkong.kernel.bootstrap import initialise
    from fangkong.kernel.people import crypto
    from fangkong.settings import get_settings, reset_settings_cache

    os.environ["FANGKONG_DATA_DIR"] = str(tmp)
    os.environ.setdefault("FANGKONG_SECRET_KEY", base64.b64encode(os.urandom(32)).decode())
    if database:
        os.environ["FANGKONG_DATABASE_URL"] = database
    else:
        os.environ.pop("FANGKONG_DATABASE_URL", None)
    reset_settings_cache()
    crypto.reset_keys()
    engine = db.make_engine(get_settings().resolved_database_url)
    db.set_engine(engine)
    url = engine.url
    fresh = None if database or url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
        else Path(url.database)
    if fresh is not None and ((fresh.exists() and fresh.stat().st_size) or Path(f"{fresh}-wal").exists()):
        fresh = None  # not new (make_engine creates the file empty): initialise it as it is
    template = _SQLITE_TEMPLATES.get(_template_key()) if fresh is not None else None
    if template is not None:
        engine.dispose()  # no connection may hold the empty file open while it is replaced
        shutil.copyfile(template, fresh)  # type: ignore[arg-type]
        os.chmod(fresh, 0o600)  # type: ignore[arg-type]
    with Session(engine) as session:
        initialise(engine, session, mode="test")
        session.commit()
    if fresh is not None and template is None:
        _keep_template(engine, fresh)
    return engine


#: this process's migrated and seeded SQLite files by settings: `bench --all` runs the Alembic history
#: once per settings, and each later bench's scratch SQLite file starts as a copy of it (`initialise`
#: still runs on the copy, as on any existing database: at head, seeds present, key file made)
_SQLITE_TEMPLATES: dict[tuple[tuple[str, str], ...], Path] = {}


def _template_key() -> tuple[tuple[str, str], ...]:
    own = ("FANGKONG_DATA_DIR", "FANGKONG_DATABASE_URL")
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("FANGKONG_") and k not in own))


def _keep_template(engine: Any, path: Path) -> None:
    """Copy the just-initialised SQLite file at `path` aside as the template for these settings."""
    import atexit
    import tempfile

    engine.dispose()  # the last connection closed checkpoints the WAL into the file
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size:
        return  # not checkpointed: no template (the next bench migrates again)
    keep = Path(tempfile.mkdtemp(prefix="fangkong-template-")) / "template.db"
    shutil.copyfile(path, keep)
    atexit.register(shutil.rmtree, keep.parent, ignore_errors=True)
    _SQLITE_TEMPLATES[_template_key()] = keep
