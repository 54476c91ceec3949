"""`fangkong` run in-process, as its entry point runs it: `cli.main()` with the arguments in `sys.argv`,
its exit status, stdout and stderr, under an environment of the test's choosing — the same answers as
`subprocess.run(["fangkong", ...])` without starting Python again (seconds per call on a loaded machine).

`env` is the command's whole environment, as `subprocess.run(env=...)` takes it: variables of this
process missing from it are unset during the call (the test database's FANGKONG_* with them). The
command finds its database from that environment like a process of its own; the settings, the key
ring, the engine and the clock this process had are put back afterwards. `tests/kernel/test_cli_usage.py`
keeps one real subprocess for the entry point itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from typer.testing import CliRunner


@dataclass
class CliRun:
    """What a finished `fangkong` command gave: the fields of `subprocess.CompletedProcess`."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: Mapping[str, str] | None = None, input: str | None = None) -> CliRun:
    """Run `fangkong ARGS...` in this process and return its exit status and output."""
    import sys

    from fangkong import cli
    from fangkong.kernel import clock, db
    from fangkong.kernel.people import crypto
    from fangkong.settings import reset_settings_cache

    changes: dict[str, str | None] = {}
    if env is not None:
        changes = {k: None for k in os.environ if k not in env}
        changes.update(env)
    saved_engine, saved_factory = db._engine, db._factory
    saved_mode, saved_frozen = clock._mode, clock._frozen
    saved_argv = sys.argv
    code: int = 0
    with CliRunner().isolation(input=input, env=changes) as (out, err, _mixed):
        reset_settings_cache()
        crypto.reset_keys()
        db._engine, db._factory = None, None
        clock._frozen = None  # a process of its own has no test's frozen clock: FANGKONG_NOW or the real one
        sys.argv = ["fangkong", *args]
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv = saved_argv
            if db._engine is not None and db._engine is not saved_engine:
                db._engine.dispose()
            db._engine, db._factory = saved_engine, saved_factory
            clock._mode, clock._frozen = saved_mode, saved_frozen
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode(errors="replace")
    reset_settings_cache()
    crypto.reset_keys()
    return CliRun(list(args), code, stdout, stderr)
