"""`fangkong token create --read-only / --only`, `fangkong token list` and `fangkong users update`, run
in-process on a database of their own (the commands commit), then the tokens they printed used over HTTP."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from fangkong import cli
from fangkong.app import create_app
from fangkong.kernel.cli_support import CliError


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    """(exit status, output) as `fangkong` gives them: a CliError carries its status (cli.main)."""
    cli._load_commands()
    result = CliRunner().invoke(cli.app, list(args), input=stdin)
    if isinstance(result.exception, CliError):
        return result.exception.code, result.output + str(result.exception)
    return result.exit_code, result.output


def test_token_scopes_from_the_command_line(cli_db):
    assert _run("users", "add", "venue-sys", "--role", "street", "--password-stdin", stdin="long-enough-1\n")[0] == 0
    code, out = _run("token", "create", "venue-sys", "--only", "scans.upload", "--label", "场所系统", "--json")
    assert code == 0, out
    scans_only = json.loads(out)
    assert scans_only["operations"] == ["scans.upload"] and scans_only["read_only"] is False
    code, out = _run("token", "create", "venue-sys", "--read-only", "--json")
    assert code == 0, out
    read_only = json.loads(out)
    code, out = _run("token", "create", "venue-sys", "--only", "no.such")
    assert code == 2 and "scans.upload" in out  # a usage error naming the operations there are

    code, out = _run("token", "list", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows[scans_only["id"]]["scope"] == "only: Upload venue scans (batch)"
    assert rows[read_only["id"]]["scope"] == "read-only" and rows[read_only["id"]]["read_only"] == "yes"

    app = create_app(session_factory=sessionmaker(cli_db, expire_on_commit=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        def call(token: dict, method: str, path: str) -> int:
            return client.request(method, path, json={"items": []},
                                  headers={"Authorization": f"Bearer {token['token']}"}).status_code

        assert call(scans_only, "POST", "/api/v1/scans") == 200
        assert call(scans_only, "GET", "/api/v1/persons") == 403
        assert call(read_only, "GET", "/api/v1/persons") == 200
        assert call(read_only, "POST", "/api/v1/scans") == 403

        # demoting the user on the command line lowers its tokens at once
        code, out = _run("users", "update", "venue-sys", "--role", "viewer")
        assert code == 0 and "viewer" in out, out
        assert call(scans_only, "POST", "/api/v1/scans") == 403
    assert _run("users", "update", "venue-sys")[0] == 2
    assert _run("users", "update", "venue-sys", "--unit", "no-such-unit")[0] == 1
