"""`fangkong` in-process for the surveillance tests (Typer's CliRunner, no subprocess): a fresh
test-mode SQLite database of the test's own as the CLI's engine, English messages, the clock fixed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fangkong import cli
from fangkong.kernel import db
from fangkong.kernel.bootstrap import initialise
from fangkong.kernel.cli_support import CliError
from fangkong.kernel.people import crypto
from fangkong.settings import reset_settings_cache


@dataclass
class Ran:
    """What a `fangkong` call gave: its exit status, standard output and standard error."""

    returncode: int
    stdout: str
    stderr: str


@contextmanager
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, now: str | None = None,
                 initialised: bool = True) -> Iterator[None]:
    """The CLI's database for the block: `tmp_path/cli.db`, initialised in test mode unless told not to."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    if now:
        monkeypatch.setenv("FANGKONG_NOW", now)
    reset_settings_cache()
    crypto.reset_keys()
    previous = db._engine
    engine = db.make_engine(url)
    if initialised:
        with Session(engine) as session:
            initialise(engine, session, mode="test")
            session.commit()
    db.set_engine(engine)
    try:
        yield
    finally:
        db.set_engine(previous)
        engine.dispose()
        reset_settings_cache()
        crypto.reset_keys()


def run(*args: str) -> Ran:
    """`fangkong ARGS` in this process: (exit status, stdout, stderr) as the command gives them."""
    cli._load_commands()
    result = CliRunner().invoke(cli.app, list(args))
    if isinstance(result.exception, CliError):
        return Ran(result.exception.code, result.stdout, result.stderr + str(result.exception))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)
