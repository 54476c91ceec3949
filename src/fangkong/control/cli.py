"""Control's command line: its scheduled jobs (`fangkong jobs run control.missed_tests`),
`fangkong export measures` and `fangkong control release --due`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from fangkong.cli import app
from fangkong.control import bench as _bench  # noqa: F401  (registers `fangkong bench notices`)
from fangkong.control import jobs as _jobs  # noqa: F401  (registers control.missed_tests)
from fangkong.control.sites import cli as _sites_cli  # noqa: F401  (import sites|rooms|measures, report capacity)
from fangkong.kernel.cli_support import (
    EXIT_USAGE,
    HEADERS_HELP,
    check_export_args,
    cli_session,
    export_app,
    fail,
    import_app,
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
    notices: Path = typer.Option(None, "--notices", help=_("With --yes: print the release notices of the "
                                                           "cohort into this one PDF.")),
) -> None:
    from sqlalchemy import or_, select

    from fangkong.control import service
    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.places.models import Place

    if not due:
        fail(_("--due is required"), EXIT_USAGE)
    if notices is not None and not yes:
        fail(_("--notices needs --yes (notices are printed for the steps applied)"), EXIT_USAGE)
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
        if notices is not None and yes:
            import dataclasses

            from fangkong.control.service import notices as notices_service

            released = [s.measure_id for s in steps if s.action == "release"]
            printed = notices_service.issue_notices(session, SYSTEM_ACTOR, kind="release_notice",
                                                    measure_ids=released, at=at)
            numbers = {n.measure_id: n.notice_no for n in printed.notices}
            steps = [dataclasses.replace(s, notice_no=numbers.get(s.measure_id, "")) for s in steps]
            if printed.pdf:
                notices.write_bytes(printed.pdf)
        lines = [f"{s.person_id},{s.measure_id},{s.action},{s.notice_no}" for s in steps]
    sys.stdout.write("person_id,measure_id,action,notice_no\n" + "".join(line + "\n" for line in lines))
    typer.echo(_("{n} steps applied").format(n=len(lines)) if yes else _("{n} steps due (nothing changed: add --yes)")
               .format(n=len(lines)), err=True)


@import_app.command("measures", help=_("Import measures already running in another system: source_ref, name, "
                                       "id_number, phone, category, started_at, exposure_at, site, room, household, "
                                       "contact_of, address. Idempotent by source_ref."))
def import_measures_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write a per-row report (CSV, UTF-8 with BOM) to this file.")),
    anchor: str = typer.Option("start", "--anchor", help=_("Day 0: start (the local date of started_at) or "
                                                            "exposure (of exposure_at).")),
) -> None:
    from typing import Any

    from fangkong.control.service import imports
    from fangkong.kernel.tabular import run_import

    if anchor not in imports.ANCHORS:
        fail(_("--anchor must be start or exposure"), EXIT_USAGE)

    def work(session: Any, actor: Any, path: Path, progress: Any = None) -> Any:
        return imports.import_measures(session, actor, path, anchor=anchor, progress=progress)

    run_import(_("Importing measures"), file, report, work, ["measure_id"])


@import_app.command("checkins", help=_("Import check-ins of persons under a measure: id_number or phone, name, "
                                       "checked_at, temperature, symptoms, by."))
def import_checkins_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write a per-row report (CSV, UTF-8 with BOM) to this file.")),
) -> None:
    from typing import Any

    from fangkong.control.service import checkins
    from fangkong.kernel.tabular import run_import

    def work(session: Any, actor: Any, path: Path, progress: Any = None) -> Any:
        return checkins.import_checkins(session, actor, path, progress=progress)

    run_import(_("Importing check-ins"), file, report, work, ["measure_id", "alert"])


@control_app.command("checkin-links", help=_("Queue the check-in SMS (signed phone link) to every person who takes "
                                             "check-ins now, once per person and day, through the outbox; "
                                             "--print prints person_id,measure_id,phone,url for an outside "
                                             "gateway instead."))
def checkin_links_cmd(
    site: str = typer.Option(None, "--site", help=_("Only measures at this quarantine site (ref or id).")),
    base: str = typer.Option("", "--base", help=_("The site's public address to put before the path "
                                                  "(default: the setting public_url).")),
    print_only: bool = typer.Option(False, "--print", help=_("Print the links for an outside SMS gateway "
                                                             "and queue nothing.")),
) -> None:
    from sqlalchemy import or_, select

    from fangkong.control.service import checkins
    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.places.models import Place
    from fangkong.settings import get_settings

    base = (base or get_settings().public_url or "").rstrip("/")
    if not print_only and not base:
        fail(_("give --base or set FANGKONG_PUBLIC_URL: an SMS needs the full address of the link"), EXIT_USAGE)
    with cli_session() as session:
        site_id = None
        if site:
            cond = [Place.ref == site] + ([Place.id == int(site)] if site.isdigit() else [])
            site_id = session.execute(select(Place.id).where(Place.kind == "quarantine_site", or_(*cond))).scalar()
            if site_id is None:
                fail(_("unknown site {site}").format(site=site), EXIT_USAGE)
        if print_only:
            rows = checkins.roster(session, SYSTEM_ACTOR, at=clock.now(), site_id=site_id, limit=2000)
            phones = checkins.masked_phones(session, [r.person_id for r in rows])
            lines = [f"{r.person_id},{r.measure_id},{phones.get(r.person_id, '')},{base}{r.link}" for r in rows]
        else:
            done = checkins.queue_checkin_sms(session, SYSTEM_ACTOR, base=base, at=clock.now(), site_id=site_id)
    if not print_only:
        typer.echo(_("check-in SMS queued: {queued}, already sent today: {already}, without a phone: "
                     "{no_phone}").format(queued=len(done.queued), already=len(done.already),
                                          no_phone=len(done.no_phone)))
        return
    sys.stdout.write("person_id,measure_id,phone,url\n" + "".join(line + "\n" for line in lines))


@control_app.command("notices", help=_("Print notices of measures as one PDF: central_notice, home_notice, "
                                       "release_notice or transfer_slip. Prints notice_no per measure."))
def notices_cmd(
    kind: str = typer.Argument(..., help=_("central_notice, home_notice, release_notice or transfer_slip.")),
    measure: list[int] = typer.Option(..., "--measure", help=_("Measure id (repeat for a cohort).")),
    out: Path = typer.Option(..., "--out", help=_("Output PDF.")),
) -> None:
    from fangkong.control.service import notices as notices_service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    if kind not in notices_service.KINDS:
        fail(_("unknown notice kind {kind}").format(kind=kind), EXIT_USAGE)
    with cli_session() as session:
        printed = notices_service.issue_notices(session, SYSTEM_ACTOR, kind=kind, measure_ids=measure)
        lines = [f"{n.measure_id},{n.notice_no},{n.sha256}" for n in printed.notices]
    out.write_bytes(printed.pdf)
    sys.stdout.write("measure_id,notice_no,sha256\n" + "".join(line + "\n" for line in lines))


@control_app.command("verify-notice", help=_("Check a notice's QR token: genuine (exit 0, prints the number) "
                                             "or not (exit 1)."))
def verify_notice_cmd(token: str = typer.Argument(..., help=_("The text of the notice's QR code."))) -> None:
    from fangkong.control.models import Notice
    from fangkong.control.service import notices as notices_service

    try:
        no, measure_id = notices_service.verify_token(token)
    except notices_service.BadNotice:
        fail(_("not a genuine notice"), 1)
    with cli_session() as session:
        from sqlalchemy import select

        row = session.execute(select(Notice).where(Notice.notice_no == no, Notice.measure_id == measure_id)).scalar()
        if row is None:
            fail(_("not a genuine notice"), 1)
        line = f"{row.notice_no},{row.kind},{row.measure_id},{row.sha256}"
    typer.echo(line)
