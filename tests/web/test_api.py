"""The JSON API under /api/v1 and the health check: status codes, error shape, masking, audit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from web_world import ID_A, ID_B, PHONE_A, PHONE_B, World, add_user, bearer, token_for, valid_id

from fangkong.app import create_app
from fangkong.kernel import db
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.people.models import Person


def audit_rows(session: Session, action: str, object_id: int, actor_name: str) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.object_id == str(object_id),
        AuditEvent.actor_name == actor_name)).scalars())


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and isinstance(body["error"]["fields"], list)
    return body["error"]


def test_healthz_reports_database_and_mode(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "mode": "test"}


def test_openapi_document_describes_the_api(client: TestClient) -> None:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    for path in ("/api/v1/me", "/api/v1/persons", "/api/v1/persons/{person_id}/unmask", "/api/v1/tasks",
                 "/api/v1/tasks/{task_id}/complete", "/api/v1/units", "/api/v1/audit", "/healthz"):
        assert path in doc["paths"], path
    schemas = doc["components"]["schemas"]
    assert {"PersonPage", "PersonOut", "ErrorOut", "TaskOut"} <= set(schemas)
    assert "id_number_masked" in schemas["PersonOut"]["properties"]
    assert not any(p.startswith(("/login", "/persons", "/tasks")) for p in doc["paths"])  # pages stay out
    assert client.get("/api/v1/docs").status_code == 200


def test_without_credentials_401(client: TestClient) -> None:
    assert_error(client.get("/api/v1/me"), 401, "unauthenticated")
    assert_error(client.get("/api/v1/persons"), 401, "unauthenticated")
    assert_error(client.get("/api/v1/me", headers=bearer("fk_not-a-real-token")), 401, "unauthenticated")


def test_me_with_token(client: TestClient, world: World, worker_token: str) -> None:
    r = client.get("/api/v1/me", headers=bearer(worker_token))
    assert r.status_code == 200
    me = r.json()
    assert me["username"] == world.worker_username and me["role"] == "grid"
    assert me["unit"]["code"] == world.grid_a.code
    assert "person.unmask" in me["permissions"]


def test_missing_permission_403(client: TestClient, session: Session, world: World) -> None:
    add_user(session, "viewer_a", "viewer", world.grid_a)
    token = token_for(session, "viewer_a")
    session.flush()
    err = assert_error(client.post(f"/api/v1/persons/{world.person_a_id}/unmask", json={"field": "id_number"},
                                   headers=bearer(token)), 403, "forbidden")
    assert "person.unmask" in err["message"]
    assert_error(client.get("/api/v1/audit", headers=bearer(token)), 403, "forbidden")
    assert audit_rows(session, "person.unmask", world.person_a_id, "viewer_a") == []


def test_outside_jurisdiction_404(client: TestClient, world: World, worker_token: str) -> None:
    h = bearer(worker_token)
    assert_error(client.get(f"/api/v1/persons/{world.person_b_id}", headers=h), 404, "not_found")
    assert_error(client.post(f"/api/v1/persons/{world.person_b_id}/unmask", json={"field": "phone"}, headers=h),
                 404, "not_found")
    assert_error(client.get(f"/api/v1/units/{world.grid_b.code}", headers=h), 404, "not_found")
    assert_error(client.get("/api/v1/persons/2147483647", headers=h), 404, "not_found")
    # the neighbour's person does not show up in a search by her exact ID number either
    assert client.get("/api/v1/persons", params={"q": ID_B}, headers=h).json()["items"] == []


def test_validation_errors_name_the_field(client: TestClient, world: World, worker_token: str) -> None:
    h = bearer(worker_token)
    err = assert_error(client.get("/api/v1/persons", params={"limit": 0}, headers=h), 422, "invalid")
    assert [f["field"] for f in err["fields"]] == ["limit"]
    err = assert_error(client.get("/api/v1/persons", params={"cursor": "abc"}, headers=h), 422, "invalid")
    assert err["fields"][0]["field"] == "cursor"
    err = assert_error(client.post(f"/api/v1/persons/{world.person_a_id}/unmask", json={"field": "name"},
                                   headers=h), 422, "invalid")
    assert err["fields"][0]["field"] == "field"
    assert_error(client.get("/api/v1/persons/99999999999999999999", headers=h), 422, "invalid")
    assert_error(client.post(f"/api/v1/tasks/{world.task_id}/complete", content=b"{not json",
                             headers={**h, "Content-Type": "application/json"}), 422, "invalid")


def test_register_person_with_bad_numbers_is_422_and_stores_nothing(
        client: TestClient, session: Session, world: World, worker_token: str) -> None:
    before = session.execute(select(func.count()).select_from(Person)).scalar_one()
    bad_id = ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")
    r = client.post("/api/v1/persons", json={"name": "钱多多", "id_number": bad_id, "phone": "12345"},
                    headers=bearer(worker_token))
    err = assert_error(r, 422, "invalid")
    assert {f["field"] for f in err["fields"]} == {"id_number", "phone"}
    assert session.execute(select(func.count()).select_from(Person)).scalar_one() == before

    good = valid_id("32041220010101234")
    r = client.post("/api/v1/persons", json={"name": "钱多多", "id_number": good, "phone": "13700001111"},
                    headers=bearer(worker_token))
    assert r.status_code == 201, r.text
    assert r.json()["id_number_masked"] == good[:6] + "********" + good[-4:]
    assert good not in r.text and "13700001111" not in r.text


def test_person_search_returns_masked_values_only(client: TestClient, world: World, worker_token: str) -> None:
    r = client.get("/api/v1/persons", params={"q": "王小明"}, headers=bearer(worker_token))
    assert r.status_code == 200
    page = r.json()
    assert [p["id"] for p in page["items"]] == [world.person_a_id]
    item = page["items"][0]
    assert item["id_number_masked"] == ID_A[:6] + "********" + ID_A[-4:]
    assert item["phone_masked"] == PHONE_A[:3] + "****" + PHONE_A[-4:]
    assert ID_A not in r.text and PHONE_A not in r.text and PHONE_B not in r.text
    # searching by the full number finds the person, still masked
    r = client.get("/api/v1/persons", params={"q": PHONE_A}, headers=bearer(worker_token))
    assert [p["id"] for p in r.json()["items"]] == [world.person_a_id] and PHONE_A not in r.text
    detail = client.get(f"/api/v1/persons/{world.person_a_id}", headers=bearer(worker_token))
    assert detail.status_code == 200 and ID_A not in detail.text and detail.json()["age"] is not None


def test_person_list_pages_with_cursor(client: TestClient, session: Session, world: World) -> None:
    add_user(session, "community_a", "community", world.community)
    token = token_for(session, "community_a")
    session.flush()
    first = client.get("/api/v1/persons", params={"limit": 1}, headers=bearer(token)).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = client.get("/api/v1/persons", params={"limit": 1, "cursor": first["next_cursor"]},
                        headers=bearer(token)).json()
    assert [p["id"] for p in first["items"] + second["items"]] == [world.person_a_id, world.person_b_id]
    assert second["next_cursor"] is None


def test_unmask_returns_full_value_and_is_audited(
        client: TestClient, session: Session, world: World, worker_token: str) -> None:
    r = client.post(f"/api/v1/persons/{world.person_a_id}/unmask", json={"field": "id_number"},
                    headers=bearer(worker_token))
    assert r.status_code == 200, r.text
    assert r.json() == {"field": "id_number", "value": ID_A}
    r = client.post(f"/api/v1/persons/{world.person_a_id}/unmask", json={"field": "phone"},
                    headers=bearer(worker_token))
    assert r.json()["value"] == PHONE_A
    rows = audit_rows(session, "person.unmask", world.person_a_id, world.worker_username)
    assert sorted(e.detail["field"] for e in rows) == ["id_number", "phone"]
    assert all(ID_A not in str(e.detail) and PHONE_A not in str(e.detail) for e in rows)


def test_tasks_inbox_and_complete(client: TestClient, world: World, worker_token: str) -> None:
    h = bearer(worker_token)
    page = client.get("/api/v1/tasks", headers=h).json()
    assert [t["id"] for t in page["items"]] == [world.task_id]
    task = page["items"][0]
    assert task["kind_label"] and task["due_at"].endswith("+08:00") and task["overdue"] is False
    err = assert_error(client.post(f"/api/v1/tasks/{world.task_id}/complete", json={"outcome_code": "nope"},
                                   headers=h), 422, "invalid")
    assert err["fields"][0]["field"] == "outcome_code"
    r = client.post(f"/api/v1/tasks/{world.task_id}/complete", json={"outcome_code": "done", "note": "已核实"},
                    headers=h)
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert_error(client.post(f"/api/v1/tasks/{world.task_id}/complete", json={"outcome_code": "done"},
                             headers=h), 409, "conflict")
    assert client.get("/api/v1/tasks", headers=h).json()["items"] == []
    assert [t["id"] for t in client.get("/api/v1/tasks", params={"status": "done"}, headers=h).json()["items"]] \
        == [world.task_id]


def test_units_are_scoped(client: TestClient, session: Session, world: World) -> None:
    add_user(session, "street_a", "street", world.street)
    token = token_for(session, "street_a")
    session.flush()
    h = bearer(token)
    assert [u["code"] for u in client.get("/api/v1/units", headers=h).json()] == [world.community.code]
    kids = client.get("/api/v1/units", params={"parent": world.community.code}, headers=h).json()
    assert [u["code"] for u in kids] == [world.grid_a.code, world.grid_b.code]
    assert client.get(f"/api/v1/units/{world.grid_b.code}", headers=h).json()["level"] == "grid"
    assert_error(client.get("/api/v1/units", params={"parent": world.district.code}, headers=h), 404, "not_found")


def test_audit_api_for_audit_viewers(client: TestClient, session: Session, world: World,
                                     worker_token: str) -> None:
    client.get(f"/api/v1/persons/{world.person_a_id}", headers=bearer(worker_token))
    add_user(session, "command_1", "command", world.district)
    token = token_for(session, "command_1")
    session.flush()
    r = client.get("/api/v1/audit", params={"action": "person.view", "limit": 5}, headers=bearer(token))
    assert r.status_code == 200
    items = r.json()["items"]
    assert items and items[0]["object_id"] == str(world.person_a_id)
    assert items[0]["actor_name"] == world.worker_username and items[0]["at"].endswith("+08:00")


def test_unknown_api_route_is_json_404(client: TestClient) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.delete("/api/v1/me"), 405, "method_not_allowed")


def test_hostile_inputs_never_yield_5xx(client: TestClient, world: World, worker_token: str) -> None:
    h = bearer(worker_token)
    probes = [
        ("GET", "/api/v1/persons", {"params": {"q": "\x00"}}),
        ("GET", "/api/v1/persons", {"params": {"q": "%_\\' OR 1=1 --"}}),
        ("GET", "/api/v1/persons", {"params": {"cursor": "999999999999999999"}}),
        ("GET", "/api/v1/tasks", {"params": {"cursor": "999999999"}}),
        ("GET", "/api/v1/tasks", {"params": {"status": "weird"}}),
        ("GET", "/api/v1/units", {"params": {"parent": "\x00"}}),
        ("GET", "/api/v1/units/%00", {}),
        ("POST", "/api/v1/persons", {"json": {"name": "a\x00b", "id_number": "\x00"}}),
        ("POST", "/api/v1/persons", {"json": []}),
        ("POST", f"/api/v1/tasks/{world.task_id}/complete", {"json": {"outcome_code": "done", "note": "\x00"}}),
        ("GET", "/persons", {"params": {"q": "\x00", "cursor": "1"}}),
    ]
    for method, url, kw in probes:
        r = client.request(method, url, headers=h, **kw)
        assert r.status_code < 500, (method, url, kw, r.status_code, r.text)


def test_healthz_is_503_when_the_database_does_not_answer() -> None:
    # nothing listens on port 1: the connection is refused at once
    dead = db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    with TestClient(create_app(session_factory=sessionmaker(dead))) as c:
        r = c.get("/healthz")
    dead.dispose()
    assert r.status_code == 503
    assert r.json() == {"status": "error", "database": "unavailable", "mode": "test"}


def test_a_busy_sqlite_database_is_a_503_to_retry(tmp_path, monkeypatch) -> None:
    """Another writer holds the SQLite file past the busy timeout: the request's transaction never began,
    nothing was stored — a 503 with Retry-After (like a lost connection), not a 500 that reads as a bug."""
    import sqlite3

    from web_world import build_world

    from fangkong.kernel.bootstrap import initialise
    from fangkong.kernel.people import crypto
    from fangkong.settings import reset_settings_cache

    path = tmp_path / "busy.db"
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FANGKONG_SQLITE_BUSY_TIMEOUT_S", "0.2")
    reset_settings_cache()
    crypto.reset_keys()
    engine = db.make_engine(f"sqlite:///{path}")
    factory = sessionmaker(engine, expire_on_commit=False)
    try:
        with factory() as s:
            initialise(engine, s, mode="test")
            token = token_for(s, build_world(s).worker_username)
            s.commit()
        with TestClient(create_app(session_factory=factory), raise_server_exceptions=False) as c:
            assert c.get("/api/v1/me", headers=bearer(token)).status_code == 200  # the same call, file free
            blocker = sqlite3.connect(path)
            blocker.execute("BEGIN IMMEDIATE")  # a writer of another process, holding the file
            try:
                r = c.get("/api/v1/me", headers=bearer(token))
            finally:
                blocker.rollback()
                blocker.close()
            assert c.get("/api/v1/me", headers=bearer(token)).status_code == 200  # free again: it retries fine
    finally:
        engine.dispose()
        monkeypatch.undo()
        reset_settings_cache()
        crypto.reset_keys()
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "1"
    assert r.json()["error"]["code"] == "unavailable"
