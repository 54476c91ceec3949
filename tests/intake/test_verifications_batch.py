"""`POST /api/v1/leads/verifications`: a round of four checks at once, each item through the single-row
path (same rules, one audit event each, savepoint per item), per-item answers with the lead as it stands,
idempotency, scope (a lead outside the worker's subtree is not found) and token scope (`leads.verify`)."""

from __future__ import annotations

from intake_factories import NOW
from sqlalchemy import func, select
from test_routes import ADDR, _post, _token, centre, client, grid1, tree  # noqa: F401  (fixtures)

from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

URL = "/api/v1/leads/verifications"


def _verified_events(session) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.action == "intake.lead_verified")).scalar_one()


def test_a_round_of_checks_answers_per_item_and_audits_each(client, session, centre, grid1):  # noqa: F811
    items = [{"name": f"人{i}", "phone": f"1380000000{i}", "address": ADDR} for i in range(2)]
    items.append({"name": "无址", "phone": "13900000000"})  # no address: the root's lead
    items.append({"name": "密接", "phone": "13700000000", "address": ADDR, "category": "密接"})
    ids = [i["lead_id"] for i in _post(client, centre, {"channel": "community", "items": items}).json()["items"]]
    before = _verified_events(session)
    home = {"outcome_code": "found_home", "four_checks": {"headcount": 2, "identity": True}}
    body = {"items": [{"lead_id": ids[0], **home}, {"lead_id": ids[2], **home}, {"lead_id": ids[3], **home},
                      {"lead_id": ids[0], "outcome_code": "false_lead"}, {"lead_id": ids[1], "outcome_code": "left_city"}]}
    with clock.frozen(NOW):
        r = client.post(URL, json=body, headers={**grid1, "Idempotency-Key": "round-1"})
    assert r.status_code == 200, r.text
    answer = r.json()
    got = [(i["row"], i["status"], (i["error"] or {}).get("code")) for i in answer["items"]]
    assert got == [(1, "verified", None), (2, "rejected", "not_found"), (3, "rejected", "invalid"),
                   (4, "rejected", "conflict"), (5, "rejected", "invalid")]
    assert answer["counts"] == {"verified": 1, "rejected": 4}
    first = answer["items"][0]["lead"]
    assert (first["status"], first["headcount"], first["managed_at"]) == ("closed", 2, "2022-04-18T09:00:00+08:00")
    assert answer["items"][1]["lead"] is None  # the root's lead: outside the worker's subtree
    # the close contact's measure is served at a site: the answer says so, and the lead is untouched
    contact = answer["items"][2]
    assert contact["error"]["fields"][0]["field"] == "outcome_code"
    assert (contact["lead"]["measure_code"], contact["lead"]["status"]) == ("centralised_quarantine", "known")
    assert answer["items"][4]["error"]["fields"][0]["field"] == "destination"
    assert _verified_events(session) == before + 1  # one audit event per verified item, none for refusals
    # the same key and body: the first answer itself, nothing done again
    with clock.frozen(NOW):
        again = client.post(URL, json=body, headers={**grid1, "Idempotency-Key": "round-1"})
    assert again.json() == answer and _verified_events(session) == before + 1
    # the single-row path sees the same state
    assert client.post(f"/api/v1/leads/{ids[0]}/verification", json={"outcome_code": "false_lead"},
                       headers=grid1).status_code == 409
    assert client.post(URL, json={"items": []}, headers=grid1).status_code == 422


def test_token_scope_and_permission(client, session, tree, centre, grid1):  # noqa: F811
    ids = [i["lead_id"] for i in _post(client, centre, {"channel": "community", "items": [
        {"name": "人", "phone": "13800000009", "address": ADDR}]}).json()["items"]]
    _row, only = auth_service.create_token(session, SYSTEM_ACTOR, username="grid1", operations=["leads.verify"])
    _row, read_only = auth_service.create_token(session, SYSTEM_ACTOR, username="grid1", read_only=True)
    session.flush()
    body = {"items": [{"lead_id": ids[0], "outcome_code": "false_lead"}]}
    assert client.post(URL, json=body, headers={"Authorization": f"Bearer {read_only}"}).status_code == 403
    assert client.post("/api/v1/leads", json={"channel": "tip", "name": "x"},
                       headers={"Authorization": f"Bearer {only}"}).status_code == 403
    lab = _token(session, "lab1", "lab", tree.root)  # a laboratory verifies nothing
    assert client.post(URL, json=body, headers=lab).status_code == 403
    ok = client.post(URL, json=body, headers={"Authorization": f"Bearer {only}"})
    assert ok.status_code == 200 and ok.json()["items"][0]["status"] == "verified", ok.text
