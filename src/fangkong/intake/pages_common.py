"""Shared pieces of the intake pages (重点人员排查页面): labels in words, issue messages translated,
permission aliases, and the helpers the lead, report and risk-area pages all use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.intake import labels
from fangkong.intake.models import Lead
from fangkong.intake.service.verification import OPEN_STATUSES
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.errors import DomainError, FieldError, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import _, field_label, issue_loaded, message, translate
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import Pack
from fangkong.kernel.tasks.models import Task
from fangkong.kernel.web.nav import N_
from fangkong.kernel.web.templating import gettext_for, request_locale

CanView = Annotated[Actor, Depends(requires("lead.view"))]
CanImport = Annotated[Actor, Depends(requires("lead.import"))]
CanVerify = Annotated[Actor, Depends(requires("lead.verify"))]
CanExport = Annotated[Actor, Depends(requires("lead.export"))]
CanManageAreas = Annotated[Actor, Depends(requires("risk_area.manage"))]
CanViewPersons = Annotated[Actor, Depends(requires("person.view"))]

PAGE_SIZE = 30
#: the 日产日清 list shows at most this many leads (the counts above it are complete)
LIST_CAP = 200
INVALID_DAY = message("day.invalid", _("invalid day"))
A_DATE = message("day.expected", _("a date like 2022-04-18"))

CHANNEL_LABELS: dict[str, str] = dict(labels.CHANNELS)
#: channels a person may choose when importing a file on the web (internal channels are not offered)
IMPORT_CHANNELS = ("bigdata", "employer", "community", "telecom", "checkpoint", "assist")
STATUS_LABELS: dict[str, str] = dict(labels.STATUSES)
RULE_LABELS: dict[str, str] = dict(labels.MATCH_RULES)
LEVEL_LABELS: dict[str, str] = dict(labels.LEVELS)
FIELD_LABELS: dict[str, str] = {
    "name": N_("Full name"), "id_number": N_("ID number"), "phone": N_("Phone"), "origin": N_("Coming from"),
    "arrival_at": N_("Arrival time"), "address": N_("Current address"), "transport": N_("Transport"),
    "reason": N_("Reason for the trip"), "category": N_("Category"), "source_ref": N_("Sender's reference"),
    # risk-area files
    "region_name": N_("Region"), "region_code": N_("County code"), "province": N_("Province"), "city": N_("City"),
    "county": N_("County"), "place": N_("Places"), "level": N_("Level"), "start_at": N_("From"), "end_at": N_("Until"),
    "row": N_("Row"),
}
#: field messages of intake's services shown on these pages (marked here so the catalog carries them)
SERVICE_MESSAGES = (
    N_("required"), N_("required when the person left the city"),
    N_("required when the person was transferred to a site"), N_("choose a site from the list"),
    N_("required, at most 100 characters"), N_("digits, at most 12"), N_("one of high, medium, low (高/中/低)"),
    N_("must be after start_at"), N_("not a date or time"), N_("the file must be .csv or .xlsx"),
    N_("at most 20 MB"), N_("the file is empty"),
)


# --- small helpers ------------------------------------------------------------------------------------

@dataclass
class Issue:
    field: str
    label: str
    message: str


def issue_translator(request: Request) -> Callable[[Any], Issue]:
    """A report issue (a `FieldIssue`, a stored issue, or older `field: message` text) as the page shows
    it: Issue(phone, 手机号, 应为 11 位(实际 5 位)) — through the message's code, never its English."""
    locale = request_locale(request)

    def view(value: Any) -> Issue:
        item = issue_loaded(value)
        return Issue(item.field, field_label(item.field, locale) if item.field else "",
                     translate(item.message, locale))

    return view


def labeler(request: Request, labels: dict[str, str]) -> Callable[[str | None], str]:
    _ = gettext_for(request)
    return lambda code: _(labels[code]) if code in labels else (code or "")


def pack_of(session: Session, version: str | None) -> Pack:
    """The pack that made a decision (its names), else the active one."""
    if version:
        try:
            return policy_service.get_pack(session, version)
        except DomainError:
            pass
    return policy_service.active_pack(session)


def namer(pack: Pack, locale: str) -> tuple[Callable[[str | None], str], Callable[[str | None], str]]:
    """(measure name, category name) in the page's language, from the pack."""
    en = locale == "en"

    def measure(code: str | None) -> str:
        if not code:
            return ""
        m = policy_service.known_measure(code, pack)  # a code the pack lacks: its bundled name
        if m is None:
            return code
        return m.name_en if en else m.name_zh

    def category(code: str | None) -> str:
        if not code:
            return ""
        c = policy_service.known_category(code, pack)
        if c is None:
            return code
        return c.name_en if en else c.name_zh

    return measure, category


def minutes_formatter(request: Request) -> Callable[[float | None], str]:
    _ = gettext_for(request)

    def fmt(value: float | None) -> str:
        if value is None:
            return "—"
        total = round(value)
        if total < 60:
            return _("%(m)s min") % {"m": total}
        return _("%(h)s h %(m)s min") % {"h": total // 60, "m": total % 60}

    return fmt


def parse_day(value: str) -> dt.date:
    if not value:
        return clock.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(INVALID_DAY(), [FieldError("day", A_DATE())]) from None


def units_by_id(session: Session, ids: set[int]) -> dict[int, Unit]:
    if not ids:
        return {}
    return {u.id: u for u in session.execute(select(Unit).where(Unit.id.in_(sorted(ids)))).scalars()}


def overdue_leads(session: Session, actor: Actor, *, limit: int, after_id: int | None) -> list[Lead]:
    """Open leads whose verification task is past due (a filter `list_leads` does not have yet)."""
    stmt = (select(Lead).join(Task, Task.id == Lead.verification_task_id)
            .where(Lead.status.in_(OPEN_STATUSES), Task.status == "open", Task.due_at < clock.now()))
    stmt = scope.visible(stmt, actor, Lead)
    if after_id is not None:
        stmt = stmt.where(Lead.id < after_id)
    return list(session.execute(stmt.order_by(Lead.id.desc()).limit(limit)).scalars())


def lead_rows(session: Session, leads: list[Lead]) -> list[dict[str, Any]]:
    units = units_by_id(session, {lead.unit_id for lead in leads})
    task_ids = {lead.verification_task_id for lead in leads if lead.verification_task_id}
    due = dict(session.execute(select(Task.id, Task.due_at).where(Task.id.in_(sorted(task_ids)))).all()) \
        if task_ids else {}
    now = clock.now()
    rows = []
    for lead in leads:
        task_due = due.get(lead.verification_task_id)
        rows.append({
            "lead": lead, "unit": units.get(lead.unit_id),
            "overdue": lead.status in OPEN_STATUSES and task_due is not None and task_due < now,
        })
    return rows
