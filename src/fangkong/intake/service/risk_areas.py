"""Risk areas as data (风险区域): import, add, change, list. City-wide reference data, not scoped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.intake.headers import BadTime, parse_level, parse_time
from fangkong.intake.models import RISK_LEVELS, RiskArea
from fangkong.intake.rules import region_key
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, NotFound, ValidationFailed
from fangkong.kernel.messages import _, issue, message
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportRow, Row

LEVEL_NOT_IN_PACK = message("risk_area.level_not_in_pack", _(
    "%(level)s is not a risk level of the active policy pack %(pack)s (its levels: %(levels)s)"))


def _level_in_pack(session: Session, level: str | None) -> FieldError | None:
    """An issue on `level` when the active pack has no such level (a medium area under the 二十条)."""
    if level not in RISK_LEVELS:
        return None
    pack = policy_service.active_pack(session)
    if pack.has_level(level):
        return None
    known = next(p.risk_level(level) for p in policy_service.bundled_packs() if p.has_level(level))
    names = [pack.risk_level(lv) for lv in pack.levels]
    levels = policy_service.PackName("risk_area.levels", ", ".join(n.name_en for n in names) or "-",
                                     "、".join(n.name_zh for n in names) or "无")
    return FieldError("level", LEVEL_NOT_IN_PACK(level=policy_service.pack_name("risk_level", level, known),
                                                 pack=pack.title(), levels=levels))


def _check(name: str | None, code: str | None, level: str | None, start_at: dt.datetime | None,
           end_at: dt.datetime | None) -> list[FieldError]:
    errors = []
    if not name or len(name) > 100:
        errors.append(FieldError("region_name", "required, at most 100 characters"))
    if code and (len(code) > 12 or not code.isdigit()):
        errors.append(FieldError("region_code", "digits, at most 12"))
    if level not in RISK_LEVELS:
        errors.append(FieldError("level", f"one of {', '.join(RISK_LEVELS)} (高/中/低)"))
    if start_at is None:
        errors.append(FieldError("start_at", "required"))
    if start_at is not None and end_at is not None and end_at <= start_at:
        errors.append(FieldError("end_at", "must be after start_at"))
    return errors


def add_risk_area(session: Session, actor: Actor, *, region_name: str, level: str, start_at: dt.datetime,
                  end_at: dt.datetime | None = None, region_code: str | None = None,
                  source: str | None = None) -> RiskArea:
    """Declare a risk area (划定风险区域). The same name, level and start again is a Conflict-free no-op."""
    actor.require("risk_area.manage")
    name = " ".join((region_name or "").split())
    lvl = parse_level(level or "") or level
    errors = _check(name, region_code, lvl, start_at, end_at)
    errors += [e for e in [_level_in_pack(session, lvl)] if e]
    if errors:
        raise ValidationFailed("invalid risk area", errors)
    area, _created = _upsert(session, name=name, code=region_code or None, level=lvl, start_at=start_at, end_at=end_at,
                      source=source)
    audit.record(session, actor, "intake.risk_area_added", object_type="risk_area", object_id=area.id,
                 region=name, level=lvl)
    return area


def _upsert(session: Session, *, name: str, code: str | None, level: str, start_at: dt.datetime,
            end_at: dt.datetime | None, source: str | None) -> tuple[RiskArea, str]:
    key = region_key(name)
    existing = session.execute(select(RiskArea).where(RiskArea.name_key == key, RiskArea.level == level,
                                                      RiskArea.start_at == start_at)).scalar_one_or_none()
    now = clock.now()
    if existing is not None:
        if existing.end_at == end_at and existing.region_code == code:
            return existing, "duplicate"
        existing.end_at, existing.region_code, existing.updated_at = end_at, code, now
        session.flush()
        return existing, "accepted"
    area = RiskArea(region_code=code, region_name=name, name_key=key, level=level, start_at=start_at,
                    end_at=end_at, source=(source or None) and source[:200], created_at=now, updated_at=now)
    session.add(area)
    session.flush()
    return area, "accepted"


def update_risk_area(session: Session, actor: Actor, *, area_id: int, level: str | None = None,
                     end_at: dt.datetime | None = None, clear_end: bool = False,
                     source: str | None = None) -> RiskArea:
    """Change a risk area's level, end (lift it) or source."""
    actor.require("risk_area.manage")
    area = session.get(RiskArea, area_id)
    if area is None:
        raise NotFound(f"risk area {area_id} not found")
    new_level = (parse_level(level) or level) if level is not None else area.level
    new_end = None if clear_end else (end_at if end_at is not None else area.end_at)
    errors = _check(area.region_name, area.region_code, new_level, area.start_at, new_end)
    if new_level != area.level:
        errors += [e for e in [_level_in_pack(session, new_level)] if e]
    if errors:
        raise ValidationFailed("invalid risk area", errors)
    area.level, area.end_at, area.updated_at = new_level, new_end, clock.now()
    if source is not None:
        area.source = source[:200] or None
    session.flush()
    audit.record(session, actor, "intake.risk_area_changed", object_type="risk_area", object_id=area.id,
                 level=area.level, end_at=area.end_at)
    return area


def list_risk_areas(session: Session, actor: Actor, *, active_at: dt.datetime | None = None) -> list[RiskArea]:
    actor.require("lead.view")
    stmt = select(RiskArea)
    if active_at is not None:
        stmt = stmt.where(RiskArea.start_at <= active_at,
                          (RiskArea.end_at.is_(None)) | (RiskArea.end_at > active_at))
    return list(session.execute(stmt.order_by(RiskArea.start_at.desc(), RiskArea.id)).scalars())


def import_risk_areas(session: Session, actor: Actor, *, rows: Iterable[Row],
                      filename: str | None = None) -> list[ReportRow]:
    """Rows of a risk-area file → one report line each (accepted | duplicate | rejected)."""
    actor.require("risk_area.manage")
    report: list[ReportRow] = []
    for row in rows:
        v = row.values
        issues: list[str] = []
        times: dict[str, dt.datetime | None] = {}
        for f in ("start_at", "end_at"):
            try:
                times[f] = parse_time(v.get(f, ""))
            except BadTime as exc:
                issues.append(f"{f}: {exc}")
                times[f] = None
        name = " ".join((v.get("region_name") or "").split())
        code = "".join((v.get("region_code") or "").split()) or None
        level = parse_level(v.get("level") or "")
        errors = _check(name, code, level, times["start_at"], times["end_at"])
        errors += [e for e in [_level_in_pack(session, level)] if e]
        if errors or issues:
            report.append(ReportRow(row.number, "rejected", None, issues + [issue(e.field, e.message) for e in errors]))
            continue
        assert level is not None and times["start_at"] is not None
        area, status = _upsert(session, name=name, code=code, level=level, start_at=times["start_at"],
                               end_at=times["end_at"], source=v.get("source") or None)
        report.append(ReportRow(row.number, status, None, [], {"risk_area_id": area.id}))
    counts = {s: sum(1 for r in report if r.status == s) for s in ("accepted", "duplicate", "rejected")}
    audit.record(session, actor, "intake.risk_areas_imported", object_type="risk_area", filename=filename,
                 **counts)
    return report
