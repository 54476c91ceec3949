"""`fangkong bench NAME`: speed and memory goals live here, never in timed unit tests.

A benchmark prints its figures and the ratio to a baseline it measures in the same run (so a slow
or busy machine moves both numbers together). Benchmarks build their own scratch database unless
told otherwise; they never touch the configured one.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import fail, print_rows
from fangkong.kernel.i18n import _


@dataclass
class BenchResult:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


#: name → function(**options) -> BenchResult
BENCHMARKS: dict[str, Callable[..., BenchResult]] = {}


def benchmark(name: str) -> Callable[[Callable[..., BenchResult]], Callable[..., BenchResult]]:
    def deco(fn: Callable[..., BenchResult]) -> Callable[..., BenchResult]:
        BENCHMARKS[name] = fn
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


@app.command("bench", help=_("Run a benchmark: fangkong bench NAME [KEY=VALUE ...]; without NAME, list them."))
def bench_cmd(
    name: str = typer.Argument(None, help=_("Benchmark name.")),
    options: list[str] = typer.Argument(None, help=_("Options as KEY=VALUE, e.g. persons=1000000.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    _load_benchmarks()
    if not name:
        print_rows(["name", "description"],
                   [(n, ((f.__doc__ or "").strip().splitlines() or [""])[0]) for n, f in sorted(BENCHMARKS.items())])
        return
    if name not in BENCHMARKS:
        fail(_("unknown benchmark {name}; known: {known}").format(name=name, known=", ".join(sorted(BENCHMARKS))), 2)
    kwargs: dict[str, Any] = {}
    for opt in options or []:
        if "=" not in opt:
            fail(_("options are KEY=VALUE, got {opt}").format(opt=opt), 2)
        k, v = opt.split("=", 1)
        kwargs[k.replace("-", "_")] = int(v) if v.isascii() and v.isdigit() else v
    result = BENCHMARKS[name](**kwargs)
    result.figures.setdefault("peak_rss_mb", peak_rss_mb())
    if as_json:
        typer.echo(json.dumps({"name": result.name, "figures": result.figures, "notes": result.notes},
                              ensure_ascii=False))
    else:
        print_rows(["figure", "value"], list(result.figures.items()), title=f"bench {result.name}")
        for note in result.notes:
            typer.echo(note)


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
    with Session(engine) as session:
        initialise(engine, session, mode="test")
        session.commit()
    return engine
