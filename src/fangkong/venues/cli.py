"""Venue commands (场所码): `fangkong venues code|rotate|coverage|flag|index`, `fangkong import venues|scans`,
`fangkong colocation`. They act as the system (an operator on the server)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import (
    check_export_args,
    cli_session,
    describe_error,
    fail,
    import_app,
    print_created,
    print_rows,
)
from fangkong.kernel.i18n import _, cli_locale
from fangkong.kernel.messages import field_label
from fangkong.venues import jobs as _jobs  # noqa: F401  (registers venues.colocation_index and the retention kind scans)

venues_app = typer.Typer(help=_("Venue codes, scans and coverage."), no_args_is_help=True)
app.add_typer(venues_app, name="venues")


def _system():  # type: ignore[no-untyped-def]
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    return SYSTEM_ACTOR


@venues_app.command("code", help=_("Print the URL of a venue's code (issued now if it has none)."))
def code_cmd(
    venue: str = typer.Argument(..., help=_("Venue ref, place code or venue code.")),
    base_url: str = typer.Option(None, "--base-url", help=_("Public address of the platform (default FANGKONG_PUBLIC_URL).")),
    qr: Path = typer.Option(None, "--qr", help=_("Also write the QR code to this file (.svg, .png or .pdf).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.venues.service import codes as codes_service

    with cli_session() as session:
        place = codes_service.find_venue(session, _system(), venue)
        row = codes_service.issue_code(session, _system(), place_id=place.id)
        url = codes_service.venue_url(row.token, base_url)
        ids = {"venue_id": place.id, "code_id": row.id, "key_version": row.key_version, "token": row.token, "url": url}
    if qr is not None:
        codes_service.save_qr(url, str(qr))
    if as_json:
        typer.echo(json.dumps(ids, ensure_ascii=False))
    else:
        typer.echo(url)


@venues_app.command("rotate", help=_("Revoke a venue's code and issue a new one; old posters are refused."))
def rotate_cmd(
    venue: str = typer.Argument(None, help=_("Venue ref, place code or venue code.")),
    all_venues: bool = typer.Option(False, "--all", help=_("Rotate the codes of every venue.")),
    base_url: str = typer.Option(None, "--base-url", help=_("Public address of the platform (default FANGKONG_PUBLIC_URL).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from sqlalchemy import select

    from fangkong.kernel.places.models import Place
    from fangkong.venues.service import codes as codes_service

    if bool(venue) == all_venues:
        fail(_("name one venue or give --all"), 2)
    out = []
    with cli_session() as session:
        if all_venues:
            ids = list(session.execute(select(Place.id).where(Place.kind == "venue").order_by(Place.id)).scalars())
        else:
            ids = [codes_service.find_venue(session, _system(), venue).id]
        for pid in ids:
            row = codes_service.rotate_code(session, _system(), place_id=pid)
            out.append({"venue_id": pid, "code_id": row.id, "key_version": row.key_version,
                        "url": codes_service.venue_url(row.token, base_url)})
    if as_json:
        typer.echo(json.dumps(out if all_venues else out[0], ensure_ascii=False))
    elif all_venues:
        typer.echo(_("{n} venue codes rotated").format(n=len(out)))
    else:
        typer.echo(out[0]["url"])


@venues_app.command("coverage", help=_("Scan coverage of a day: venues without scans, scans against footfall, flags."))
def coverage_cmd(
    day: str = typer.Option(None, "--day", help=_("Local day YYYY-MM-DD (default today).")),
    only: str = typer.Option("all", "--only", help=_("all, without-scans, under-scanning or flagged.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.venues.service import coverage as coverage_service

    try:
        when = dt.date.fromisoformat(day) if day else None
    except ValueError:
        fail(_("--day: expected YYYY-MM-DD"), 2)
    if only not in ("all", "without-scans", "under-scanning", "flagged"):
        fail(_("--only: all, without-scans, under-scanning or flagged"), 2)
    with cli_session() as session:
        report = coverage_service.coverage(session, _system(), day=when)
    venues = {"all": report.venues, "without-scans": report.without_scans,
              "under-scanning": report.under_scanning, "flagged": report.flagged}[only]
    print_rows(["venue_id", "code", "ref", "name", "category", "expected", "scans", "ratio", "open_flags"],
               [(v.venue_id, v.code, v.ref, v.name, v.category, v.expected, v.scans, v.ratio, v.open_flags)
                for v in venues], as_json=as_json, title=str(report.day))


@venues_app.command("flag", help=_("Flag a venue that does not enforce scanning (inspection finding)."))
def flag_cmd(
    venue: str = typer.Argument(..., help=_("Venue ref, place code or venue code.")),
    reason: str = typer.Option(..., "--reason", help=_("What the inspection found.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.venues.service import codes as codes_service
    from fangkong.venues.service import venues as venues_service

    with cli_session() as session:
        place = codes_service.find_venue(session, _system(), venue)
        flag = venues_service.flag_venue(session, _system(), place_id=place.id, reason=reason)
        ids = {"flag_id": flag.id, "venue_id": place.id}
    print_created(_("flag {id} recorded").format(id=ids["flag_id"]), ids, as_json=as_json)


@venues_app.command("index", help=_("Bring the co-location index up to date (or rebuild it)."))
def index_cmd(
    rebuild: bool = typer.Option(False, "--rebuild", help=_("Rebuild from all scans.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.venues.colocation.store import get_index

    with cli_session() as session:
        result = get_index().extend(session, rebuild=rebuild).as_dict()
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for key, value in result.items():
            typer.echo(f"{field_label(key, cli_locale())}: {value}")


# --------------------------------------------------------------------------------------------- import

@import_app.command("venues", help=_("Import venues (name, type, address, ref); idempotent by ref."))
def import_venues_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write the per-row report to this CSV file.")),
) -> None:
    from fangkong.kernel.tabular import run_import
    from fangkong.venues.service import venues as venues_service

    run_import(_("Importing venues"), file, report,
               lambda session, actor, path, progress: venues_service.import_venues_file(
                   session, actor, path, progress=progress),
               extra_columns=["venue_id", "place_code"])


@import_app.command("scans", help=_("Import scans (venue ref or code, phone or ID number, scanned_at, request_id)."))
def import_scans_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write the per-row report to this CSV file.")),
) -> None:
    from fangkong.kernel.tabular import run_import
    from fangkong.venues.service import scans as scans_service

    run_import(_("Importing scans"), file, report,
               lambda session, actor, path, progress: scans_service.import_scans_file(
                   session, actor, path, progress=progress))


# ----------------------------------------------------------------------------------------- colocation

@app.command("colocation", help=_("Co-location: everyone at the subject's venues at the same time (overlapping stays)."))
def colocation_cmd(
    phone: str = typer.Option(None, "--phone", help=_("The subject's mobile number.")),
    id_number: str = typer.Option(None, "--id-number", help=_("The subject's ID number.")),
    person: int = typer.Option(None, "--person", help=_("The subject's person id.")),
    since: str = typer.Option(..., "--since", help=_("Start of the subject's scans (local time unless an offset is given).")),
    until: str = typer.Option(..., "--until", help=_("End of the subject's scans.")),
    window_min: int = typer.Option(None, "--window-min", min=0, max=1440,
                                   help=_("Symmetric mode: minutes either side of each scan (default: overlapping stays by venue dwell time).")),
    out: Path = typer.Option(None, "--out", help=_("Write the pairs to this CSV file.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.kernel.clock import BadTime, parse_time
    from fangkong.venues.colocation import service as colocation_service
    from fangkong.venues.colocation.store import get_index

    if sum(x is not None for x in (phone, id_number, person)) != 1:
        fail(_("give exactly one of --phone, --id-number, --person"), 2)
    try:
        start, end = parse_time(since), parse_time(until)
    except BadTime as exc:
        fail(describe_error(exc), 2)
    if start is None or end is None:
        fail(_("--since and --until are required"), 2)
    if out is not None:
        check_export_args(out, None)
    with cli_session() as session:
        system = _system()
        subject = colocation_service.resolve_subject(session, system, person_id=person, phone=phone,
                                                     id_number=id_number)
        get_index().extend(session)  # the command line answers from a current index
        pairs = colocation_service.colocated(session, system, person_id=subject, since=start, until=end,
                                             window_min=window_min)
        count = len(pairs)
        if out is not None:  # the export writer's rules and audit; the lines built column-wise
            from fangkong.kernel import export
            from fangkong.venues.exports import COLOCATION

            filters = {"person_id": subject, "since": start, "until": end, "window_min": window_min}
            if out.suffix.lower() == ".csv":
                export.write_csv_lines(session, system, COLOCATION, out=out, lines=pairs.csv_chunks(), rows=count,
                                       filters=filters)
            else:
                export.write(session, system, COLOCATION, out=out, rows=pairs.rows(), filters=filters)
        else:
            rows = pairs.rows()
    if out is not None:
        typer.echo(_("{n} pairs written to {path}").format(n=count, path=out), err=True)
    else:
        print_rows(colocation_service.PAIR_COLUMNS, rows, as_json=as_json)
