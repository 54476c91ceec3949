"""Reading leads (线索查询): one, a scoped page, a person's leads, and the audited export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.intake.models import CHANNELS, LEAD_STATUSES, Lead
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import chunks, in_list, insert_rows
from fangkong.kernel.errors import (
    INVALID_FILTER,
    ONE_OF,
    FieldError,
    ValidationFailed,
)
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import Term, _, message
from fangkong.kernel.tasks.models import Task

EXPORT_FORMAT = message("export.unknown_format", _("unknown export format"))
CSV_OR_XLSX_OUT = message("export.csv_or_xlsx", _("the file must end in .csv or .xlsx"))

MAX_LIMIT = 500
EXPORT_COLUMNS = ["channel", "source_ref", "person_id", "status", "measure", "rule", "received_at", "known_at",
                  "managed_at", "controlled_at", "id_number", "phone", "unit_code", "headcount"]


def get_lead(session: Session, actor: Actor, lead_id: int) -> Lead:
    """One lead in the actor's jurisdiction (NotFound otherwise)."""
    actor.require("lead.view")
    return scope.get_visible(session, actor, Lead, lead_id)


def _filtered(session: Session, actor: Actor, *, status: str | None, channel: str | None, person_id: int | None,
              unit_id: int | None, received_from: dt.datetime | None, received_to: dt.datetime | None,
              overdue: bool = False) -> Any:
    errors = []
    if status is not None and status not in LEAD_STATUSES:
        errors.append(FieldError("status", ONE_OF(choices=[Term(s, kind="lead_status") for s in LEAD_STATUSES])))
    if channel is not None and channel not in CHANNELS:
        errors.append(FieldError("channel", ONE_OF(choices=[Term(c, kind="channel") for c in CHANNELS])))
    if errors:
        raise ValidationFailed(INVALID_FILTER(), errors)
    stmt = scope.visible(select(Lead), actor, Lead)
    if status is not None:
        stmt = stmt.where(Lead.status == status)
    if channel is not None:
        stmt = stmt.where(Lead.channel == channel)
    if person_id is not None:
        stmt = stmt.where(Lead.person_id == person_id)
    if unit_id is not None:
        stmt = scope.within(stmt, scope.visible_unit(session, actor, unit_id), Lead)
    if received_from is not None:
        stmt = stmt.where(Lead.received_at >= received_from)
    if received_to is not None:
        stmt = stmt.where(Lead.received_at < received_to)
    if overdue:  # open leads whose verification task is past due
        from fangkong.intake.service.verification import OPEN_STATUSES

        stmt = stmt.join(Task, Task.id == Lead.verification_task_id).where(
            Lead.status.in_(OPEN_STATUSES), Task.status == "open", Task.due_at < clock.now())
    return stmt


def list_leads(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    channel: str | None = None,
    person_id: int | None = None,
    unit_id: int | None = None,
    received_from: dt.datetime | None = None,
    received_to: dt.datetime | None = None,
    limit: int = 50,
    after_id: int | None = None,
) -> list[Lead]:
    """Leads in the actor's jurisdiction, newest first; `after_id` continues after that lead."""
    actor.require("lead.view")
    stmt = _filtered(session, actor, status=status, channel=channel, person_id=person_id, unit_id=unit_id,
                     received_from=received_from, received_to=received_to)
    if after_id is not None:
        stmt = stmt.where(Lead.id < after_id)
    limit = max(1, min(int(limit), MAX_LIMIT))
    return list(session.execute(stmt.order_by(Lead.id.desc()).limit(limit)).scalars())


def leads_of_person(session: Session, actor: Actor, person_id: int) -> list[Lead]:
    """Every visible lead that reported this person, oldest first (which channels saw them)."""
    actor.require("lead.view")
    stmt = scope.visible(select(Lead), actor, Lead).where(Lead.person_id == person_id).order_by(Lead.id)
    return list(session.execute(stmt).scalars())


def open_lead_categories(session: Session, person_ids: Iterable[int]) -> dict[int, set[str]]:
    """The decided categories of each person's open leads (known or locating: not yet verified), for
    rules such as single tubes at sampling (unscoped: a rule reads it, nobody sees it)."""
    out: dict[int, set[str]] = {}
    for chunk in chunks(sorted(set(person_ids))):
        stmt = select(Lead.person_id, Lead.decision_category).where(
            in_list(session, Lead.person_id, chunk), Lead.status.in_(("known", "locating")),
            Lead.decision_category.is_not(None))
        for pid, category in session.execute(stmt):
            out.setdefault(pid, set()).add(category)
    return out


