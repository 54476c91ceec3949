"""Feedback sheets (核查反馈表): what was done about pushed leads and when, from a file.

A lead is found by (channel, source_ref). `started`: verified at `managed_at`, and the measure named in
`measure` (a pack measure code such as `home_quarantine`) started at `controlled_at`, even where the
lead's category asked for none (the sheet records what was done). `false_lead`: verified and closed at
`managed_at`. Times come from the sheet, never the clock: managed ≥ received, controlled ≥ managed,
none in the future. A row already applied with the same outcome and times is `duplicate`."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.intake.models import CHANNELS, Lead
from fangkong.intake.service.risk_areas import read_time
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.messages import FieldIssue, Term, _, message
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportRow, Row, read_table
from fangkong.kernel.tasks import service as tasks_service

#: words a sheet may use → outcome
OUTCOME_WORDS = {"started": "started", "已管控": "started", "落实管控": "started", "已落实管控": "started",
                 "管控": "started", "false_lead": "false_lead", "排除": "false_lead", "不属实": "false_lead",
                 "信息有误": "false_lead", "非重点人员": "false_lead"}

UNKNOWN_LEAD = message("outcome.unknown_lead", _("no lead of channel %(channel)s with this reference: %(ref)s"))
UNKNOWN_OUTCOME = message("outcome.unknown", _("one of started, false_lead (已管控, 排除)"))
UNKNOWN_CHANNEL_WORD = message("outcome.unknown_channel", _("unknown channel %(channel)s"))
REQUIRED = message("outcome.required", _("required"))
BEFORE_RECEIPT = message("outcome.before_receipt", _("before the lead was received (%(received)s)"))
BEFORE_MANAGED = message("outcome.before_managed", _("before managed_at"))
IN_FUTURE = message("outcome.in_future", _("in the future"))
UNKNOWN_MEASURE = message("outcome.unknown_measure", _("not a measure of the active pack: %(measure)s"))
NOT_OPEN = message("outcome.not_open", _("lead %(id)s is %(status)s, not waiting for verification"))


def _category_for(pack: Any, own: str | None, measure: str) -> str | None:
    """The category whose first phase is `measure`: the lead's own when it matches, else the pack's first."""
    def first(code: str) -> str | None:
        cat = pack.categories.get(code)
        return cat.phases[0].measure if cat is not None and cat.phases else None

    if own and first(own) == measure:
        return own
    return next((code for code in pack.categories if first(code) == measure), None)


def import_outcomes(session: Session, actor: Actor, *, rows: Iterable[Row], filename: str | None = None
                    ) -> list[ReportRow]:
    """Rows of a feedback sheet → one report line each (accepted | duplicate | rejected)."""
    actor.require("lead.verify")
    pack = policy_service.active_pack(session)
    now = clock.now()
    report: list[ReportRow] = []
    for row in rows:
        v = row.values
        issues: list[FieldIssue] = []
        ref = " ".join(unicodedata.normalize("NFKC", v.get("source_ref") or "").split())
        channel = (v.get("channel") or "").strip().lower()
        word = unicodedata.normalize("NFKC", v.get("outcome") or "").strip().lower()
        outcome = OUTCOME_WORDS.get(word)
        managed_at = read_time(v.get("managed_at"), "managed_at", issues)
        controlled_at = read_time(v.get("controlled_at"), "controlled_at", issues)
        measure = (v.get("measure") or "").strip()
        if not ref:
            issues.append(FieldIssue("source_ref", REQUIRED()))
        if channel not in CHANNELS:
            issues.append(FieldIssue("channel", UNKNOWN_CHANNEL_WORD(channel=channel or "''")))
        if outcome is None:
            issues.append(FieldIssue("outcome", UNKNOWN_OUTCOME()))
        if managed_at is None and not any(i.field == "managed_at" for i in issues):
            issues.append(FieldIssue("managed_at", REQUIRED()))
        if outcome == "started":
            if controlled_at is None and not any(i.field == "controlled_at" for i in issues):
                issues.append(FieldIssue("controlled_at", REQUIRED()))
            if not measure:
                issues.append(FieldIssue("measure", REQUIRED()))
            elif measure not in pack.measures or _category_for(pack, None, measure) is None:
                issues.append(FieldIssue("measure", UNKNOWN_MEASURE(measure=measure)))
        for name, at in (("managed_at", managed_at), ("controlled_at", controlled_at)):
            if at is not None and at > now:
                issues.append(FieldIssue(name, IN_FUTURE()))
        if managed_at is not None and controlled_at is not None and controlled_at < managed_at:
            issues.append(FieldIssue("controlled_at", BEFORE_MANAGED()))
        lead = None
        if ref and channel in CHANNELS:
            lead = session.execute(scope.visible(select(Lead).where(Lead.channel == channel, Lead.source_ref == ref),
                                                 actor, Lead)).scalar_one_or_none()
            if lead is None:
                issues.append(FieldIssue("source_ref", UNKNOWN_LEAD(channel=Term(channel, kind="channel"), ref=ref)))
            elif managed_at is not None and managed_at < lead.received_at:
                issues.append(FieldIssue("managed_at", BEFORE_RECEIPT(received=clock.iso_local(lead.received_at))))
        if issues or lead is None:
            report.append(ReportRow(row.number, "rejected", None, list(issues)))
            continue
        assert managed_at is not None and outcome is not None
        status = _apply(session, actor, pack, lead, outcome=outcome, managed_at=managed_at,
                        controlled_at=controlled_at, measure=measure, issues=issues)
        report.append(ReportRow(row.number, status, lead.person_id, list(issues),
                                {"lead_id": lead.id, "measure_id": lead.measure_id or ""}))
    counts = {s: sum(1 for r in report if r.status == s) for s in ("accepted", "duplicate", "rejected")}
    audit.record(session, actor, "intake.outcomes_imported", object_type="lead", filename=filename, **counts)
    return report


def _apply(session: Session, actor: Actor, pack: Any, lead: Lead, *, outcome: str, managed_at: dt.datetime,
           controlled_at: dt.datetime | None, measure: str, issues: list[FieldIssue]) -> str:
    code = "found_home" if outcome == "started" else "false_lead"
    if lead.status not in ("known", "locating") or lead.verification_task_id is None:
        same = lead.outcome_code == code and lead.managed_at == managed_at and (
            outcome == "false_lead" or lead.controlled_at == controlled_at)
        if same:
            return "duplicate"
        issues.append(FieldIssue("source_ref", NOT_OPEN(id=lead.id, status=Term(lead.status, kind="lead_status"))))
        return "rejected"
    tasks_service.complete_task(session, actor, lead.verification_task_id, by_owner=True, outcome_code=code,
                                outcome={"sheet": True, "managed_at": clock.iso_local(managed_at)},
                                note="核查反馈表")
    lead.outcome_code, lead.managed_at = code, managed_at
    if outcome == "false_lead":
        lead.closed_at, lead.status = managed_at, "closed"
    else:
        assert controlled_at is not None and lead.person_id is not None
        category = _category_for(pack, lead.decision_category, measure)
        assert category is not None
        m = control_service.start_measure(session, actor, person_id=lead.person_id, category=category,
                                          rule="outcomes.sheet", lead_id=lead.id, started_at=controlled_at,
                                          pack_version=pack.version_tag, arrival_at=lead.arrival_at)
        lead.measure_id, lead.measure_code = m.id, measure
        lead.controlled_at, lead.status = controlled_at, "controlled"
    session.flush()
    audit.record(session, actor, "intake.lead_verified", object_type="lead", object_id=lead.id,
                 outcome_code=code, status=lead.status, measure_id=lead.measure_id, via="outcomes")
    return "accepted"


def import_outcomes_file(session: Session, actor: Actor, path: Path) -> list[ReportRow]:
    """`fangkong import outcomes FILE` (CSV or XLSX). Raises UnusableFile."""
    from fangkong.intake.headers import OUTCOME_COLUMNS

    table = read_table(path, OUTCOME_COLUMNS, required_any=["source_ref"])
    return table.report(import_outcomes(session, actor, rows=list(table), filename=path.name))
