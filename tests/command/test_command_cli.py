"""The command centre from the command line on a real data directory: units, addresses, leads and a
feedback sheet imported; indicators live and frozen (CSV and JSON); the snapshot job; FANGKONG_NOW
refused by a production database."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from cli_runner import CliRun, run_cli

FANGKONG = Path(sys.executable).parent / "fangkong"


def _run(env: dict[str, str], *args: str, now: str | None = None, input: str | None = None) -> CliRun:
    """`fangkong ARGS` in-process (tests/cli_runner.py) under `env`; `_process` runs the real entry point."""
    e = dict(env)
    if now:
        e["FANGKONG_NOW"] = now
    return run_cli(*args, env=e, input=input)


def _process(env: dict[str, str], *args: str, now: str | None = None) -> subprocess.CompletedProcess[str]:
    e = dict(env)
    if now:
        e["FANGKONG_NOW"] = now
    return subprocess.run([str(FANGKONG), *args], env=e, capture_output=True, text=True, timeout=180)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_indicators_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8")
    assert _run(env, "init", "--mode", "test").returncode == 0
    units = _write(tmp_path / "units.csv", [["code", "name", "parent_code", "level"], ["D1", "甲区", "", "district"],
                                            ["G1", "一网格", "D1", "grid"], ["G2", "二网格", "D1", "grid"]])
    assert _run(env, "import", "units", str(units)).returncode == 0
    addresses = _write(tmp_path / "addr.csv", [["address", "grid_code"], ["幸福路12号3幢2单元301室", "G1"],
                                               ["和平路8号1幢1单元101室", "G2"]])
    assert _run(env, "import", "addresses", str(addresses)).returncode == 0
    leads = _write(tmp_path / "leads.csv", [["source_ref", "name", "phone", "address"],
                                            ["R1", "张三", "13800000001", "幸福路12号3幢2单元301室"],
                                            ["R2", "李四", "13800000002", "幸福路12号3幢2单元301室"],
                                            ["R3", "王五", "13800000003", "和平路8号1幢1单元101室"]])
    r = _run(env, "import", "leads", str(leads), "--channel", "bigdata", now="2022-04-18T09:00:00+08:00")
    assert r.returncode == 0, r.stderr
    sheet = _write(tmp_path / "out.csv", [["source_ref", "channel", "outcome", "managed_at", "controlled_at", "measure"],
                                          ["R1", "bigdata", "started", "2022-04-18 10:00", "2022-04-18 12:00",
                                           "home_quarantine"],
                                          ["R2", "bigdata", "false_lead", "2022-04-18 13:00", "", ""],
                                          ["R3", "bigdata", "false_lead", "2022-04-18 08:00", "", ""]])
    rep = tmp_path / "rep.csv"
    r = _run(env, "import", "outcomes", str(sheet), "--report", str(rep), now="2022-04-19T08:00:00+08:00")
    assert r.returncode == 0, r.stderr
    assert [(x["row"], x["status"]) for x in _csv(rep)] == [("2", "accepted"), ("3", "accepted"), ("4", "rejected")]
    assert _csv(rep)[2]["issues"].startswith("managed_at: before the lead was received")

    out = tmp_path / "ind.csv"
    r = _run(env, "indicators", "--day", "2022-04-18", "--unit", "D1", "--out", str(out),
             now="2022-04-19T08:00:00+08:00")
    assert r.returncode == 0, r.stderr
    rows = _csv(out)
    assert list(rows[0]) == ["day", "unit_code", "unit_name", "level", "indicator", "value", "numerator",
                             "denominator", "status"]
    got = {(x["unit_code"], x["indicator"]): x for x in rows}
    assert [got[("D1", "leads.cleared_same_day")][k] for k in ("value", "numerator", "denominator", "status")] == [
        "0.6667", "2", "3", "red"]
    assert [got[("G2", "leads.cleared_same_day")][k] for k in ("value", "status")] == ["0.0", "red"]
    assert [got[("D1", "clock.managed_h.p50")][k] for k in ("value", "numerator")] == ["2.5", "2"]
    assert [got[("D1", "signals.open")][k] for k in ("value", "status")] == ["0", ""]  # enabled: a true zero
    assert [got[("D1", "testing.compliance")][k] for k in ("value", "denominator", "status")] == ["", "0", "none"]

    # the job freezes the day; the frozen read equals the live one at the time
    r = _run(env, "jobs", "run", "command.daily_snapshot", "--param", "day=2022-04-18", "--json",
             now="2022-04-19T08:00:00+08:00")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["result"]["version"] == 1
    js = tmp_path / "ind.json"
    assert _run(env, "indicators", "--day", "2022-04-18", "--unit", "D1", "--out", str(js),
                now="2022-04-19T08:00:00+08:00").returncode == 0
    assert [{k: str(v) for k, v in row.items()} for row in json.loads(js.read_text())] == rows

    # usage errors: exit 2; a future day: exit 1 with the field named
    assert _run(env, "indicators", "--out", str(tmp_path / "x.txt")).returncode == 2
    assert _run(env, "indicators", "--day", "18/04/2022").returncode == 2
    r = _run(env, "indicators", "--day", "2022-04-20", now="2022-04-19T08:00:00+08:00")
    assert r.returncode == 1 and "future" in r.stderr


def test_fixed_clock_refused_in_production(tmp_path: Path, monkeypatch) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8")
    # real processes: the production refusal is an exit-status contract of the installed `fangkong`
    assert _process(env, "init").returncode == 0
    assert _process(env, "indicators").returncode == 0
    r = _process(env, "indicators", now="2022-04-19T08:00:00+08:00")
    assert r.returncode == 1 and "FANGKONG_NOW" in r.stderr and "production" in r.stderr
    # the server's start-up (create_app → load_mode) refuses too
    import pytest
    from sqlalchemy.orm import Session

    from fangkong.kernel import db
    from fangkong.kernel.bootstrap import ModeMismatch, load_mode
    from fangkong.settings import reset_settings_cache

    monkeypatch.setenv("FANGKONG_NOW", "2022-04-19T08:00:00+08:00")
    reset_settings_cache()
    engine = db.make_engine(f"sqlite:///{tmp_path / 'fangkong.db'}")
    try:
        with Session(engine) as session, pytest.raises(ModeMismatch, match="FANGKONG_NOW"):
            load_mode(session)
    finally:
        engine.dispose()
        monkeypatch.undo()
        reset_settings_cache()


def test_orders_from_the_command_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8",
               FANGKONG_NOW="2022-04-18T09:00:00+08:00")
    assert _run(env, "init", "--mode", "test").returncode == 0
    units = _write(tmp_path / "units.csv", [["code", "name", "parent_code", "level"], ["D1", "甲区", "", "district"],
                                            ["G1", "一网格", "D1", "grid"], ["G2", "二网格", "D1", "grid"]])
    assert _run(env, "import", "units", str(units)).returncode == 0
    for name, role, unit in [("chief", "command", "000000"), ("grid1", "grid", "G1"), ("grid2", "grid", "G2")]:
        r = _run(env, "users", "add", name, "--role", role, "--unit", unit, "--password-stdin",
                 input="correct-horse-9\n")
        assert r.returncode == 0, r.stderr
    r = _run(env, "orders", "issue", "--title", "核查返乡人员", "--to-level", "grid", "--under", "D1", "--evidence",
             "--as", "chief", "--json")
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout)
    assert made["targets"] == ["G1", "G2"]
    oid = str(made["id"])
    assert _run(env, "orders", "ack", oid, "--as", "grid1").returncode == 0
    r = _run(env, "orders", "complete", oid, "--as", "grid2")
    assert r.returncode == 1 and "evidence" in r.stderr  # the order asks for evidence
    assert _run(env, "orders", "complete", oid, "--as", "grid2", "--evidence", "已落实").returncode == 0
    r = _run(env, "orders", "show", oid, "--json")
    targets = {t["unit_code"]: t for t in json.loads(r.stdout)["targets"]}
    assert (targets["G1"]["status"], targets["G1"]["acknowledged_at"], targets["G1"]["completed_at"]) == (
        "acknowledged", "2022-04-18T09:00:00+08:00", None)
    assert targets["G2"]["status"] == "completed" and targets["G2"]["sub_orders"] == []
    r = _run(env, "jobs", "run", "command.order_escalation", "--json", "--param", "at=2022-04-19T12:00:00+08:00")
    assert json.loads(r.stdout)["result"] == {"escalated": 0, "overdue": 1}
