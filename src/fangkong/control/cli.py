"""Control's command line: its scheduled jobs (`fangkong jobs run control.missed_tests`),
`fangkong export measures` and `fangkong control release --due`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from fangkong.cli import app
from fangkong.control import jobs as _jobs  # noqa: F401  (registers control.missed_tests)
from fangkong.control.sites import cli as _sites_cli  # noqa: F401  (import sites|rooms|measures, report capacity)
from fangkong.kernel.cli_support import (
    EXIT_USAGE,
    HEADERS_HELP,
    check_export_args,
    cli_session,
    export_app,
    fail,
)
from fangkong.kernel.i18n import _

control_app = typer.Typer(help=_("Control measures: release and stepdown by rule."), no_args_is_help=True)
app.add_typer(control_app, name="control")


def _load_sources() -> None:
    """The capabilities that keep samples and results register them with control when their service
    is imported (testing does); a command of its own process imports them first."""
    import importlib

    from fangkong.registry import CAPABILITIES

    for name in CAPABILITIES:
        try:
            importlib.import_module(f"fangkong.{name}.service")
        except ModuleNotFoundError as exc:
            if exc.name != f"fangkong.{name}.service":
                raise


def _time(text: str | None, option: str):  # type: ignore[no-untyped-def]
    from fangkong.kernel import clock

    if not text:
        return None
    try:
        return clock.parse_time(text)
    except Exception:
        fail(_("{option}: not a time: {text}").format(option=option, text=text), EXIT_USAGE)


@export_app.command("measures", help=_("Export measures as of a moment: person_id, measure_id, category, phase, "
                                       "status, anchor_on, planned_end_on, stepdown_on, releasable_on, released_at, "
                                       "site, room, missed_tests, checkins_missed, fevers (CSV or XLSX by suffix)."))
def export_measures_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file (.csv or .xlsx).")),
    at: str = typer.Option(None, "--at", help=_("As of this time (later events and results ignored; default now).")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    from fangkong.control.exports import MEASURES
    from fangkong.kernel import export
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    check_export_args(out, headers)
    when = _time(at, "--at")
    _load_sources()
    with cli_session() as session:
        n = export.write(session, SYSTEM_ACTOR, MEASURES, out=out, headers=headers, filters={"at": when})
    typer.echo(_("{n} rows written to {out}").format(n=n, out=out), err=True)


@control_app.command("release", help=_("List (or with --yes apply) every due step — stepdown or release — as of "
                                       "a moment. Output: person_id,measure_id,action,notice_no."))
def release_cmd(
    due: bool = typer.Option(False, "--due", help=_("Every step the rules allow (required).")),
    site: str = typer.Option(None, "--site", help=_("Only measures at this quarantine site (ref or id).")),
    as_of: str = typer.Option(None, "--as-of", help=_("As of this time (default now).")),
    yes: bool = typer.Option(False, "--yes", help=_("Apply the steps (without it: only list them).")),
) -> None:
    from sqlalchemy import or_, select

    from fangkong.control import service
    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.places.models import Place

    if not due:
        fail(_("--due is required"), EXIT_USAGE)
    when = _time(as_of, "--as-of")
    _load_sources()
    with cli_session() as session:
        site_id = None
        if site:
            cond = [Place.ref == site] + ([Place.id == int(site)] if site.isdigit() else [])
            site_id = session.execute(select(Place.id).where(Place.kind == "quarantine_site", or_(*cond))).scalar()
            if site_id is None:
                fail(_("unknown site {site}").format(site=site), EXIT_USAGE)
        at = when or clock.now()
        steps = (service.apply_due_steps if yes else service.due_steps)(session, SYSTEM_ACTOR, at=at, site_id=site_id)
        lines = [f"{s.person_id},{s.measure_id},{s.action},{s.notice_no}" for s in steps]
    sys.stdout.write("person_id,measure_id,action,notice_no\n" + "".join(line + "\n" for line in lines))
    typer.echo(_("{n} steps applied").format(n=len(lines)) if yes else _("{n} steps due (nothing changed: add --yes)")
               .format(n=len(lines)), err=True)
