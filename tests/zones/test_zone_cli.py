"""The zones' command line on an initialised database of its own (other systems' scripts call these),
in-process through Typer's CliRunner; one subprocess smoke checks the real `python -m fangkong` entry."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from own_database import initialised_database
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner
from zone_factories import build_city, make_id, sample, t

from fangkong import cli
from fangkong.kernel import db
from fangkong.kernel.cli_support import CliError
from fangkong.settings import reset_settings_cache
from fangkong.zones.models import Zone

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(params=BACKENDS)
def operator_db(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[sessionmaker, dict]]:
    with initialised_database(request.param, tmp_path, monkeypatch, "zones") as (url, factory):
        monkeypatch.setenv("LANG", "en_US.UTF-8")
        monkeypatch.setenv("FANGKONG_NOW", t(1, 10).isoformat())
        reset_settings_cache()
        previous = db._engine
        db.set_engine(factory.kw["bind"])
        try:
            yield factory, {"FANGKONG_DATABASE_URL": url, "FANGKONG_DATA_DIR": str(tmp_path)}
        finally:
            db.set_engine(previous)
    monkeypatch.undo()
    reset_settings_cache()


def _run(env: dict[str, str], *args: str, now: str | None = None) -> Result:
    """`fangkong ARGS` in-process (exit status, stdout, stderr as the command line gives them), the test
    clock at `now` (default: the fixture's FANGKONG_NOW)."""
    old = os.environ.get("FANGKONG_NOW")
    if now:
        os.environ["FANGKONG_NOW"] = now
    reset_settings_cache()
    try:
        cli._load_commands()
        r = CliRunner().invoke(cli.app, list(args))
    finally:
        if now and old is not None:
            os.environ["FANGKONG_NOW"] = old
        reset_settings_cache()
    if isinstance(r.exception, CliError):
        return Result(r.exception.code, r.stdout, r.stderr + str(r.exception))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Result(r.exit_code, r.stdout, r.stderr)


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def _smoke(paths: dict[str, str]) -> None:
    """One subprocess smoke: `python -m fangkong zones list --json` on the initialised database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(paths, LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8", FANGKONG_NOW=t(1, 10).isoformat(),
               PYTHONPATH=os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "fangkong", "zones", "list", "--json"], env=env, capture_output=True,
                       text=True, timeout=600)
    assert (r.returncode, json.loads(r.stdout)) == (0, []), r.stderr


def test_draw_round_coverage_eligibility_lift_from_the_command_line(operator_db, tmp_path: Path) -> None:
    factory, env = operator_db
    _smoke(env)
    with factory() as session:
        city = build_city(session)
        session.commit()
    addresses = tmp_path / "addresses.txt"
    addresses.write_text("花园路8号1栋\n", encoding="utf-8")
    r = _run(env, "zones", "draw", "--level", "high", "--addresses", str(addresses), "--reason", "病例 C1", "--json")
    assert r.returncode == 0, r.stderr
    drawn = json.loads(r.stdout)
    assert {k: drawn[k] for k in ("addresses", "households", "residents")} == {"addresses": 2, "households": 2,
                                                                                "residents": 4}
    zone_id = drawn["zone_id"]
    # an address outside the gazetteer: exit 1, the closest entries named, nothing stored
    bad = tmp_path / "bad.txt"
    bad.write_text("花园路8号1栋109室\n", encoding="utf-8")
    r = _run(env, "zones", "draw", "--level", "high", "--addresses", str(bad), "--reason", "x")
    assert r.returncode == 1 and "花园路8号1栋101室" in r.stderr
    assert _run(env, "zones", "draw", "--level", "severe", "--grid", "x", "--reason", "x").returncode == 2
    listed = json.loads(_run(env, "zones", "list", "--json").stdout)
    assert [(z["zone_id"], z["level"], z["residents"]) for z in listed] == [(zone_id, "high", 4)]

    r = _run(env, "rounds", "start", "--zone", str(zone_id), "--json", now=t(8, 8).isoformat())
    assert r.returncode == 0, r.stderr
    rnd = json.loads(r.stdout)
    assert rnd["targets"] == 4
    with factory() as session:
        for seq in sorted(city.people.values())[:3]:
            sample(session, city, seq, t(8, 9))
        session.commit()
    out = tmp_path / "coverage.csv"
    r = _run(env, "rounds", "coverage", str(rnd["round_id"]), "--at", "2022-04-08 18:00", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert _csv(out) == [["unit_code", "unit_name", "targets", "sampled", "resulted", "positive", "excluded", "missing"],
                         [city.grid1.code, "花园一网格", "4", "3", "3", "0", "0", "1"]]
    miss = tmp_path / "missing.csv"
    r = _run(env, "rounds", "coverage", str(rnd["round_id"]), "--missing", "--out", str(miss), "--at", "2022-04-08 18:00")
    rows = _csv(miss)
    assert rows[0] == ["person_id", "name", "id_number", "phone", "address", "unit_code"]
    assert len(rows) == 2 and "********" in rows[1][2] and "****" in rows[1][3]

    elig = tmp_path / "eligibility.csv"
    r = _run(env, "zones", "eligibility", "--at", "2022-04-09 08:00", "--out", str(elig))
    assert r.returncode == 0, r.stderr
    assert _csv(elig) == [["zone_id", "level", "last_infection_at", "qualifying_round", "eligible_on", "next_level"],
                          [str(zone_id), "high", "", "", "", "medium"]]
    r = _run(env, "zones", "lift", str(zone_id), "--at", "2022-04-09 08:00")
    assert r.returncode == 1 and "not eligible" in r.stderr
    # the last door's sample through `import round-samples` (testing's sample import with a round column):
    # the 4th resident is a target, the 5th (building 2) is not, a round that does not exist is an issue
    samples = tmp_path / "round-samples.csv"
    samples.write_text("tube_barcode,pool_size,id_number,name,collected_at,sampling_point,round\n"
                       f"RS4,1,{make_id(4)},居民4,2022-04-08 12:00,ZSP1,{rnd['round_id']}\n"
                       f"RS5,1,{make_id(5)},居民5,2022-04-08 12:05,ZSP1,{rnd['round_id']}\n"
                       f"RS6,1,{make_id(6)},居民6,2022-04-08 12:10,ZSP1,999\n", encoding="utf-8")
    report = tmp_path / "round-samples-report.csv"
    r = _run(env, "import", "round-samples", str(samples), "--report", str(report), now=t(8, 13).isoformat())
    assert r.returncode == 0, r.stderr
    rep = _csv(report)
    assert rep[0][:4] == ["row", "status", "person_id", "issues"] and rep[0][-2:] == ["round_id", "round_target"]
    assert [(x[1], x[-2], x[-1]) for x in rep[1:]] == [("accepted", str(rnd["round_id"]), "yes"),
                                                      ("accepted", str(rnd["round_id"]), "no"), ("accepted", "", "")]
    assert rep[3][3].startswith("round: no testing round 999")
    results = tmp_path / "results.csv"
    results.write_text("tube_barcode,result,lab,reported_at\nRS4,阴性,常州检测,2022-04-08 18:00\n", encoding="utf-8")
    assert _run(env, "import", "results", str(results), now=t(8, 19).isoformat()).returncode == 0
    r = _run(env, "import", "round-samples", str(samples), "--report", str(report), now=t(8, 19).isoformat())
    assert [x[1] for x in _csv(report)[1:]] == ["duplicate"] * 3  # read again: nothing changes
    r = _run(env, "zones", "eligibility", "--at", "2022-04-09 08:00", "--out", str(elig))
    assert _csv(elig)[1] == [str(zone_id), "high", "", str(rnd["round_id"]), "2022-04-09", "medium"]

    # the national list: exported and read back by intake's import (nothing new)
    national = tmp_path / "national.csv"
    r = _run(env, "zones", "national-list", "--out", str(national), now=t(9, 8).isoformat())
    assert r.returncode == 0, r.stderr
    assert _csv(national)[1][:5] == ["江苏省", "常州市", "武进区", "花园路8号1栋", "高"]
    report = tmp_path / "report.csv"
    r = _run(env, "import", "risk-areas", str(national), "--report", str(report))
    assert r.returncode == 0, r.stderr
    assert [row[1] for row in _csv(report)[1:]] == ["duplicate"]

    r = _run(env, "zones", "lift", str(zone_id), "--at", "2022-04-09 08:00", "--json", now=t(9, 8).isoformat())
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"zone_id": zone_id, "level": "medium", "measures_ended": 4, "override": False}
    r = _run(env, "zones", "lift", str(zone_id), "--override", "--reason", "指挥部决定", "--json",
             now=t(9, 9).isoformat())
    assert json.loads(r.stdout)["level"] == "low"

    # zones by file: one accepted, one outside the gazetteer, and again: duplicate
    f = tmp_path / "zones.csv"
    f.write_text("zone_ref,level,units,addresses,starts_at,reason\nZ1,中,32041200100102,,2022-04-10 08:00,病例 C2\n"
                 "Z2,high,,花园路99号,2022-04-10 08:00,病例 C3\n", encoding="utf-8")
    r = _run(env, "import", "zones", str(f), "--report", str(report))
    assert r.returncode == 0, r.stderr
    rows = _csv(report)
    assert [(x[0], x[1]) for x in rows[1:]] == [("2", "accepted"), ("3", "rejected")]
    assert rows[2][3].startswith("addresses: ")
    r = _run(env, "import", "zones", str(f), "--report", str(report))
    assert [x[1] for x in _csv(report)[1:]] == ["duplicate", "rejected"]
    with factory() as session:
        assert session.query(Zone).filter(Zone.ref == "Z1").one().level == "medium"
