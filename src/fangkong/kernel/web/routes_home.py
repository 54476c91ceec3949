"""Sign-in, sign-out, the home page and the health check (登录、首页、健康检查)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text

from fangkong.kernel import clock, scope
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_ip,
    current_actor,
    login_csrf_ok,
    new_login_csrf,
    optional_actor,
    set_login_csrf,
    set_session_cookie,
)
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import LEVEL_NAMES_ZH
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.web.deps import DbSession
from fangkong.kernel.web.errors import safe_next
from fangkong.kernel.web.nav import home_for
from fangkong.kernel.web.ratelimit import login_limit
from fangkong.kernel.web.schemas import HealthOut
from fangkong.kernel.web.templating import gettext_for, render, request_locale

pages = APIRouter(include_in_schema=False)
#: the health check is part of the documented API (monitoring calls it), though not under /api/v1
health = APIRouter(tags=["health"])

LEVEL_NAMES_EN = {"city": "City", "district": "District", "street": "Street / town",
                  "community": "Community / village", "grid": "Grid"}


def level_namer(request: Request) -> Callable[[str], str]:
    names = LEVEL_NAMES_ZH if request_locale(request) == "zh_CN" else LEVEL_NAMES_EN
    return lambda level: names.get(level, level)


PageActor = Annotated[Actor, Depends(current_actor)]
MaybeActor = Annotated[Actor | None, Depends(optional_actor)]


@health.get("/healthz", response_model=HealthOut,
            responses={503: {"model": HealthOut, "description": "The database does not answer"}})
def healthz(request: Request) -> JSONResponse:
    """Liveness and database check, no sign-in needed. 503 when the database does not answer."""
    try:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # any driver error means "not answering" here
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JSONResponse({"status": "ok" if status == 200 else "error", "database": database,
                         "mode": clock.mode()}, status_code=status)


@pages.get("/login")
def login_page(request: Request, actor: MaybeActor, next: str = "/") -> Response:
    if actor is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next=next)


def _login_form(request: Request, *, next: str = "/", username: str = "", error: str | None = None,
                status_code: int = 200) -> Response:
    """The sign-in form with a fresh login-CSRF token (in the form and in its cookie)."""
    token = new_login_csrf()
    response = render(request, "login.html", status_code=status_code, next=safe_next(next), username=username,
                      error=error, login_csrf=token)
    set_login_csrf(response, request, token)
    return response


@pages.post("/login", dependencies=[login_limit()])
def login_submit(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    login_csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """One generic message for every failure (unknown user, wrong password, locked, disabled).

    The form must carry the login-CSRF token its page set (a cross-site form cannot sign a victim into
    the attacker's account). A failed attempt returns normally, so the request's transaction commits
    its audit row and the failure counter (see `auth.service`).
    """
    _ = gettext_for(request)
    username = username.strip()
    if not login_csrf_ok(request, login_csrf):
        return _login_form(request, next=next, username=username[:64], status_code=403,
                           error=_("The sign-in page had expired: please sign in again."))
    result = auth_service.authenticate(session, username=username, password=password, ip=client_ip(request))
    if not result.ok or result.user is None:
        return _login_form(request, next=next, username=username[:64], status_code=401,
                           error=_("Sign-in failed: check the username and password, or try again later."))
    # a new session id at every sign-in; a cookie the browser brought (its own, or one planted) ends
    cookie_token, _csrf = auth_service.start_session(session, result.user,
                                                     replacing=request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, request, cookie_token)
    return response


@pages.post("/logout")
def logout(request: Request, session: DbSession, actor: PageActor) -> Response:
    auth_service.end_session(session, request.cookies.get(SESSION_COOKIE), ip=client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@pages.get("/")
def home(request: Request, session: DbSession, actor: PageActor) -> Response:
    """A capability may give the actor's role its own home (the command screen …); else the task counts."""
    chosen = home_for(request, session, actor)
    if chosen is not None:
        return chosen
    counts: Any = None
    if actor.can("task.view"):
        counts = tasks_service.counts(session, actor)
    unit = ancestors = None
    if actor.unit_id is not None:
        unit = scope.visible_unit(session, actor, actor.unit_id)
        ancestors = jurisdictions_service.ancestors(session, unit)
    return render(request, "home.html", actor=actor, counts=counts, unit=unit, ancestors=ancestors,
                  now=clock.now(), level_name=level_namer(request))
