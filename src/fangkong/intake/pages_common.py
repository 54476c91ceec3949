"""Shared pieces of the intake pages (重点人员排查页面): labels in words, issue messages translated,
permission aliases, and the helpers the lead, report and risk-area pages all use."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.intake.models import Lead
from fangkong.intake.service.verification import OPEN_STATUSES
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.errors import DomainError, FieldError, ValidationFailed
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import FieldIssue, Message
from fangkong.kernel.messages import translate as translate_message
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import Pack
from fangkong.kernel.tabular import ReportRow
from fangkong.kernel.tasks.models import Task
from fangkong.kernel.web.nav import N_
from fangkong.kernel.web.templating import gettext_for, render, request_locale

CanView = Annotated[Actor, Depends(requires("lead.view"))]
CanImport = Annotated[Actor, Depends(requires("lead.import"))]
CanVerify = Annotated[Actor, Depends(requires("lead.verify"))]
CanExport = Annotated[Actor, Depends(requires("lead.export"))]
CanManageAreas = Annotated[Actor, Depends(requires("risk_area.manage"))]
CanViewPersons = Annotated[Actor, Depends(requires("person.view"))]

PAGE_SIZE = 30
#: the 日产日清 list shows at most this many leads (the counts above it are complete)
LIST_CAP = 200
MAX_UPLOAD = 20 * 1024 * 1024

CHANNEL_LABELS: dict[str, str] = {
    "bigdata": N_("Big-data push"), "employer": N_("Employer report"), "community": N_("Community search"),
    "telecom": N_("Telecom operator"), "checkpoint": N_("Checkpoint"), "tip": N_("Tip-off"),
    "self": N_("Self-report"), "assist": N_("Assist request"), "tracing": N_("Tracing"),
    "colocation": N_("Co-location"), "testing": N_("Testing"),
}
#: channels a person may choose when importing a file on the web (internal channels are not offered)
IMPORT_CHANNELS = ("bigdata", "employer", "community", "telecom", "checkpoint", "assist")
STATUS_LABELS: dict[str, str] = {
    "known": N_("Known, to verify"), "locating": N_("Locating"), "managed": N_("Verified"),
    "controlled": N_("Controlled"), "closed": N_("Closed"),
}
RULE_LABELS: dict[str, str] = {
    "id_number": N_("the same valid ID number"),
    "phone_name": N_("the same phone number and name"),
    "phone": N_("the same phone number"),
    "name_address": N_("the same name and address on the same grid"),
    "fuzzy_name": N_("a similar name with a matching birth date, phone or address"),
    "new_person": N_("nobody matched: a new person was registered"),
    "split": N_("moved here when a wrong merge was split"),
}
LEVEL_LABELS: dict[str, str] = {"high": N_("High risk"), "medium": N_("Medium risk"), "low": N_("Low risk")}
FIELD_LABELS: dict[str, str] = {
    "name": N_("Full name"), "id_number": N_("ID number"), "phone": N_("Phone"), "origin": N_("Coming from"),
    "arrival_at": N_("Arrival time"), "address": N_("Current address"), "transport": N_("Transport"),
    "reason": N_("Reason for the trip"), "category": N_("Category"), "source_ref": N_("Sender's reference"),
    # risk-area files
    "region_name": N_("Region"), "region_code": N_("County code"), "province": N_("Province"), "city": N_("City"),
    "county": N_("County"), "place": N_("Places"), "level": N_("Level"), "start_at": N_("From"), "end_at": N_("Until"),
}
#: service issue messages (English) → message ids with placeholders, so the page shows them translated
ISSUE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"check digit should be (?P<v>\w)"), N_("check digit should be %(v)s")),
    (re.compile(r"should be 18 characters \(got (?P<n>\d+)\)"), N_("should be 18 characters (got %(n)s)")),
    (re.compile(r"should be 17 digits and a final digit or X"), N_("should be 17 digits and a final digit or X")),
    (re.compile(r"birth date (?P<v>\S+) does not exist"), N_("birth date %(v)s does not exist")),
    (re.compile(r"birth date is in the future"), N_("birth date is in the future")),
    (re.compile(r"region (?P<v>\S+) is not a known region code"), N_("region %(v)s is not a known region code")),
    (re.compile(r"15-digit number converted to 18 digits"), N_("15-digit number converted to 18 digits")),
    (re.compile(r"not an ID number"), N_("not an ID number")),
    (re.compile(r"should be 11 digits \(got (?P<n>\d+)\)"), N_("should be 11 digits (got %(n)s)")),
    (re.compile(r"a landline number, not a mobile"), N_("a landline number, not a mobile")),
    (re.compile(r"a mobile number starts with 13 to 19"), N_("a mobile number starts with 13 to 19")),
    (re.compile(r"no number found"), N_("no number found")),
    (re.compile(r"masked number"), N_("masked number")),
    (re.compile(r"extra text ignored"), N_("extra text ignored")),
    (re.compile(r"several numbers; the first was used"), N_("several numbers; the first was used")),
    (re.compile(r"typed as a number in Excel: digits lost"), N_("typed as a number in Excel: digits lost")),
    (re.compile(r"nothing to find the person by.*"),
     N_("nothing to find the person by: give an ID number, a phone number, or a name and an address")),
    (re.compile(r"address not in gazetteer"), N_("address not in the address book: a locate task goes up")),
    (re.compile(r"building spans several grids"), N_("the building spans several grids")),
    (re.compile(r"room not in gazetteer; placed by building"), N_("room not in the address book; placed by building")),
    (re.compile(r"not a date or time: (?P<v>.*)"), N_("not a date or time: %(v)s")),
    (re.compile(r"unknown category (?P<v>.*)"), N_("unknown category %(v)s")),
    (re.compile(r"longer than (?P<n>\d+) characters, cut"), N_("longer than %(n)s characters, cut")),
]

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


def issue_translator(request: Request) -> Callable[[str], Issue]:
    """`"phone: should be 11 digits (got 5)"` → Issue(phone, 手机号, 应为 11 位(实际 5 位))."""
    _ = gettext_for(request)
    locale = request_locale(request)

    def translate(text: str) -> Issue:
        field, sep, message = str(text).partition(": ")
        if not sep:
            field, message = "", str(text)
        shown = message
        if isinstance(text, FieldIssue) and isinstance(text.message, Message):  # a registered message
            field, shown = text.field, translate_message(text.message, locale)
            return Issue(field, _(FIELD_LABELS[field]) if field in FIELD_LABELS else field, shown)
        for pattern, msgid in ISSUE_PATTERNS:
            m = pattern.fullmatch(message)
            if m:
                shown = _(msgid) % m.groupdict() if m.groupdict() else _(msgid)
                break
        return Issue(field, _(FIELD_LABELS[field]) if field in FIELD_LABELS else field, shown)

    return translate


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
        raise ValidationFailed("invalid day", [FieldError("day", "a date like 2022-04-18")]) from None


def units_by_id(session: Session, ids: set[int]) -> dict[int, Unit]:
    if not ids:
        return {}
    return {u.id: u for u in session.execute(select(Unit).where(Unit.id.in_(sorted(ids)))).scalars()}


def scope_unit(session: Session, actor: Actor, unit_id: int | None) -> Unit:
    """The unit a report is about: the one asked for (if visible), else the actor's own, else the root."""
    if unit_id is not None:
        return jurisdictions_service.get_unit(session, actor, unit_id)
    if actor.unit_id is not None:
        return jurisdictions_service.get_unit(session, actor, actor.unit_id)
    return jurisdictions_service.root_unit(session)


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


async def saved_upload(upload: UploadFile, folder: Path) -> Path:
    name = Path(upload.filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValidationFailed("unknown file type", [FieldError("file", "the file must be .csv or .xlsx")])
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ValidationFailed("file too large", [FieldError("file", "at most 20 MB")])
    if not data:
        raise ValidationFailed("empty file", [FieldError("file", "the file is empty")])
    path = folder / (re.sub(r"[^\w.\-]", "_", Path(name).stem)[:80] + suffix)
    path.write_bytes(data)
    return path


def report_page(request: Request, *, title: str, rows: list[ReportRow], back: str, back_label: str,
                 actor: Actor, extra_col: str | None = None) -> Response:
    tr = issue_translator(request)
    counts = {s: sum(1 for r in rows if r.status == s) for s in ("accepted", "duplicate", "rejected")}
    return render(request, "intake/import_report.html", actor=actor, title=title, counts=counts, back=back,
                  back_label=back_label, extra_col=extra_col,
                  rows=[{"row": r, "issues": [tr(i) for i in r.issues]} for r in rows])
