"""FastAPI dependencies for who is asking (当前用户): a bearer token or the session cookie, CSRF for
cookie requests that change something, and permission checks.

    CanView = Annotated[Actor, Depends(requires("person.view"))]

    @api.get("/people")
    def people(session: DbSession, actor: CanView): ...

The actor is also left on `request.state.actor` and the session's CSRF token on
`request.state.csrf_token`, for templates (a hidden `csrf_token` field, or the `X-CSRF-Token` header
that HTMX sends).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import cache
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.routing import iter_route_contexts

from fangkong.kernel.auth import scopes
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import DomainError, NotAuthenticated
from fangkong.kernel.messages import _, message
from fangkong.kernel.web.deps import DbSession

SESSION_COOKIE = "fk_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = scopes.UNSAFE_METHODS
CSRF_EXPIRED = message("csrf.expired", _("the form has expired; reload the page and try again"))
TOKEN_REVOKED = message("token.revoked", _("invalid or revoked token"))


class CsrfFailed(DomainError):
    """A cookie-authenticated request that changes something came without the session's CSRF token."""

    def __init__(self) -> None:
        super().__init__(CSRF_EXPIRED(), status=403, code="csrf")


def _bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header; None when there is no such header."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def _form_csrf(request: Request) -> str | None:
    """The `csrf_token` form field, read only when it can matter: an unsafe method, a session cookie,
    no bearer token and no CSRF header. Async because reading the body is; Starlette caches the parsed
    form, so the route's own form parameters still see it."""
    if (request.method not in UNSAFE_METHODS or request.headers.get(CSRF_HEADER)
            or not request.cookies.get(SESSION_COOKIE) or _bearer(request) is not None):
        return None
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    value = (await request.form()).get(CSRF_FIELD)
    return value if isinstance(value, str) else None


def route_template(request: Request) -> str | None:
    """The full path template of the route that matched (`/api/v1/groups/{group}/members`): the route in
    the scope knows only its path inside its router, so the app's routes are indexed once."""
    index: dict[int, str] | None = getattr(request.app.state, "route_templates", None)
    if index is None:
        index = {id(rc.original_route): rc.path for rc in iter_route_contexts(request.app.routes)
                 if rc.path is not None}
        request.app.state.route_templates = index
    return index.get(id(request.scope.get("route")))


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _resolve(request: Request, session: DbSession, form_csrf: str | None) -> Actor | None:
    request.state.actor = None
    request.state.csrf_token = None
    ip = client_ip(request)
    token = _bearer(request)
    if token is not None:
        found = auth_service.token_actor(session, token, ip=ip)
        if found is None:
            raise NotAuthenticated(TOKEN_REVOKED())
        actor, row = found
        # the token's scope, for every route alike: read-only, or named operations only
        scopes.check_request(row, request.method, route_template(request))
        request.state.actor = actor
        return actor
    found = auth_service.resolve_session(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        return None
    user, web_session = found
    if request.method in UNSAFE_METHODS:
        given = request.headers.get(CSRF_HEADER) or form_csrf or ""
        if not hmac.compare_digest(given.encode(), web_session.csrf_token.encode()):
            raise CsrfFailed()
    actor = auth_service.actor_for_user(session, user, ip=ip)
    request.state.actor = actor
    request.state.csrf_token = web_session.csrf_token
    return actor


def current_actor(
    request: Request, session: DbSession, form_csrf: Annotated[str | None, Depends(_form_csrf)]
) -> Actor:
    """The signed-in actor (bearer token first, then the `fk_session` cookie); 401 when there is none,
    403 (`csrf`) for a cookie request with an unsafe method and no matching CSRF token, 403
    (`token_scope`) for a token used outside its scope (`kernel.auth.scopes`). A token's actor holds
    the token's effective permissions, so `requires` checks them like a user's."""
    actor = _resolve(request, session, form_csrf)
    if actor is None:
        raise NotAuthenticated()
    return actor


def optional_actor(
    request: Request, session: DbSession, form_csrf: Annotated[str | None, Depends(_form_csrf)]
) -> Actor | None:
    """Like `current_actor`, but None instead of 401 when nobody is signed in (a wrong bearer token
    is still a 401: a client that sends one wants to know)."""
    return _resolve(request, session, form_csrf)


CurrentActor = Annotated[Actor, Depends(current_actor)]
OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


@cache
def requires(permission: str) -> Callable[..., Actor]:
    """A dependency that returns the signed-in actor after checking `permission` (403 without it).

    Cached per permission, so every `requires("x")` in the code base is the same dependency."""

    def dependency(actor: CurrentActor) -> Actor:
        actor.require(permission)
        return actor

    dependency.__name__ = f"requires_{permission.replace('.', '_')}"
    return dependency


LOGIN_CSRF_COOKIE = "fk_login_csrf"


def secure_cookies(request: Request) -> bool:
    """Cookies are `Secure` when the browser reaches us over TLS: the request's own scheme, or a
    FANGKONG_PUBLIC_URL with https (TLS ended at a proxy in front of the platform)."""
    from fangkong.settings import get_settings

    return request.url.scheme == "https" or (get_settings().public_url or "").startswith("https://")


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """Hand the browser its session token: HttpOnly, SameSite=Lax, Secure behind TLS, no expiry date
    (the server ends idle sessions)."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=secure_cookies(request))


def new_login_csrf() -> str:
    """A token for the sign-in form (login CSRF): sent in the form and in a cookie (`set_login_csrf`);
    a forged cross-site sign-in carries no matching pair."""
    return secrets.token_urlsafe(32)


def set_login_csrf(response: Response, request: Request, token: str) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        max_age=2 * 3600, secure=secure_cookies(request))


def login_csrf_ok(request: Request, submitted: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie) and bool(submitted) and hmac.compare_digest(cookie.encode(), submitted.encode())


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
