"""`fangkong import roster|samples|results`, `fangkong export compliance`, `fangkong testing …`
(重点人群检测的命令行). `fangkong groups` is the policy CLI's."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import (
    EXIT_USAGE,
    HEADERS_HELP,
    check_export_args,
    cli_session,
    describe_error,
    export_app,
    fail,
    import_app,
    print_created,
    print_rows,
)
from fangkong.kernel.i18n import _
from fangkong.testing import jobs as _jobs  # noqa: F401  (registers testing.overdue)

REPORT_HELP = _("Write a per-row report (CSV, UTF-8 with BOM) to this file.")
JSON_HELP = _("Print JSON.")

testing_app = typer.Typer(help=_("Testing of key groups: headcounts, sampling points, coverage, compliance."),
                          no_args_is_help=True)
app.add_typer(testing_app, name="testing")


def _run_import(description: str, path: Path, report: Path | None, work: Any, extra: list[str]) -> None:
    from fangkong.kernel.tabular import run_import

    run_import(description, path, report, work, extra)


@import_app.command("roster", help=_("Import an employer's roster of a key group (name, ID number, phone)."))
def import_roster_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    group: str = typer.Option(..., "--group", help=_("Key group code (see `fangkong groups`).")),
    employer: str = typer.Option(..., "--employer", help=_("Employer code, reference or name; registered if new.")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    from fangkong.testing import service

    def work(session: Any, actor: Any, path: Path, progress: Any = None) -> Any:
        return service.import_roster(session, actor, path, group_code=group, employer_ref=employer, progress=progress)

    _run_import(_("Importing roster"), file, report, work, ["match_rule", "member_id"])


@import_app.command("samples", help=_("Import sampling records: tube barcode, pool size, ID number or phone, name, "
                                      "collected_at, sampling point."))
def import_samples_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    from fangkong.testing import service

    def work(session: Any, actor: Any, path: Path, progress: Any = None) -> Any:
        return service.import_samples(session, actor, path, progress=progress)

    _run_import(_("Importing samples"), file, report, work, ["tube_barcode", "position"])


@import_app.command("results", help=_("Import lab results per tube: tube barcode, result, Ct values, lab, "
                                      "reported_at."))
def import_results_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    from fangkong.testing import service

    def work(session: Any, actor: Any, path: Path, progress: Any = None) -> Any:
        return service.import_results(session, actor, path, progress=progress)

    _run_import(_("Importing results"), file, report, work, ["tube_barcode", "result", "version"])


def _unit_id(session: Any, code: str | None) -> int | None:
    if not code:
        return None
    from fangkong.kernel.jurisdictions import service as jurisdictions_service

    unit = jurisdictions_service.get_unit_by_code(session, code)
    if unit is None:
        fail(_("unknown unit {code}").format(code=code), EXIT_USAGE)
    return unit.id  # type: ignore[union-attr]


def _employer_id(session: Any, actor: Any, ref: str | None) -> int | None:
    if not ref:
        return None
    from fangkong.testing import service

    place = service.find_employer(session, actor, ref)
    if place is None:
        fail(_("unknown employer {ref}").format(ref=ref), EXIT_USAGE)
    return place.id  # type: ignore[union-attr]


@export_app.command("compliance", help=_("Export one row per group member: person_id, group, employer, "
                                         "last_negative_at, next_due_at, overdue_hours (CSV or XLSX by suffix)."))
def export_compliance_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file (.csv or .xlsx).")),
    unit: str = typer.Option(None, "--unit", help=_("Only members of this unit's subtree (unit code).")),
    employer: str = typer.Option(None, "--employer", help=_("Only members of this employer.")),
    group: str = typer.Option(None, "--group", help=_("Only this key group.")),
    status: str = typer.Option(None, "--status", help=_("compliant, grace, overdue or not_due.")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.testing import service

    if status and status not in ("compliant", "grace", "overdue", "not_due"):
        fail(_("--status must be compliant, grace, overdue or not_due"), EXIT_USAGE)
    check_export_args(out, headers)
    with cli_session() as session:
        n = service.export_compliance(session, SYSTEM_ACTOR, out=out, unit_id=_unit_id(session, unit),
                                      employer_id=_employer_id(session, SYSTEM_ACTOR, employer), group_code=group,
                                      status=status, headers=headers)
    typer.echo(_("{n} rows written to {out}").format(n=n, out=out), err=True)


@export_app.command("coverage", help=_("Export enrolment coverage: declared headcount against enrolled persons per employer and group."))
def export_coverage_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file (.csv or .xlsx).")),
    unit: str = typer.Option(None, "--unit", help=_("Unit code (default: the whole city).")),
    group: str = typer.Option(None, "--group", help=_("Only this key group.")),
    gaps_only: bool = typer.Option(False, "--gaps", help=_("Only rows with a gap.")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    from fangkong.kernel.cli_support import run_export
    from fangkong.testing import exports as _kinds  # noqa: F401 (registers the testing export kinds)

    check_export_args(out, headers)
    with cli_session() as session:
        unit_id = _unit_id(session, unit)
    n = run_export("coverage", out, headers=headers, params={
        "unit_id": str(unit_id) if unit_id else "", "group": group or "", "gaps": "1" if gaps_only else ""})
    typer.echo(_("{n} rows written to {out}").format(n=n, out=out), err=True)


@testing_app.command("headcount", help=_("Declare an employer's expected headcount in a key group."))
def headcount_cmd(
    employer: str = typer.Argument(..., help=_("Employer code, reference or name.")),
    group: str = typer.Argument(..., help=_("Key group code.")),
    declared: int = typer.Argument(..., help=_("Expected number of persons.")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.testing import service

    with cli_session() as session:
        employer_id = _employer_id(session, SYSTEM_ACTOR, employer)
        assert employer_id is not None
        row = service.declare_headcount(session, SYSTEM_ACTOR, employer_id=employer_id, group_code=group,
                                        declared=declared)
        ids = {"headcount_id": row.id, "employer_id": employer_id, "group": row.group_code, "declared": declared}
    print_created(_("Declared {n} for {group} at {employer}").format(n=declared, group=group, employer=employer),
                  ids, as_json=as_json)


@testing_app.command("hours", help=_("Set a sampling point's opening hours, e.g. 08:00-20:00."))
def hours_cmd(
    point: str = typer.Argument(..., help=_("Sampling point code.")),
    hours: str = typer.Argument(..., help=_("Opening hours HH:MM-HH:MM, local time.")),
    days: str = typer.Option("1234567", "--days", help=_("ISO weekdays open, 1 = Monday (default every day).")),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.places import service as places_service
    from fangkong.testing import rules, service

    try:
        opens, closes = rules.parse_hours(hours)
    except ValueError as exc:
        fail(describe_error(exc), EXIT_USAGE)
        raise
    with cli_session() as session:
        place = places_service.get_place_by_code(session, SYSTEM_ACTOR, point)
        if place is None:
            fail(_("unknown sampling point {code}").format(code=point), EXIT_USAGE)
        assert place is not None
        service.set_hours(session, SYSTEM_ACTOR, place_id=place.id, opens=opens, closes=closes, days=days)
    typer.echo(f"{point} {opens}-{closes} ({days})")


@testing_app.command("coverage", help=_("Coverage: declared headcount against enrolled persons, with the gaps."))
def coverage_cmd(
    unit: str = typer.Option(None, "--unit", help=_("Unit code (default: the whole city).")),
    group: str = typer.Option(None, "--group", help=_("Only this key group.")),
    gaps_only: bool = typer.Option(False, "--gaps", help=_("Only rows with a gap.")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.testing import service

    with cli_session() as session:
        rep = service.coverage(session, SYSTEM_ACTOR, unit_id=_unit_id(session, unit), group_code=group)
        rows = rep.gaps if gaps_only else rep.rows
        out = [(r.employer_code, r.employer_name, r.unit_name, r.group_code,
                "" if r.declared is None else r.declared, r.enrolled, "" if r.gap is None else r.gap, r.problem or "")
               for r in rows]
    print_rows(["employer", "name", "unit", "group", "declared", "enrolled", "gap", "problem"], out, as_json=as_json)


@testing_app.command("compliance", help=_("Compliance per unit: members, compliant, in grace, overdue."))
def compliance_cmd(
    unit: str = typer.Option(None, "--unit", help=_("Unit code (default: the whole city).")),
    group: str = typer.Option(None, "--group", help=_("Only this key group.")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.testing import service

    with cli_session() as session:
        rows = service.summary(session, SYSTEM_ACTOR, unit_id=_unit_id(session, unit), group_code=group)
    cols = ["unit_code", "unit_name", "members", "compliant", "grace", "overdue", "not_due", "compliance_pct"]
    print_rows(cols, [[r[c] for c in cols] for r in rows], as_json=as_json)


@testing_app.command("turnaround", help=_("Turnaround from sampling to result per lab and sampling point."))
def turnaround_cmd(
    days: int = typer.Option(7, "--days", min=1, max=366, help=_("Tubes sampled in the last N days.")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.testing import service

    with cli_session() as session:
        data = service.turnaround(session, SYSTEM_ACTOR, since=clock.now() - dt.timedelta(days=days))
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    cols = ["lab", "tubes", "median_hours", "p90_hours", "max_hours", "within_target_pct", "late_positives"]
    print_rows(cols, [[r[c] for c in cols] for r in data["by_lab"]],
               title=_("Turnaround (target {h} h)").format(h=data["target_hours"]))
    cols = ["sampling_point", "sampling_point_name", "tubes", "median_hours", "p90_hours", "within_target_pct"]
    print_rows(cols, [[r[c] for c in cols] for r in data["by_sampling_point"]])
