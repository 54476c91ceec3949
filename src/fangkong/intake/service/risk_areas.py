"""Risk areas as data (风险区域): import, add, change, list. City-wide reference data, not scoped.

An area is a county (GB/T 2260 code) or places inside it, at a level between two times, as the
national lists publish them (`intake.areas` reads where it lies). Only high- and medium-risk areas are
declared: the rest of a county with such an area is low-risk, derived (`derived_low_areas`, and the
decision rules), never typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from fangkong.intake import rules
from fangkong.intake.areas import Located, locate
from fangkong.intake.headers import BadTime, parse_level, parse_time
from fangkong.intake.models import RISK_LEVELS, RiskArea
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from fangkong.kernel.jurisdictions import regions
from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportRow, Row

#: the levels a person declares (low is derived)
DECLARED_LEVELS: tuple[str, ...] = ("high", "medium")

LEVEL_NOT_IN_PACK = message("risk_area.level_not_in_pack", _(
    "%(level)s is not a risk level of the active policy pack %(pack)s (its levels: %(levels)s)"))


def _level_in_pack(session: Session, level: str | None) -> FieldIssue | None:
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
    return FieldIssue("level", LEVEL_NOT_IN_PACK(level=policy_service.pack_name("risk_level", level, known),
                                                 pack=pack.title(), levels=levels))


INVALID_AREA = message("risk_area.invalid", _("invalid risk area"))
AREA_NOT_FOUND = message("risk_area.not_found", _("risk area %(id)s not found"))
AREA_EXISTS = message("risk_area.exists", _("the same area at the same level and start already exists (#%(id)s)"))
LEVEL_UNKNOWN = message("risk_area.level", _("one of high, medium (高/中)"))
LEVEL_LOW = message("risk_area.level_low", _("low-risk areas are not declared: the rest of a county with a high- "
                                             "or medium-risk area is low-risk"))
START_REQUIRED = message("risk_area.start_required", _("required"))
END_BEFORE_START = message("risk_area.end_before_start", _("must be after start_at"))
BAD_TIME = message("risk_area.bad_time", _("not a date or time: %(value)s"))
TIME_RANGE = message("risk_area.time_range", _("must lie between the years %(first)s and %(last)s"))

#: times outside these years are typing errors (and 0001-01-01 cannot even be shown in local time)
FIRST_YEAR, LAST_YEAR = 2000, 2099


@dataclass
class DerivedLow:
    """The low-risk rest of a county (低风险区, derived): the county and the areas that make it so."""

    county_code: str
    county_name: str
    since: dt.datetime
    areas: list[RiskArea] = field(default_factory=list)


def read_time(value: str | None, name: str, issues: list[FieldIssue]) -> dt.datetime | None:
    """A time of a risk area, or None with an issue on `name` (bad text, or outside the years)."""
    try:
        at = parse_time(value or "")
    except (BadTime, OverflowError):
        issues.append(FieldIssue(name, BAD_TIME(value=value or "")))
        return None
    if at is not None and not (FIRST_YEAR <= at.year <= LAST_YEAR):
        issues.append(FieldIssue(name, TIME_RANGE(first=FIRST_YEAR, last=LAST_YEAR)))
        return None
    return at


def _level(level: str | None, issues: list[FieldIssue], *, keep: str | None = None) -> str | None:
    lvl = parse_level(level or "")
    if lvl == "low" and keep != "low":
        issues.append(FieldIssue("level", LEVEL_LOW()))
        return None
    if lvl not in RISK_LEVELS:
        issues.append(FieldIssue("level", LEVEL_UNKNOWN()))
        return None
    return lvl


def _times(start_at: dt.datetime | None, end_at: dt.datetime | None, issues: list[FieldIssue]) -> None:
    for name, at in (("start_at", start_at), ("end_at", end_at)):
        if at is not None and not (FIRST_YEAR <= at.year <= LAST_YEAR):
            issues.append(FieldIssue(name, TIME_RANGE(first=FIRST_YEAR, last=LAST_YEAR)))
    if start_at is None:
        if not any(i.field == "start_at" for i in issues):  # a bad start was said already
            issues.append(FieldIssue("start_at", START_REQUIRED()))
    elif end_at is not None and end_at <= start_at:
        issues.append(FieldIssue("end_at", END_BEFORE_START()))


def _invalid(issues: list[FieldIssue]) -> ValidationFailed:
    return ValidationFailed(INVALID_AREA(), [FieldError(i.field, i.message) for i in issues])


def _given_text(region_name: str | None, province: str | None, city: str | None, county: str | None,
                place: str | None) -> str:
    """The region as the row gave it, for display and audit."""
    parts = ["".join((x or "").strip() for x in (province, city, county)), (region_name or "").strip(),
             (place or "").strip()]
    return " ".join(" ".join(p for p in parts if p).split())[:255]


def add_risk_area(session: Session, actor: Actor, *, level: str, start_at: dt.datetime | None,
                  end_at: dt.datetime | None = None, region_name: str | None = None,
                  region_code: str | None = None, province: str | None = None, city: str | None = None,
                  county: str | None = None, place: str | None = None, source: str | None = None) -> RiskArea:
    """Declare a risk area (划定风险区域). The same area, level and start again changes nothing."""
    actor.require("risk_area.manage")
    where = locate(region_name=region_name, region_code=region_code, province=province, city=city, county=county,
                   place=place)
    issues = list(where.issues)
    lvl = _level(level, issues)
    issues += [e for e in [_level_in_pack(session, lvl)] if e]
    _times(start_at, end_at, issues)
    if issues:
        raise _invalid(issues)
    assert lvl is not None and start_at is not None
    text = _given_text(region_name, province, city, county, place) or where.key
    area, _status = _upsert(session, where=where, text=text, code=region_code, level=lvl, start_at=start_at,
                            end_at=end_at, source=source)
    audit.record(session, actor, "intake.risk_area_added", object_type="risk_area", object_id=area.id,
                 region=text, county=area.county_code, level=lvl)
    return area


def _upsert(session: Session, *, where: Located, text: str, code: str | None, level: str, start_at: dt.datetime,
            end_at: dt.datetime | None, source: str | None) -> tuple[RiskArea, str]:
    key = where.key
    existing = session.execute(select(RiskArea).where(RiskArea.name_key == key, RiskArea.level == level,
                                                      RiskArea.start_at == start_at)).scalar_one_or_none()
    now = clock.now()
    if existing is not None:
        if existing.end_at == end_at:
            return existing, "duplicate"
        existing.end_at, existing.updated_at = end_at, now
        session.flush()
        return existing, "accepted"
    code = "".join((code or "").split()) or None
    area = RiskArea(region_code=code and code[:12], region_name=text, name_key=key, county_code=where.county_code,
                    places=list(where.places), level=level, start_at=start_at, end_at=end_at,
                    source=(source or None) and source[:200], created_at=now, updated_at=now)
    session.add(area)
    session.flush()
    return area, "accepted"


def update_risk_area(session: Session, actor: Actor, *, area_id: int, level: str | None = None,
                     end_at: dt.datetime | None = None, clear_end: bool = False, source: str | None = None,
                     region_name: str | None = None, region_code: str | None = None,
                     place: str | None = None) -> RiskArea:
    """Change a risk area's level, end (lift it), source or where it lies (a row kept from before counties
    is fixed this way). A change that makes it the same as another area is a Conflict."""
    actor.require("risk_area.manage")
    area = session.get(RiskArea, area_id)
    if area is None:
        raise NotFound(AREA_NOT_FOUND(id=area_id))
    issues: list[FieldIssue] = []
    new_level = _level(level, issues, keep=area.level) if level is not None else area.level
    new_end = None if clear_end else (end_at if end_at is not None else area.end_at)
    if new_level != area.level:
        issues += [e for e in [_level_in_pack(session, new_level)] if e]
    _times(area.start_at, new_end, issues)
    where: Located | None = None
    if any(v is not None and v.strip() for v in (region_name, region_code, place)):
        where = locate(region_name=region_name, region_code=region_code, place=place)
        issues += where.issues
    if issues:
        raise _invalid(issues)
    key = where.key if where is not None else area.name_key
    clash = session.execute(select(RiskArea.id).where(RiskArea.name_key == key, RiskArea.level == new_level,
                                                      RiskArea.start_at == area.start_at,
                                                      RiskArea.id != area.id)).scalar()
    if clash is not None:
        raise Conflict(AREA_EXISTS(id=clash))
    if where is not None:
        area.name_key, area.county_code, area.places = key, where.county_code, list(where.places)
        area.region_name = _given_text(region_name, None, None, None, place) or key
        area.region_code = "".join((region_code or "").split())[:12] or None
    area.level, area.end_at, area.updated_at = new_level, new_end, clock.now()
    if source is not None:
        area.source = source[:200] or None
    session.flush()
    audit.record(session, actor, "intake.risk_area_changed", object_type="risk_area", object_id=area.id,
                 level=area.level, end_at=area.end_at, county=area.county_code)
    return area


def list_risk_areas(session: Session, actor: Actor, *, active_at: dt.datetime | None = None) -> list[RiskArea]:
    actor.require("lead.view")
    stmt = select(RiskArea)
    if active_at is not None:
        stmt = stmt.where(RiskArea.start_at <= active_at,
                          (RiskArea.end_at.is_(None)) | (RiskArea.end_at > active_at))
    return list(session.execute(stmt.order_by(RiskArea.start_at.desc(), RiskArea.id)).scalars())


def derived_low_areas(session: Session, actor: Actor, *, at: dt.datetime) -> list[DerivedLow]:
    """The low-risk rest of every county with a high- or medium-risk area in force at `at` (第九版)."""
    active = list_risk_areas(session, actor, active_at=at)
    by_county: dict[str, DerivedLow] = {}
    for a in active:
        if a.county_code and a.level in DECLARED_LEVELS and a.places:
            d = by_county.setdefault(a.county_code, DerivedLow(a.county_code, regions.full_name(a.county_code),
                                                                a.start_at))
            d.areas.append(a)
            d.since = min(d.since, a.start_at)
    # a county-wide high or medium area leaves no low-risk rest
    whole = {a.county_code for a in active if a.county_code and not a.places and a.level in DECLARED_LEVELS}
    return sorted((d for c, d in by_county.items() if c not in whole), key=lambda d: d.county_code)


def area_spans(session: Session, counties: Iterable[str] | None = None,
               prefixes: Iterable[str] = ()) -> rules.AreaIndex:
    """Every stored area as the decision rules see them, indexed by county; with `counties`, only the
    areas of those county codes and of the counties under `prefixes` (2- or 4-digit province or
    prefecture codes) — enough for `rules.decide`/`risk_level_at` on origins there: the national list
    runs to thousands of areas, a batch of leads or a checkpoint's vehicle names a few counties."""
    stmt = select(RiskArea.id, RiskArea.county_code, RiskArea.level, RiskArea.start_at, RiskArea.end_at,
                  RiskArea.places).where(RiskArea.county_code.is_not(None))
    if counties is not None:
        codes, heads = sorted(set(counties)), sorted(set(prefixes))
        if not codes and not heads:
            return rules.AreaIndex(())
        if len(codes) + len(heads) <= 500:  # else reading them all is as cheap
            stmt = stmt.where(or_(RiskArea.county_code.in_(codes) if codes else false(),
                                  *(RiskArea.county_code.startswith(h, autoescape=True) for h in heads)))
    rows = session.execute(stmt)
    return rules.AreaIndex(rules.AreaSpan(code, level, start, end, tuple(places or ()), aid)
                           for aid, code, level, start, end, places in rows)


