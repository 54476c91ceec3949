"""Indicators by unit (指标): computed live from the owning capabilities' services, or read from the
day's frozen snapshot (指标快照). Reports read the snapshot; late feedback never changes a frozen
number; `live` recomputes, and `late_differences` lists what changed since (补报)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.command import indicators as registry
from fangkong.command import rules
from fangkong.command.models import IndicatorSnapshot, IndicatorValue
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, NotFound, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import _, message
from fangkong.kernel.policy import service as policy_service

#: the columns of `fangkong indicators` and of the daily report's sheet 数据
COLUMNS = ["day", "unit_code", "unit_name", "level", "indicator", "value", "numerator", "denominator", "status"]

FUTURE_DAY = message("command.future_day", _("a day in the future: %(day)s"))
UNKNOWN_INDICATOR = message("command.unknown_indicator", _("unknown indicator %(code)s; known: %(known)s"))
BEFORE_CUTOFF = message("command.before_cutoff", _("the day is not over: its cut-off is %(cutoff)s"))
#: what a planned indicator no capability provides yet shows instead of a value
NOT_ENABLED = "尚未启用"


@dataclass
class IndicatorRow:
    day: str
    unit_code: str
    unit_name: str
    level: str
    indicator: str
    value: float | int | None
    numerator: float | int | None
    denominator: float | int | None
    status: str
    name_zh: str = ""
    kind: str = ""
    rule: str = ""
    enabled: bool = True
    unit_id: int = 0
    unit_path: str = ""
    position: int = 0

    def as_csv(self) -> dict[str, Any]:
        """The machine columns (`COLUMNS`): empty for no value."""
        return {c: "" if getattr(self, c) is None else getattr(self, c) for c in COLUMNS}

    def shown(self) -> str:
        """The value as people read it: 尚未启用, — for no value, a rate as a percentage."""
        if not self.enabled:
            return NOT_ENABLED
        if self.value is None:
            return "—"
        if self.kind == "rate":
            return f"{100 * float(self.value):.2f}%"
        return f"{self.value:g}" if isinstance(self.value, float) else str(self.value)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["note"] = NOT_ENABLED if not self.enabled else ""
        return d


@dataclass
class IndicatorTable:
    day: dt.date
    unit_code: str
    cutoff_at: dt.datetime
    pack_version: str
    #: read from a frozen snapshot (its version), or computed live
    frozen: bool
    version: int | None
    taken_at: dt.datetime | None
    rows: list[IndicatorRow] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- the window

def cutoff_of(session: Session, day: dt.date) -> tuple[dt.datetime, dt.datetime, str]:
    """(start of day D, cut-off C, pack version) in UTC: C is D's local midnight plus the pack's
    `daily_clearance_cutoff` (24:00 by default)."""
    pack = policy_service.active_pack(session)
    start, _end = clock.local_day_bounds(day)
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=clock.tz())
    return start, (midnight + pack.clearance_cutoff).astimezone(dt.UTC), pack.version_tag


def check_day(day: dt.date) -> dt.date:
    """A day the indicators can be asked for: a real date, not in the future (422 on `day`)."""
    clock.check_day(day)
    if day > clock.today():
        text = FUTURE_DAY(day=day.isoformat())
        raise ValidationFailed(text, [FieldError("day", text)])
    return day


def tree(session: Session, base: Unit) -> list[Unit]:
    """`base` and every unit below it, in tree order (each unit before its children, siblings by code)."""
    units = session.execute(scope.within(select(Unit), base, Unit)).scalars().all()
    children: dict[int | None, list[Unit]] = defaultdict(list)
    for u in units:
        children[u.parent_id].append(u)
    out: list[Unit] = []
    stack = [base]
    while stack:
        u = stack.pop()
        out.append(u)
        stack.extend(sorted(children.get(u.id, []), key=lambda c: c.code, reverse=True))
    return out


def _level(u: Unit) -> str:
    return "city" if u.parent_id is None else u.level


def compute(session: Session, base: Unit, day: dt.date, *, only: str | None = None, subtree: bool = True
            ) -> tuple[list[IndicatorRow], dt.datetime, str]:
    """Every catalogued indicator for `base` and each unit below it (only `base` when not `subtree`:
    the same figures over its subtree, without the rows of the units below), live. No permission
    check: the callers check theirs (`indicators`, the snapshot job)."""
    start, cutoff, version = cutoff_of(session, day)
    pack = policy_service.active_pack(session)
    units = tree(session, base) if subtree else [base]
    paths = [u.path for u in units]
    window = registry.Window(day=day, start=start, cutoff=cutoff)
    rows: list[IndicatorRow] = []
    by_code: dict[str, list[IndicatorRow]] = {}
    for planned, ind in registry.catalogue():
        if only is not None and planned.code != only:
            continue
        rolled = rules.rollup(ind.collect(session, base, window), paths) if ind is not None else {}
        out = by_code.setdefault(planned.code, [])
        threshold = pack.command.thresholds.get(planned.code)
        for pos, u in enumerate(units):
            row = IndicatorRow(day.isoformat(), u.code, u.name, _level(u), planned.code, None, None, None, "none",
                               planned.name_zh, planned.kind, "", ind is not None, u.id, u.path, pos)
            if ind is None:
                row.rule = "not enabled: no capability provides this indicator yet"
            else:
                fig = rolled[u.path]
                value = rules.value_of(ind.kind, fig, ind.quantile)
                row.value = rules.rounded(ind.kind, value)
                if ind.kind == "hours":
                    row.numerator, row.denominator = len(fig.hours), None
                else:
                    row.numerator = int(fig.numerator) if float(fig.numerator).is_integer() else fig.numerator
                    row.denominator = (int(fig.denominator) if float(fig.denominator).is_integer()
                                       else fig.denominator) if ind.kind == "rate" else None
                band = None
                source = ""
                if threshold is not None:
                    green, amber, lv = threshold.band(row.level)
                    band = (green, amber)
                    source = f"command.thresholds.{planned.code}" + (f".levels.{lv}" if lv else "") + f" @ {version}"
                c = rules.colour(value, ind.direction, band, source=source)
                row.status, row.rule = c.status, c.rule
            out.append(row)
    # unit-major order: each unit's indicators together, units in tree order
    for pos in range(len(units)):
        rows.extend(rs[pos] for rs in by_code.values())
    return rows, cutoff, version


# ---------------------------------------------------------------------------------------- reading

def _latest(session: Session, day: dt.date) -> IndicatorSnapshot | None:
    return session.execute(select(IndicatorSnapshot).where(IndicatorSnapshot.day == day)
                           .order_by(IndicatorSnapshot.version.desc()).limit(1)).scalar_one_or_none()


def latest_snapshot_ids(session: Session, days: list[dt.date]) -> dict[dt.date, int]:
    """The id of each day's latest snapshot version (days not frozen are left out), in one read."""
    if not days:
        return {}
    out: dict[dt.date, tuple[int, int]] = {}
    for sid, d, v in session.execute(select(IndicatorSnapshot.id, IndicatorSnapshot.day, IndicatorSnapshot.version)
                                     .where(IndicatorSnapshot.day.in_(days))):
        if d not in out or v > out[d][1]:
            out[d] = (sid, v)
    return {d: sid for d, (sid, _v) in out.items()}


