"""Checkpoint commands (卡口): `fangkong import checkpoints|checkpoint-records|trip-arrivals`,
`fangkong report checkpoints|stranded`, `fangkong export trips`, `fangkong checkpoints list|tasks|close-trip|handover`.
They act as the system (an operator on the server)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from fangkong.checkpoints import jobs as _jobs  # noqa: F401  (registers checkpoints.overdue_tasks)
from fangkong.cli import app
from fangkong.kernel.cli_support import (
    EXIT_USAGE,
    HEADERS_HELP,
    check_export_args,
    cli_session,
    export_app,
    fail,
    import_app,
    print_created,
    print_rows,
    report_app,
)
from fangkong.kernel.i18n import _

checkpoints_app = typer.Typer(help=_("Checkpoints, trucks' trips and stranded vehicles."), no_args_is_help=True)
app.add_typer(checkpoints_app, name="checkpoints")

JSON_HELP = _("Print JSON.")


def _system() -> Any:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    return SYSTEM_ACTOR


def _time(text: str | None, option: str) -> dt.datetime | None:
    from fangkong.kernel import clock

    if not text:
        return None
    try:
        return clock.parse_time(text)
    except Exception:
        fail(_("{option}: not a time: {text}").format(option=option, text=text), EXIT_USAGE)
    return None


def _at(text: str | None) -> dt.datetime:
    from fangkong.kernel import clock

    return _time(text, "--at") or clock.now()


def _day(text: str | None) -> dt.date:
    from fangkong.kernel import clock

    if not text:
        return clock.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(_("--day: expected YYYY-MM-DD"), EXIT_USAGE)
    raise AssertionError


# ---------------------------------------------------------------------------------------------- imports

@import_app.command("checkpoints", help=_("Import checkpoints (ref, name, kind, unit, address, shifts); idempotent by ref."))
def import_checkpoints_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write the per-row report to this CSV file.")),
) -> None:
    from fangkong.checkpoints.service import checkpoints as service
    from fangkong.kernel.tabular import run_import

    run_import(_("Importing checkpoints"), file, report,
               lambda session, actor, path, progress: service.import_checkpoints_file(
                   session, actor, path, progress=progress), extra_columns=["checkpoint_id", "place_code"])


@import_app.command("checkpoint-records", help=_("Import checkpoint records (a row per person; a plate alone is a "
                                                  "sighting); idempotent by record_ref."))
def import_records_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write the per-row report to this CSV file.")),
) -> None:
    from fangkong.checkpoints.service import records as service
    from fangkong.kernel.tabular import run_import

    run_import(_("Importing checkpoint records"), file, report,
               lambda session, actor, path, progress: service.import_records_file(
                   session, actor, path, progress=progress), extra_columns=["lead_id", "trip_id"])


@import_app.command("trip-arrivals", help=_("Import the receivers' arrival confirmations (request_id, plate, epass_no, "
                                             "arrived_at, receiver); idempotent by request_id."))
def import_arrivals_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write the per-row report to this CSV file.")),
) -> None:
    from fangkong.checkpoints.service import trips as service
    from fangkong.kernel.tabular import run_import

    run_import(_("Importing arrivals"), file, report,
               lambda session, actor, path, progress: service.import_arrivals_file(
                   session, actor, path, progress=progress), extra_columns=["trip_id"])


# ----------------------------------------------------------------------------------- reports, exports

@report_app.command("checkpoints", help=_("Shift counts of a day: one row per shift starting on the day per "
                                          "checkpoint (service areas excepted), zeros included."))
def report_checkpoints_cmd(
    day: str = typer.Option(None, "--day", help=_("The day (YYYY-MM-DD, local); today by default.")),
    out: Path = typer.Option(None, "--out", help=_("Write the rows to this file (.csv or .xlsx).")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.checkpoints.exports import SHIFTS
    from fangkong.checkpoints.service import reports
    from fangkong.kernel import export

    the_day = _day(day)
    if out is not None:
        check_export_args(out, headers)
    with cli_session() as session:
        if out is not None:
            n = export.write(session, _system(), SHIFTS, out=out, headers=headers, filters={"day": the_day})
        else:
            rows = reports.shift_counts(session, _system(), day=the_day)
    if out is not None:
        typer.echo(_("{n} rows written to {out}").format(n=n, out=out), err=True)
        return
    print_rows(reports.SHIFT_COLUMNS, [[r[c] for c in reports.SHIFT_COLUMNS] for r in rows], as_json=as_json)


@report_app.command("stranded", help=_("Vehicles stranded at service areas at a moment "
                                       "(plate,service_area,first_seen_at,last_seen_at,hours)."))
def report_stranded_cmd(
    at: str = typer.Option(None, "--at", help=_("As of this time (default now).")),
    out: Path = typer.Option(None, "--out", help=_("Write the rows to this file (.csv or .xlsx).")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
    tasks: bool = typer.Option(False, "--tasks", help=_("Also make a task for each stranded vehicle.")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.checkpoints.exports import STRANDED
    from fangkong.checkpoints.service import reports
    from fangkong.kernel import clock, export

    when = _at(at)
    if out is not None:
        check_export_args(out, headers)
    made: list[int] = []
    with cli_session() as session:
        if tasks:
            made = reports.make_stranded_tasks(session, _system(), at=when)
        if out is not None:
            n = export.write(session, _system(), STRANDED, out=out, headers=headers, filters={"at": when})
        else:
            rows = [v.as_dict() for v in reports.stranded(session, _system(), at=when)]
    if tasks:
        typer.echo(_("{n} tasks made").format(n=len(made)), err=True)
    if out is not None:
        typer.echo(_("{n} rows written to {out}").format(n=n, out=out), err=True)
        return
    cols = reports.STRANDED_COLUMNS
    print_rows(cols, [[clock.iso_local(r[c]) if isinstance(r[c], dt.datetime) else r[c] for c in cols] for r in rows],
               as_json=as_json)


@export_app.command("trips", help=_("Export trucks' trips as of a moment: trip_id,plate,epass_no,entered_at,"
                                    "arrived_at,exited_at,state,overdue_hours."))
def export_trips_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file (.csv or .xlsx).")),
    at: str = typer.Option(None, "--at", help=_("As of this time (later events ignored; default now).")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    from fangkong.checkpoints.exports import TRIPS
    from fangkong.kernel import export

    check_export_args(out, headers)
    when = _at(at)
    with cli_session() as session:
        n = export.write(session, _system(), TRIPS, out=out, headers=headers, filters={"at": when})
    typer.echo(_("{n} rows written to {out}").format(n=n, out=out), err=True)


# ----------------------------------------------------------------------------------------- commands

@checkpoints_app.command("list", help=_("List checkpoints with their kinds and shifts."))
def list_cmd(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    from fangkong.checkpoints.service import checkpoints as service

    with cli_session() as session:
        rows = [(c.place_id, c.ref, c.code, c.name, c.kind, ";".join(s.label for s in c.shifts))
                for c in service.list_checkpoints(session, _system())]
    print_rows(["id", "ref", "code", "name", "kind", "shifts"], rows, as_json=as_json)


@checkpoints_app.command("tasks", help=_("Make a task for every overdue trip and every stranded vehicle as of a moment."))
def tasks_cmd(
    at: str = typer.Option(None, "--at", help=_("As of this time (default now).")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.checkpoints.service import reports, trips

    when = _at(at)
    with cli_session() as session:
        trip_tasks = trips.make_overdue_tasks(session, _system(), at=when)
        stranded_tasks = reports.make_stranded_tasks(session, _system(), at=when)
    print_created(_("{n} trip tasks, {m} stranded-vehicle tasks made").format(n=len(trip_tasks), m=len(stranded_tasks)),
                  {"trip_task_ids": trip_tasks, "stranded_task_ids": stranded_tasks}, as_json=as_json)


@checkpoints_app.command("close-trip", help=_("Close a trip as 'driver staying': its crew become leads."))
def close_trip_cmd(
    trip_id: int = typer.Argument(..., help=_("Trip id.")),
    at: str = typer.Option(None, "--at", help=_("When (default now).")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.checkpoints.service import trips

    with cli_session() as session:
        leads = trips.close_driver_staying(session, _system(), trip_id=trip_id, at=_time(at, "--at"))
    print_created(_("trip {id} closed; {n} leads").format(id=trip_id, n=len(leads)),
                  {"trip_id": trip_id, "lead_ids": leads}, as_json=as_json)


@checkpoints_app.command("handover", help=_("Record a shift's roster and handover note."))
def handover_cmd(
    checkpoint: str = typer.Argument(..., help=_("Checkpoint ref, place code or name.")),
    day: str = typer.Option(..., "--day", help=_("The shift's start day (YYYY-MM-DD).")),
    shift: str = typer.Option(..., "--shift", help=_("The shift, as configured (e.g. 08:00-16:00).")),
    roster: str = typer.Option(None, "--roster", help=_("Who is on duty.")),
    note: str = typer.Option(None, "--note", help=_("The handover note.")),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    from fangkong.checkpoints.service import checkpoints as service

    with cli_session() as session:
        cp = service.find_checkpoint(session, _system(), checkpoint)
        if cp is None:
            fail(_("unknown checkpoint {ref}").format(ref=checkpoint), 1)
        assert cp is not None
        log = service.save_shift_log(session, _system(), place_id=cp.place_id, day=_day(day), shift=shift,
                                     roster=roster, handover=note)
        ids = {"shift_log_id": log.id}
    print_created(_("shift log {id} saved").format(id=ids["shift_log_id"]), ids, as_json=as_json)


@report_app.command("reconciliation", help=_("The data closed loop of a day: gap,person_id,plate,at, one list per gap "
                                             "(pushed, seen at checkpoints, community, arrivals, open trips)."))
def reconciliation_cmd(
    day: str = typer.Option(None, "--day", help=_("The day (YYYY-MM-DD, local); today by default.")),
    unit: str = typer.Option(None, "--unit", help=_("Unit code; the whole tree by default.")),
    out: Path = typer.Option(None, "--out", help=_("Write the rows to this file (.csv or .xlsx).")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Supersedes intake's first reconciliation: same command, its lists folded into the gaps."""
    import json

    from fangkong.checkpoints.exports import RECONCILIATION
    from fangkong.checkpoints.service import reconciliation
    from fangkong.kernel import clock, export, scope

    the_day = _day(day)
    if out is not None:
        check_export_args(out, headers)
    with cli_session() as session:
        unit_id = None
        if unit:
            found = scope.visible_unit_or_none(session, _system(), code=unit)
            if found is None:
                fail(_("unknown unit {code}").format(code=unit), 1)
            unit_id = found.id if found else None
        if out is not None:
            n = export.write(session, _system(), RECONCILIATION, out=out, headers=headers,
                             filters={"day": the_day, "unit_id": unit_id})
        else:
            gaps = reconciliation.reconciliation(session, _system(), day=the_day, unit_id=unit_id)
    if out is not None:
        typer.echo(_("{n} rows written to {out}").format(n=n, out=out), err=True)
        return
    rows = [[g.gap, g.person_id, g.plate, clock.iso_local(g.at)] for g in gaps]
    if as_json:
        lists: dict[str, list[dict[str, Any]]] = {k: [] for k in reconciliation.GAPS}
        for g, r in zip(gaps, rows, strict=True):
            lists[g.gap].append(dict(zip(reconciliation.COLUMNS, r, strict=True)))
        typer.echo(json.dumps({"day": the_day.isoformat(), **lists}, ensure_ascii=False))
        return
    print_rows(reconciliation.COLUMNS, rows)

from fangkong.checkpoints.epass import cli as _epass_cli  # noqa: E402,F401  (the e-pass part's commands)
