"""Reading leads (线索查询): one, a scoped page, a person's leads, and the audited export."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.intake.models import CHANNELS, LEAD_STATUSES, Lead
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import chunks, in_list
from fangkong.kernel.errors import FieldError, NotFound, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import crypto

MAX_LIMIT = 500
EXPORT_COLUMNS = ["channel", "source_ref", "person_id", "status", "measure", "rule", "received_at", "known_at",
                  "managed_at", "controlled_at", "id_number", "phone", "unit_code", "headcount"]


def get_lead(session: Session, actor: Actor, lead_id: int) -> Lead:
    """One lead in the actor's jurisdiction (NotFound otherwise)."""
    actor.require("lead.view")
    return scope.get_visible(session, actor, Lead, lead_id)


def _filtered(session: Session, actor: Actor, *, status: str | None, channel: str | None, person_id: int | None,
              unit_id: int | None, received_from: dt.datetime | None, received_to: dt.datetime | None) -> Any:
    errors = []
    if status is not None and status not in LEAD_STATUSES:
        errors.append(FieldError("status", f"one of {', '.join(LEAD_STATUSES)}"))
    if channel is not None and channel not in CHANNELS:
        errors.append(FieldError("channel", f"one of {', '.join(CHANNELS)}"))
    if errors:
        raise ValidationFailed("invalid filter", errors)
    stmt = scope.visible(select(Lead), actor, Lead)
    if status is not None:
        stmt = stmt.where(Lead.status == status)
    if channel is not None:
        stmt = stmt.where(Lead.channel == channel)
    if person_id is not None:
        stmt = stmt.where(Lead.person_id == person_id)
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        if unit is None or not actor.sees_path(unit.path):
            raise NotFound(f"unit {unit_id} not found")
        stmt = stmt.where(scope.subtree(Lead.unit_path, unit.path))
    if received_from is not None:
        stmt = stmt.where(Lead.received_at >= received_from)
    if received_to is not None:
        stmt = stmt.where(Lead.received_at < received_to)
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


def _export_rows(session: Session, actor: Actor, stmt: Any, unmasked: bool) -> Iterator[list[Any]]:
    units: dict[int, str] = {}
    for lead in session.execute(stmt.order_by(Lead.id).execution_options(yield_per=2000)).scalars():
        if lead.unit_id not in units:
            units[lead.unit_id] = session.execute(select(Unit.code).where(Unit.id == lead.unit_id)).scalar_one()
        if unmasked:
            id_number = crypto.decrypt(lead.id_number_enc) if lead.id_number_enc else ""
            phone = crypto.decrypt(lead.phone_enc) if lead.phone_enc else ""
        else:
            id_number, phone = lead.id_number_masked or "", lead.phone_masked or ""
        yield [lead.channel, lead.source_ref or "", lead.person_id or "", lead.status, lead.measure_code or "",
               lead.rule or "", clock.iso_local(lead.received_at), clock.iso_local(lead.known_at),
               clock.iso_local(lead.managed_at), clock.iso_local(lead.controlled_at), id_number, phone,
               units[lead.unit_id], "" if lead.headcount is None else lead.headcount]


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
) -> int:
    """Write one row per visible lead to CSV (UTF-8 with BOM) or XLSX (线索导出); returns the row count.

    ID and phone numbers are masked unless `unmasked` (needs `person.unmask`). Audited with who, the
    filter, the row count and whether unmasked.
    """
    actor.require("lead.export")
    if unmasked:
        actor.require("person.unmask")
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValidationFailed("unknown export format", [FieldError("out", "the file must end in .csv or .xlsx")])
    stmt = _filtered(session, actor, status=status, channel=channel, person_id=None, unit_id=unit_id,
                     received_from=received_from, received_to=received_to)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    if suffix == ".csv":
        with out.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(EXPORT_COLUMNS)
            for row in _export_rows(session, actor, stmt, unmasked):
                w.writerow(row)
                n += 1
    else:
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_numbers": False})
        ws = wb.add_worksheet("leads")
        ws.write_row(0, 0, EXPORT_COLUMNS)
        for row in _export_rows(session, actor, stmt, unmasked):
            n += 1
            ws.write_row(n, 0, [str(v) if isinstance(v, str) else v for v in row])
        wb.close()
    audit.record(session, actor, "intake.leads_exported", object_type="lead", rows=n, unmasked=unmasked,
                 format=suffix[1:], filter={"status": status, "channel": channel, "unit_id": unit_id,
                                            "received_from": received_from, "received_to": received_to})
    return n


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
