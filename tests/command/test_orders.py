"""Orders (指令): issued to a level or to codes, acknowledged, completed with evidence, relayed as linked
sub-orders, escalated when late; 404 outside the subtree, 403 for an untargeted unit; the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from command_factories import NOW, H, actor, build_tree
from fastapi.testclient import TestClient
from signin import user_headers
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.command.jobs import order_escalation
from fangkong.command.service import orders
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import NotFound, ValidationFailed
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.tasks.models import Task


def test_order_loop(session: Session) -> None:
    tree = build_tree(session)
    chief, d1, s1 = actor(tree.root), actor(tree.d1, "district", "d1"), actor(tree.s1, "street", "s1")
    g1, g2, d2 = actor(tree.g1, "grid", "g1"), actor(tree.g2, "grid", "g2"), actor(tree.d2, "district", "d2")
    with clock.frozen(NOW):
        order = orders.issue_order(session, chief, title="全员核酸动员", to_level="district", evidence=True)
    view = orders.show(session, chief, order_id=order.id)
    assert [(t["unit_code"], t["status"]) for t in view["targets"]] == [("D1", "issued"), ("D2", "issued")]
    assert view["ack_due_at"] == "2022-04-18T11:00:00+08:00"  # 2 h by default
    tasks = session.execute(select(Task.kind, Task.unit_id).where(Task.subject_type == "order",
                                                                  Task.subject_id == order.id)).all()
    assert sorted(tasks) == sorted([("command_order_ack", tree.d1.id), ("command_order_complete", tree.d1.id),
                                    ("command_order_ack", tree.d2.id), ("command_order_complete", tree.d2.id)])

    # D1 relays to its street; the street relays to both grids; only targets may act
    with clock.frozen(NOW + H):
        sub = orders.relay(session, d1, order_id=order.id, to=["S1"])
        with pytest.raises(orders.NotTargeted):  # D1 sees the sub-order it issued, but is not its target: 403
            orders.acknowledge(session, d1, order_id=sub.id)
        with pytest.raises(NotFound):  # the top order lies outside S1's subtree (its targets are districts)
            orders.acknowledge(session, s1, order_id=order.id)
        subsub = orders.relay(session, s1, order_id=sub.id, to=["G1", "G2"])
        orders.acknowledge(session, g1, order_id=subsub.id)
        with pytest.raises(ValidationFailed) as exc:
            orders.complete(session, g1, order_id=subsub.id)
        assert str(exc.value.fields[0]) == "evidence: required"
        orders.complete(session, g1, order_id=subsub.id, evidence="已张贴通告并入户告知")
    # a grid of another district sees nothing of D2's order side: 404
    with pytest.raises(NotFound):
        orders.show(session, d2, order_id=sub.id)
    with pytest.raises(NotFound):
        orders.acknowledge(session, g2, order_id=order.id)  # the top order: G2 is outside its targets
    view = orders.show(session, chief, order_id=order.id)
    d1_target = view["targets"][0]
    assert (d1_target["status"], d1_target["acknowledged_at"]) == ("acknowledged", "2022-04-18T10:00:00+08:00")
    street = d1_target["sub_orders"][0]
    assert [t["unit_code"] for t in street["targets"]] == ["S1"]
    grids = street["targets"][0]["sub_orders"][0]["targets"]
    assert [(t["unit_code"], t["status"], t["completed_at"]) for t in grids] == [
        ("G1", "completed", "2022-04-18T10:00:00+08:00"), ("G2", "issued", None)]

    # escalation: D2 never acknowledged by 11:00, G2 not by 12:00 (relayed at 10:00) → escalated; the
    # root and S1 chase them
    with clock.frozen(NOW + 3 * H + H / 2):
        got = order_escalation(session)
        assert got == {"escalated": 2, "overdue": 0}
        assert order_escalation(session) == {"escalated": 0, "overdue": 0}
    view = orders.show(session, chief, order_id=order.id)
    assert view["targets"][1]["status"] == "escalated" and view["targets"][1]["escalated_at"]
    chase = session.execute(select(Task.unit_id).where(Task.kind == "command_order_escalated")).scalars().all()
    assert sorted(chase) == sorted([tree.root.id, tree.s1.id])
    # late acknowledgement after escalation, then the due time passes for an acknowledged target
    with clock.frozen(NOW + 5 * H):
        orders.acknowledge(session, d2, order_id=order.id)
    with clock.frozen(NOW + 30 * H):
        assert order_escalation(session)["overdue"] >= 1
    assert orders.show(session, chief, order_id=order.id)["targets"][1]["status"] == "overdue"


def test_bad_orders(session: Session) -> None:
    tree = build_tree(session)
    d1 = actor(tree.d1, "district", "d1")
    with clock.frozen(NOW):
        for kw, field in [({"to": ["D2"]}, "to"), ({"to": ["D1"]}, "to"), ({}, "to"),
                          ({"to": ["G1"], "to_level": "grid"}, "to"), ({"to_level": "planet"}, "to_level"),
                          ({"to": ["G1"], "ack_hours": 0}, "ack_hours")]:
            with pytest.raises(ValidationFailed) as exc:
                orders.issue_order(session, d1, title="x", **kw)
            assert field in {f.field for f in exc.value.fields}, (kw, exc.value.fields)
        with pytest.raises(ValidationFailed):
            orders.issue_order(session, d1, title="  ", to=["G1"])


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_orders_api(client: TestClient, session: Session) -> None:
    tree = build_tree(session)
    jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="G9", name="乙网格", level="grid", parent_code="D2")
    chief = user_headers(session, "chief", "command", tree.root.code)
    g1 = user_headers(session, "grid1", "grid", "G1")
    g9 = user_headers(session, "grid9", "grid", "G9")
    session.commit()
    with clock.frozen(NOW):
        r = client.post("/api/v1/orders", json={"title": "核查返乡人员", "to_level": "grid", "under": "D1"},
                        headers=chief)
        assert r.status_code == 201, r.text
        oid = r.json()["id"]
        assert [t["unit_code"] for t in r.json()["targets"]] == ["G1", "G2"]
        assert client.post(f"/api/v1/orders/{oid}/ack", headers=g9).status_code == 404
        r = client.post(f"/api/v1/orders/{oid}/ack", headers=g1)
        assert r.status_code == 200 and r.json()["targets"][0]["status"] == "acknowledged"
        r = client.post("/api/v1/orders", json={"title": "x", "to": ["G9"]}, headers=g1)
        assert r.status_code == 403  # a grid issues nothing
        r = client.post("/api/v1/orders", json={"title": "x", "to": ["NOPE"]}, headers=chief)
        assert r.status_code == 422 and "to" in r.text
        r = client.post(f"/api/v1/orders/{oid}/complete", json={}, headers=g1)
        assert r.status_code == 200 and r.json()["targets"][0]["status"] == "completed"
        assert client.get(f"/api/v1/orders/{oid}", headers=g9).status_code == 404
        assert client.get("/api/v1/orders/999999", headers=chief).status_code == 404
