"""Exports from the command line, as an operator runs them on a real data directory: the stable CSV,
`--headers zh` for people, XLSX, the new kinds, usage errors; and an import's summary rows skipped."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import openpyxl
from cli_runner import CliRun, run_cli
from intake_factories import make_id

ID_A = make_id(seq="101")


def _run(env: dict[str, str], *args: str) -> CliRun:
    return run_cli(*args, env=env)


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def test_exports_from_the_command_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8",
               FANGKONG_NOW="2022-04-18T09:00:00+08:00")
    assert _run(env, "init", "--mode", "test").returncode == 0
    leads = tmp_path / "leads.csv"
    with leads.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([["姓名", "身份证号", "手机号码", "来源编号"],
                                  ["张三", ID_A, "13812345678", "@SUM(1)"],
                                  ["合计", "1人", "", ""],
                                  ["填表人：李四", "", "联系电话：13900000000", ""]])
    r = _run(env, "import", "leads", str(leads), "--channel", "bigdata", "--report", str(tmp_path / "rep.csv"))
    assert r.returncode == 0, r.stderr
    assert "3 rows: 1 accepted, 2 skipped" in r.stderr
    assert [line[1] for line in _rows(tmp_path / "rep.csv")[1:]] == ["accepted", "skipped", "skipped"]

    out = tmp_path / "leads-out.csv"
    r = _run(env, "export", "leads", "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = _rows(out)
    assert lines[0] == ["channel", "source_ref", "person_id", "status", "measure", "rule", "received_at", "known_at",
                        "managed_at", "controlled_at", "id_number", "phone", "unit_code", "headcount"]
    assert lines[1][1] == "'@SUM(1)" and lines[1][10] == ID_A[:6] + "********" + ID_A[-4:]

    zh = tmp_path / "leads-zh.csv"
    assert _run(env, "export", "leads", "--out", str(zh), "--headers", "zh").returncode == 0
    lines = _rows(zh)
    assert lines[0][:2] == ["渠道", "渠道名称"] and "2022-04-18 09:00" in lines[1]

    xlsx = tmp_path / "leads.xlsx"
    assert _run(env, "export", "leads", "--out", str(xlsx), "--unmasked").returncode == 0
    ws = openpyxl.load_workbook(xlsx).worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[0] == "渠道" and ws.cell(2, header.index("身份证号") + 1).value == ID_A

    for kind, extra in (("tasks", ["--tab", "open"]), ("clearance", ["--day", "2022-04-18"]),
                        ("reconciliation", []), ("coverage", []), ("units", []), ("compliance", [])):
        path = tmp_path / f"{kind}.xlsx"
        r = _run(env, "export", kind, "--out", str(path), *extra)
        assert r.returncode == 0, (kind, r.stderr)
        first = [c.value for c in openpyxl.load_workbook(path).worksheets[0][1]]
        assert first and all(not str(h).isascii() for h in first), (kind, first)
    tasks = _rows(tmp_path / "t.csv") if _run(env, "export", "tasks", "--out", str(tmp_path / "t.csv")).returncode \
        == 0 else []
    assert tasks[0][:3] == ["task_id", "kind", "title"] and len(tasks) == 2

    assert _run(env, "export", "leads", "--out", str(tmp_path / "x.pdf")).returncode == 2
    assert _run(env, "export", "leads", "--out", str(out), "--headers", "fr").returncode == 2
    assert _run(env, "export", "tasks", "--out", str(out), "--tab", "later").returncode == 2