def _known(code: str) -> None:
    known = [p.code for p, _i in registry.catalogue()]
    if code not in known:
        raise NotFound(UNKNOWN_INDICATOR(code=code, known=", ".join(known)))


def indicators(session: Session, actor: Actor, *, day: dt.date | None = None, unit_code: str | None = None,
               live: bool = False, indicator: str | None = None, subtree: bool = True) -> IndicatorTable:
    """The indicators of a unit's subtree for day D (default today): the day's frozen snapshot (its
    latest version) when there is one and `live` is not asked, else computed now. A unit outside the
    caller's subtree is a 404, a future day a 422, an unknown indicator a 404 listing the known ones."""
    actor.require("command.view")
    day = check_day(day or clock.today())
    base = scope.visible_unit(session, actor, code=unit_code) if unit_code else scope.base_unit(session, actor)
    if indicator is not None:
        _known(indicator)
    snap = None if live else _latest(session, day)
    if snap is None:
        rows, cutoff, version = compute(session, base, day, only=indicator, subtree=subtree)
        return IndicatorTable(day, base.code, cutoff, version, False, None, None, rows)
    stmt = scope.within(select(IndicatorValue).where(IndicatorValue.snapshot_id == snap.id), base, IndicatorValue)
    if not subtree:
        stmt = stmt.where(IndicatorValue.unit_path == base.path)
    if indicator is not None:
        stmt = stmt.where(IndicatorValue.indicator == indicator)
    names = {p.code: p for p, _i in registry.catalogue()}
    rows = []
    for v in session.execute(stmt.order_by(IndicatorValue.position, IndicatorValue.id)).scalars():
        planned = names.get(v.indicator)
        kind = planned.kind if planned else ""
        rows.append(IndicatorRow(day.isoformat(), v.unit_code, v.unit_name, v.level, v.indicator,
                                 _stored(kind, v.value), _stored("count", v.numerator), _stored("count", v.denominator),
                                 v.status, planned.name_zh if planned else v.indicator, kind, v.rule, v.enabled,
                                 v.unit_id, v.unit_path, v.position))
    return IndicatorTable(day, base.code, snap.cutoff_at, snap.pack_version, True, snap.version, snap.taken_at, rows)


