"""HTML pages: sign-in, CSRF, language, error pages and HTMX fragments."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from signin import login_token, sign_in
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_world import ID_A, PHONE_A, World, add_user, csrf_of, login

from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent


def test_pages_need_sign_in(client: TestClient) -> None:
    r = client.get("/tasks?tab=done", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/tasks%3Ftab%3Ddone"
    r = client.get("/persons/1", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/persons"},
                   follow_redirects=False)
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/login?next=/persons"


def test_login_failure_is_generic_and_audited(client: TestClient, session: Session, world: World) -> None:
    wrong = sign_in(client, world.worker_username, "wrong-password")
    unknown = sign_in(client, "nobody_here", "wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "登录失败" in wrong.text and "fk_session" not in wrong.cookies
    # the same message whatever the cause (only the echoed username differs)
    def same(text: str, name: str) -> str:  # each page carries its own fresh login-CSRF token
        return re.sub(r'name="login_csrf" value="[^"]+"', "", text).replace(name, "X")

    assert same(wrong.text, world.worker_username) == same(unknown.text, "nobody_here")
    reasons = {e.detail["reason"] for e in session.execute(
        select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).scalars()}
    assert {"wrong_password", "unknown_user"} <= reasons


def test_login_sets_cookie_and_keeps_next_relative(client: TestClient, world: World) -> None:
    r = sign_in(client, world.worker_username, "correct-horse-9", next="//evil.example/x")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "fk_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    r = sign_in(client, world.worker_username, "correct-horse-9", next="/tasks?tab=overdue")
    assert r.headers["location"] == "/tasks?tab=overdue"


def test_a_sign_in_without_its_pages_token_is_refused(client: TestClient, session: Session, world: World) -> None:
    """Login CSRF: a cross-site form (no token, or a token without its cookie) cannot sign anyone in."""
    bare = client.post("/login", data={"username": world.worker_username, "password": "correct-horse-9"},
                       follow_redirects=False)
    assert bare.status_code == 403 and "fk_session" not in bare.cookies and "已过期" in bare.text
    token = login_token(client)
    client.cookies.clear()  # the attacker's page has the token text but not our cookie
    forged = client.post("/login", data={"username": world.worker_username, "password": "correct-horse-9",
                                         "login_csrf": token}, follow_redirects=False)
    assert forged.status_code == 403 and "fk_session" not in forged.cookies
    page = client.get("/login")
    cookie = page.headers["set-cookie"]
    assert "fk_login_csrf=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert sign_in(client, world.worker_username, "correct-horse-9").status_code == 303


def test_signed_in_pages_render(client: TestClient, session: Session, world: World) -> None:
    login(client, world.worker_username)
    home = client.get("/")
    assert home.status_code == 200
    assert "防控指挥平台" in home.text and "李网格" in home.text and "网格员" in home.text
    assert "花园社区第一网格" in home.text and "测试模式" in home.text  # the test database says so
    tasks = client.get("/tasks")
    assert tasks.status_code == 200 and "核查返常人员信息" in tasks.text
    assert f'href="/persons/{world.person_a_id}"' in tasks.text
    persons = client.get("/persons", params={"q": "王"})
    assert persons.status_code == 200 and "王小明" in persons.text and "赵丽" not in persons.text
    assert ID_A not in persons.text and PHONE_A not in persons.text
    person = client.get(f"/persons/{world.person_a_id}")
    assert person.status_code == 200 and ID_A[:6] + "********" + ID_A[-4:] in person.text
    assert ID_A not in person.text and "查看完整证件号" in person.text and "花园社区" in person.text
    assert client.get(f"/persons/{world.person_b_id}").status_code == 404
    unit = client.get(f"/units/{world.grid_a.id}")
    assert unit.status_code == 200 and "花园社区" in unit.text  # breadcrumb
    assert client.get("/units", follow_redirects=False).headers["location"] == f"/units/{world.grid_a.id}"
    assert client.get("/places").status_code == 200
    assert client.get("/audit").status_code == 403  # grid workers do not read the audit log
    views = session.execute(select(AuditEvent).where(
        AuditEvent.action == "person.view", AuditEvent.object_id == str(world.person_a_id))).scalars().all()
    assert [e.actor_name for e in views] == [world.worker_username]


def test_unit_browser_counts_and_lazy_children(client: TestClient, session: Session, world: World) -> None:
    add_user(session, "street_b", "street", world.street)
    login(client, "street_b")
    page = client.get(f"/units/{world.street.id}")
    assert page.status_code == 200 and "花园社区" in page.text
    frag = client.get(f"/units/{world.community.id}/children", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "<html" not in frag.text
    assert "花园社区第一网格" in frag.text and "花园社区第二网格" in frag.text
    assert client.get(f"/units/{world.district.id}").status_code == 404  # above the street


def test_cookie_post_without_csrf_token_is_refused(client: TestClient, session: Session, world: World) -> None:
    csrf = login(client, world.worker_username)
    url = f"/persons/{world.person_a_id}/unmask?field=id_number"
    refused = client.post(url, headers={"HX-Request": "true"})
    assert refused.status_code == 403 and refused.headers["HX-Retarget"] == "#toasts"
    assert ID_A not in refused.text
    refused = client.post(f"/api/v1/persons/{world.person_a_id}/unmask", json={"field": "id_number"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    assert not session.execute(select(AuditEvent).where(AuditEvent.action == "person.unmask")).first()
    ok = client.post(url, headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ID_A in ok.text and "<html" not in ok.text
    unmasks = session.execute(select(AuditEvent).where(AuditEvent.action == "person.unmask")).scalars().all()
    assert [(e.actor_name, e.object_id, e.detail["field"]) for e in unmasks] == [
        (world.worker_username, str(world.person_a_id), "id_number")]


def test_complete_task_from_the_inbox(client: TestClient, world: World) -> None:
    csrf = login(client, world.worker_username)
    r = client.post(f"/tasks/{world.task_id}/complete", data={"outcome_code": "done", "csrf_token": csrf},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'hx-swap-oob="beforeend"' in r.text and "已办结" in r.text
    again = client.post(f"/tasks/{world.task_id}/complete", data={"outcome_code": "done", "csrf_token": csrf},
                        headers={"HX-Request": "true"})
    assert again.status_code == 409 and again.headers["HX-Retarget"] == "#toasts"
    assert "核查返常人员信息" in client.get("/tasks?tab=done").text
    assert "核查返常人员信息" not in client.get("/tasks?tab=open").text


def test_language_switch(client: TestClient, world: World) -> None:
    zh = client.get("/login")
    assert '<html lang="zh-CN">' in zh.text and "登录" in zh.text and "Sign in" not in zh.text
    en = client.get("/login?lang=en")
    assert '<html lang="en">' in en.text and "Sign in" in en.text and "登录" not in en.text
    assert "lang=en" in en.headers["set-cookie"]
    assert "Sign in" in client.get("/login").text  # remembered by the cookie
    login(client, world.worker_username)
    assert "Grid worker" in client.get("/").text and "Task inbox" in client.get("/tasks").text
    assert "网格员" in client.get("/?lang=zh_CN").text
    assert "任务收件箱" in client.get("/tasks").text  # back to Chinese


def test_error_pages(client: TestClient, world: World) -> None:
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "<html" in r.text and "未找到" in r.text
    login(client, world.worker_username)
    r = client.get("/persons", params={"cursor": "x"})
    assert r.status_code == 422 and "cursor" in r.text
    r = client.get("/persons/2147483647", headers={"HX-Request": "true"})
    assert r.status_code == 404 and r.headers["HX-Retarget"] == "#toasts" and "<html" not in r.text


def test_drill_banner(client: TestClient, world: World) -> None:
    login(client, world.worker_username)
    clock.configure("drill")
    try:
        assert "演练 DRILL" in client.get("/").text
    finally:
        clock.configure("test")
    clock.configure("production")
    try:
        assert "mode-banner" not in client.get("/").text
    finally:
        clock.configure("test")


def test_cookies_are_secure_behind_tls(client: TestClient, world: World, monkeypatch) -> None:
    """TLS ended at a proxy: the app sees http, the browser https (FANGKONG_PUBLIC_URL) — cookies Secure."""
    from fangkong.settings import reset_settings_cache

    monkeypatch.setenv("FANGKONG_PUBLIC_URL", "https://fk.example.gov.cn")
    reset_settings_cache()
    try:
        client.base_url = client.base_url.copy_with(scheme="https")
        assert "secure" in client.get("/login").headers["set-cookie"].lower()
        r = sign_in(client, world.worker_username, "correct-horse-9")
        assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()
    finally:
        monkeypatch.delenv("FANGKONG_PUBLIC_URL")
        reset_settings_cache()
