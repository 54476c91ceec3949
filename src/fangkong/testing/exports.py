"""Testing's exports (应检尽检导出): the compliance list and enrolment coverage, through the one writer.

The compliance CSV keeps the agreed columns `person_id,group,employer,last_negative_at,next_due_at,
overdue_hours`; the people's XLSX adds the name, the masked ID number, the group's, employer's and
unit's names and the status in words.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import export
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.export import CODE, DATETIME, ID_NUMBER, INT, NUMBER, Column, ExportKind
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.testing.service import common

STATUS_ZH = {"compliant": "按时检测", "grace": "宽限期内", "overdue": "逾期未检", "not_due": "尚未到期"}
PROBLEM_ZH = {"not_declared": "未申报人数", "missing": "名单缺人", "over_declared": "名单多于申报"}


def _group_names(session: Session) -> dict[str, str]:
    from fangkong.testing.models import RULE_GROUP

    return {g.code: g.name_zh for g in common.pack(session).key_groups} | {RULE_GROUP: "居家措施人员"}


# ------------------------------------------------------------------------------------------ compliance

COMPLIANCE_COLUMNS = [
    Column("person_id", "人员编号", INT),
    Column("name", "姓名", machine=False),
    Column("id_number", "身份证号", ID_NUMBER, machine=False),
    Column("group", "重点人群", CODE, width=22),
    Column("group_name", "重点人群名称", machine=False, width=22),
    Column("employer", "单位编码"),
    Column("employer_name", "工作单位", machine=False, width=22),
    Column("unit_code", "属地编码", machine=False),
    Column("unit_name", "属地", machine=False),
    Column("last_negative_at", "最近一次阴性采样", DATETIME),
    Column("next_due_at", "下次应检", DATETIME),
    Column("overdue_hours", "逾期小时数", NUMBER),
    Column("status_name", "检测状态", machine=False),
]


def _compliance_filters(session: Session, actor: Actor, params: Mapping[str, str]) -> dict[str, Any]:
    from fangkong.testing.service.compliance import STATUSES

    return {"unit_id": export.param_int(params, "unit_id"), "employer_id": export.param_int(params, "employer_id"),
            "group_code": (params.get("group") or "").strip()[:48] or None,
            "status": export.param_choice(params, "status", STATUSES)}


def compliance_rows(session: Session, actor: Actor, *, unit_id: int | None = None, employer_id: int | None = None,
                    group_code: str | None = None, status: str | None = None) -> Iterator[dict[str, Any]]:
    from fangkong.testing.service.compliance import iter_export_rows

    names = _group_names(session)
    for row in iter_export_rows(session, actor, unit_id=unit_id, employer_id=employer_id, group_code=group_code,
                                status=status):
        row["group_name"] = names.get(row["group"], row["group"])
        row["status_name"] = STATUS_ZH.get(row["status"], row["status"])
        yield row


COMPLIANCE = export.register(ExportKind(
    "compliance", "应检尽检名单", COMPLIANCE_COLUMNS, compliance_rows, ("testing.view", "data.export"),
    parse_filters=_compliance_filters, object_type="group_member"))


# -------------------------------------------------------------------------------------------- coverage

COVERAGE_COLUMNS = [
    Column("employer", "单位编码"),
    Column("employer_name", "单位名称", width=22),
    Column("unit_code", "属地编码"),
    Column("unit_name", "属地", machine=False),
    Column("group", "重点人群", CODE, width=22),
    Column("group_name", "重点人群名称", machine=False, width=22),
    Column("declared", "申报人数", INT),
    Column("enrolled", "已纳入名单人数", INT),
    Column("gap", "缺口", INT),
    Column("problem", "问题", CODE, label=PROBLEM_ZH.get, label_zh="问题说明"),
]


def _coverage_filters(session: Session, actor: Actor, params: Mapping[str, str]) -> dict[str, Any]:
    return {"unit_id": export.param_int(params, "unit_id"),
            "group_code": (params.get("group") or "").strip()[:48] or None,
            "gaps_only": export.param_flag(params, "gaps")}


def coverage_rows(session: Session, actor: Actor, *, unit_id: int | None = None, group_code: str | None = None,
                  gaps_only: bool = False) -> Iterator[dict[str, Any]]:
    """One row per employer and key group (应纳尽纳): declared, enrolled, the gap and what is wrong."""
    from fangkong.testing import service

    report = service.coverage(session, actor, unit_id=unit_id, group_code=group_code)
    rows = report.gaps if gaps_only else report.rows
    codes = dict(session.execute(select(Unit.id, Unit.code).where(
        Unit.id.in_(sorted({r.unit_id for r in rows})))).all()) if rows else {}
    names = _group_names(session)
    for r in rows:
        yield {"employer": r.employer_code, "employer_name": r.employer_name, "unit_code": codes.get(r.unit_id, ""),
               "unit_name": r.unit_name, "group": r.group_code, "group_name": names.get(r.group_code, r.group_code),
               "declared": r.declared, "enrolled": r.enrolled, "gap": r.gap, "problem": r.problem}


COVERAGE = export.register(ExportKind(
    "coverage", "应纳尽纳", COVERAGE_COLUMNS, coverage_rows, ("testing.view", "data.export"),
    parse_filters=_coverage_filters, object_type="employer_headcount"))
