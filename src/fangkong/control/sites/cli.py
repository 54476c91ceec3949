"""Quarantine-site commands: `fangkong import sites|rooms|measures FILE`, `fangkong report capacity`,
`fangkong bench capacity` (registered in kernel/bench). They act as the system (an operator on the
server). Loaded by `control.cli`."""

from __future__ import annotations

from pathlib import Path

import typer

from fangkong.kernel.cli_support import (
    EXIT_USAGE,
    HEADERS_HELP,
    check_export_args,
    cli_session,
    fail,
    import_app,
    report_app,
)
from fangkong.kernel.i18n import _


@import_app.command("sites", help=_("Import quarantine sites (ref, name, address, unit, status, contacts); "
                                    "idempotent by ref."))
def import_sites_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write the per-row report to this CSV file.")),
) -> None:
    from fangkong.control.sites.service import sites as sites_service
    from fangkong.kernel.tabular import run_import

    run_import(_("Importing quarantine sites"), file, report,
               lambda session, actor, path, progress: sites_service.import_sites_file(
                   session, actor, path, progress=progress), extra_columns=["site_id"])


@import_app.command("rooms", help=_("Import rooms of quarantine sites (site_ref, building, floor, room, beds, "
                                    "status); idempotent by site, building and room."))
def import_rooms_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write the per-row report to this CSV file.")),
) -> None:
    from fangkong.control.sites.service import sites as sites_service
    from fangkong.kernel.tabular import run_import

    run_import(_("Importing rooms"), file, report,
               lambda session, actor, path, progress: sites_service.import_rooms_file(
                   session, actor, path, progress=progress), extra_columns=["room_id"])


@report_app.command("capacity", help=_("Quarantine capacity as of a moment: site,rooms,usable,occupied,cleaning,"
                                       "free,out_of_service per site, then per unit with rooms per 10,000 residents "
                                       "and releases due over the next 7 days (CSV or XLSX by suffix)."))
def capacity_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file (.csv or .xlsx).")),
    at: str = typer.Option(None, "--at", help=_("As of this time (default now).")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    from fangkong.control.sites.service.capacity import CAPACITY
    from fangkong.kernel import clock, export
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    check_export_args(out, headers)
    when = None
    if at:
        try:
            when = clock.parse_time(at)
        except Exception:
            fail(_("{option}: not a time: {text}").format(option="--at", text=at), EXIT_USAGE)
    with cli_session() as session:
        n = export.write(session, SYSTEM_ACTOR, CAPACITY, out=out, headers=headers, filters={"at": when})
    typer.echo(_("{n} rows written to {out}").format(n=n, out=out), err=True)


from fangkong.control.sites import bench as _bench  # noqa: E402, F401  (registers `fangkong bench capacity`)
