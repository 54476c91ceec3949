"""`fangkong colocation` on a real data directory, as a script runs it: the default answers by
overlapping stays (the venue category's dwell time), `--window-min N` keeps the symmetric ±N mode, and
`--out` writes the stable columns."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from cli_runner import CliRun, run_cli

COLUMNS = ["person_id", "venue_ref", "venue_name", "subject_scanned_at", "covisitor_scanned_at", "gap_min"]


def _run(env: dict[str, str], *args: str) -> CliRun:
    return run_cli(*args, env=env)


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _pairs(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def test_colocation_command_overlap_and_window_modes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8",
               FANGKONG_NOW="2022-04-18T20:00:00+08:00")
    assert _run(env, "init", "--mode", "test").returncode == 0
    venues = _write(tmp_path / "venues.csv", [["ref", "name", "category"], ["R-1", "老王饭店", "餐饮"],
                                               ["M-1", "花园菜市场", "market"]])
    r = _run(env, "import", "venues", str(venues))
    assert r.returncode == 0, r.stderr
    scans = _write(tmp_path / "scans.csv", [
        ["venue_ref", "phone", "scanned_at", "request_id"],
        ["R-1", "13800000001", "2022-04-18 12:00", "s1"],  # the subject, at the restaurant
        ["R-1", "13800000002", "2022-04-18 13:40", "s2"],  # 100 min later: within 120 min
        ["R-1", "13800000003", "2022-04-18 12:20", "s3"],  # 20 min later
        ["M-1", "13800000001", "2022-04-18 15:00", "s4"],  # the subject, at the market
        ["M-1", "13800000004", "2022-04-18 16:10", "s5"]])  # 70 min later: outside 60 min
    r = _run(env, "import", "scans", str(scans))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "pairs.csv"
    r = _run(env, "colocation", "--phone", "13800000001", "--since", "2022-04-18", "--until", "2022-04-18 23:59",
             "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = _pairs(out)
    assert rows[0] == COLUMNS
    assert [(x[1], x[3], x[4], x[5]) for x in rows[1:]] == [
        ("R-1", "2022-04-18T12:00:00+08:00", "2022-04-18T12:20:00+08:00", "20.0"),
        ("R-1", "2022-04-18T12:00:00+08:00", "2022-04-18T13:40:00+08:00", "100.0")]
    r = _run(env, "colocation", "--phone", "13800000001", "--since", "2022-04-18", "--until", "2022-04-18 23:59",
             "--window-min", "30", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert [(x[1], x[5]) for x in _pairs(out)[1:]] == [("R-1", "20.0")]
    r = _run(env, "colocation", "--phone", "13800000001", "--since", "2022-04-18", "--until", "2022-04-18 23:59",
             "--window-min", "70", "--out", str(out))
    assert [(x[1], x[5]) for x in _pairs(out)[1:]] == [("R-1", "20.0"), ("M-1", "70.0")]
