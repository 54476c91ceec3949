"""The audit page (审计日志): latest events, a filter by action, the hash chain's status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fangkong.kernel.audit import service as audit_service
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.db import read_only
from fangkong.kernel.messages import LABELS
from fangkong.kernel.web.deps import DbSession, parse_cursor
from fangkong.kernel.web.templating import render

pages = APIRouter(include_in_schema=False)

CanViewAudit = Annotated[Actor, Depends(requires("audit.view"))]

PAGE_SIZE = 50
KNOWN_ACTIONS = ("person.view", "person.unmask", "person.created", "auth.login", "auth.login_failed",
                 "auth.logout", "task.completed", "user.created", "token.created", "auth.*", "person.*",
                 "task.*")


def verify_chain(request: Request) -> audit_service.VerifyResult:
    """Walk the chain in a session of its own (verify expunges as it goes), begun as a reader: the
    request's own session already holds SQLite's write lock, so a second writer would wait on it."""
    with request.app.state.session_factory() as own:
        return audit_service.verify(read_only(own))


@pages.get("/audit")
def audit_page(
    request: Request,
    session: DbSession,
    actor: CanViewAudit,
    action: Annotated[str, Query(max_length=64)] = "",
    before: Annotated[str, Query(max_length=24)] = "",
) -> Response:
    before_id = parse_cursor(before, "before")
    events = audit_service.list_events(session, actor, action=action.strip() or None, limit=PAGE_SIZE + 1,
                                       before_id=before_id)
    next_cursor = str(events[PAGE_SIZE - 1].id) if len(events) > PAGE_SIZE else None
    return render(request, "audit.html", actor=actor, events=events[:PAGE_SIZE], action=action.strip(),
                  next_cursor=next_cursor, chain=verify_chain(request),
                  known_actions=sorted(set(KNOWN_ACTIONS) | set(LABELS.get("audit_action", {}))))
