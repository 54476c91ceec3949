"""`fangkong surveillance detect|rt` on files, as another system's script calls it, and `POST
/api/v1/surveillance/detect` through the app: outputs equal to the R oracles, bad series rejected whole
(the offending rows naming `count` or `t`), a file without a header exits 1."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from surveillance_cli import Ran, run

from fangkong.app import create_app
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service

ORACLES = Path(__file__).parent / "oracles"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands run in the test's directory (relative --out paths), in English."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")


def _run(tmp: Path, *args: str) -> Ran:
    return run(*args)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _oracle(name: str) -> list[dict[str, str]]:
    return _csv(ORACLES / name)


def _close(a: str, b: str) -> bool:
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_detect_farrington_file_matches_r(tmp_path: Path) -> None:
    weekly = _oracle("oracle_weekly_input.csv")
    src = _write(tmp_path / "weekly.csv", ["series", "t", "count"], [["w", r["t"], r["y"]] for r in weekly])
    r = _run(tmp_path, "surveillance", "detect", str(src), "--method", "farrington-noufaily", "--from", "300",
             "--out", "out.csv", "--report", "report.csv")
    assert r.returncode == 0, r.stderr
    assert "364 rows: 364 accepted" in r.stderr
    out = _csv(tmp_path / "out.csv")
    assert list(out[0]) == ["series", "t", "observed", "expected", "upperbound", "statistic", "alarm", "phi", "trend"]
    expected = [x for x in _oracle("oracle_farrington_output.csv") if x["variant"] == "noufaily"]
    assert [o["t"] for o in out] == [x["t"] for x in expected]
    for o, x in zip(out, expected, strict=True):
        assert o["alarm"] == x["alarm"].lower()
        for ours, theirs in (("expected", "expected"), ("upperbound", "upperbound"), ("statistic", "score"),
                             ("phi", "phi")):
            assert _close(o[ours], x[theirs]), (o["t"], ours)
    report = _csv(tmp_path / "report.csv")
    assert list(report[0])[:6] == ["row", "status", "person_id", "issues", "series", "t"]
    assert {x["status"] for x in report} == {"accepted"}


def test_detect_defaults_and_bad_series(tmp_path: Path) -> None:
    daily = _oracle("oracle_daily_input.csv")
    rows: list[list[object]] = [["fever", r["t"], r["y"]] for r in daily]
    rows += [["bad", 1, 3], ["bad", 2, "4.5"], ["bad", 3, 5], ["bad", 3, 6], ["gap", 1, 3], ["gap", 3, 4]]
    rows += [["fw", t, "１２"] for t in range(1, 12)]  # full-width digits are counts
    src = _write(tmp_path / "daily.csv", ["系列", "日期", "数量"], rows)
    r = _run(tmp_path, "surveillance", "detect", str(src), "--method", "ears-c2", "--out", "c2.csv",
             "--report", "rep.csv")
    assert r.returncode == 0, r.stderr
    out = _csv(tmp_path / "c2.csv")
    fever = [o for o in out if o["series"] == "fever"]
    assert fever[0]["t"] == "10"  # C2 judges from baseline + 3
    assert [o["t"] for o in fever if o["alarm"] == "true"] == ["26", "27", "28", "29"]
    assert [o["statistic"] for o in out if o["series"] == "fw"] == ["0.0", "0.0"]
    assert {o["series"] for o in out} == {"fever", "fw"}
    rep = {int(x["row"]): x for x in _csv(tmp_path / "rep.csv")}
    bad = [rep[n] for n in range(37, 41)]
    assert [x["status"] for x in bad] == ["rejected"] * 4
    assert bad[0]["issues"].startswith("series: ")
    assert bad[1]["issues"] == "count: not a whole number of at least 0: 4.5"
    assert bad[2]["issues"].startswith("t: period 3 appears more than once")
    assert rep[42]["issues"] == "t: period 2 is missing before this one"
    assert rep[41]["issues"].startswith("series: ")


def test_detect_dates_weekly_and_usage_errors(tmp_path: Path) -> None:
    import datetime as dt

    start = dt.date(2024, 1, 1)
    rows = [["s", (start + dt.timedelta(days=d)).isoformat(), 10 + (d % 3)] for d in range(20)]
    src = _write(tmp_path / "dates.csv", ["series", "t", "count"], rows)
    r = _run(tmp_path, "surveillance", "detect", str(src), "--method", "cusum", "--from", "2024-01-15",
             "--param", "k=0.5", "--out", "cu.csv")
    assert r.returncode == 0, r.stderr
    out = _csv(tmp_path / "cu.csv")
    assert out[0]["t"] == "2024-01-15" and len(out) == 6
    weekly = [["s", (start + dt.timedelta(days=7 * d)).isoformat(), 3] for d in range(12)]
    src = _write(tmp_path / "weeks.csv", ["series", "t", "count"], weekly)
    assert _run(tmp_path, "surveillance", "detect", str(src), "--method", "ears-c1", "--period", "week",
                "--out", "w.csv").returncode == 0
    assert len(_csv(tmp_path / "w.csv")) == 5
    r = _run(tmp_path, "surveillance", "detect", str(src), "--method", "ears-c1", "--out", "w.csv",
             "--report", "wr.csv")
    assert {x["status"] for x in _csv(tmp_path / "wr.csv")} == {"rejected"}  # days missing between the weeks
    r = _run(tmp_path, "surveillance", "detect", str(src), "--method", "ears-c1", "--param", "baseline=2",
             "--out", "w.csv")
    assert r.returncode == 2 and "baseline" in r.stderr
    r = _run(tmp_path, "surveillance", "detect", str(src), "--method", "nope", "--out", "w.csv")
    assert r.returncode == 2
    nohead = _write(tmp_path / "nohead.csv", ["a", "b"], [[1, 2]])
    r = _run(tmp_path, "surveillance", "detect", str(nohead), "--method", "cusum", "--out", "x.csv")
    assert r.returncode == 1 and not (tmp_path / "x.csv").exists()


def test_rt_file_matches_epiestim(tmp_path: Path) -> None:
    flu = _oracle("oracle_flu2009_input.csv")
    src = _write(tmp_path / "flu.csv", ["series", "t", "local"], [["flu", r["t"], r["I"]] for r in flu])
    r = _run(tmp_path, "surveillance", "rt", str(src), "--si-mean", "2.6", "--si-sd", "1.5", "--out", "rt.csv")
    assert r.returncode == 0, r.stderr
    out = _csv(tmp_path / "rt.csv")
    assert list(out[0]) == ["series", "t_start", "t_end", "mean", "std", "q0.025", "q0.05", "q0.25", "median",
                            "q0.75", "q0.95", "q0.975"]
    expected = _oracle("oracle_epiestim_output.csv")
    assert len(out) == len(expected)
    for o, x in zip(out, expected, strict=True):
        assert (o["t_start"], o["t_end"]) == (x["t_start"], x["t_end"])
        assert _close(o["mean"], x["Mean(R)"]) and _close(o["q0.975"], x["Quantile.0.975(R)"])
        assert _close(o["median"], x["Median(R)"]) and _close(o["std"], x["Std(R)"])


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def _token(session: Session, username: str, role: str) -> dict[str, str]:
    unit = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code=f"SV-{username}", name="监测区",
                                             level="district", parent_code=None)
    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit.code,
                             password="correct-horse-9")
    session.flush()
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def test_detect_api(client: TestClient, session: Session) -> None:
    epi = _token(session, "sv-epi", "epidemiologist")
    grid = _token(session, "sv-grid", "grid")
    daily = _oracle("oracle_daily_input.csv")
    items = [{"series": "fever", "t": int(r["t"]), "count": r["y"]} for r in daily]
    body = {"method": "ears-c1", "items": items}
    assert client.post("/api/v1/surveillance/detect", json=body).status_code == 401
    assert client.post("/api/v1/surveillance/detect", json=body, headers=grid).status_code == 403
    r = client.post("/api/v1/surveillance/detect", json=body, headers=epi)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["counts"] == {"accepted": 35}
    expected = [x for x in _oracle("oracle_ears_output.csv") if x["method"] == "C1"]
    assert [x["t"] for x in got["results"]] == [x["t"] for x in expected]
    for o, x in zip(got["results"], expected, strict=True):
        assert o["alarm"] == (x["alarm"] == "TRUE") and _close(str(o["upperbound"]), x["upperbound"])
    bad = client.post("/api/v1/surveillance/detect", headers=epi,
                      json={"method": "ears-c1", "params": {"baseline": "x"}, "items": items})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "params.baseline"
    broken = [*items, {"series": "fever", "t": 3, "count": "-1"}]
    r = client.post("/api/v1/surveillance/detect", headers=epi, json={"method": "ears-c1", "items": broken})
    assert r.json()["counts"] == {"rejected": 36} and r.json()["results"] == []
    assert r.json()["items"][-1]["issues"][0].startswith("count: ")
