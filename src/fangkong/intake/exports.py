"""Intake's exports (线索、日产日清、数据闭环导出), through the one writer (`kernel/export.py`).

The lead CSV keeps the columns of issue #3 plus `unit_code` and the four checks' `headcount`
(`EXPORT_COLUMNS`), in that order; the
people's XLSX adds the person's name, the category, the labels of channel, status and measure, and the
owning unit's name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from fangkong.intake.models import CHANNELS, LEAD_STATUSES
from fangkong.intake.pages_common import CHANNEL_LABELS, STATUS_LABELS
from fangkong.intake.service import leads as leads_service
from fangkong.intake.service import reports as reports_service
from fangkong.kernel import clock, export
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.export import BOOL, CODE, DATETIME, ID_NUMBER, INT, PHONE, TEXT, Column, ExportKind

_channel = Column("channel", "渠道", CODE, label=CHANNEL_LABELS.get, label_zh="渠道名称")
_status = Column("status", "线索状态", CODE, label=STATUS_LABELS.get, label_zh="线索状态名称")

# ------------------------------------------------------------------------------------------------ leads

LEAD_COLUMNS = [
    _channel,
    Column("source_ref", "来源编号"),
    Column("person_id", "人员编号", INT),
    Column("name", "姓名", machine=False),
    Column("category", "类别", CODE, machine=False),
    Column("category_name", "类别名称", machine=False),
    _status,
    Column("measure", "管控措施", CODE, width=22),
    Column("measure_name", "管控措施名称", machine=False, width=22),
    Column("rule", "判定规则", TEXT, width=22),
    Column("received_at", "接收时间", DATETIME),
    Column("known_at", "即知时间", DATETIME),
    Column("managed_at", "即管时间(核查)", DATETIME),
    Column("controlled_at", "即控时间(管控)", DATETIME),
    Column("id_number", "身份证号", ID_NUMBER),
    Column("phone", "手机号", PHONE),
    Column("unit_code", "责任单位编码"),
    Column("unit_name", "责任单位", machine=False, width=20),
    Column("headcount", "人数(四个查清)", INT),
]


def _day_bounds(params: Mapping[str, str]) -> tuple[dt.datetime | None, dt.datetime | None]:
    day = export.param_day(params, "day")
    return clock.local_day_bounds(day) if day else (None, None)


def _lead_filters(session: Session, actor: Actor, params: Mapping[str, str]) -> dict[str, Any]:
    start, end = _day_bounds(params)
    return {"channel": export.param_choice(params, "channel", CHANNELS),
            "status": export.param_choice(params, "status", LEAD_STATUSES),
            "unit_id": export.param_int(params, "unit_id"), "received_from": start, "received_to": end,
            "overdue": export.param_flag(params, "overdue")}


LEADS = export.register(ExportKind("leads", "线索", LEAD_COLUMNS, leads_service.export_rows, ("lead.export",),
                                   parse_filters=_lead_filters, object_type="lead"))
assert LEADS.machine_headers == leads_service.EXPORT_COLUMNS  # the agreed CSV columns, in their order

# -------------------------------------------------------------------------------------- daily clearance

CLEARANCE_COLUMNS = [
    Column("lead_id", "线索编号", INT),
    Column("unit_code", "责任单位编码"),
    Column("unit_name", "责任单位", width=20),
    _channel,
    Column("person_id", "人员编号", INT),
    Column("name", "姓名", machine=False),
    _status,
    Column("received_at", "接收时间", DATETIME),
    Column("known_at", "即知时间", DATETIME),
    Column("managed_at", "即管时间(核查)", DATETIME),
    Column("controlled_at", "即控时间(管控)", DATETIME),
    Column("due_at", "核查时限", DATETIME),
    Column("cleared", "截止前已核查", BOOL),
    Column("overdue", "已超时", BOOL),
]


def _day_filters(session: Session, actor: Actor, params: Mapping[str, str]) -> dict[str, Any]:
    return {"day": export.param_day(params, "day") or clock.today(), "unit_id": export.param_int(params, "unit_id")}


def _clearance(session: Session, actor: Actor, *, day: dt.date, unit_id: int | None = None) -> Iterator[Any]:
    return reports_service.clearance_rows(session, actor, day=day, unit_id=unit_id)


CLEARANCE = export.register(ExportKind("clearance", "日产日清", CLEARANCE_COLUMNS, _clearance,
                                       ("lead.view", "data.export"), parse_filters=_day_filters,
                                       object_type="lead"))

# ------------------------------------------------------------------------------------- reconciliation

LISTS_ZH = {"data_not_community": "大数据/运营商推送、社区未报", "checkpoint_not_verified": "卡口查验、未核查",
            "assist_unanswered": "协查未反馈"}
DIRECTION_ZH = {"in": "外地请我方协查", "out": "我方请外地协查"}

RECONCILIATION_COLUMNS = [
    Column("list", "清单", CODE, label=LISTS_ZH.get, label_zh="清单名称", width=24),
    Column("person_id", "人员编号", INT),
    Column("name", "姓名"),
    Column("channels", "报送渠道", CODE),
    Column("channel_names", "报送渠道名称", machine=False, width=20),
    Column("lead_ids", "待办线索编号"),
    Column("assist_id", "协查编号", INT),
    Column("direction", "协查方向", CODE, label=DIRECTION_ZH.get, label_zh="协查方向名称"),
    Column("region", "协查地区"),
    Column("created_at", "协查发起时间", DATETIME),
]


def reconciliation_rows(session: Session, actor: Actor, *, day: dt.date, unit_id: int | None = None
                        ) -> Iterator[dict[str, Any]]:
    """The three lists of 数据闭环, one row per person (or assist request), list by list."""
    data = reports_service.reconciliation(session, actor, day=day, unit_id=unit_id)
    for key in ("data_not_community", "checkpoint_not_verified"):
        for it in data[key]:
            yield {"list": key, "person_id": it["person_id"], "name": it["name"], "channels": ",".join(it["channels"]),
                   "channel_names": "、".join(export.translate_label(CHANNEL_LABELS.get(c, c)) for c in it["channels"]),
                   "lead_ids": ",".join(map(str, it["lead_ids"]))}
    for a in data["assist_unanswered"]:
        yield {"list": "assist_unanswered", "person_id": a["person_id"], "assist_id": a["id"],
               "lead_ids": str(a["lead_id"] or ""), "direction": a["direction"], "region": a["region"],
               "created_at": clock.parse_time(a["created_at"])}


RECONCILIATION = export.register(ExportKind("reconciliation", "数据闭环", RECONCILIATION_COLUMNS,
                                            reconciliation_rows, ("lead.view", "data.export"),
                                            parse_filters=_day_filters, object_type="lead"))
