"""Compliance (应检尽检): for every member the last valid negative, the next due time and how long
overdue; lists per unit and employer, the export, and the daily overdue tasks.

Everything reads the stored per-member figures (`GroupMember.last_negative_at`, `next_due_at`), kept
current as results arrive, so a list is an index range on (`unit_path`, `next_due_at`) and the
summary one grouped scan per child unit — seconds at 1,000,000 members (`fangkong bench compliance`).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, insert, literal, or_, select
from sqlalchemy.orm import Session, aliased

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.db import UTCDateTime
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.tasks.models import Task, TaskEvent
from fangkong.testing import kinds, rules
from fangkong.testing.models import RULE_GROUP, GroupMember
from fangkong.testing.service import common

STATUSES = ("compliant", "grace", "overdue", "not_due")
EXPORT_COLUMNS = ["person_id", "group", "employer", "last_negative_at", "next_due_at", "overdue_hours"]
EXPORT_BATCH = 5000


@dataclass
class ComplianceRow:
    member_id: int
    person_id: int
    name: str | None
    id_number_masked: str | None
    phone_masked: str | None
    group_code: str
    employer_id: int | None
    employer_code: str | None
    employer_name: str | None
    unit_id: int
    last_negative_at: dt.datetime | None
    next_due_at: dt.datetime | None
    overdue_hours: float
    status: str


def _status_clause(status: str, now: dt.datetime, grace: dt.timedelta) -> ColumnElement[bool]:
    due = GroupMember.next_due_at
    if status == "overdue":
        return due < now - grace
    if status == "grace":
        return and_(due >= now - grace, due < now)
    if status == "compliant":
        return due >= now
    if status == "not_due":
        return due.is_(None)
    raise ValidationFailed("unknown status", [FieldError("status", f"one of {', '.join(STATUSES)}")])


def _base_path(session: Session, actor: Actor, unit_id: int | None) -> str:
    if unit_id is None:
        return actor.unit_path
    return common.visible_unit(session, actor, unit_id).path


def _filtered(session: Session, actor: Actor, stmt: Any, *, unit_id: int | None, employer_id: int | None,
              group_code: str | None, status: str | None, now: dt.datetime, grace: dt.timedelta) -> Any:
    stmt = stmt.where(GroupMember.active.is_(True))
    path = _base_path(session, actor, unit_id)
    if path != "/":
        stmt = stmt.where(scope.subtree(GroupMember.unit_path, path))
    if employer_id is not None:
        stmt = stmt.where(GroupMember.employer_id == employer_id)
    if group_code:
        code = common.check_group(common.pack(session), group_code, allow_rule=True)
        stmt = stmt.where(GroupMember.group_code == code)
    if status:
        stmt = stmt.where(_status_clause(status, now, grace))
    return stmt


def list_compliance(session: Session, actor: Actor, *, unit_id: int | None = None, employer_id: int | None = None,
                    group_code: str | None = None, status: str | None = None, limit: int = 50,
                    after_id: int | None = None) -> list[ComplianceRow]:
    """Members in the actor's jurisdiction (or `unit_id`'s subtree) with their compliance, by member id."""
    actor.require("testing.view")
    now = clock.now()
    grace = common.grace(common.pack(session))
    employer = aliased(Place)
    stmt = (select(GroupMember, Person.name, Person.id_number_masked, Person.phone_masked, employer.code,
                   employer.name)
            .join(Person, Person.id == GroupMember.person_id)
            .outerjoin(employer, employer.id == GroupMember.employer_id))
    stmt = _filtered(session, actor, stmt, unit_id=unit_id, employer_id=employer_id, group_code=group_code,
                     status=status, now=now, grace=grace)
    if after_id is not None:
        stmt = stmt.where(GroupMember.id > after_id)
    stmt = stmt.order_by(GroupMember.id).limit(max(1, min(limit, 1000)))
    out = []
    for m, name, idm, phm, ecode, ename in session.execute(stmt):
        out.append(ComplianceRow(m.id, m.person_id, name, idm, phm, m.group_code, m.employer_id, ecode, ename,
                                 m.unit_id, m.last_negative_at, m.next_due_at, rules.overdue_hours(m.next_due_at, now),
                                 rules.compliance_status(m.next_due_at, now, grace)))
    return out


def summary(session: Session, actor: Actor, *, unit_id: int | None = None, group_code: str | None = None
            ) -> list[dict[str, Any]]:
    """Counts per child unit of `unit_id` (else the actor's unit): members, compliant, in grace,
    overdue, not due; the unit itself last for members owned directly by it."""
    actor.require("testing.view")
    now = clock.now()
    grace = common.grace(common.pack(session))
    base = common.base_unit(session, actor, unit_id)
    due = GroupMember.next_due_at

    def n(cond: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    cols = (func.count(), n(due >= now), n(and_(due >= now - grace, due < now)), n(due < now - grace),
            n(due.is_(None)))
    children = session.execute(select(Unit).where(Unit.parent_id == base.id).order_by(Unit.code)).scalars().all()
    out = []
    for unit, where in [*[(c, scope.subtree(GroupMember.unit_path, c.path)) for c in children],
                        (base, GroupMember.unit_path == base.path)]:
        stmt = select(*cols).where(GroupMember.active.is_(True), where)
        if group_code:
            stmt = stmt.where(GroupMember.group_code == group_code)
        total, ok, in_grace, overdue, not_due = session.execute(stmt).one()
        if unit is base and not total:
            continue
        out.append({"unit_id": unit.id, "unit_code": unit.code, "unit_name": unit.name, "members": int(total),
                    "compliant": int(ok), "grace": int(in_grace), "overdue": int(overdue), "not_due": int(not_due),
                    "compliance_pct": round(100 * (int(ok) + int(not_due)) / int(total), 1) if total else None})
    return out


# --------------------------------------------------------------------------------------------- export

def iter_export_rows(session: Session, actor: Actor, *, unit_id: int | None = None, employer_id: int | None = None,
                     group_code: str | None = None, status: str | None = None) -> Iterator[list[Any]]:
    """Export rows (`EXPORT_COLUMNS`), streamed in batches by member id."""
    now = clock.now()
    grace = common.grace(common.pack(session))
    employer = aliased(Place)
    after = 0
    while True:
        stmt = (select(GroupMember.id, GroupMember.person_id, GroupMember.group_code, employer.code,
                       GroupMember.last_negative_at, GroupMember.next_due_at)
                .outerjoin(employer, employer.id == GroupMember.employer_id))
        stmt = _filtered(session, actor, stmt, unit_id=unit_id, employer_id=employer_id, group_code=group_code,
                         status=status, now=now, grace=grace)
        rows = session.execute(stmt.where(GroupMember.id > after).order_by(GroupMember.id).limit(EXPORT_BATCH)).all()
        if not rows:
            return
        for _mid, pid, g, ecode, last, due in rows:
            yield [pid, g, ecode or "", clock.iso_local(last), clock.iso_local(due), rules.overdue_hours(due, now)]
        after = rows[-1][0]


def export_compliance(session: Session, actor: Actor, *, out: Path, unit_id: int | None = None,
                      employer_id: int | None = None, group_code: str | None = None,
                      status: str | None = None) -> int:
    """Write the compliance list (导出应检名单) to CSV (UTF-8 with BOM) or XLSX by the file's suffix:
    one row per member, columns `person_id,group,employer,last_negative_at,next_due_at,overdue_hours`.
    Audited with the filter and the row count. Returns the rows written."""
    actor.require("testing.view")
    actor.require("data.export")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = iter_export_rows(session, actor, unit_id=unit_id, employer_id=employer_id, group_code=group_code,
                            status=status)
    n = 0
    if out.suffix.lower() == ".xlsx":
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(out), {"constant_memory": True})
        ws = wb.add_worksheet("compliance")
        if clock.mode() == "drill":
            ws.write_row(0, 0, ["演练数据 DRILL"])
        start = 1 if clock.mode() == "drill" else 0
        ws.write_row(start, 0, EXPORT_COLUMNS)
        for row in rows:
            n += 1
            ws.write_row(start + n, 0, row)
        wb.close()
    else:
        with out.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(EXPORT_COLUMNS)
            for row in rows:
                w.writerow(row)
                n += 1
    audit.record(session, actor, "testing.compliance_exported", object_type="group_member", rows=n,
                 unmasked=False, unit_id=unit_id, employer_id=employer_id, group=group_code, status=status,
                 format=out.suffix.lower().lstrip(".") or "csv")
    return n


# ---------------------------------------------------------------------------------------- daily work

def refresh_due(session: Session) -> int:
    """Recompute next due times of members whose group's frequency changed in the active pack."""
    freqs = common.group_frequencies(common.pack(session))
    changed = 0
    for code, freq in freqs.items():
        while True:
            batch = session.execute(select(GroupMember).where(
                GroupMember.group_code == code,
                or_(GroupMember.frequency_days.is_(None), GroupMember.frequency_days != freq))
                .limit(EXPORT_BATCH)).scalars().all()
            if not batch:
                break
            for m in batch:
                m.frequency_days, m.next_due_at = common.due_of(m, freqs)
            changed += len(batch)
            session.flush()
    return changed


def create_overdue_tasks(session: Session, *, now: dt.datetime | None = None) -> int:
    """A task for every active member past due and grace without an open overdue task (漏检督促), owned
    by the member's unit (the employer's unit, else the person's grid). Set-based: one INSERT … SELECT
    for the tasks and one for their `created` events. Returns the tasks created."""
    now = now or clock.now()
    p = common.pack(session)
    grace = common.grace(p)
    names = common.group_names(p) | {RULE_GROUP: "居家措施人员"}
    at = literal(now, UTCDateTime())
    open_task = exists().where(Task.kind == kinds.OVERDUE, Task.subject_type == "group_member",
                               Task.subject_id == GroupMember.id, Task.status == "open")
    title = literal("重点人群漏检督促:") + case(names, value=GroupMember.group_code, else_=GroupMember.group_code)
    src = select(
        literal(kinds.OVERDUE), title, GroupMember.unit_id, GroupMember.unit_path, literal("group_member"),
        GroupMember.id, literal("open"), at, literal(now + grace, UTCDateTime()), literal(0),
        literal(p.version_tag), literal("sla_hours.missed_test_grace"),
    ).where(GroupMember.active.is_(True), GroupMember.next_due_at < now - grace, ~open_task)
    before = session.execute(select(func.count()).select_from(Task).where(Task.kind == kinds.OVERDUE)).scalar_one()
    session.execute(insert(Task.__table__).from_select(
        ["kind", "title", "unit_id", "unit_path", "subject_type", "subject_id", "status", "created_at", "due_at",
         "escalation_level", "policy_version", "rule"], src))
    # counted, not `rowcount`: psycopg reports -1 for INSERT … SELECT through SQLAlchemy
    created = session.execute(select(func.count()).select_from(Task).where(Task.kind == kinds.OVERDUE)
                              ).scalar_one() - before
    if created:
        no_event = ~exists().where(TaskEvent.task_id == Task.id)
        session.execute(insert(TaskEvent.__table__).from_select(
            ["task_id", "at", "event"],
            select(Task.id, at, literal("created")).where(Task.kind == kinds.OVERDUE, Task.created_at == at,
                                                          no_event)))
    return created
