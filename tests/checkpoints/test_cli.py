"""The checkpoint commands end to end, in this process (CliRunner) on a database of their own: import
checkpoints and records (Chinese headers), the per-row report, shift counts, trips, reconciliation."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cp_cli import BACKENDS, Ran, cli_database
from cp_cli import run as run_cli
from cp_factories import ID_A, ID_B

from fangkong.kernel import clock

NOW = dt.datetime.fromisoformat("2022-04-22T12:00:00+08:00")


@pytest.fixture(params=BACKENDS)
def env(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with cli_database(request.param, tmp_path, monkeypatch, "checkpoints"), clock.frozen(NOW):
        yield


def run(_env: None, *args: str) -> Ran:
    return run_cli(*args)


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig") as f:
        return list(csv.reader(f))


def test_import_report_export(env, tmp_path: Path) -> None:
    cps = tmp_path / "cps.csv"
    cps.write_text("卡口编号,卡口名称,卡口类型,地址,班次\nK1,武进高速出口,高速出口,武进区,08:00-20:00;20:00-08:00\n"
                   "K2,湖塘服务区,服务区,,\nK3,坏卡口,飞机场,,\n", encoding="utf-8")
    r = run(env, "import", "checkpoints", str(cps), "--report", str(tmp_path / "cps-report.csv"))
    assert r.returncode == 0, r.output
    rep = read(tmp_path / "cps-report.csv")
    assert rep[0] == ["row", "status", "person_id", "issues", "checkpoint_id", "place_code"]
    assert [x[1] for x in rep[1:]] == ["accepted", "accepted", "rejected"]
    assert rep[3][3].startswith("kind: unknown checkpoint kind")

    recs = tmp_path / "recs.csv"
    recs.write_text(
        "记录编号,通行编号,卡口,查验时间,方向,车牌号,车辆类型,通行证编号,姓名,身份证号,手机号,人员类型,出发地,目的地,健康码,处置\n"
        f"r1,v1,K1,2022-04-21 09:00,进,苏D12345,货车,320400000001,王师傅,{ID_A},,驾驶员,上海市浦东新区,常州市武进区,绿码,放行\n"
        f"r2,c1,K1,2022-04-21 10:00,进,苏D54321,小客车,,李四,{ID_B},,乘客,,,黄码,采样放行\n"
        "r3,,NOPE,2022-04-21 10:00,进,苏D54321,,,,,,,,,,\n"
        "r4,,K1,2022-04-21 10:00,进,,,,,,,,,,,\n"
        "r5,,K1,2022-04-21 10:00,向左,苏D54321,,,,,,,,,,\n", encoding="utf-8")
    r = run(env, "import", "checkpoint-records", str(recs), "--report", str(tmp_path / "recs-report.csv"))
    assert r.returncode == 0, r.output
    rep = read(tmp_path / "recs-report.csv")
    assert rep[0] == ["row", "status", "person_id", "issues", "lead_id", "trip_id"]
    assert [x[1] for x in rep[1:]] == ["accepted", "accepted", "rejected", "rejected", "rejected"]
    assert rep[1][4] == "" and rep[1][5] != ""  # crew on an e-pass: a trip, no lead
    assert rep[2][4] != "" and rep[2][5] == ""  # a yellow code: a lead
    assert [x[3].split(":")[0] for x in rep[3:]] == ["checkpoint", "plate", "direction"]
    again = run(env, "import", "checkpoint-records", str(recs), "--report", str(tmp_path / "again.csv"))
    assert [x[1] for x in read(tmp_path / "again.csv")[1:3]] == ["duplicate", "duplicate"], again.output

    out = tmp_path / "shifts.csv"
    r = run(env, "report", "checkpoints", "--day", "2022-04-21", "--out", str(out))
    assert r.returncode == 0, r.output
    assert read(out) == [
        ["checkpoint", "day", "shift", "vehicles_in", "vehicles_out", "persons_in", "persons_out", "trucks_in",
         "leads", "sampled", "returned"],
        ["K1", "2022-04-21", "08:00-20:00", "2", "0", "2", "0", "1", "1", "1", "0"],
        ["K1", "2022-04-21", "20:00-08:00", "0", "0", "0", "0", "0", "0", "0", "0"]]

    arr = tmp_path / "arr.csv"
    arr.write_text("request_id,plate,epass_no,arrived_at,receiver\nq1,苏D12345,320400000001,2022-04-21 11:00,某物流\n",
                   encoding="utf-8")
    assert run(env, "import", "trip-arrivals", str(arr)).returncode == 0
    out = tmp_path / "trips.csv"
    r = run(env, "export", "trips", "--at", "2022-04-22 12:00", "--out", str(out))
    assert r.returncode == 0, r.output
    rows = read(out)
    assert rows[0] == ["trip_id", "plate", "epass_no", "entered_at", "arrived_at", "exited_at", "state", "overdue_hours"]
    assert rows[1][1:] == ["苏D12345", "320400000001", "2022-04-21T09:00:00+08:00", "2022-04-21T11:00:00+08:00", "",
                           "exit_overdue", "1.0"]
    r = run(env, "checkpoints", "tasks", "--at", "2022-04-22 12:00", "--json")
    assert r.returncode == 0, r.output
    assert len(json.loads(r.stdout)["trip_task_ids"]) == 1

    r = run(env, "report", "reconciliation", "--day", "2022-04-21", "--json")
    assert r.returncode == 0, r.output
    data = json.loads(r.stdout)
    assert set(data) == {"day", "pushed_not_seen", "pushed_not_community", "seen_not_pushed", "seen_not_community",
                         "community_not_seen", "arrival_not_seen", "trip_open"}
    assert [g["plate"] for g in data["seen_not_pushed"]] == ["苏D54321"]
    out = tmp_path / "gaps.csv"
    assert run(env, "report", "reconciliation", "--day", "2022-04-21", "--out", str(out)).returncode == 0
    assert read(out)[0] == ["gap", "person_id", "plate", "at"]
