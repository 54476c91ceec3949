"""Zones' command line: `fangkong zones draw|list|lift|eligibility|national-list`, `fangkong rounds
start|coverage`, `fangkong import zones`, `fangkong import special-needs`."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import EXIT_USAGE, cli_session, fail, import_app, print_created, print_rows
from fangkong.kernel.i18n import _
from fangkong.zones import jobs as _jobs  # noqa: F401  (registers zones.door_knock)

zones_app = typer.Typer(help=_("Risk zones inside the city: draw, list, lift by the data."), no_args_is_help=True)
rounds_app = typer.Typer(help=_("Area-wide testing rounds: start, coverage, names still to sample."),
                         no_args_is_help=True)
app.add_typer(zones_app, name="zones")
app.add_typer(rounds_app, name="rounds")

REPORT_HELP = _("Write the per-row report (row,status,person_id,issues,…) to this CSV file.")


def _load_sources() -> None:
    """Testing registers its samples with control when its service is imported."""
    import importlib

    from fangkong.registry import CAPABILITIES

    for name in CAPABILITIES:
        try:
            importlib.import_module(f"fangkong.{name}.service")
        except ModuleNotFoundError as exc:
            if exc.name != f"fangkong.{name}.service":
                raise


def _time(text: str | None, option: str) -> Any:
    from fangkong.kernel import clock

    if not text:
        return None
    try:
        return clock.parse_time(text)
    except Exception:
        fail(_("{option}: not a time: {text}").format(option=option, text=text), EXIT_USAGE)


def _read_lines(path: Path) -> list[str]:
    """Addresses, one a line (a CSV/XLSX with an address column works too)."""
    from fangkong.kernel.tabular import UnusableFile, read_table

    if not path.exists():
        fail(_("{path}: no such file").format(path=path), 1)
    if path.suffix.lower() in (".csv", ".xlsx"):
        try:
            table = read_table(path, {"address": ["地址", "address", "addresses", "门牌地址"]},
                               required_any=["address"])
            return [r.values.get("address") or "" for r in table if (r.values.get("address") or "").strip()]
        except UnusableFile:
            pass
    return [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]


@zones_app.command("draw", help=_("Draw a zone on the gazetteer and put its residents under the zone's measure. "
                                  "--json prints zone_id, addresses, households, residents."))
def draw_cmd(
    level: str = typer.Option(..., "--level", help=_("high, medium or low.")),
    grid: list[str] = typer.Option(None, "--grid", help=_("Unit code (a grid, a 小区/村 …); repeat for several.")),
    addresses: Path = typer.Option(None, "--addresses", help=_("File of addresses, one a line (buildings too).")),
    reason: str = typer.Option(..., "--reason", help=_("The case or cluster the zone answers.")),
    starts_at: str = typer.Option(None, "--starts-at", help=_("When it starts (default now).")),
    name: str = typer.Option(None, "--name", help=_("Zone name (default: the units and addresses).")),
    preview: bool = typer.Option(False, "--preview", help=_("Only show what it would cover; store nothing.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print a JSON object with the new ids and counts.")),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.cli_support import describe_error
    from fangkong.kernel.errors import ValidationFailed
    from fangkong.zones import service

    if level not in ("high", "medium", "low"):
        fail(_("--level must be high, medium or low"), EXIT_USAGE)
    if not grid and addresses is None:
        fail(_("give --grid CODE or --addresses FILE"), EXIT_USAGE)
    texts = _read_lines(addresses) if addresses is not None else []
    when = _time(starts_at, "--starts-at")
    _load_sources()
    with cli_session() as session:
        if preview:
            p = service.preview_zone(session, SYSTEM_ACTOR, units=grid or [], addresses=texts)
            if p.issues:
                fail(describe_error(ValidationFailed(service.zones.INVALID_ZONE(), p.issues)), 1)
            out = {"addresses": p.addresses, "households": p.households, "residents": p.residents}
            typer.echo(json.dumps(out) if as_json else _(
                "would cover {addresses} addresses, {households} households, {residents} residents").format(**out))
            return
        r = service.draw_zone(session, SYSTEM_ACTOR, level=level, reason=reason, units=grid or [],
                              addresses=texts, starts_at=when, name=name)
        z = r.zone
        ids = {"zone_id": z.id, "addresses": z.addresses, "households": z.households, "residents": z.residents,
               "measures": r.measures}
    print_created(_("zone {zone_id} drawn: {addresses} addresses, {households} households, {residents} residents, "
                    "{measures} measures started").format(**ids), ids, as_json=as_json)


@zones_app.command("list", help=_("List the zones: id, level, status, name, starts_at, residents."))
def list_cmd(as_json: bool = typer.Option(False, "--json", help=_("JSON output."))) -> None:
    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.zones import service

    with cli_session() as session:
        rows = [[z.id, z.level, z.status, z.name, clock.iso_local(z.starts_at), z.addresses, z.households,
                 z.residents] for z in service.list_zones(session, SYSTEM_ACTOR)]
    print_rows(["zone_id", "level", "status", "name", "starts_at", "addresses", "households", "residents"], rows,
               as_json=as_json)


@zones_app.command("lift", help=_("Move a zone down one level (high → medium → low → lifted) when the data allow "
                                  "it; refused (exit 1) while not eligible unless --override --reason."))
def lift_cmd(
    zone: int = typer.Argument(..., help=_("Zone id.")),
    at: str = typer.Option(None, "--at", help=_("As of this time (default now).")),
    override: bool = typer.Option(False, "--override", help=_("Lift although not eligible (needs --reason).")),
    reason: str = typer.Option("", "--reason", help=_("Why (required with --override).")),
    as_json: bool = typer.Option(False, "--json", help=_("JSON output.")),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.zones import service

    if override and not reason.strip():
        fail(_("--override needs --reason"), EXIT_USAGE)
    when = _time(at, "--at")
    _load_sources()
    with cli_session() as session:
        z, e, ended = service.lift_zone(session, SYSTEM_ACTOR, zone_id=zone, at=when, override=override,
                                        reason=reason)
        out = {"zone_id": z.id, "level": z.level if z.status == "active" else "lifted", "measures_ended": ended,
               "override": not e.eligible}
    print_created(_("zone {zone_id} is now {level} ({measures_ended} measures ended)").format(**out), out,
                  as_json=as_json)


def _iso(value: Any) -> str:
    from fangkong.kernel import clock

    if value is None:
        return ""
    if hasattr(value, "hour"):
        return clock.iso_local(value)
    return value.isoformat()


@zones_app.command("eligibility", help=_("Write every active zone's downgrade eligibility: zone_id, level, "
                                         "last_infection_at, qualifying_round, eligible_on, next_level."))
def eligibility_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output CSV file.")),
    at: str = typer.Option(None, "--at", help=_("As of this time (default now).")),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.zones import service

    if out.suffix.lower() != ".csv":
        fail(_("--out must end in .csv"), EXIT_USAGE)
    when = _time(at, "--at")
    _load_sources()
    cols = ["zone_id", "level", "last_infection_at", "qualifying_round", "eligible_on", "next_level"]
    with cli_session() as session:
        rows = service.eligibility_rows(session, SYSTEM_ACTOR, at=when)
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([_iso(r[c]) if c in ("last_infection_at", "eligible_on") else ("" if r[c] is None else r[c])
                        for c in cols])
    typer.echo(_("{n} rows written to {out}").format(n=len(rows), out=out), err=True)


@zones_app.command("national-list", help=_("Write our high- and medium-risk zones in the national list's format "
                                           "(省, 市, 县区, 风险区名称, 风险等级, 开始时间, 结束时间); "
                                           "`fangkong import risk-areas` reads it back."))
def national_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output CSV file.")),
    at: str = typer.Option(None, "--at", help=_("Zones in force at this time (default now).")),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.zones import service

    if out.suffix.lower() != ".csv":
        fail(_("--out must end in .csv"), EXIT_USAGE)
    when = _time(at, "--at")
    with cli_session() as session:
        rows = service.national_rows(session, SYSTEM_ACTOR, at=when)
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["省", "市", "县区", "风险区名称", "风险等级", "开始时间", "结束时间"])
        for r in rows:
            w.writerow([r["province"], r["city"], r["county"], r["place"], r["level"], _iso(r["start_at"]),
                        _iso(r["end_at"])])
    typer.echo(_("{n} rows written to {out}").format(n=len(rows), out=out), err=True)


@rounds_app.command("start", help=_("Start an area-wide testing round on a zone or a unit. --json prints "
                                    "round_id and targets."))
def round_start_cmd(
    zone: int = typer.Option(None, "--zone", help=_("Zone id.")),
    unit: str = typer.Option(None, "--unit", help=_("Unit code.")),
    deadline_hours: int = typer.Option(None, "--deadline-hours", help=_("Hours to the deadline (pack default 24).")),
    at: str = typer.Option(None, "--at", help=_("Start time (default now).")),
    as_json: bool = typer.Option(False, "--json", help=_("JSON output.")),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.zones import service

    if (zone is None) == (unit is None):
        fail(_("give --zone ID or --unit CODE"), EXIT_USAGE)
    when = _time(at, "--at")
    _load_sources()
    with cli_session() as session:
        rnd = service.start_round(session, SYSTEM_ACTOR, zone_id=zone, unit_code=unit, deadline_hours=deadline_hours,
                                  at=when)
        ids = {"round_id": rnd.id, "targets": rnd.targets}
    print_created(_("round {round_id} started: {targets} targets").format(**ids), ids, as_json=as_json)


@rounds_app.command("coverage", help=_("Write a round's coverage per grid (unit_code, unit_name, targets, sampled, "
                                       "resulted, positive, excluded, missing), or with --missing the persons "
                                       "not yet sampled (masked unless --unmasked; audited)."))
def round_coverage_cmd(
    round_id: int = typer.Argument(..., help=_("Round id.")),
    out: Path = typer.Option(..., "--out", help=_("Output file (.csv or .xlsx).")),
    at: str = typer.Option(None, "--at", help=_("As of this time (default now).")),
    missing: bool = typer.Option(False, "--missing", help=_("List the persons not yet sampled.")),
    unmasked: bool = typer.Option(False, "--unmasked", help=_("Full ID and phone numbers (audited).")),
    headers: str = typer.Option(None, "--headers", help=_("en or zh.")),
) -> None:
    from fangkong.kernel import export
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.cli_support import check_export_args
    from fangkong.zones.exports import COVERAGE, MISSING

    check_export_args(out, headers)
    if unmasked and not missing:
        fail(_("--unmasked goes with --missing"), EXIT_USAGE)
    when = _time(at, "--at")
    _load_sources()
    with cli_session() as session:
        n = export.write(session, SYSTEM_ACTOR, MISSING if missing else COVERAGE, out=out, headers=headers,
                         unmasked=unmasked, filters={"round_id": round_id, "at": when})
    typer.echo(_("{n} rows written to {out}").format(n=n, out=out), err=True)


@import_app.command("zones", help=_("Draw zones from a CSV or XLSX file: zone_ref, level, units or addresses "
                                    "(separated by ;), starts_at, reason."))
def import_zones_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX with Chinese or English headers.")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    from fangkong.kernel.tabular import run_import
    from fangkong.zones.imports import import_zones_file

    _load_sources()

    def work(session: Any, actor: Any, path: Path, progress: Any) -> Any:
        return import_zones_file(session, actor, path)

    run_import(_("Importing zones"), file, report, work, ["zone_id", "addresses", "households", "residents"])


@import_app.command("special-needs", help=_("Record residents' special needs from the community's CSV or XLSX file: "
                                            "id_number (or phone and name), need (独居老人, 残疾, 孕产妇, 慢病治疗中; "
                                            "several separated by ;), note, address."))
def import_special_needs_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX with Chinese or English headers.")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    from fangkong.kernel.tabular import run_import
    from fangkong.zones.imports import import_special_needs

    _load_sources()

    def work(session: Any, actor: Any, path: Path, progress: Any) -> Any:
        return import_special_needs(session, actor, path)

    run_import(_("Importing special needs"), file, report, work, ["need"])


@import_app.command("round-samples", help=_("Import a round's sampling records: testing's sample import (tube barcode, "
                                            "pool size, ID number or phone, name, collected_at, sampling point) with "
                                            "an optional round column (or --round); the report says whether each "
                                            "person is a target of the round."))
def import_round_samples_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
    round_id: int = typer.Option(None, "--round", help=_("The round of rows without a round column.")),
) -> None:
    from fangkong.kernel.tabular import run_import
    from fangkong.testing import service as testing_service
    from fangkong.zones.imports import mark_round_samples

    _load_sources()

    def work(session: Any, actor: Any, path: Path, progress: Any) -> Any:
        rows = testing_service.import_samples(session, actor, path, progress=progress)
        return mark_round_samples(session, actor, path, rows, round_id=round_id)

    run_import(_("Importing samples"), file, report, work, ["tube_barcode", "position", "round_id", "round_target"])
