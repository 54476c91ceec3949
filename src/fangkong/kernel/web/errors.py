"""One place that turns errors into responses (错误处理).

- `/api/...`: JSON `{"error": {"code", "message", "fields": [{"field", "message"}]}}` with the status.
- pages: an error page; for HTMX requests a toast partial retargeted to the toast area; a 401 sends the
  browser to `/login?next=…`.
Anything unexpected is a 500 in the same shapes, logged with its traceback — and a bug to fix, since
nothing a client sends may yield a 5xx.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from fangkong.kernel.errors import INTERNAL_ERROR, INVALID_INPUT, DomainError, FieldError, library_message
from fangkong.kernel.messages import Message, _, field_label, message, translate

log = logging.getLogger("fangkong.web")

#: stable codes for plain HTTP statuses (unknown route, wrong method …)
_HTTP_CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid", 429: "too_many_requests", 503: "unavailable",
}


#: the standard reason phrases of plain HTTP errors (an unknown route …), as Starlette words them
_HTTP_PHRASES = {
    "Not Found": message("http.not_found", _("Not Found")),
    "Method Not Allowed": message("http.method_not_allowed", _("Method Not Allowed")),
    "Bad Request": message("http.bad_request", _("Bad Request")),
    "Request Entity Too Large": message("http.too_large", _("Request Entity Too Large")),
    "Content Too Large": message("http.content_too_large", _("Content Too Large")),
    "Unsupported Media Type": message("http.unsupported_media_type", _("Unsupported Media Type")),
}


def is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _reason(message: str) -> dict[str, Any]:
    """`reason` (the stable specific code) and `params` of a Message; empty for plain text."""
    return Message.as_json(message) if isinstance(message, Message) else {}


def error_body(code: str, message: str, fields: list[FieldError] | None = None) -> dict[str, Any]:
    """The API's error shape. `code` is the generic class (`not_found`, `invalid` …); `reason` and
    `params` say exactly what (`case.not_found`, `{"id": 5}`), for clients that show their own text."""
    reason = _reason(message)
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if reason:
        body["reason"], body["params"] = reason["code"], reason["params"]
    body["fields"] = []
    for f in fields or []:
        item: dict[str, Any] = {"field": f.field, "message": str(f.message)}
        r = _reason(f.message)
        if r:
            item["reason"], item["params"] = r["code"], r["params"]
        body["fields"].append(item)
    return {"error": body}


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target we accept from a client: a relative path on this site, nothing else.

    Rejects absolute URLs, scheme-relative `//host`, backslash tricks (`/\\host`) and control characters.
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 or c == "\x7f" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def login_redirect_target(request: Request) -> str:
    """Where to come back after signing in: the page the user was on (HTMX: the page, not the fragment)."""
    if is_htmx(request):
        current = request.headers.get("HX-Current-URL", "")
        parts = urlsplit(current)
        here = parts.path + (f"?{parts.query}" if parts.query else "")
    else:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    here = safe_next(here, "/")
    return "/login" if here in ("/", "/login") else f"/login?next={quote(here, safe='/')}"


def _page_error(request: Request, status: int, code: str, message: str,
                fields: list[FieldError] | None = None) -> Response:
    from fangkong.kernel.web.templating import gettext_for, render, request_locale

    if status == 401:
        target = login_redirect_target(request)
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    _ = gettext_for(request)
    titles = {403: _("You do not have permission for this."), 404: _("Not found."),
              409: _("This has changed in the meantime: reload the page."),
              422: _("Please check the input."), 429: _("Too many requests: please wait a minute and try again."),
              500: _("Something went wrong on our side.")}
    title = titles.get(status, _("The request could not be completed."))
    locale = request_locale(request)
    shown_fields = [{"field": f.field, "label": field_label(f.field, locale), "message": translate(f.message, locale)}
                    for f in fields or []]
    detail = translate(message, locale) if message else ""
    # a service message without a translation is shown, but quietly, under the translated title
    quiet = bool(detail) and detail == str(message) and locale != "en"
    if is_htmx(request):
        return render(request, "_toast.html", status_code=status, level="error", title=title,
                      message=detail, quiet=quiet, fields=shown_fields,
                      headers={"HX-Retarget": "#toasts", "HX-Reswap": "beforeend"})
    return render(request, "error.html", status_code=status, status=status, code=code, title=title,
                  message=detail, quiet=quiet, fields=shown_fields)


def respond(request: Request, status: int, code: str, message: str,
            fields: list[FieldError] | None = None, headers: dict[str, str] | None = None) -> Response:
    if is_api(request):
        return JSONResponse(error_body(code, message, fields), status_code=status, headers=headers)
    page = _page_error(request, status, code, message, fields)
    if headers and status in (429, 503):
        page.headers.update(headers)
    return page


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        headers = {"Retry-After": str(retry_after)}
    return respond(request, exc.status, exc.code, exc.message, exc.fields, headers)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "phone")` → `phone`; `("query", "limit")` → `limit`; a whole-body error → `body`."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie", "form")]
    return ".".join(parts) if parts else str(loc[0]) if loc else "request"


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = [FieldError(_field_name(e.get("loc", ())), library_message(e)) for e in exc.errors()]
    return respond(request, 422, "invalid", INVALID_INPUT(), fields)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if message in _HTTP_PHRASES:
        message = _HTTP_PHRASES[message]()
    headers = dict(exc.headers) if exc.headers else None
    if status < 400:
        return Response(status_code=status, headers=headers)
    return respond(request, status, code, message, None, headers)


async def _data_error(request: Request, exc: Exception) -> Response:
    """The database refused a value a client sent (a NUL character, a number out of range): a 422."""
    log.info("database refused input on %s %s: %s", request.method, request.url.path, exc)
    return respond(request, 422, "invalid", INVALID_INPUT())


DATABASE_UNAVAILABLE = message("database.unavailable",
                               _("The database is not reachable at the moment; nothing was stored. Retry shortly."))


async def _database_error(request: Request, exc: Exception) -> Response:
    """The database connection died under the request (a database restart, a failover, a cut network):
    the transaction is lost, so nothing was stored — a 503 with Retry-After tells the client to retry
    (with its Idempotency-Key), where a 500 would read as a bug. So does a transaction that lost a lock
    race (`_busy`). Other database errors stay 500s."""
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated:
        log.warning("database connection lost on %s %s: %s", request.method, request.url.path, exc.orig)
    elif _busy(exc.orig):
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc.orig)
    else:
        return await _server_error(request, exc)
    return respond(request, 503, "unavailable", DATABASE_UNAVAILABLE(), None, {"Retry-After": "1"})


#: SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), the primary code of any extended one
_SQLITE_BUSY = frozenset({5, 6})
#: PostgreSQL: serialization_failure, deadlock_detected, lock_not_available
_PG_RETRY = frozenset({"40001", "40P01", "55P03"})


def _busy(orig: BaseException | None) -> bool:
    """The transaction lost a race for a lock and was rolled back (SQLite waited its whole busy timeout
    for another writer; PostgreSQL chose it as a deadlock or serialization victim): overload, nothing
    stored — the same 503 to retry as a lost connection, never a 500 that reads as a bug."""
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _SQLITE_BUSY
    return getattr(orig, "sqlstate", None) in _PG_RETRY


async def _pool_exhausted(request: Request, exc: Exception) -> Response:
    """Every database connection of this process stayed busy past the pool's wait: overload, not a bug
    — a 503 with Retry-After (nothing was stored), so clients back off and retry."""
    log.warning("no free database connection for %s %s: %s", request.method, request.url.path, exc)
    return respond(request, 503, "unavailable", DATABASE_UNAVAILABLE(), None, {"Retry-After": "1"})


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return respond(request, 500, "internal", INTERNAL_ERROR())


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(Exception, _server_error)
