"""Risk areas as data (风险区域): import, add, change, list. City-wide reference data, not scoped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.intake.errors import INVALID_RISK_AREA
from fangkong.intake.headers import BadTime, parse_level, parse_time
from fangkong.intake.models import RISK_LEVELS, RiskArea
from fangkong.intake.rules import region_key
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import (
    REQUIRED,
    REQUIRED_TOO_LONG,
    FieldError,
    NotFound,
    ValidationFailed,
    record_not_found,
)
from fangkong.kernel.messages import FieldIssue, _, message, reason_of
from fangkong.kernel.tabular import ReportRow, Row

DIGITS_12 = message("risk_area.region_code", _("digits, at most 12"))
LEVEL_ONE_OF = message("risk_area.level", _("one of high, medium, low (高/中/低)"))
AFTER_START = message("risk_area.end_after_start", _("must be after start_at"))


def _check(name: str | None, code: str | None, level: str | None, start_at: dt.datetime | None,
           end_at: dt.datetime | None) -> list[FieldError]:
    errors = []
    if not name or len(name) > 100:
        errors.append(FieldError("region_name", REQUIRED_TOO_LONG(max=100)))
    if code and (len(code) > 12 or not code.isdigit()):
        errors.append(FieldError("region_code", DIGITS_12()))
    if level not in RISK_LEVELS:
        errors.append(FieldError("level", LEVEL_ONE_OF()))
    if start_at is None:
        errors.append(FieldError("start_at", REQUIRED()))
    if start_at is not None and end_at is not None and end_at <= start_at:
        errors.append(FieldError("end_at", AFTER_START()))
    return errors


def add_risk_area(session: Session, actor: Actor, *, region_name: str, level: str, start_at: dt.datetime,
                  end_at: dt.datetime | None = None, region_code: str | None = None,
                  source: str | None = None) -> RiskArea:
    """Declare a risk area (划定风险区域). The same name, level and start again is a Conflict-free no-op."""
    actor.require("risk_area.manage")
    name = " ".join((region_name or "").split())
    lvl = parse_level(level or "") or level
    errors = _check(name, region_code, lvl, start_at, end_at)
    if errors:
        raise ValidationFailed(INVALID_RISK_AREA(), errors)
    area, _ = _upsert(session, name=name, code=region_code or None, level=lvl, start_at=start_at, end_at=end_at,
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
        raise NotFound(record_not_found("riskarea", area_id))
    new_level = (parse_level(level) or level) if level is not None else area.level
    new_end = None if clear_end else (end_at if end_at is not None else area.end_at)
    errors = _check(area.region_name, area.region_code, new_level, area.start_at, new_end)
    if errors:
        raise ValidationFailed(INVALID_RISK_AREA(), errors)
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
                issues.append(FieldIssue(f, reason_of(exc)))
                times[f] = None
        name = " ".join((v.get("region_name") or "").split())
        code = "".join((v.get("region_code") or "").split()) or None
        level = parse_level(v.get("level") or "")
        errors = _check(name, code, level, times["start_at"], times["end_at"])
        if errors or issues:
            report.append(ReportRow(row.number, "rejected", None, issues + [FieldIssue(e.field, e.message)
                                                                             for e in errors]))
            continue
        assert level is not None and times["start_at"] is not None
        area, status = _upsert(session, name=name, code=code, level=level, start_at=times["start_at"],
                               end_at=times["end_at"], source=v.get("source") or None)
        report.append(ReportRow(row.number, status, None, [], {"risk_area_id": area.id}))
    counts = {s: sum(1 for r in report if r.status == s) for s in ("accepted", "duplicate", "rejected")}
    audit.record(session, actor, "intake.risk_areas_imported", object_type="risk_area", filename=filename,
                 **counts)
    return report
