"""Unannounced inspection plans (四不两直暗访计划): the targets are drawn at random from the units of a
level under a unit, with the seed kept so that anyone may later check the draw was not chosen; the
plan is seen only by its team (and its author) — anyone else gets a 404, as for a record outside their
jurisdiction. Findings recorded under a plan are `unannounced` and must be at one of its targets."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.command.models import InspectionPlan
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, NotFound, ValidationFailed, record_not_found
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import _, message

INVALID_PLAN = message("plan.invalid", _("invalid inspection plan"))
TOO_FEW = message("plan.too_few", _("only %(n)s units of level %(level)s under %(unit)s"))
NOT_TARGET = message("plan.not_target", _("%(place)s is not a target of plan %(id)s"))
REQUIRED = message("rectification.required", _("required"))


def draw(codes: list[str], size: int, seed: str) -> list[str]:
    """The targets: `size` of the sorted `codes`, drawn by Python's Mersenne Twister seeded with `seed`
    (the same codes and seed always give the same targets)."""
    return sorted(random.Random(seed).sample(sorted(codes), size))


def _candidates(session: Session, base: Unit, level: str) -> list[str]:
    stmt = scope.within(select(Unit.code).where(Unit.level == level, Unit.id != base.id), base, Unit)
    return list(session.execute(stmt).scalars())


def create_plan(session: Session, actor: Actor, *, title: str, level: str, under: str | None, size: int,
                team: list[str], seed: str | None = None, planned_on: dt.date | None = None) -> InspectionPlan:
    """Draw a plan's targets and keep the seed; the author is always in the team."""
    actor.require("inspection.record")
    base = scope.visible_unit(session, actor, code=under) if under else scope.base_unit(session, actor)
    errors = []
    if not title.strip():
        errors.append(FieldError("title", REQUIRED()))
    codes = _candidates(session, base, level)
    if size < 1 or size > len(codes):
        errors.append(FieldError("size", TOO_FEW(n=len(codes), level=level, unit=base.code)))
    if errors:
        raise ValidationFailed(INVALID_PLAN(), errors)
    seed = seed or secrets.token_hex(8)
    members = list(dict.fromkeys([actor.username, *[t.strip() for t in team if t.strip()]]))
    plan = InspectionPlan(title=title.strip(), team=members, level=level, size=size, seed=seed,
                          targets=draw(codes, size, seed), planned_on=planned_on or clock.today(),
                          created_at=clock.now(), created_by=actor.username, unit_id=base.id, unit_path=base.path)
    session.add(plan)
    session.flush()
    # the audit names the plan, not its targets: the trail is read by more people than the team
    audit.record(session, actor, "command.plan_created", object_type="inspection_plan", object_id=plan.id,
                 level=level, size=size, unit=base.code)
    return plan


def get_plan(session: Session, actor: Actor, plan_id: int) -> InspectionPlan:
    """A plan its team sees; anyone else (even above the planning unit) gets a 404."""
    actor.require("inspection.view")
    plan = session.get(InspectionPlan, plan_id)
    if plan is None or actor.username not in plan.team:
        raise NotFound(record_not_found("inspection_plan", plan_id))
    return plan


def view(session: Session, actor: Actor, plan_id: int) -> dict[str, Any]:
    plan = get_plan(session, actor, plan_id)
    base = session.get(Unit, plan.unit_id)
    names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(plan.targets))).all())
    codes = _candidates(session, base, plan.level) if base is not None else []
    return {"id": plan.id, "title": plan.title, "unit_code": base.code if base else "", "level": plan.level,
            "size": plan.size, "seed": plan.seed, "team": plan.team, "planned_on": plan.planned_on.isoformat(),
            "targets": [{"unit_code": c, "unit_name": names.get(c, "")} for c in plan.targets],
            # the draw checked again from the seed over the units there are now
            "draw_verified": draw(codes, plan.size, plan.seed) == plan.targets if len(codes) >= plan.size else False,
            "created_by": plan.created_by, "created_at": clock.iso_local(plan.created_at)}


def check_target(session: Session, actor: Actor, *, plan_id: int, unit_code: str | None,
                 venue_ref: str | None) -> str | None:
    """A finding under a plan: by one of its team, at one of its targets (a unit, or a venue within
    one). Returns the unit code to record at (unchanged)."""
    plan = get_plan(session, actor, plan_id)  # 404 for anyone outside the team
    if unit_code:
        unit = scope.visible_unit(session, actor, code=unit_code)
        ok = any(unit.code == c for c in plan.targets) or any(
            scope.inside(unit, p) for p in _target_paths(session, plan))
        place = unit_code
    else:
        from fangkong.venues.service import codes as venue_codes

        venue = venue_codes.find_venue(session, actor, venue_ref or "")
        vunit = session.get(Unit, venue.unit_id)
        ok = vunit is not None and any(scope.inside(vunit, p) for p in _target_paths(session, plan))
        place = venue.name
    if not ok:
        text = NOT_TARGET(place=place, id=plan.id)
        raise ValidationFailed(text, [FieldError("unit" if unit_code else "venue", text)])
    return unit_code


def _target_paths(session: Session, plan: InspectionPlan) -> list[str]:
    return list(session.execute(select(Unit.path).where(Unit.code.in_(plan.targets))).scalars())


def plans(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The plans whose team the caller is in, newest first (JSON lists are filtered in Python: a
    plan's team is a handful of names)."""
    actor.require("inspection.view")
    rows = session.execute(select(InspectionPlan).order_by(InspectionPlan.id.desc()).limit(500)).scalars()
    return [{"id": p.id, "title": p.title, "planned_on": p.planned_on.isoformat(), "size": p.size}
            for p in rows if actor.username in p.team]
