"""Intake pages (重点人员排查页面): leads, the forms that create them, the four checks and a person's
leads; the report pages (clearance, risk areas, the old reconciliation URL) live in `pages_reports` and are
included here. Thin like the JSON API: parse, call intake's services, render.

The public forms (/report 自觉报备, /tip 群众举报) need no sign-in. They are protected against
cross-site posting by a signed form token bound to a cookie (see `_FormToken`); the token's nonce is
also the lead's `source_ref`, so a form sent twice is one lead.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from fangkong.control import service as control_service
from fangkong.intake import imports, kinds, pages_reports, service
from fangkong.intake.errors import INVALID_VERIFICATION
from fangkong.intake.exports import LEADS
from fangkong.intake.masking import masked_payload
from fangkong.intake.models import CHANNELS, LEAD_STATUSES, Lead
from fangkong.intake.pages_common import (
    CHANNEL_LABELS,
    FIELD_LABELS,
    IMPORT_CHANNELS,
    PAGE_SIZE,
    RULE_LABELS,
    STATUS_LABELS,
    CanExport,
    CanImport,
    CanVerify,
    CanView,
    CanViewPersons,
    Issue,
    issue_translator,
    labeler,
    lead_rows,
    namer,
    overdue_leads,
    pack_of,
    parse_day,
    units_by_id,
)
from fangkong.intake.service.verification import OPEN_STATUSES, pushed_to
from fangkong.kernel import clock, export, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import (
    INVALID_FILTER,
    REQUIRED,
    UNKNOWN_STATUS,
    DomainError,
    FieldError,
    NotFound,
    ValidationFailed,
)
from fangkong.kernel.imports import service as imports_service
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.messages import FieldIssue, field_label, label_of, message, translate
from fangkong.kernel.people import crypto
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.labels import rule_label
from fangkong.kernel.policy.schema import Pack
from fangkong.kernel.tabular import ReportRow, UnusableFile
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.web import routes_imports
from fangkong.kernel.web.deps import DbSession, FormFields, RowId, parse_cursor
from fangkong.kernel.web.nav import N_, register_nav, register_person_section
from fangkong.kernel.web.ratelimit import public_limit
from fangkong.kernel.web.templating import gettext_for, render, request_locale

pages = APIRouter(include_in_schema=False)
# the report pages first: their fixed paths (/leads/clearance …) must win over /leads/{lead_id}
pages.include_router(pages_reports.router)

register_nav("leads", N_("Leads"), "/leads", "lead.view", 12, group="people")
register_nav("clearance", N_("Daily clearance"), "/leads/clearance", "lead.view", 13, group="people")
register_nav("risk_areas", N_("Risk areas"), "/risk-areas", "lead.view", 15, group="people")
register_person_section("leads", "/persons/{person_id}/leads", "lead.view", 10)


# --- the lead list and export -------------------------------------------------------------------------

@dataclass
class LeadFilter:
    channel: str | None
    status: str | None
    day: dt.date | None
    overdue: bool

    def query(self) -> str:
        from urllib.parse import urlencode

        params = {"channel": self.channel or "", "status": self.status or "",
                  "day": self.day.isoformat() if self.day else "", "overdue": "1" if self.overdue else ""}
        return urlencode({k: v for k, v in params.items() if v})

    def received_bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        return clock.local_day_bounds(self.day) if self.day else (None, None)


def _filter(channel: str, status: str, day: str, overdue: str) -> LeadFilter:
    errors = []
    if channel and channel not in CHANNELS:
        errors.append(FieldError("channel", UNKNOWN_CHANNEL()))
    if status and status not in LEAD_STATUSES:
        errors.append(FieldError("status", UNKNOWN_STATUS()))
    if errors:
        raise ValidationFailed(INVALID_FILTER(), errors)
    return LeadFilter(channel or None, status or None, parse_day(day) if day else None,
                      overdue in ("1", "on", "true"))


@pages.get("/leads")
def leads_page(
    request: Request,
    session: DbSession,
    actor: CanView,
    channel: Annotated[str, Query(max_length=16)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    day: Annotated[str, Query(max_length=10)] = "",
    overdue: Annotated[str, Query(max_length=5)] = "",
    cursor: Annotated[str, Query(max_length=24)] = "",
    unit: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    f = _filter(channel, status, day, overdue)
    if unit:  # narrowed to a unit of the caller's subtree (the command screen's drill-down); 404 outside
        narrowed = scope.visible_unit(session, actor, code=unit)
        actor = replace(actor, unit_id=narrowed.id, unit_path=narrowed.path)
    after = parse_cursor(cursor)
    if f.overdue:
        found = overdue_leads(session, actor, limit=PAGE_SIZE + 1, after_id=after)
        found = [lead for lead in found if (not f.channel or lead.channel == f.channel)
                 and (not f.status or lead.status == f.status)]
    else:
        start, end = f.received_bounds()
        found = service.list_leads(session, actor, status=f.status, channel=f.channel, received_from=start,
                                   received_to=end, limit=PAGE_SIZE + 1, after_id=after)
    next_cursor = str(found[PAGE_SIZE - 1].id) if len(found) > PAGE_SIZE else None
    return render(request, "intake/leads.html", actor=actor, rows=lead_rows(session, found[:PAGE_SIZE]),
                  f=f, after=after, next_cursor=next_cursor, channels=CHANNELS, statuses=LEAD_STATUSES,
                  channel_label=labeler(request, CHANNEL_LABELS), status_label=labeler(request, STATUS_LABELS),
                  can_import=actor.can("lead.import"), can_export=actor.can("lead.export"),
                  can_unmask=actor.can("person.unmask"))


@pages.post("/leads/export")
def export_page(
    request: Request,
    session: DbSession,
    actor: CanExport,
    format: Annotated[str, Form(pattern="^(csv|xlsx)$")] = "csv",
    unmasked: Annotated[str, Form(max_length=5)] = "",
    channel: Annotated[str, Form(max_length=16)] = "",
    status: Annotated[str, Form(max_length=16)] = "",
    day: Annotated[str, Form(max_length=10)] = "",
    overdue: Annotated[str, Form(max_length=5)] = "",
    headers: Annotated[str, Form(pattern="^(en|zh)?$")] = "",
) -> Response:
    """The audited export (线索导出) as a download: masked unless the box is ticked (and allowed)."""
    file = export.download(session, actor, LEADS, fmt=format, unmasked=unmasked in ("1", "on", "true"),
                           headers=headers or None,
                           params={"channel": channel, "status": status, "day": day, "overdue": overdue})
    return FileResponse(file.path, media_type=file.media_type, filename=file.filename,
                        background=BackgroundTask(file.cleanup))


# --- forms that create leads --------------------------------------------------------------------------

UNKNOWN_CHANNEL = message("lead.filter_channel", N_("unknown channel"))
CHOOSE_SITE = message("lead.choose_site", N_("choose a site from the list"))

FORM_FIELDS = ("name", "id_number", "phone", "origin", "arrival_at", "address", "transport", "reason")
TIP_FIELDS = ("name", "id_number", "phone", "address", "origin", "arrival_at", "reason")
FORM_COOKIE = "fk_form"
#: how long a public form stays valid (wall time: a security limit, not a platform date)
FORM_TTL_S = 2 * 3600


class _FormToken:
    """A signed token for the public forms: `nonce.issued.signature`, with the nonce also in an
    HttpOnly SameSite=Strict cookie. Hand-written because the kernel's CSRF token belongs to a signed-in
    session, and these forms have none; a cross-site page can neither read the token nor set the cookie."""

    @staticmethod
    def _sign(body: str) -> str:
        return crypto.blind_index(body, "public_form")[:32]

    @classmethod
    def issue(cls) -> tuple[str, str]:
        nonce = secrets.token_hex(5).upper()
        body = f"{nonce}.{int(time.time())}"
        return nonce, f"{body}.{cls._sign(body)}"

    @classmethod
    def check(cls, token: str, cookie: str | None) -> str | None:
        """The nonce when the token is genuine, fresh and matches the cookie; None otherwise."""
        parts = (token or "").split(".")
        if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit()):
            return None
        nonce, issued, sig = parts
        # a form opened just before a key rotation stays valid (the retiring key is still searched)
        if not any(hmac.compare_digest(sig.encode(), s[:32].encode())
                   for s in crypto.blind_indexes(f"{nonce}.{issued}", "public_form")):
            return None
        if not 0 <= time.time() - int(issued) <= FORM_TTL_S:
            return None
        if not cookie or not hmac.compare_digest(cookie.encode(), nonce.encode()):
            return None
        return nonce


def _public_actor(session: Session, channel: str) -> Actor:
    """Who submits a public form: nobody signed in, allowed only to hand in leads (at the root unit)."""
    root = jurisdictions_service.root_unit(session)
    return Actor(user_id=None, username=f"public:{channel}", role="public", unit_id=root.id, unit_path=root.path,
                 permissions=frozenset({"lead.import"}))


def _categories(pack: Pack, locale: str) -> list[tuple[str, str]]:
    return [(code, c.name_en if locale == "en" else c.name_zh) for code, c in pack.categories.items()]


def _form_page(request: Request, session: Session, *, mode: str, values: dict[str, str],
               issues: list[Issue], status_code: int = 200, token: str | None = None,
               actor: Actor | None = None) -> Response:
    locale = request_locale(request)
    by_field: dict[str, list[str]] = {}
    for i in issues:
        by_field.setdefault(i.field or "_", []).append(i.message)
    headers = None
    form_ref = secrets.token_hex(5).upper()  # the community form's source_ref: a form sent twice is one lead
    if mode != "community":
        nonce, token = _FormToken.issue()
        headers = {"set-cookie": f"{FORM_COOKIE}={nonce}; Path=/; Max-Age={FORM_TTL_S}; HttpOnly; SameSite=Strict"}
    fields = FORM_FIELDS if mode != "tip" else TIP_FIELDS
    return render(request, "intake/lead_form.html", status_code=status_code, headers=headers, actor=actor,
                  form_mode=mode, values=values, by_field=by_field, form_token=token, form_ref=form_ref, fields=fields,
                  field_labels={f: gettext_for(request)(FIELD_LABELS[f]) for f in FIELD_LABELS},
                  categories=_categories(policy_service.active_pack(session), locale) if mode == "community" else [])


def _submit(request: Request, session: Session, actor: Actor, *, channel: str, values: dict[str, str],
            source_ref: str | None, category: str | None) -> tuple[ReportRow | None, list[Issue]]:
    """Ingest one lead; a refused batch (unknown category …) comes back as issues with no row."""
    tr = issue_translator(request)
    item = service.LeadItem(1, {**values, "source_ref": source_ref or ""}, {},
                            {k: v for k, v in values.items() if v} | {"form": channel})
    try:
        result = service.ingest_leads(session, actor, channel=channel, items=[item], category=category,
                                      via="web")
    except ValidationFailed as exc:
        return None, [tr(FieldIssue(e.field, e.message)) for e in exc.fields]
    row = result.rows[0]
    return row, [tr(i) for i in row.issues]


def _received(request: Request, session: Session, *, mode: str, row: ReportRow, issues: list[Issue],
              values: dict[str, str], reference: str | None, actor: Actor | None = None) -> Response:
    by_field: dict[str, list[str]] = {}
    for i in issues:
        by_field.setdefault(i.field or "_", []).append(i.message)
    return render(request, "intake/lead_received.html", actor=actor, form_mode=mode, row=row, issues=issues,
                  by_field=by_field, values=values, reference=reference, lead_id=row.extra.get("lead_id"),
                  fields=FORM_FIELDS if mode != "tip" else TIP_FIELDS,
                  field_labels={f: gettext_for(request)(FIELD_LABELS[f]) for f in FIELD_LABELS})


def _form_values(form: Any, fields: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for f in fields:
        v = form.get(f)
        out[f] = v.strip()[:1000] if isinstance(v, str) else ""
    return out


@pages.get("/leads/new")
def community_form(request: Request, session: DbSession, actor: CanImport) -> Response:
    """The community form (社区排): staff register a person they found."""
    return _form_page(request, session, mode="community", values={}, issues=[], actor=actor)


@pages.post("/leads/new")
def community_submit(request: Request, session: DbSession, actor: CanImport, form: FormFields) -> Response:
    values = _form_values(form, FORM_FIELDS)
    category = form.get("category")
    category = category if isinstance(category, str) and category else None
    nonce = form.get("form_ref")
    ref = f"web-{nonce}" if isinstance(nonce, str) and re.fullmatch(r"[0-9A-F]{10}", nonce) else None
    row, issues = _submit(request, session, actor, channel="community", values=values, source_ref=ref,
                          category=category)
    if row is None or row.status == "rejected":
        return _form_page(request, session, mode="community", values={**values, "category": category or ""},
                          issues=issues, status_code=422, actor=actor)
    return _received(request, session, mode="community", row=row, issues=issues, values=values, reference=None,
                     actor=actor)


def _public_get(request: Request, session: Session, mode: str) -> Response:
    return _form_page(request, session, mode=mode, values={}, issues=[])


def _public_post(request: Request, session: Session, mode: str, form: Any) -> Response:
    _ = gettext_for(request)
    fields = FORM_FIELDS if mode == "self" else TIP_FIELDS
    values = _form_values(form, fields)
    token = form.get("form_token")
    nonce = _FormToken.check(token if isinstance(token, str) else "", request.cookies.get(FORM_COOKIE))
    if nonce is None:
        issue = Issue("", "", _("The form has expired: please fill it in again."))
        return _form_page(request, session, mode=mode, values=values, issues=[issue], status_code=403)
    actor = _public_actor(session, mode)
    row, issues = _submit(request, session, actor, channel=mode, values=values, source_ref=f"web-{nonce}",
                          category=None)
    if row is None or row.status == "rejected":
        return _form_page(request, session, mode=mode, values=values, issues=issues, status_code=422)
    return _received(request, session, mode=mode, row=row, issues=issues, values=values, reference=nonce)


@pages.get("/report")
def self_report_form(request: Request, session: DbSession) -> Response:
    """Self-report (自觉报备): arrivals tell the community they are here. No sign-in."""
    return _public_get(request, session, "self")


@pages.post("/report", dependencies=[public_limit()])
def self_report_submit(request: Request, session: DbSession, form: FormFields) -> Response:
    return _public_post(request, session, "self", form)


@pages.get("/tip")
def tip_form(request: Request, session: DbSession) -> Response:
    """Tip-off (群众举报): a citizen reports someone who may need a measure. No sign-in."""
    return _public_get(request, session, "tip")


@pages.post("/tip", dependencies=[public_limit()])
def tip_submit(request: Request, session: DbSession, form: FormFields) -> Response:
    return _public_post(request, session, "tip", form)


# --- file imports (leads and risk areas) -------------------------------------------------------------

@pages.get("/leads/import")
def leads_import_form(request: Request, session: DbSession, actor: CanImport) -> Response:
    return render(request, "intake/leads_import.html", actor=actor, channels=IMPORT_CHANNELS,
                  channel_label=labeler(request, CHANNEL_LABELS), error=None,
                  categories=_categories(policy_service.active_pack(session), request_locale(request)))


@pages.post("/leads/import")
def leads_import_submit(
    request: Request,
    session: DbSession,
    actor: CanImport,
    file: UploadFile,
    channel: Annotated[str, Form(max_length=16)] = "community",
    category: Annotated[str, Form(max_length=48)] = "",
) -> Response:
    """A lead file (CSV/XLSX) runs as an import job; the answer is its progress view, then the per-row
    report. A file without a recognisable header is refused at once, on the form."""
    pack = policy_service.active_pack(session)
    errors = []
    if channel not in IMPORT_CHANNELS:
        errors.append(FieldError("channel", "unknown channel"))
    if category and category not in pack.categories:
        errors.append(FieldError("category", "unknown category"))
    if errors:
        raise ValidationFailed("invalid import", errors)
    try:
        job = imports_service.submit(session, actor, kind=imports.LEADS, filename=file.filename, stream=file.file,
                                     options={"channel": channel, "category": category or None})
    except UnusableFile as exc:
        return render(request, "intake/leads_import.html", status_code=422, actor=actor,
                      channels=IMPORT_CHANNELS, channel_label=labeler(request, CHANNEL_LABELS),
                      error=translate(exc.message, request_locale(request)),
                      categories=_categories(pack, request_locale(request)))
    return routes_imports.start(request, job)


# --- one lead: payload, person, decision, clocks, the four checks -----------------------------------

def _quarantine_sites(session: Session) -> list[Place]:
    """Every quarantine site in the city, by name: sites are a city-wide resource, so a grid worker
    transferring someone may pick a site outside their own grid (only names and capacity are shown)."""
    stmt = select(Place).where(Place.kind == "quarantine_site").order_by(Place.name, Place.id).limit(500)
    return list(session.execute(stmt).scalars())


#: payload keys whose values are codes with labels (a contact's kind, the form a lead came from)
PAYLOAD_VALUE_LABELS = {"kind": "contact_kind", "form": "channel", "channel": "channel"}


def labelled_payload(rows: list[tuple[str, str]], locale: str,
                     category_name: Callable[[str | None], str]) -> list[tuple[str, str]]:
    """The raw payload's keys as field names people read (身份证号, not `id_number`; a file's own Chinese
    headers stay as they were), and coded values by their labels (a category by the pack's name)."""
    def value(key: str, text: str) -> str:
        if key in PAYLOAD_VALUE_LABELS:
            return translate(label_of(PAYLOAD_VALUE_LABELS[key], text), locale)
        if key == "category":
            return category_name(text) or text
        return text

    return [(field_label(k, locale), value(k, v)) for k, v in rows]


def _visible_person(session: Session, actor: Actor, person_id: int | None) -> Person | None:
    if person_id is None or not actor.can("person.view"):
        return None
    return scope.visible_or_none(actor, session.get(Person, person_id))


def _lead_context(request: Request, session: Session, actor: Actor, lead: Lead) -> dict[str, Any]:
    locale = request_locale(request)
    pack = pack_of(session, lead.pack_version)
    measure_name, category_name = namer(pack, locale)
    task = None
    if lead.verification_task_id is not None and actor.can("task.view"):
        try:
            task = tasks_service.get_task(session, actor, lead.verification_task_id)
        except NotFound:
            task = None
    measure = None
    if lead.measure_id is not None:
        try:
            measure = control_service.get_measure(session, actor, lead.measure_id)
        except (NotFound, DomainError):
            measure = None
    control_status = None
    if lead.person_id is not None and _visible_person(session, actor, lead.person_id) is not None:
        control_status = control_service.status_of(session, [lead.person_id], at=clock.now())[lead.person_id]
    units = units_by_id(session, {lead.unit_id} | ({task.unit_id} if task is not None else set()))
    decision = dict(lead.decision or {})
    outcome_label = None
    if lead.outcome_code in kinds.OUTCOMES:
        zh, en = kinds.OUTCOMES[lead.outcome_code]
        outcome_label = en if locale == "en" else zh
    done_task = None
    if lead.outcome_code and task is not None and task.status == "done":
        done_task = task
    clocks = [("received", lead.received_at), ("known", lead.known_at), ("managed", lead.managed_at),
              ("controlled", lead.controlled_at), ("closed", lead.closed_at)]
    can_verify = (actor.can("lead.verify") and lead.status in OPEN_STATUSES and task is not None
                  and task.status == "open")
    return {
        "pushed_to": pushed_to(session, lead),
        "lead": lead, "payload": labelled_payload(masked_payload(service.lead_payload(lead)), locale, category_name), "person": _visible_person(session, actor, lead.person_id), "task": task, "measure": measure,
        "units": units, "decision": decision, "pack": pack, "measure_name": measure_name,
        "control_status": control_status,
        "category_name": category_name, "outcome_label": outcome_label, "done_task": done_task,
        "clocks": clocks, "can_verify": can_verify, "sites": _quarantine_sites(session) if can_verify else [],
        "issues": [issue_translator(request)(i) for i in lead.issues or []],
        "channel_label": labeler(request, CHANNEL_LABELS), "status_label": labeler(request, STATUS_LABELS),
        "rule_label": labeler(request, RULE_LABELS),
        "policy_rule": translate(rule_label(pack, lead.rule), locale),
        "outcomes": [(code, en if locale == "en" else zh) for code, (zh, en) in kinds.OUTCOMES.items()],
        "checks": [(code, en if locale == "en" else zh) for code, (zh, en) in kinds.FOUR_CHECKS.items()],
        "overdue": task is not None and task.status == "open" and task.due_at is not None
        and task.due_at < clock.now(),
    }


@pages.get("/leads/{lead_id}")
def lead_page(request: Request, lead_id: RowId, session: DbSession, actor: CanView,
              verified: Annotated[str, Query(max_length=2)] = "") -> Response:
    lead = service.get_lead(session, actor, lead_id)
    return render(request, "intake/lead.html", actor=actor, just_verified=verified == "1", form={}, errors={},
                  **_lead_context(request, session, actor, lead))


@pages.post("/leads/{lead_id}/verify")
def verify_submit(request: Request, lead_id: RowId, session: DbSession, actor: CanVerify,
                  form: FormFields) -> Response:
    """The four checks (四个查清) and the outcome → intake's record_verification; then the next step."""

    def text(name: str, limit: int) -> str:
        v = form.get(name)
        return v.strip()[:limit] if isinstance(v, str) else ""

    outcome = text("outcome_code", 32)
    checks: dict[str, Any] = {}
    if text("headcount", 8):
        checks["headcount"] = text("headcount", 8)  # the service checks it is a number
    if text("identity", 3) in ("yes", "no"):
        checks["identity"] = text("identity", 3) == "yes"
    for key in ("location", "control"):
        if text(key, 200):
            checks[key] = text(key, 200)
    site = text("site_place_id", 12)
    errors: dict[str, str] = {}
    if not outcome:
        errors["outcome_code"] = REQUIRED()
    site_id = int(site) if site.isascii() and site.isdigit() and len(site) < 10 else None
    if site and site_id is None:
        errors["site_place_id"] = CHOOSE_SITE()
    try:
        if errors:
            raise ValidationFailed(INVALID_VERIFICATION(), [FieldError(k, v) for k, v in errors.items()])
        service.record_verification(
            session, actor, lead_id=lead_id, outcome_code=outcome, four_checks=checks,
            destination=text("destination", 100) or None,
            site_place_id=site_id if outcome == "found_site" else None, note=text("note", 1000) or None)
    except ValidationFailed as exc:
        lead = service.get_lead(session, actor, lead_id)
        locale = request_locale(request)
        field_errors = {e.field.removeprefix("four_checks."): translate(e.message, locale) for e in exc.fields}
        form_values = {k: text(k, 200) for k in ("outcome_code", "headcount", "identity", "location", "control",
                                                  "destination", "site_place_id", "note")}
        return render(request, "intake/lead.html", status_code=422, actor=actor, just_verified=False,
                      form=form_values, errors=field_errors, **_lead_context(request, session, actor, lead))
    return RedirectResponse(f"/leads/{lead_id}?verified=1#next-step", status_code=303)


# --- a person's leads and measures (for the person page) ---------------------------------------------

@pages.get("/persons/{person_id}/leads")
def person_leads(request: Request, person_id: RowId, session: DbSession, actor: CanViewPersons) -> Response:
    """Every lead that reported this person, and the measures in force: a full page, or (HTMX) the
    section the person page includes."""
    is_fragment = request.headers.get("HX-Request") == "true"
    # the person page that includes this section has audited the view already
    person = people_service.get_person(session, actor, person_id, audit_view=not is_fragment)
    leads = service.leads_of_person(session, actor, person.id) if actor.can("lead.view") else []
    pack = policy_service.active_pack(session)
    measure_name, category_name = namer(pack, request_locale(request))
    template = "intake/_person_leads.html" if is_fragment else "intake/person_leads.html"
    # the person's control status is control's section of the person page; the stand-alone page shows it too
    status = control_service.status_of(session, [person.id], at=clock.now())[person.id]
    return render(request, template, actor=actor, person=people_service.masked_view(person),
                  rows=lead_rows(session, leads), status=status, measure_name=measure_name,
                  category_name=category_name, channel_label=labeler(request, CHANNEL_LABELS),
                  status_label=labeler(request, STATUS_LABELS))
