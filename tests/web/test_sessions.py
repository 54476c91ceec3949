"""Browser sessions (OWASP ASVS V3): a new session id at every sign-in, idle and absolute expiry, sessions
ended by a password change or by disabling the user, and CSRF on every state-changing route of the app."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from signin import login_token
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from web_world import PASSWORD, World

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth import passwords
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.auth.deps import SESSION_COOKIE, UNSAFE_METHODS
from fangkong.kernel.auth.models import User, WebSession
from fangkong.settings import get_settings

T0 = dt.datetime(2022, 4, 18, 0, 0, tzinfo=dt.UTC)

#: unsafe routes that act for nobody signed in, each with why it needs no session CSRF token
PUBLIC = {
    ("POST", "/login"): "login CSRF: a token in the form matched against a SameSite=Strict cookie",
    ("POST", "/report"): "a citizen's self-report, anonymous: a forged one gains nothing from a session",
    ("POST", "/tip"): "a citizen's tip, anonymous",
    ("POST", "/my-test"): "a citizen looks up their own test status (reads; rate-limited)",
    ("POST", "/help-me"): "a sealed household asks for help by its own ID and phone number (no session; rate-limited)",
    ("POST", "/self-test"): "a citizen reports their own antigen self-test by ID and phone number (no session; rate-limited)",
    ("POST", "/v/{token}"): "a venue check-in; the remembered identity is a SameSite=Lax cookie, not sent cross-site",
    ("POST", "/v/{token}/forget"): "forgets the identity remembered on this device",
    ("POST", "/c/{link}"): "a person's own check-in from the signed SMS link: the link is the credential, no session",
}


def _user(session: Session, world: World) -> User:
    user = session.execute(select(User).where(User.username == world.worker_username)).scalar_one()
    return user


def _signed_in(session: Session, client, user: User) -> str:
    token, _csrf = auth_service.start_session(session, user)
    session.flush()
    client.cookies.set(SESSION_COOKIE, token)
    return token


def _sessions_of(session: Session, user: User) -> int:
    return session.execute(select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id)).scalar_one()


def test_sign_in_issues_a_new_session_and_ends_the_one_presented(client, session, world):
    user = _user(session, world)
    planted = _signed_in(session, client, user)  # a cookie the browser already carries (or was given)
    assert client.get("/api/v1/me").status_code == 200
    client.cookies.delete(SESSION_COOKIE)  # the sign-in page redirects a signed-in browser: fetch it first
    csrf = login_token(client)
    client.cookies.set(SESSION_COOKIE, planted)
    assert _sessions_of(session, user) == 1
    response = client.post("/login", data={"username": world.worker_username, "password": PASSWORD,
                                           "login_csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303
    fresh = response.cookies.get(SESSION_COOKIE)
    assert fresh and fresh != planted
    assert _sessions_of(session, user) == 1  # the new one only
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, planted)
    assert client.get("/api/v1/me").status_code == 401  # the presented session did not survive
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, fresh)
    assert client.get("/api/v1/me").json()["username"] == world.worker_username


def test_an_active_session_still_ends_after_its_absolute_lifetime(client, session, world):
    user = _user(session, world)
    lifetime = dt.timedelta(hours=get_settings().session_max_hours)
    step = dt.timedelta(minutes=get_settings().session_timeout_minutes - 5)  # never idle long enough
    with clock.frozen(T0):
        _signed_in(session, client, user)
    at = T0
    while at + step < T0 + lifetime:
        at += step
        with clock.frozen(at):
            assert client.get("/api/v1/me").status_code == 200, at - T0
    with clock.frozen(T0 + lifetime + dt.timedelta(minutes=1)):
        assert client.get("/api/v1/me").status_code == 401


def test_the_purge_job_removes_sessions_past_their_lifetime(session, world):
    user = _user(session, world)
    with clock.frozen(T0):
        auth_service.start_session(session, user)
    old = session.execute(select(WebSession).where(WebSession.user_id == user.id)).scalar_one()
    with clock.frozen(T0 + dt.timedelta(hours=get_settings().session_max_hours, minutes=1)):
        old.last_seen_at = clock.now()  # active a moment ago, but signed in too long ago
        session.flush()
        assert auth_service.purge_expired_sessions(session) == 1


@pytest.mark.parametrize("change", ["password", "disable"])
def test_a_password_change_or_disabling_ends_every_session(client, session, world, change):
    user = _user(session, world)
    _signed_in(session, client, user)
    auth_service.start_session(session, user)  # a second browser
    assert client.get("/api/v1/me").status_code == 200
    if change == "password":
        auth_service.set_password(session, SYSTEM_ACTOR, user_id=user.id, password="a-new-password-9")
    else:
        auth_service.set_active(session, SYSTEM_ACTOR, user_id=user.id, active=False)
    session.flush()
    assert _sessions_of(session, user) == 0
    assert client.get("/api/v1/me").status_code == 401


def _unsafe_routes() -> list[tuple[str, str]]:
    app = create_app(session_factory=sessionmaker())
    found = set()
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if isinstance(route, APIRoute) and rc.path:
            found |= {(m, rc.path) for m in route.methods & UNSAFE_METHODS}
    return sorted(found)


def _concrete(path: str) -> str:
    """A path template with plausible values: numbers for ids, a word for names (`{kind}` → tasks)."""
    return re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: "tasks" if m.group(1) == "kind" else "1", path)


def test_every_unsafe_route_refuses_a_session_without_its_csrf_token(client, session, world):
    """Walks the app's routes: a signed-in browser's cookie alone (what a forged cross-site form
    carries) changes nothing anywhere. A new unsafe route is covered the day it is added."""
    routes = _unsafe_routes()
    assert len(routes) > 40
    assert set(PUBLIC) <= set(routes), "a public route was renamed: update PUBLIC"
    _signed_in(session, client, _user(session, world))
    wrong = []
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        url = _concrete(path)
        for kwargs in ({}, {"data": {"note": "x"}}, {"json": {}}):
            response = client.request(method, url, follow_redirects=False, **kwargs)
            ok = response.status_code == 403 and (
                response.json()["error"]["code"] == "csrf" if path.startswith("/api/")
                else "页面已过期" in response.text)
            if not ok:
                wrong.append(f"{method} {url} {kwargs}: {response.status_code}")
    assert wrong == []


def test_password_hashing_runs_at_most_the_bounded_number_at_once(monkeypatch):
    """A burst of sign-ins queues for the argon2 slots instead of each taking 64 MiB at once. The
    hasher is wrapped (argon2's, not ours) to count how many run together; each call lingers until one
    more than the bound is inside (or a moment passes), so without the semaphore the count exceeds it."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    bound = passwords.MAX_CONCURRENT_HASHES
    state = {"inside": 0, "peak": 0}
    cond = threading.Condition()

    class Counting:
        def _run(self, fn, *args):
            with cond:
                state["inside"] += 1
                state["peak"] = max(state["peak"], state["inside"])
                cond.notify_all()
                cond.wait_for(lambda: state["inside"] > bound, timeout=0.2)
            try:
                return fn(*args)
            finally:
                with cond:
                    state["inside"] -= 1

        def hash(self, password):
            return self._run(cheap.hash, password)

        def verify(self, hashed, password):
            return self._run(cheap.verify, hashed, password)

    monkeypatch.setattr(passwords, "_hasher", Counting())
    stored = cheap.hash("pw-12345678")
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(passwords.verify_password(stored, "pw-12345678")))
               for _ in range(3 * bound)]
    threads += [threading.Thread(target=lambda: passwords.hash_password("another-pw")) for _ in range(bound)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * (3 * bound)
    assert 1 <= state["peak"] <= bound
