"""Existence oracles (存在性探测), issue #11: typing a number is no way to learn who lives outside one's
jurisdiction. Each through HTTP, with the caller on grid A and 赵丽 (ID_B, PHONE_B) registered on grid B
— a sibling grid the caller cannot see — and 王小明 (ID_A, PHONE_A) on the caller's own grid A, so that
every test also shows the answer it gives when the person is the caller's own (the test can fail).
"""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from web_world import ID_A, ID_B, PHONE_A, PHONE_B, World, add_user, bearer, token_for

from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.imports import service as imports_service


def _token(session: Session, world: World, role: str) -> dict[str, str]:
    name = add_user(session, f"oracle_{role}", role, world.grid_a)
    headers = bearer(token_for(session, name))
    session.flush()
    return headers


def _says_nothing_of_b(body: str, world: World) -> None:
    b = world.person_b_id
    assert "赵丽" not in body and f'"person_id":{b}' not in body and f"/persons/{b}" not in body
    assert PHONE_B[-4:] not in body and ID_B[-4:] not in body


def test_registering_a_foreign_id_number_is_a_409_that_names_nobody(client: TestClient, session: Session,
                                                                    world: World) -> None:
    headers = _token(session, world, "grid")
    own = client.post("/api/v1/persons", headers=headers, json={"name": "王小明", "id_number": ID_A})
    assert own.status_code == 409 and str(world.person_a_id) in own.text  # one's own: named, to open it
    foreign = client.post("/api/v1/persons", headers=headers, json={"name": "赵丽", "id_number": ID_B})
    assert foreign.status_code == 409
    assert str(world.person_b_id) not in foreign.text and "赵丽" not in foreign.text.replace('"赵丽"', "")
    assert foreign.json()["error"]["reason"] == "person.id_registered_elsewhere"


def test_a_sampler_typing_a_foreign_phone_does_not_get_the_name(client: TestClient, session: Session,
                                                                 world: World) -> None:
    headers = _token(session, world, "sampler")
    assert client.post("/api/v1/tubes", headers=headers, json={"tube_barcode": "ORC-1", "pool_size": 5}
                       ).status_code == 200
    own = client.post("/api/v1/tubes/ORC-1/samples", headers=headers, json={"person": PHONE_A})
    assert own.status_code == 200 and own.json()["persons"][0]["name"] == "王小明"
    foreign = client.post("/api/v1/tubes/ORC-1/samples", headers=headers, json={"person": PHONE_B})
    assert foreign.status_code == 200
    second = foreign.json()["persons"][1]
    assert second == {"position": 2, "person_id": None, "name": None, "id_number_masked": None,
                      "phone_masked": None}
    _says_nothing_of_b(foreign.text, world)
    # the sampler's page shows the tube the same way (the sample is kept: the person was tested)
    page = client.get("/sampling/tubes/ORC-1", headers=headers)
    assert page.status_code == 200 and "王小明" in page.text
    _says_nothing_of_b(page.text, world)
    # the page's own form (a typed phone, then the redirect to the tube)
    typed = client.post("/api/v1/tubes", headers=headers, json={"tube_barcode": "ORC-2", "pool_size": 5})
    assert typed.status_code == 200
    r = client.post("/sampling/tubes/ORC-2/samples", headers=headers, data={"person": PHONE_B})  # → the tube
    assert r.status_code == 200 and 'data-testid="sample-added"' in r.text
    _says_nothing_of_b(r.text, world)


def _lead(client: TestClient, headers: dict[str, str], id_number: str, phone: str, ref: str) -> dict[str, Any]:
    r = client.post("/api/v1/leads", headers=headers, json={"channel": "community", "items": [
        {"name": "某人", "id_number": id_number, "phone": phone, "source_ref": ref}]})
    assert r.status_code == 200, r.text
    return r.json()["items"][0]


def test_lead_intake_names_only_the_callers_own_persons(client: TestClient, session: Session, world: World) -> None:
    headers = _token(session, world, "community")
    own = _lead(client, headers, ID_A, PHONE_A, "oracle-a")
    assert own["person_id"] == world.person_a_id and own["match_rule"]
    foreign = _lead(client, headers, ID_B, PHONE_B, "oracle-b")
    assert foreign["person_id"] is None and foreign["match_rule"] is None
    # asked again, the duplicate's answer is as quiet
    again = _lead(client, headers, ID_B, PHONE_B, "oracle-b")
    assert again["status"] == "duplicate" and again["person_id"] is None


def test_a_lead_file_report_names_only_the_submitters_persons(session: Session,
                                                              session_factory: sessionmaker[Session],
                                                              world: World) -> None:
    from fangkong.intake import imports as intake_imports

    add_user(session, "oracle_importer", "community", world.grid_a)
    actor = auth_service.actor_for(session, "oracle_importer")
    text = f"姓名,身份证号,手机号\n某甲,{ID_A},{PHONE_A}\n某乙,{ID_B},{PHONE_B}\n"
    job = imports_service.submit(session, actor, kind=intake_imports.LEADS, filename="oracle.csv",
                                 stream=io.BytesIO(text.encode()), options={"channel": "community"})
    session.commit()
    imports_service.run(job.id, session_factory)
    session.expire_all()
    rows = imports_service.report_rows(imports_service.get_job(session, actor, job.id))
    assert [r["person_id"] for r in rows] == [world.person_a_id, None]


def test_a_persons_cases_section_is_404_for_foreign_and_unknown_persons(client: TestClient, session: Session,
                                                                      world: World) -> None:
    headers = _token(session, world, "epidemiologist")
    assert client.get(f"/persons/{world.person_a_id}/cases", headers=headers).status_code == 200
    assert client.get(f"/persons/{world.person_b_id}/cases", headers=headers).status_code == 404
    assert client.get("/persons/2000000000/cases", headers=headers).status_code == 404


def test_a_case_for_a_foreign_person_is_refused_naming_nobody(client: TestClient, session: Session,
                                                             world: World) -> None:
    """Before: the case was created in the person's unit, and the answer was a 404 for the new case's
    own id (nothing stored). Now a 409 that names no one; one's own person gets a case."""
    headers = _token(session, world, "epidemiologist")
    body = {"classification": "confirmed", "detection_channel": "sentinel", "sampled_at": "2022-04-17 10:00"}
    foreign = client.post("/api/v1/cases", headers=headers, json={**body, "name": "赵丽", "id_number": ID_B})
    assert foreign.status_code == 409 and foreign.json()["error"]["reason"] == "case.person_elsewhere"
    _says_nothing_of_b(foreign.text.replace("赵丽", ""), world)  # the name is what the caller typed
    own = client.post("/api/v1/cases", headers=headers, json={**body, "name": "王小明", "id_number": ID_A})
    assert own.status_code == 201 and own.json()["person_id"] == world.person_a_id
