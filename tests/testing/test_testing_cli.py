"""The command line on a real data directory, as an operator runs it: roster, samples, a positive pool's
results file (leads, retest tasks and temporary measures in one run), the compliance export; and every
testing message translated."""

from __future__ import annotations

import csv
import os
import re
import sqlite3
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from cli_runner import CliRun, run_cli
from testing_factories import make_id, phone, write_csv

from fangkong.kernel.i18n import translations

SRC = Path(__file__).resolve().parents[2] / "src" / "fangkong" / "testing"


def _run(env: dict[str, str], *args: str) -> CliRun:
    return run_cli(*args, env=env)


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def test_positive_pool_file_import_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8",
               FANGKONG_NOW="2022-04-18T09:00:00+08:00")
    assert _run(env, "init", "--mode", "test").returncode == 0
    people = [[f"测试{i}", make_id(i), phone(i)] for i in range(1, 11)]
    roster = write_csv(tmp_path / "roster.csv", ["姓名", "身份证号码", "手机号"], people[:6], title="快递员名单")
    r = _run(env, "import", "roster", str(roster), "--group", "courier_delivery_rider", "--employer", "顺达快递",
             "--report", str(tmp_path / "roster-report.csv"))
    assert r.returncode == 0, r.stderr
    assert "6 rows: 6 accepted" in r.stderr
    report = _rows(tmp_path / "roster-report.csv")
    assert report[0][:4] == ["row", "status", "person_id", "issues"]
    assert all(line[2] for line in report[1:])

    samples = write_csv(tmp_path / "samples.csv", ["试管条码", "混采数", "姓名", "身份证号码", "手机号", "采样时间", "采样点"],
                        [["HC-1", "10", *p, "2022-04-18 07:00", "SMP-77"] for p in people])
    r = _run(env, "import", "samples", str(samples), "--report", str(tmp_path / "samples-report.csv"))
    assert r.returncode == 0 and "10 accepted" in r.stderr, r.stderr
    results = write_csv(tmp_path / "results.csv", ["试管条码", "检测结果", "Ct值", "检测机构", "报告时间"],
                        [["HC-1", "阳性", "29.5", "常州检测", "2022-04-18 08:40"],
                         ["HC-404", "阴性", "", "常州检测", "2022-04-18 08:40"]])
    r = _run(env, "import", "results", str(results), "--report", str(tmp_path / "results-report.csv"))
    assert r.returncode == 0, r.stderr
    assert [line[1] for line in _rows(tmp_path / "results-report.csv")[1:]] == ["accepted", "rejected"]

    con = sqlite3.connect(tmp_path / "fangkong.db")
    with con:
        leads = con.execute("SELECT count(*), count(DISTINCT person_id) FROM lead WHERE channel = 'testing' "
                            "AND category = 'positive_pool_member'").fetchone()
        tasks = con.execute("SELECT count(*) FROM task WHERE kind = 'testing_retest' AND status = 'open'").fetchone()
        measures = con.execute("SELECT count(*) FROM measure WHERE category = 'positive_pool_member' "
                               "AND kind = 'temporary_control' AND status = 'active'").fetchone()
    con.close()
    assert (leads, tasks, measures) == ((10, 10), (10,), (10,))

    out = tmp_path / "compliance.csv"
    r = _run(env, "export", "compliance", "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = _rows(out)
    assert lines[0] == ["person_id", "group", "employer", "last_negative_at", "next_due_at", "overdue_hours"]
    assert len(lines) == 7
    # the tube is positive: nobody has a last negative; due three days after enrolment
    assert {tuple(line[3:]) for line in lines[1:]} == {("", "2022-04-21T09:00:00+08:00", "0.0")}

    r = _run(env, "import", "results", str(tmp_path / "missing.csv"))
    assert r.returncode == 1
    r = _run(env, "export", "compliance", "--out", str(out), "--status", "late")
    assert r.returncode == 2


def test_every_testing_message_is_translated():
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = extract_from_dir(str(SRC), method_map=[("**.html", "jinja2"), ("**.py", "python")],
                             options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}, keywords=keywords)
    ids = sorted({m[2] if isinstance(m[2], str) else m[2][0] for m in found})
    assert len(ids) > 80  # the extraction found the templates and the command line
    zh = translations("zh_CN")
    assert [m for m in ids if zh.gettext(m) == m] == []
    for m in ids:
        assert set(re.findall(r"\{\w+\}", m)) == set(re.findall(r"\{\w+\}", zh.gettext(m))), m
