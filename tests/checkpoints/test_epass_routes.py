"""The e-pass API and pages through the app (TestClient on the test's transaction): issue, verify,
revoke with their permissions; the verify page shows the verdict in Chinese with masked persons."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from epass_factories import application, at_now, make_id, region, sampled  # noqa: F401
from signin import sign_in

from fangkong.kernel import scope
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

PASSWORD = "correct-horse-9"


@pytest.fixture
def client(session_factory) -> Iterator:
    from fastapi.testclient import TestClient

    from fangkong.app import create_app

    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def _user(session, username: str, role: str) -> dict[str, str]:
    root = scope.base_unit(session, SYSTEM_ACTOR)
    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=root.code, password=PASSWORD)
    session.flush()
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.usefixtures("region", "at_now")
def test_issue_verify_revoke_over_http(client, session) -> None:
    command = _user(session, "zhihui", "command")
    kakou = _user(session, "kakou", "checkpoint")
    sampled(session, 1, "2022-04-17 09:00")
    body = application("H1", "苏DA1234", 1)
    assert client.post("/api/v1/epasses", json=body, headers=kakou).status_code == 403
    r = client.post("/api/v1/epasses", json=body, headers=command)
    assert r.status_code == 200, r.text
    issued = r.json()
    assert issued["status"] == "accepted" and issued["pass_no"] == "320400000001"
    again = client.post("/api/v1/epasses", json=body, headers=command).json()
    assert again["status"] == "duplicate" and again["token"] == issued["token"]
    refused = client.post("/api/v1/epasses", json=application("H2", "苏D1234挂", 1), headers=command).json()
    assert refused["status"] == "rejected" and refused["issues"][0].startswith("plate:")
    # a checkpoint verifies; the link form of the QR works too
    url = "https://fk.example.cn/v#" + issued["token"]
    v = client.post("/api/v1/epasses/verify", json={"token": url, "plate": "苏DA1234", "at": "2022-04-18 12:00"},
                    headers=kakou)
    assert v.status_code == 200, v.text
    shown = v.json()
    assert shown["verdict"] == "valid" and shown["label"] == "有效" and shown["crew"][0]["id"].count("*") == 8
    assert client.post("/api/v1/epasses/verify", json={"token": issued["token"], "at": "2022-04-18 09:00"},
                       headers=kakou).json()["reason"] == "not_yet_valid"
    assert client.post("/api/v1/epasses/verify", json={"token": "x", "at": "yesterday"}, headers=kakou).status_code == 422
    # revoking needs epass.revoke
    assert client.post(f"/api/v1/epasses/{issued['pass_no']}/revoke", json={"reason": "x"}, headers=kakou).status_code == 403
    r = client.post(f"/api/v1/epasses/{issued['pass_no']}/revoke", json={"reason": "驾驶员阳性"}, headers=command)
    assert r.status_code == 200 and r.json()["revoked_at"]
    v = client.post("/api/v1/epasses/verify", json={"token": issued["token"], "at": "2022-04-18 12:00"}, headers=kakou).json()
    assert v["verdict"] == "invalid" and v["reason"] == "revoked" and v["label"] == "已吊销"
    assert client.get("/api/v1/epasses/320400999999", headers=command).status_code == 404
    ring = client.get("/api/v1/epass-keys", headers=kakou).json()
    assert ring["keys"] and ring["keys"][0]["fk_region"] == "320400"


@pytest.mark.usefixtures("region", "at_now")
def test_pages_issue_look_up_and_verify_in_chinese(client, session) -> None:
    _user(session, "zhihui", "command")
    sampled(session, 1, "2022-04-17 09:00")
    assert sign_in(client, "zhihui", PASSWORD).status_code == 303
    page = client.get("/epasses")
    assert page.status_code == 200 and "货车电子通行证" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {**application("P1", "苏DA7777", 1, valid_from="2022-04-18 07:00"), "csrf_token": csrf}
    done = client.post("/epasses", data=form)
    assert done.status_code == 200 and 'data-testid="epass-issued"' in done.text
    no = re.search(r'/epasses/(\d{12})', done.text).group(1)
    refused = client.post("/epasses", data={**application("P2", "苏DA7777", 1), "csrf_token": csrf})
    assert refused.status_code == 422 and "已持有通行证" in refused.text
    one = client.get(f"/epasses/{no}")
    assert one.status_code == 200 and "<svg" in one.text and make_id(1) not in one.text
    token = re.search(r'data-testid="epass-token">([^<]+)<', one.text).group(1)
    verdict = client.post("/epasses/verify", data={"token": token, "plate": "苏 DA 7777", "csrf_token": csrf})
    assert verdict.status_code == 200 and 'data-verdict="valid"' in verdict.text and "有效" in verdict.text
    assert "司机1" in verdict.text and make_id(1) not in verdict.text
    wrong = client.post("/epasses/verify", data={"token": token, "plate": "苏DA7778", "csrf_token": csrf})
    assert 'data-reason="plate_mismatch"' in wrong.text and "车牌不符" in wrong.text
    junk = client.post("/epasses/verify", data={"token": "a.b.c", "csrf_token": csrf})
    assert junk.status_code == 200 and "格式错误" in junk.text
    assert client.get("/v").status_code == 200