def _stored(kind: str, value: float | None) -> float | int | None:
    if value is None:
        return None
    if kind == "count" and float(value).is_integer():
        return int(value)
    return value


# ---------------------------------------------------------------------------------------- freezing

def take_snapshot(session: Session, actor: Actor, *, day: dt.date, recompute: bool = False,
                  reason: str | None = None) -> dict[str, Any]:
    """Freeze day D's indicators for the whole tree (指标快照): every unit's value, numerator,
    denominator and status with the pack version. Runs after the cut-off (before it: a 422). A day
    already frozen is left alone unless `recompute` (更正): then a new version is written, the old kept,
    and the recompute audited. Returns `{day, version, values, created}`."""
    actor.require("command.snapshot")
    day = check_day(day)
    _start, cutoff, _version = cutoff_of(session, day)
    if clock.now() < cutoff:
        text = BEFORE_CUTOFF(cutoff=clock.iso_local(cutoff))
        raise ValidationFailed(text, [FieldError("day", text)])
    last = _latest(session, day)
    if last is not None and not recompute:
        n = session.execute(select(func.count()).select_from(IndicatorValue)
                            .where(IndicatorValue.snapshot_id == last.id)).scalar_one()
        return {"day": day.isoformat(), "version": last.version, "values": int(n), "created": False}
    root = session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)).scalar_one()
    rows, cutoff, version = compute(session, root, day)
    snap = IndicatorSnapshot(day=day, version=(last.version + 1) if last else 1, cutoff_at=cutoff,
                             taken_at=clock.now(), taken_by=actor.username, pack_version=version, reason=reason)
    session.add(snap)
    session.flush()
    session.add_all([IndicatorValue(snapshot_id=snap.id, unit_id=r.unit_id, unit_path=r.unit_path,
                                    unit_code=r.unit_code, unit_name=r.unit_name, level=r.level, position=r.position,
                                    indicator=r.indicator, enabled=r.enabled,
                                    value=None if r.value is None else float(r.value),
                                    numerator=None if r.numerator is None else float(r.numerator),
                                    denominator=None if r.denominator is None else float(r.denominator),
                                    status=r.status, rule=r.rule[:300]) for r in rows])
    audit.record(session, actor, "command.snapshot_recomputed" if last else "command.snapshot_taken",
                 object_type="command_snapshot", object_id=snap.id, day=day.isoformat(), version=snap.version,
                 values=len(rows), reason=reason)
    session.flush()
    return {"day": day.isoformat(), "version": snap.version, "values": len(rows), "created": True}


def late_differences(session: Session, actor: Actor, *, day: dt.date, unit_code: str | None = None
                     ) -> list[dict[str, Any]]:
    """补报: the values that differ between the frozen snapshot of D and a live recompute now (late
    feedback: a verification recorded after the freeze with a time before the cut-off). Empty when
    the day is not frozen."""
    frozen = indicators(session, actor, day=day, unit_code=unit_code)
    if not frozen.frozen:
        return []
    live = indicators(session, actor, day=day, unit_code=unit_code, live=True)
    before = {(r.unit_code, r.indicator): r for r in frozen.rows}
    out = []
    for r in live.rows:
        old = before.get((r.unit_code, r.indicator))
        if old is None or not r.enabled:
            continue
        if (old.value, old.numerator, old.denominator) != (r.value, r.numerator, r.denominator):
            out.append({"unit_code": r.unit_code, "unit_name": r.unit_name, "indicator": r.indicator,
                        "name_zh": r.name_zh, "frozen_value": old.value, "live_value": r.value,
                        "frozen_numerator": old.numerator, "live_numerator": r.numerator,
                        "frozen_denominator": old.denominator, "live_denominator": r.denominator})
    return out
