"""`fangkong import leads|risk-areas`, `fangkong export leads`, `fangkong report clearance|reconciliation`,
`fangkong leads verify` (重点人员排查的命令行)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer

from fangkong.cli import app
from fangkong.intake import jobs as _jobs  # noqa: F401  (registers the intake jobs)
from fangkong.kernel import cli_support
from fangkong.kernel.cli_support import (
    EXIT_USAGE,
    HEADERS_HELP,
    check_export_args,
    describe_error,
    export_app,
    fail,
    import_app,
    print_rows,
)
from fangkong.kernel.i18n import _

REPORT_HELP = _("Write a per-row report (CSV, UTF-8 with BOM) to this file.")
JSON_HELP = _("Print JSON.")

#: `fangkong report …` is shared with later capabilities (daily report); created once
report_app = cli_support.report_app
leads_app = typer.Typer(help=_("Key-person leads."), no_args_is_help=True)
app.add_typer(leads_app, name="leads")


def _day(text: str | None) -> dt.date:
    from fangkong.kernel import clock

    if not text:
        return clock.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(_("--day must be a date like 2022-04-18"), EXIT_USAGE)
        raise


def _unit_id(session: Any, code: str | None) -> int | None:
    from fangkong.kernel.jurisdictions import service as jurisdictions_service

    if not code:
        return None
    unit = jurisdictions_service.get_unit_by_code(session, code)
    if unit is None:
        fail(_("unknown unit {code}").format(code=code), EXIT_USAGE)
    return unit.id  # type: ignore[union-attr]


@import_app.command("leads", help=_("Import key-person leads from a CSV or XLSX file of one channel."))
def import_leads_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX with Chinese or English headers (姓名/name, 身份证号/id_number …).")),
    channel: str = typer.Option(..., "--channel", help=_("Channel: bigdata, employer, community, telecom, checkpoint, tip, self, assist.")),
    category: str = typer.Option(None, "--category", help=_("Category for rows that give none (close_contact, inbound_traveller …).")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
    as_json: bool = typer.Option(False, "--json", help=_("Print a JSON summary (counts and batch id).")),
) -> None:
    from fangkong.intake.models import CHANNELS
    from fangkong.intake.service.ingest import import_leads_file
    from fangkong.kernel.tabular import run_import

    if channel not in CHANNELS:
        fail(_("unknown channel {channel}; one of {known}").format(channel=channel, known=", ".join(CHANNELS)),
             EXIT_USAGE)
    found: dict[str, Any] = {}

    def work(session: Any, actor: Any, path: Path, progress: Any) -> Any:
        from fangkong.kernel.policy import service as policy_service

        if category is not None and category not in policy_service.active_pack(session).categories:
            fail(_("unknown category {category}").format(category=category), EXIT_USAGE)
        result = import_leads_file(session, actor, path, channel=channel, category=category, progress=progress)
        found["batch_id"] = result.batch_id
        return result.rows

    rows = run_import(_("Importing leads"), file, report, work, ["lead_id", "match_rule"])
    if as_json:
        from fangkong.kernel.tabular import summarise

        typer.echo(json.dumps({"batch_id": found.get("batch_id"), "rows": len(rows), **summarise(rows)},
                              ensure_ascii=False))


@import_app.command("risk-areas", help=_("Import high- and medium-risk areas from CSV or XLSX, as the national "
                                          "lists publish them or by region_name."))
def import_risk_areas_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX with the columns 省, 市, 县区, 风险区名称 (or region_name: "
                                            "a county, or a place inside one), 风险等级, 开始时间, 结束时间.")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    from fangkong.intake.headers import RISK_AREA_COLUMNS, RISK_AREA_WHERE
    from fangkong.intake.service import import_risk_areas
    from fangkong.kernel.tabular import read_table, run_import

    def work(session: Any, actor: Any, path: Path, progress: Any) -> Any:
        table = read_table(path, RISK_AREA_COLUMNS, required_any=RISK_AREA_WHERE)
        return table.report(import_risk_areas(session, actor, rows=list(table), filename=path.name))

    run_import(_("Importing risk areas"), file, report, work, ["risk_area_id"])


@import_app.command("outcomes", help=_("Import feedback sheets (核查反馈表): source_ref, channel, outcome (started or "
                                        "false_lead), managed_at, controlled_at, measure; times from the sheet."))
def import_outcomes_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX with the columns source_ref, channel, outcome, managed_at, "
                                            "controlled_at, measure.")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    from fangkong.intake.service import import_outcomes_file
    from fangkong.kernel.tabular import run_import

    def work(session: Any, actor: Any, path: Path, progress: Any) -> Any:
        return import_outcomes_file(session, actor, path)

    run_import(_("Importing feedback sheets"), file, report, work, ["lead_id", "measure_id"])


@export_app.command("leads", help=_("Export leads, one row each (ID and phone masked unless --unmasked)."))
def export_leads_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file, .csv or .xlsx.")),
    unmasked: bool = typer.Option(False, "--unmasked", help=_("Full ID and phone numbers (audited).")),
    channel: str = typer.Option(None, "--channel", help=_("Only this channel.")),
    status: str = typer.Option(None, "--status", help=_("Only this status.")),
    unit: str = typer.Option(None, "--unit", help=_("Only leads owned in this unit's subtree (unit code).")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    from fangkong.intake.service import export_leads
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.bootstrap import load_mode
    from fangkong.kernel.db import unit_of_work
    from fangkong.kernel.errors import DomainError

    check_export_args(out, headers)
    try:
        with unit_of_work() as session:
            load_mode(session)
            n = export_leads(session, SYSTEM_ACTOR, out=out, unmasked=unmasked, channel=channel, status=status,
                             unit_id=_unit_id(session, unit), headers=headers)
    except DomainError as exc:
        fail(describe_error(exc))
    typer.echo(_("{n} leads written to {out}").format(n=n, out=out))


def _day_params(session: Any, day: str | None, unit: str | None) -> dict[str, str]:
    unit_id = _unit_id(session, unit)
    return {"day": _day(day).isoformat(), "unit_id": str(unit_id) if unit_id else ""}


@export_app.command("clearance", help=_("Export a day's daily clearance lead by lead (clocks, due time, cleared by the cut-off)."))
def export_clearance_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file, .csv or .xlsx.")),
    day: str = typer.Option(None, "--day", help=_("The day (YYYY-MM-DD, local); today by default.")),
    unit: str = typer.Option(None, "--unit", help=_("Unit code; the whole tree by default.")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    _export_day("clearance", out, day, unit, headers)


@export_app.command("reconciliation", help=_("Export a day's reconciliation lists (channels set against each other)."))
def export_reconciliation_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file, .csv or .xlsx.")),
    day: str = typer.Option(None, "--day", help=_("The day (YYYY-MM-DD, local); today by default.")),
    unit: str = typer.Option(None, "--unit", help=_("Unit code; the whole tree by default.")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    _export_day("reconciliation", out, day, unit, headers)


def _export_day(kind: str, out: Path, day: str | None, unit: str | None, headers: str | None) -> None:
    from fangkong.intake import exports as _kinds  # noqa: F401 (registers the intake export kinds)
    from fangkong.kernel.db import unit_of_work

    with unit_of_work() as session:
        params = _day_params(session, day, unit)
    n = cli_support.run_export(kind, out, headers=headers, params=params)
    typer.echo(_("{n} rows written to {out}").format(n=n, out=out))


@report_app.command("clearance", help=_("Daily clearance: leads received, cleared, open, overdue and the clocks."))
def clearance_cmd(
    day: str = typer.Option(None, "--day", help=_("The day (YYYY-MM-DD, local); today by default.")),
    unit: str = typer.Option(None, "--unit", help=_("Unit code; the whole tree by default.")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.intake.service import daily_clearance
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.bootstrap import load_mode
    from fangkong.kernel.db import unit_of_work

    with unit_of_work() as session:
        load_mode(session)
        data = daily_clearance(session, SYSTEM_ACTOR, day=_day(day), unit_id=_unit_id(session, unit))
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    cols = ["unit_code", "received", "cleared", "open", "overdue", "not_cleared_by_cutoff",
            "received_known_median_min", "known_managed_median_min", "known_managed_p90_min",
            "managed_controlled_median_min"]
    rows = [[u.get(c) for c in cols] for u in data["units"]]
    rows.append([_("total")] + [data["totals"].get(c) for c in cols[1:]])
    print_rows(cols, rows, title=_("Daily clearance {day} (cut-off {cutoff})").format(
        day=data["day"], cutoff=data["cutoff_at"]))


@report_app.command("reconciliation", help=_("Reconciliation: channels set against each other for a day."))
def reconciliation_cmd(
    day: str = typer.Option(None, "--day", help=_("The day (YYYY-MM-DD, local); today by default.")),
    unit: str = typer.Option(None, "--unit", help=_("Unit code; the whole tree by default.")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.intake.service import reconciliation
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.bootstrap import load_mode
    from fangkong.kernel.db import unit_of_work

    with unit_of_work() as session:
        load_mode(session)
        data = reconciliation(session, SYSTEM_ACTOR, day=_day(day), unit_id=_unit_id(session, unit))
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    rows: list[list[Any]] = []
    for key in ("data_not_community", "checkpoint_not_verified"):
        rows += [[key, i["person_id"], i["name"] or "", ",".join(i["channels"]),
                  ",".join(map(str, i["lead_ids"])), ""] for i in data[key]]
    rows += [["assist_unanswered", a["person_id"], "", "", a["lead_id"] or "", f"{a['direction']} {a['region'] or ''}"]
             for a in data["assist_unanswered"]]
    print_rows(["list", "person_id", "name", "channels", "leads", "assist"], rows,
               title=_("Reconciliation {day}").format(day=data["day"]))


@leads_app.command("verify", help=_("Record the four checks of a lead's open task (outcome and next step)."))
def verify_cmd(
    lead_id: int = typer.Argument(..., help=_("Lead id.")),
    outcome: str = typer.Option(..., "--outcome", help=_("found_home, found_site, not_at_address, left_city, controlled_elsewhere or false_lead.")),
    destination: str = typer.Option(None, "--destination", help=_("Where the person went (left_city).")),
    site: int = typer.Option(None, "--site", help=_("Quarantine site place id (found_site).")),
    note: str = typer.Option(None, "--note", help=_("A note for the record.")),
    headcount: int = typer.Option(None, "--headcount", min=0,
                                  help=_("Headcount: persons at the address, household included.")),
    identity: str = typer.Option(None, "--identity", help=_("Identity confirmed in person: yes or no.")),
    location: str = typer.Option(None, "--location", help=_("Location: where the person is now.")),
    control: str = typer.Option(None, "--control", help=_("Control status: the measure in place.")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.intake.service import record_verification
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.bootstrap import load_mode
    from fangkong.kernel.db import unit_of_work
    from fangkong.kernel.errors import DomainError

    checks = {k: v for k, v in {"headcount": headcount, "identity": identity, "location": location,
                                "control": control}.items() if v is not None}
    try:
        with unit_of_work() as session:
            load_mode(session)
            lead = record_verification(session, SYSTEM_ACTOR, lead_id=lead_id, outcome_code=outcome,
                                       four_checks=checks, destination=destination, site_place_id=site, note=note)
            result = {"lead_id": lead.id, "status": lead.status, "measure_id": lead.measure_id,
                      "task_id": lead.verification_task_id, "headcount": lead.headcount}
    except DomainError as exc:
        fail(describe_error(exc))
    cli_support.print_created(_("lead {lead_id}: {status}").format(**result), result, as_json=as_json)
