"""Running `fangkong …` in this process (Typer's CliRunner) on a database of the test's own, the commands
committing for real: the speed of an in-process call, the path of the real command (parsing, the unit of
work, the exit status a CliError carries). The clock is frozen in-process, as `FANGKONG_NOW` would."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from own_database import initialised_database
from typer.testing import CliRunner

from fangkong import cli
from fangkong.kernel import db
from fangkong.kernel.cli_support import CliError
from fangkong.settings import reset_settings_cache

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


@contextmanager
def cli_database(backend: str, tmp_path: Path, monkeypatch: Any, name: str) -> Iterator[Any]:
    """A database of its own, made the one `fangkong` commands use in this process (region 320400,
    English messages); yields its session factory."""
    monkeypatch.setenv("FANGKONG_REGION_CODE", "320400")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    with initialised_database(backend, tmp_path, monkeypatch, name) as (url, factory):
        previous = db._engine
        engine = db.make_engine(url)
        db.set_engine(engine)
        try:
            yield factory
        finally:
            db.set_engine(previous)
            engine.dispose()
    monkeypatch.undo()
    reset_settings_cache()


@dataclass
class Ran:
    """What a command gave: its exit status, standard output, and everything it printed."""

    returncode: int
    stdout: str
    output: str


def run(*args: str, stdin: str | None = None) -> Ran:
    """`fangkong ARGS` in this process, as `fangkong` runs it: a CliError carries its exit status."""
    cli._load_commands()
    result = CliRunner().invoke(cli.app, list(args), input=stdin)
    if isinstance(result.exception, CliError):
        return Ran(result.exception.code, result.stdout, result.output + str(result.exception))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.output)
