"""The sentinel and signal API through the app: counts posted by site staff (per-item report), signals
listed in the caller's jurisdiction, reviews (401/403/404/409/422); and the command line end to end
(sites and counts imported twice, two runs, both exports)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sentinel_factories import NOW, build_city, daily_counts
from signin import user_headers
from sqlalchemy.orm import Session, sessionmaker
from surveillance_cli import cli_database, run

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.surveillance import service


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_counts_signals_and_review_over_http(client: TestClient, session: Session) -> None:
    c = build_city(session, "x")
    staff = user_headers(session, "sv-staff", "enterprise", c.district.code)
    epi = user_headers(session, "sv-epi2", "epidemiologist", c.district.code)
    west = user_headers(session, "sv-west", "epidemiologist", c.other.code)
    items = [{"site_ref": "FCx", "date": "2022-04-10", "indicator": "fever_visits", "count": "12"}]
    assert client.post("/api/v1/sentinel-counts", json={"items": items}).status_code == 401
    assert client.post("/api/v1/sentinel-counts", json={"items": items}, headers=epi).status_code == 403
    r = client.post("/api/v1/sentinel-counts", json={"items": items}, headers=staff)
    assert r.status_code == 200 and r.json()["counts"] == {"accepted": 1}
    items[0]["count"] = "21"
    r = client.post("/api/v1/sentinel-counts", json={"items": [*items, {**items[0], "site_ref": "FWx"}]},
                    headers=staff)
    assert r.json()["items"][0]["issues"] == ["count: corrected from 12 to 21"]
    assert r.json()["items"][1]["status"] == "rejected"  # the other district's site is unknown to them
    assert client.post("/api/v1/sentinel-counts", json={"items": []}, headers=staff).status_code == 422

    service.record_counts(session, SYSTEM_ACTOR, daily_counts("x"), source="file")
    service.run_detection(session, SYSTEM_ACTOR, until=dt.date(2022, 4, 17))
    assert client.get("/api/v1/signals").status_code == 401
    r = client.get("/api/v1/signals", params={"status": "open"}, headers=epi)
    assert r.status_code == 200
    signals = r.json()["items"]
    site = next(s for s in signals if s["level"] == "site" and s["indicator"] == "fever_visits")
    assert site["first_date"] == "2022-04-12" and site["status"] == "open" and site["task_id"]
    assert client.get("/api/v1/signals", headers=west).json()["items"] == []
    path = f"/api/v1/signals/{site['id']}/review"
    assert client.post(path, json={"action": "dismiss"}, headers=west).status_code == 404
    assert client.post(path, json={"action": "dismiss"}, headers=staff).status_code == 403
    bad = client.post(path, json={"action": "later"}, headers=epi)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "action"
    r = client.post(path, json={"action": "dismiss", "note": "录入错误"}, headers=epi)
    assert r.status_code == 200 and (r.json()["status"], r.json()["outcome"]) == ("closed", "dismissed")
    assert client.post(path, json={"action": "dismiss"}, headers=epi).status_code == 409
    assert client.get(f"/signals/{site['id']}", headers=epi).status_code == 200


def test_command_line_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with cli_database(tmp_path, monkeypatch, now="2022-04-18T09:00:00+08:00"):
        _command_line_end_to_end(tmp_path)


def _command_line_end_to_end(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text("哨点编号,哨点名称,哨点类别,启用日期\nFC,一院发热门诊,发热门诊,2022-03-01\n"
                     "PH,仁和药店,药店,2022-03-01\nBAD,某院,医院,2022-03-01\n", encoding="utf-8")
    r = run("import", "sentinels", str(sites), "--report", str(tmp_path / "sr.csv"))
    assert r.returncode == 0 and "3 rows: 2 accepted, 1 rejected" in r.stderr, r.stderr
    assert "3 rows: 2 duplicate, 1 rejected" in run("import", "sentinels", str(sites)).stderr
    rows = [r for r in daily_counts() if r["site_ref"] in ("FC", "PH")]
    counts = tmp_path / "counts.csv"
    with counts.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["哨点编号", "日期", "指标", "数量"])
        w.writerows([[r["site_ref"], r["date"], r["indicator"], r["count"]] for r in rows])
        w.writerow(["FC", "2022-04-30", "fever_visits", 3])
    r = run("import", "sentinel-counts", str(counts), "--report", str(tmp_path / "cr.csv"))
    assert r.returncode == 0 and f"{len(rows) + 1} rows: {len(rows)} accepted, 1 rejected" in r.stderr, r.stderr
    with (tmp_path / "cr.csv").open(encoding="utf-8-sig") as fh:
        report = list(csv.DictReader(fh))
    assert report[-1]["issues"] == "date: 2022-04-30 is in the future"
    first = run("surveillance", "run", "--until", "2022-04-17", "--json")
    assert first.returncode == 0 and '"signals_opened": 0' not in first.stdout
    second = run("surveillance", "run", "--until", "2022-04-17", "--json")
    assert '"judged": 0' in second.stdout and '"signals_opened": 0' in second.stdout
    assert run("export", "signals", "--out", str(tmp_path / "s.csv")).returncode == 0
    assert run("export", "detections", "--out", str(tmp_path / "d.csv"), "--alarms-only").returncode == 0
    with (tmp_path / "s.csv").open(encoding="utf-8-sig") as fh:
        signals = list(csv.DictReader(fh))
    assert list(signals[0]) == ["signal_id", "level", "site_ref", "unit_code", "indicator", "algorithm",
                                "first_date", "last_date", "alarms", "status", "outcome", "task_id"]
    assert any(s["site_ref"] == "FC" and s["first_date"] == "2022-04-12" for s in signals)
    with (tmp_path / "d.csv").open(encoding="utf-8-sig") as fh:
        det = list(csv.DictReader(fh))
    assert list(det[0]) == ["level", "site_ref", "unit_code", "indicator", "algorithm", "date", "observed",
                            "upperbound", "statistic", "alarm"]
    assert {d["alarm"] for d in det} == {"true"}


def test_signals_page_pages_fifty_at_a_time_newest_first(client: TestClient, session: Session) -> None:
    from fangkong.surveillance.models import Signal

    c = build_city(session, "p")
    epi = user_headers(session, "sv-epi-p", "epidemiologist", c.district.code)
    day = dt.date(2022, 4, 1)
    session.add_all(Signal(series_key=f"p{i}", level="unit", site_id=None, unit_id=c.district.id,
                           indicator="fever_visits", algorithm="ears_c1", first_day=day, last_day=day,
                           status="closed", opened_at=NOW, unit_path=c.district.path) for i in range(55))
    session.commit()
    ids = sorted(session.query(Signal.id).filter(Signal.series_key.like("p%")).all(), reverse=True)
    first = client.get("/signals", headers=epi)
    assert first.status_code == 200
    shown = [int(i) for i in _SIGNAL_LINK.findall(first.text)]
    assert shown == [i for (i,) in ids[:50]]
    assert c.district.name in first.text
    nxt = _NEXT.search(first.text)
    assert nxt is not None
    second = client.get(nxt.group(1).replace("&amp;", "&"), headers=epi)
    assert [int(i) for i in _SIGNAL_LINK.findall(second.text)] == [i for (i,) in ids[50:]]
    assert _NEXT.search(second.text) is None and "/signals\">" in second.text  # back to the first page
    assert client.get("/signals?cursor=abc", headers=epi).status_code == 422


_SIGNAL_LINK = __import__("re").compile(r'data-testid="signal-(\d+)"')
_NEXT = __import__("re").compile(r'data-testid="signals-next" href="([^"]+)"')
