"""The command centre's command line: `fangkong indicators` and its job `command.daily_snapshot`."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer

from fangkong.cli import app
from fangkong.command import jobs as _jobs  # noqa: F401  (registers command.daily_snapshot)
from fangkong.kernel.cli_support import EXIT_USAGE, cli_session, fail, import_app, print_rows, report_app
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


orders_app = typer.Typer(help=_("Orders (指令): issue, acknowledge, complete, relay, show."), no_args_is_help=True)
app.add_typer(orders_app, name="orders")
AS_HELP = _("Act as this user (their role and unit).")


def _codes(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.replace("，", ",").split(",") if c.strip()] if text else None


def _print_order(view: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
        return
    typer.echo(f"#{view['id']} {view['title']} ({view['unit_code']}, {view['issued_at']})")
    print_rows(["unit_code", "unit_name", "status", "acknowledged_at", "completed_at"],
               [[t["unit_code"], t["unit_name"], t["status"], t["acknowledged_at"], t["completed_at"]]
                for t in view["targets"]])


@orders_app.command("issue", help=_("Issue an order to units below yours: --to CODES, or --to-level L --under CODE."))
def orders_issue(
    title: str = typer.Option(..., "--title", help=_("Title.")),
    body: str = typer.Option("", "--body", help=_("Text of the order.")),
    to: str = typer.Option(None, "--to", help=_("Target unit codes, comma-separated.")),
    to_level: str = typer.Option(None, "--to-level", help=_("Every unit of this level (grid, community, street …).")),
    under: str = typer.Option(None, "--under", help=_("… under this unit (code; default yours).")),
    ack_hours: float = typer.Option(2, "--ack-hours", help=_("Hours to acknowledge (default 2).")),
    due_hours: float = typer.Option(24, "--due-hours", help=_("Hours to complete (default 24).")),
    evidence: bool = typer.Option(False, "--evidence", help=_("Completion needs evidence.")),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.command.service import orders
    from fangkong.kernel.auth import service as auth_service

    with cli_session() as session:
        actor = auth_service.actor_for(session, as_user)
        order = orders.issue_order(session, actor, title=title, body=body, to=_codes(to), to_level=to_level,
                                   under=under, ack_hours=ack_hours, due_hours=due_hours, evidence=evidence)
        view = orders.show(session, actor, order_id=order.id)
    if as_json:
        typer.echo(json.dumps({"id": view["id"], "targets": [t["unit_code"] for t in view["targets"]]},
                              ensure_ascii=False))
    else:
        typer.echo(_("Order {id} issued to {n} units").format(id=view["id"], n=len(view["targets"])))


def _act(kind: str, order_id: int, as_user: str, as_json: bool, **kw: Any) -> None:
    from fangkong.command.service import orders
    from fangkong.kernel.auth import service as auth_service

    with cli_session() as session:
        actor = auth_service.actor_for(session, as_user)
        if kind == "ack":
            orders.acknowledge(session, actor, order_id=order_id)
            view = orders.show(session, actor, order_id=order_id)
        elif kind == "complete":
            orders.complete(session, actor, order_id=order_id, **kw)
            view = orders.show(session, actor, order_id=order_id)
        else:
            sub = orders.relay(session, actor, order_id=order_id, **kw)
            view = orders.show(session, actor, order_id=sub.id)
    if kind == "relay" and as_json:
        typer.echo(json.dumps({"id": view["id"], "targets": [t["unit_code"] for t in view["targets"]]}))
        return
    _print_order(view, as_json)


@orders_app.command("ack", help=_("Acknowledge an order for your unit."))
def orders_ack(order_id: int = typer.Argument(..., help=_("Order id.")),
               as_user: str = typer.Option(..., "--as", help=AS_HELP),
               as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    _act("ack", order_id, as_user, as_json)


@orders_app.command("complete", help=_("Report an order carried out for your unit."))
def orders_complete(order_id: int = typer.Argument(..., help=_("Order id.")),
                    evidence: str = typer.Option(None, "--evidence", help=_("What was done (required when the order "
                                                                             "asks for evidence).")),
                    as_user: str = typer.Option(..., "--as", help=AS_HELP),
                    as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    _act("complete", order_id, as_user, as_json, evidence=evidence)


@orders_app.command("relay", help=_("Relay an order to units below yours (a linked sub-order)."))
def orders_relay(order_id: int = typer.Argument(..., help=_("Order id.")),
                 to: str = typer.Option(..., "--to", help=_("Target unit codes, comma-separated.")),
                 as_user: str = typer.Option(..., "--as", help=AS_HELP),
                 as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    _act("relay", order_id, as_user, as_json, to=_codes(to) or [])


@orders_app.command("show", help=_("An order: each target's status, acknowledgement, completion and sub-orders."))
def orders_show(order_id: int = typer.Argument(..., help=_("Order id.")),
                as_user: str = typer.Option(None, "--as", help=AS_HELP),
                as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    from fangkong.command.service import orders
    from fangkong.kernel.auth import service as auth_service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    with cli_session() as session:
        actor = auth_service.actor_for(session, as_user) if as_user else SYSTEM_ACTOR
        view = orders.show(session, actor, order_id=order_id)
    _print_order(view, as_json)
from fangkong.command import cli_inspections as _cli_inspections  # noqa: E402,F401  (inspections, rectifications, exposure)


@import_app.command("geometry", help=_("Import unit outlines (GeoJSON FeatureCollection, properties.code = unit code) "
                                        "for the big screen's map."))
def import_geometry_cmd(
    file: Path = typer.Argument(..., help=_("A GeoJSON file: one Polygon or MultiPolygon feature per unit.")),
    report: Path = typer.Option(None, "--report", help=_("Write the per-feature report (CSV) here.")),
) -> None:
    from fangkong.command.service.geometry import import_geometry
    from fangkong.kernel.tabular import run_import

    run_import(_("Importing unit outlines"), file, report, import_geometry, ["unit_code"])
