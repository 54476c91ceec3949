"""Surveillance exports (预警导出): `fangkong export detections [--alarms-only]` (one row per verdict) and
`fangkong export signals` (one row per signal), through the one export writer (audited)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from fangkong.kernel import scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.export import CODE, DATE, INT, Column, ExportKind, param_flag
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.surveillance.models import SentinelSite, Signal, Verdict

LEVEL_ZH = {"site": "哨点", "unit": "属地"}
STATUS_ZH = {"open": "待研判", "investigating": "调查中", "escalated": "已上报", "closed": "已关闭"}
OUTCOME_ZH = {"dismissed": "排除", "investigate": "现场调查", "escalated": "上报"}

DETECTION_COLUMNS = [
    Column("level", "层级", CODE, label=lambda v: LEVEL_ZH.get(v, v or "")),
    Column("site_ref", "哨点编号"), Column("site_name", "哨点名称", machine=False),
    Column("unit_code", "属地代码"), Column("unit_name", "属地", machine=False),
    Column("indicator", "指标", CODE), Column("algorithm", "算法", CODE), Column("date", "日期", DATE),
    Column("observed", "观察值", INT), Column("upperbound", "预警阈值"), Column("statistic", "统计量"),
    Column("alarm", "预警"),
]
SIGNAL_COLUMNS = [
    Column("signal_id", "信号编号", INT),
    Column("level", "层级", CODE, label=lambda v: LEVEL_ZH.get(v, v or "")),
    Column("site_ref", "哨点编号"), Column("unit_code", "属地代码"), Column("indicator", "指标", CODE),
    Column("algorithm", "算法", CODE), Column("first_date", "首次预警日期", DATE),
    Column("last_date", "最近预警日期", DATE), Column("alarms", "预警次数", INT),
    Column("status", "状态", CODE, label=lambda v: STATUS_ZH.get(v, v or "")),
    Column("outcome", "研判结果", CODE, label=lambda v: OUTCOME_ZH.get(v, v or "")),
    Column("task_id", "任务编号", INT),
]


def _num(v: float | None) -> Any:
    return None if v is None else round(v, 6)


def detection_rows(session: Session, actor: Actor, *, alarms_only: bool = False) -> Iterator[dict[str, Any]]:
    series_unit = aliased(Unit)
    stmt = (scope.visible(select(Verdict, SentinelSite.ref, SentinelSite.name, series_unit.code, series_unit.name),
                          actor, Verdict)
            .outerjoin(SentinelSite, SentinelSite.id == Verdict.site_id)
            .join(series_unit, series_unit.id == Verdict.unit_id)
            .order_by(Verdict.level, Verdict.series_key, Verdict.indicator, Verdict.day))
    if alarms_only:
        stmt = stmt.where(Verdict.alarm.is_(True))
    for v, ref, name, code, unit_name in session.execute(stmt):
        yield {"level": v.level, "site_ref": ref, "site_name": name, "unit_code": code, "unit_name": unit_name,
               "indicator": v.indicator, "algorithm": v.algorithm, "date": v.day, "observed": v.observed,
               "upperbound": _num(v.upperbound), "statistic": _num(v.statistic),
               "alarm": "" if v.status != "judged" else ("true" if v.alarm else "false")}


def signal_rows(session: Session, actor: Actor) -> Iterator[dict[str, Any]]:
    stmt = (scope.visible(select(Signal, SentinelSite.ref, Unit.code), actor, Signal)
            .outerjoin(SentinelSite, SentinelSite.id == Signal.site_id).join(Unit, Unit.id == Signal.unit_id)
            .order_by(Signal.id))
    for s, ref, code in session.execute(stmt):
        yield {"signal_id": s.id, "level": s.level, "site_ref": ref, "unit_code": code, "indicator": s.indicator,
               "algorithm": s.algorithm, "first_date": s.first_day, "last_date": s.last_day, "alarms": s.alarms,
               "status": s.status, "outcome": s.outcome, "task_id": s.task_id}


def _detection_filters(session: Session, actor: Actor, params: Mapping[str, str]) -> dict[str, Any]:
    return {"alarms_only": param_flag(params, "alarms_only")}


DETECTIONS = ExportKind("detections", "预警判定", DETECTION_COLUMNS, detection_rows, ("surveillance.view", "data.export"),
                        parse_filters=_detection_filters, object_type="surveillance_verdict")
SIGNALS = ExportKind("signals", "预警信号", SIGNAL_COLUMNS, signal_rows, ("surveillance.view", "data.export"),
                     object_type="surveillance_signal")
