"""The command centre's command line: `fangkong indicators` and its job `command.daily_snapshot`."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import typer

from fangkong.cli import app
from fangkong.command import jobs as _jobs  # noqa: F401  (registers command.daily_snapshot)
from fangkong.kernel.cli_support import EXIT_USAGE, cli_session, fail, print_rows, report_app
from fangkong.kernel.i18n import _


def _day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(_("--day: not a date (YYYY-MM-DD): {text}").format(text=text), EXIT_USAGE)
        raise


@app.command("indicators", help=_("Indicators of a day by unit (指标): the frozen snapshot when the day has one, "
                                  "else computed now; columns day,unit_code,unit_name,level,indicator,value,"
                                  "numerator,denominator,status."))
def indicators_cmd(
    day: str = typer.Option(None, "--day", help=_("The day (YYYY-MM-DD; default today).")),
    unit: str = typer.Option(None, "--unit", help=_("The unit whose subtree to report (unit code; default the root).")),
    live: bool = typer.Option(False, "--live", help=_("Recompute now instead of reading the frozen snapshot.")),
    indicator: str = typer.Option(None, "--indicator", help=_("Only this indicator (code).")),
    out: Path = typer.Option(None, "--out", help=_("Write to this file (.csv or .json) instead of printing.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.command import service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    if out is not None and out.suffix.lower() not in (".csv", ".json"):
        fail(_("--out must end in .csv or .json"), EXIT_USAGE)
    when = _day(day)
    with cli_session() as session:
        table = service.indicators(session, SYSTEM_ACTOR, day=when, unit_code=unit, live=live, indicator=indicator)
    rows = [r.as_csv() for r in table.rows]
    if out is None:
        print_rows(service.COLUMNS, [[r[c] for c in service.COLUMNS] for r in rows], as_json=as_json)
        return
    try:
        if out.suffix.lower() == ".json":
            out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
        else:
            with out.open("w", encoding="utf-8-sig", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=service.COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
    except OSError as exc:
        fail(f"{out}: {exc.strerror}")
    state = _("frozen, version {v}").format(v=table.version) if table.frozen else _("live, not frozen")
    typer.echo(_("{n} rows for {day} ({state}) → {out}").format(n=len(rows), day=table.day, state=state, out=out))


@report_app.command("daily", help=_("The daily report (日报) of a day's indicators by unit, from the frozen snapshot "
                                    "(watermarked 未截止 before it): XLSX or PDF by the file's suffix."))
def report_daily_cmd(
    day: str = typer.Option(..., "--day", help=_("The day (YYYY-MM-DD).")),
    unit: str = typer.Option(None, "--unit", help=_("The unit whose subtree to report (unit code; default the root).")),
    out: Path = typer.Option(..., "--out", help=_("Output file (.xlsx or .pdf).")),
) -> None:
    from fangkong.command.service.report import write_report
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    if out.suffix.lower() not in (".xlsx", ".pdf"):
        fail(_("--out must end in .xlsx or .pdf"), EXIT_USAGE)
    when = _day(day)
    assert when is not None
    with cli_session() as session:
        report = write_report(session, SYSTEM_ACTOR, day=when, unit_code=unit, out=out)
    state = _("frozen, version {v}").format(v=report.table.version) if report.table.frozen else \
        _("live, not frozen")
    typer.echo(_("Daily report for {day} ({state}) → {out}").format(day=when, state=state, out=out))