def area_spans_for(session: Session, origins: Iterable[str | None]) -> rules.AreaIndex:
    """The areas the decisions on these origins (free text or codes) can read: those of each origin's
    county, or of the counties under an origin that names only a province or prefecture."""
    counties: set[str] = set()
    heads: set[str] = set()
    for origin in set(origins):
        res = regions.resolve_region(origin) if origin else None
        if res is None or not res.code:
            continue
        if res.is_county:
            counties.add(res.code)
        else:
            heads.add(res.code[:2] if res.code[2:] == "0000" else res.code[:4])
    return area_spans(session, counties, heads)


def import_risk_areas(session: Session, actor: Actor, *, rows: Iterable[Row],
                      filename: str | None = None) -> list[ReportRow]:
    """Rows of a risk-area file → one report line each (accepted | duplicate | rejected).

    Columns: the national list's 省/市/县区/风险区名称 (`province`, `city`, `county`, `place`) and/or
    `region_name` (free text) or `region_code`; `level` (高/中), `start_at`, `end_at`, `source`.
    """
    actor.require("risk_area.manage")
    report: list[ReportRow] = []
    for row in rows:
        v = row.values
        issues: list[FieldIssue] = []
        start_at = read_time(v.get("start_at"), "start_at", issues)
        end_at = read_time(v.get("end_at"), "end_at", issues)
        parts = {k: v.get(k) or None for k in ("region_name", "region_code", "province", "city", "county", "place")}
        where = locate(**parts)
        issues += where.issues
        level = _level(v.get("level"), issues)
        issues += [e for e in [_level_in_pack(session, level)] if e]
        _times(start_at, end_at, issues)
        if issues:
            report.append(ReportRow(row.number, "rejected", None, list(issues)))
            continue
        assert level is not None and start_at is not None
        text = _given_text(parts["region_name"], parts["province"], parts["city"], parts["county"], parts["place"])
        area, status = _upsert(session, where=where, text=text, code=parts["region_code"], level=level,
                               start_at=start_at, end_at=end_at, source=v.get("source") or None)
        report.append(ReportRow(row.number, status, None, [], {"risk_area_id": area.id}))
    counts = {s: sum(1 for r in report if r.status == s) for s in ("accepted", "duplicate", "rejected")}
    audit.record(session, actor, "intake.risk_areas_imported", object_type="risk_area", filename=filename,
                 **counts)
    return report

