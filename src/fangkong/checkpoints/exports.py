"""Checkpoint exports through the one writer: shift counts, trips as of a time, stranded vehicles."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fangkong.checkpoints.models import KINDS
from fangkong.kernel import clock, export
from fangkong.kernel.errors import REQUIRED, FieldError, ValidationFailed
from fangkong.kernel.export import CODE, DATETIME, INT, NUMBER, Column, ExportKind
from fangkong.kernel.messages import _, message

#: the gaps of the data closed loop (数据闭环), as `service.reconciliation.GAPS` names them
GAP_ZH = {"pushed_not_seen": "推送未见卡口记录", "pushed_not_community": "推送未见社区排查",
          "seen_not_pushed": "卡口查验未见推送", "seen_not_community": "卡口查验未见社区排查",
          "community_not_seen": "社区排查未见卡口记录", "arrival_not_seen": "到达确认未见入境",
          "trip_open": "行程逾期未闭环"}
STATE_ZH = {"in_transit": "在途", "arrival_overdue": "逾期未到达", "at_destination": "已到达",
            "exit_overdue": "逾期未驶离", "passing": "过境", "transit_overdue": "过境逾期", "closed": "已闭环",
            "closed_no_arrival": "闭环(未确认到达)", "exit_not_seen": "未见驶离"}
BAD_FILTER = message("checkpoint.bad_filter", _("invalid filter"))


def _at_filters(session: Any, actor: Any, params: Mapping[str, str]) -> dict[str, Any]:
    text = params.get("at") or ""
    try:
        at = clock.parse_time(text) if text else clock.now()
    except clock.BadTime as exc:
        raise ValidationFailed(BAD_FILTER(), [FieldError("at", str(exc))]) from None
    if at is None:
        raise ValidationFailed(BAD_FILTER(), [FieldError("at", REQUIRED())])
    return {"at": at}


def _day_filters(session: Any, actor: Any, params: Mapping[str, str]) -> dict[str, Any]:
    return {"day": export.param_day(params, "day") or clock.today()}


SHIFT_COLUMNS = [
    Column("checkpoint", "卡口编号"), Column("checkpoint_name", "卡口名称", machine=False, width=20),
    Column("day", "日期"), Column("shift", "班次"),
    Column("vehicles_in", "进入车辆", INT), Column("vehicles_out", "驶出车辆", INT),
    Column("persons_in", "进入人员", INT), Column("persons_out", "驶出人员", INT),
    Column("trucks_in", "进入货车", INT), Column("leads", "推送线索", INT),
    Column("sampled", "采样放行", INT), Column("returned", "劝返", INT),
]


def shift_rows(session: Any, actor: Any, *, day: Any) -> Iterator[dict[str, Any]]:
    from fangkong.checkpoints.service import reports

    yield from reports.shift_counts(session, actor, day=day)


SHIFTS = export.register(ExportKind("checkpoint_shifts", "卡口班次统计", SHIFT_COLUMNS, shift_rows,
                                    ("checkpoint.view", "data.export"), parse_filters=_day_filters,
                                    object_type="checkpoint_record"))

TRIP_COLUMNS = [
    Column("trip_id", "行程编号", INT), Column("plate", "车牌号"), Column("epass_no", "通行证编号"),
    Column("entered_at", "入境时间", DATETIME), Column("arrived_at", "到达时间", DATETIME),
    Column("exited_at", "驶离时间", DATETIME),
    Column("state", "状态", CODE, label=STATE_ZH.get, label_zh="状态名称"),
    Column("overdue_hours", "逾期小时", NUMBER),
    Column("checkpoint_name", "入境卡口", machine=False, width=20),
]


def trip_rows(session: Any, actor: Any, *, at: Any) -> Iterator[dict[str, Any]]:
    from fangkong.checkpoints.service import trips

    yield from trips.export_rows(session, actor, at=at)


TRIPS = export.register(ExportKind("trips", "货车点对点闭环", TRIP_COLUMNS, trip_rows, ("trip.view", "data.export"),
                                   parse_filters=_at_filters, object_type="checkpoint_trip"))

STRANDED_COLUMNS = [
    Column("plate", "车牌号"), Column("service_area", "服务区编号"),
    Column("service_area_name", "服务区名称", machine=False, width=20),
    Column("first_seen_at", "首次发现时间", DATETIME), Column("last_seen_at", "最近发现时间", DATETIME),
    Column("hours", "滞留小时", NUMBER),
]


def stranded_rows(session: Any, actor: Any, *, at: Any) -> Iterator[dict[str, Any]]:
    from fangkong.checkpoints.service import reports

    for v in reports.stranded(session, actor, at=at):
        yield v.as_dict()


STRANDED = export.register(ExportKind("stranded", "服务区滞留车辆", STRANDED_COLUMNS, stranded_rows,
                                      ("checkpoint.view", "data.export"), parse_filters=_at_filters,
                                      object_type="checkpoint_record"))
KIND_ZH = KINDS

RECONCILIATION_COLUMNS = [
    Column("gap", "差异类型", CODE, label=GAP_ZH.get, label_zh="差异名称", width=22),
    Column("person_id", "人员编号", INT), Column("name", "姓名", machine=False), Column("plate", "车牌号"),
    Column("at", "时间", DATETIME),
]


def reconciliation_rows(session: Any, actor: Any, *, day: Any, unit_id: int | None = None) -> Iterator[dict[str, Any]]:
    from fangkong.checkpoints.service import reconciliation

    gaps = reconciliation.reconciliation(session, actor, day=day, unit_id=unit_id)
    names = reconciliation.names_of(session, [g.person_id for g in gaps if g.person_id])
    for g in gaps:
        yield {**g.as_dict(), "name": names.get(g.person_id) if g.person_id else None}


def _recon_filters(session: Any, actor: Any, params: Mapping[str, str]) -> dict[str, Any]:
    return {"day": export.param_day(params, "day") or clock.today(), "unit_id": export.param_int(params, "unit_id")}


RECONCILIATION = export.register(ExportKind("data_loop", "数据闭环差异", RECONCILIATION_COLUMNS, reconciliation_rows,
                                            ("lead.view", "checkpoint.view", "data.export"),
                                            parse_filters=_recon_filters, object_type="checkpoint_record"))