def export_rows(session: Session, actor: Actor, *, status: str | None = None, channel: str | None = None,
                unit_id: int | None = None, received_from: dt.datetime | None = None,
                received_to: dt.datetime | None = None, overdue: bool = False) -> Iterator[dict[str, Any]]:
    """One mapping per visible lead (the lead export's rows), oldest first, streamed; ID and phone
    numbers as `Sensitive` (the writer masks them unless an audited unmask was asked)."""
    from fangkong.kernel.export import Sensitive
    from fangkong.kernel.policy import service as policy_service

    stmt = _filtered(session, actor, status=status, channel=channel, person_id=None, unit_id=unit_id,
                     received_from=received_from, received_to=received_to, overdue=overdue)
    pack = policy_service.active_pack(session)
    units: dict[int, tuple[str, str]] = {}
    names: dict[tuple[str, str | None], str] = {}

    def name_of(what: str, code: str | None) -> str:
        if not code:
            return ""
        if (what, code) not in names:
            try:
                names[(what, code)] = (pack.measure(code) if what == "measure" else pack.category(code)).name_zh
            except Exception:  # a code of an older pack
                names[(what, code)] = code
        return names[(what, code)]

    for lead in session.execute(stmt.order_by(Lead.id).execution_options(yield_per=2000)).scalars():
        if lead.unit_id not in units:
            units[lead.unit_id] = session.execute(select(Unit.code, Unit.name).where(Unit.id == lead.unit_id)).one()
        code, unit_name = units[lead.unit_id]
        yield {"channel": lead.channel, "source_ref": lead.source_ref, "person_id": lead.person_id,
               "name": lead.name, "category": lead.category, "category_name": name_of("category", lead.category),
               "status": lead.status, "measure": lead.measure_code,
               "measure_name": name_of("measure", lead.measure_code), "rule": lead.rule,
               "received_at": lead.received_at, "known_at": lead.known_at, "managed_at": lead.managed_at,
               "controlled_at": lead.controlled_at, "id_number": Sensitive(lead.id_number_masked, lead.id_number_enc),
               "phone": Sensitive(lead.phone_masked, lead.phone_enc), "unit_code": code, "unit_name": unit_name,
               "headcount": lead.headcount, "lead_id": lead.id}


def export_leads(
    session: Session,
    actor: Actor,
    *,
    out: Path,
    unmasked: bool = False,
    status: str | None = None,
    channel: str | None = None,
    unit_id: int | None = None,
    received_from: dt.datetime | None = None,
    received_to: dt.datetime | None = None,
    overdue: bool = False,
    headers: str | None = None,
) -> int:
    """Write one row per visible lead to CSV (UTF-8 with BOM) or XLSX (线索导出) through the export
    writer; returns the row count. CSV columns are `EXPORT_COLUMNS`; XLSX is the people's layout.

    ID and phone numbers are masked unless `unmasked` (needs `person.unmask`). Audited with who, the
    filter, the row count and whether unmasked.
    """
    from fangkong.intake.exports import LEADS
    from fangkong.kernel import export

    return export.write(session, actor, LEADS, out=Path(out), unmasked=unmasked, headers=headers, filters={
        "status": status, "channel": channel, "unit_id": unit_id, "received_from": received_from,
        "received_to": received_to, "overdue": overdue})


@dataclass(frozen=True)
class LeadState:
    """Where a lead stands (线索状态), without personal data: what its sender follows."""

    id: int
    person_id: int | None
    channel: str
    status: str
    decision_category: str | None
    measure_code: str | None
    measure_id: int | None
    known_at: dt.datetime | None
    managed_at: dt.datetime | None
    controlled_at: dt.datetime | None
    closed_at: dt.datetime | None


def lead_states(session: Session, actor: Actor, lead_ids: list[int]) -> dict[int, LeadState]:
    """The state of leads by id (反馈), for the capability that sent them: tracing follows the leads its
    contacts became until they are under control. Not narrowed by jurisdiction: a contact's lead is
    owned by the grid where the contact lives, often outside the epidemiologist's district, and the
    answer carries no personal data (status, decision, clocks). Needs `lead.view` or `case.view`."""
    if not (actor.can("lead.view") or actor.can("case.view")):
        actor.require("lead.view")
    ids = sorted({int(i) for i in lead_ids})
    out: dict[int, LeadState] = {}
    for i in range(0, len(ids), 500):
        for row in session.execute(select(
                Lead.id, Lead.person_id, Lead.channel, Lead.status, Lead.decision_category, Lead.measure_code,
                Lead.measure_id, Lead.known_at, Lead.managed_at, Lead.controlled_at, Lead.closed_at)
                .where(Lead.id.in_(ids[i:i + 500]))):
            out[row.id] = LeadState(*row)
    return out


def insert_synthetic_leads(session: Session, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Rows straight into the lead table, in bulk, for other capabilities' benchmarks (a large city's
    days of leads, already known/managed/controlled, without resolution or audit). Never for real data:
    ingestion is `ingest_leads`; this keeps the table intake's own while a bench fills it."""
    insert_rows(session, Lead.__table__, columns, rows)
