"""GET /api/v1/command/indicators through the app: 401/403/404/422, the columns, colours with their rules,
a unit outside the caller's subtree, an unknown indicator listing the known ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from command_factories import CUTOFF, DAY, H, build_tree, leads_of_the_day
from fastapi.testclient import TestClient
from signin import user_headers
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.kernel import clock

URL = "/api/v1/command/indicators"


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(CUTOFF + H):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_indicators_api(client: TestClient, session: Session) -> None:
    tree = build_tree(session)
    leads_of_the_day(session, tree)
    chief = user_headers(session, "chief", "command", tree.root.code)
    d1 = user_headers(session, "district1", "district", "D1")
    grid = user_headers(session, "grid1", "grid", "G1")
    session.commit()

    assert client.get(URL).status_code == 401
    assert client.get(URL, headers=grid).status_code == 403
    r = client.get(URL, params={"day": DAY.isoformat()}, headers=chief)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["day"], body["cutoff_at"], body["frozen"]) == ("2022-04-18", "2022-04-19T00:00:00+08:00", False)
    rows = {(x["unit_code"], x["indicator"]): x for x in body["rows"]}
    g1 = rows[("G1", "leads.cleared_same_day")]
    assert (g1["value"], g1["numerator"], g1["denominator"], g1["status"]) == (0.5, 2, 4, "red")
    assert "0.95" in g1["rule"] and "command.thresholds.leads.cleared_same_day" in g1["rule"]
    assert {"day", "unit_code", "unit_name", "level", "indicator", "value", "numerator", "denominator",
            "status"} <= set(g1)
    sig = rows[("G1", "signals.open")]
    assert (sig["enabled"], sig["value"], sig["status"]) == (True, 0, "")
    assert rows[(tree.root.code, "leads.received")]["level"] == "city"

    # a district: its subtree only; another district is a 404, a future day a 422
    r = client.get(URL, params={"day": DAY.isoformat()}, headers=d1)
    assert {x["unit_code"] for x in r.json()["rows"]} == {"D1", "S1", "G1", "G2"}
    assert client.get(URL, params={"day": DAY.isoformat(), "unit": "D2"}, headers=d1).status_code == 404
    r = client.get(URL, params={"day": "2022-04-21"}, headers=chief)
    assert r.status_code == 422 and "day" in r.text
    r = client.get(URL, params={"indicator": "nope.x", "day": DAY.isoformat()}, headers=chief)
    assert r.status_code == 404 and "leads.cleared_same_day" in r.text
    r = client.get(URL, params={"indicator": "leads.overdue", "day": DAY.isoformat(), "unit": "S1"}, headers=chief)
    assert [(x["unit_code"], x["value"], x["status"]) for x in r.json()["rows"]] == [
        ("S1", 1, "amber"), ("G1", 1, "amber"), ("G2", 0, "green")]
