"""The FastAPI dependencies on a tiny app built here: bearer tokens, session cookies, CSRF, expiry and
permissions, through the real request session (`app.state.session_factory`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Form, Request
from fastapi.testclient import TestClient

from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import CSRF_HEADER, SESSION_COOKIE, CurrentActor, OptionalActor, requires
from fangkong.kernel.web.errors import install_error_handlers
from fangkong.settings import get_settings

T0 = dt.datetime(2022, 4, 18, 8, 0, tzinfo=dt.UTC)

CanView = Annotated[Actor, Depends(requires("person.view"))]
CanAudit = Annotated[Actor, Depends(requires("audit.view"))]


def build_app(session_factory) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.session_factory = session_factory

    @app.get("/api/me")
    def me(request: Request, actor: CurrentActor) -> dict:
        assert request.state.actor is actor
        return {"username": actor.username, "csrf": request.state.csrf_token}

    @app.post("/api/change")
    def change(actor: CurrentActor) -> dict:
        return {"username": actor.username}

    @app.post("/api/form")
    def form(actor: CurrentActor, note: Annotated[str, Form()]) -> dict:
        return {"username": actor.username, "note": note}

    @app.get("/api/view")
    def view(actor: CanView) -> dict:
        return {"username": actor.username}

    @app.get("/api/audit")
    def audit_page(actor: CanAudit) -> dict:
        return {"username": actor.username}

    @app.get("/api/maybe")
    def maybe(actor: OptionalActor) -> dict:
        return {"username": actor.username if actor else None}

    return app


@pytest.fixture
def grid_user(session, system):
    user = auth.create_user(session, system, username="deps-grid", role="grid", password="long-enough-pw")
    session.flush()
    return user


@pytest.fixture
def client(session_factory):
    with TestClient(build_app(session_factory)) as c:
        yield c


def test_no_credentials_is_401(client):
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert client.get("/api/maybe").json() == {"username": None}


def test_bearer_token_works_until_revoked(client, session, system, grid_user):
    token, plaintext = auth.create_token(session, system, username="deps-grid")
    session.flush()
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/me", headers=headers).json() == {"username": "deps-grid", "csrf": None}
    # a bearer request needs no CSRF token
    assert client.post("/api/change", headers=headers).status_code == 200
    assert client.get("/api/me", headers={"Authorization": "Bearer fk_wrong"}).status_code == 401
    auth.revoke_token(session, system, token.id)
    session.flush()
    assert client.get("/api/me", headers=headers).status_code == 401
    assert client.get("/api/maybe", headers=headers).status_code == 401


def test_cookie_session_and_csrf(client, session, grid_user):
    token, csrf = auth.start_session(session, grid_user)
    session.flush()
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/api/me").json() == {"username": "deps-grid", "csrf": csrf}
    assert client.get("/api/maybe").json() == {"username": "deps-grid"}

    refused = client.post("/api/change")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    assert client.post("/api/change", headers={CSRF_HEADER: csrf + "x"}).status_code == 403
    assert client.post("/api/change", headers={CSRF_HEADER: csrf}).json() == {"username": "deps-grid"}

    # a plain HTML form carries the token as a field; the route still reads its own fields
    assert client.post("/api/form", data={"note": "hi"}).status_code == 403
    ok = client.post("/api/form", data={"note": "hi", "csrf_token": csrf})
    assert ok.json() == {"username": "deps-grid", "note": "hi"}


def test_expired_session_is_401(client, session, grid_user):
    timeout = dt.timedelta(minutes=get_settings().session_timeout_minutes)
    with clock.frozen(T0):
        token, _ = auth.start_session(session, grid_user)
        session.flush()
    client.cookies.set(SESSION_COOKIE, token)
    with clock.frozen(T0 + timeout - dt.timedelta(minutes=1)):
        assert client.get("/api/me").status_code == 200
    with clock.frozen(T0 + 2 * timeout):
        assert client.get("/api/me").status_code == 401
        assert client.get("/api/maybe").json() == {"username": None}


def test_missing_permission_is_403(client, session, grid_user):
    token, _ = auth.start_session(session, grid_user)
    session.flush()
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/api/view").json() == {"username": "deps-grid"}
    denied = client.get("/api/audit")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"


def test_disabled_user_loses_its_session(client, session, system, grid_user):
    token, _ = auth.start_session(session, grid_user)
    auth.set_active(session, system, user_id=grid_user.id, active=False)
    session.flush()
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/api/me").status_code == 401
