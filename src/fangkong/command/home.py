"""Role home pages (首页): the command, district and street roles land on the big screen of their own
unit; a community or grid worker on a phone-sized view of their own work (今日任务, 待核查线索, 逾期),
each count linking to its real list. Other roles keep the kernel's home. Registered with the kernel's
home registry, so the kernel imports nothing of ours."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.web.nav import register_home
from fangkong.kernel.web.templating import render

#: roles whose home is the big screen at their own level
SCREEN_ROLES = frozenset({"command", "district", "street"})
#: roles whose home is the phone view of their own work
WORK_ROLES = frozenset({"community", "grid"})
#: lead counts stop here and read "500+" (the leads service lists at most this many at once)
LEAD_CAP = 500


def _lead_count(session: Session, actor: Actor, status: str, unit_id: int | None = None) -> str:
    from fangkong.intake import service as intake_service

    found = intake_service.list_leads(session, actor, status=status, unit_id=unit_id, limit=LEAD_CAP)
    return f"{LEAD_CAP}+" if len(found) >= LEAD_CAP else str(len(found))


def work_view(request: Request, session: Session, actor: Actor) -> Response:
    """The phone view: task counts of today, leads to verify, overdue items, and the unit's grids."""
    unit = scope.visible_unit(session, actor, actor.unit_id) if actor.unit_id is not None else None
    ancestors = jurisdictions_service.ancestors(session, unit) if unit is not None else []
    tasks = tasks_service.counts(session, actor) if actor.can("task.view") else None
    leads: dict[str, str] | None = None
    grids: list[dict[str, Any]] = []
    if actor.can("lead.view"):
        leads = {s: _lead_count(session, actor, s) for s in ("known", "locating")}
        if unit is not None:
            children = session.execute(select(Unit).where(Unit.parent_id == unit.id)
                                       .order_by(Unit.code)).scalars().all()
            grids = [{"unit": g, "known": _lead_count(session, actor, "known", g.id)} for g in children]
    return render(request, "command/my_work.html", actor=actor, unit=unit, ancestors=ancestors, tasks=tasks,
                  leads=leads, grids=grids, now=clock.now())


def choose_home(request: Request, session: Session, actor: Actor) -> Response | None:
    if actor.role in SCREEN_ROLES and actor.can("command.view"):
        from fangkong.command.routes import screen_page

        return screen_page(request, session, actor, None)
    if actor.role in WORK_ROLES:
        return work_view(request, session, actor)
    return None


register_home("command", choose_home, 50)
