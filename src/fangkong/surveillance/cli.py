"""`fangkong surveillance detect|rt` (预警算法的命令行): judge series from a file with one method, or
estimate R_t; the files never touch the database."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import (
    EXIT_USAGE,
    HEADERS_HELP,
    cli_session,
    err_console,
    export_app,
    fail,
    import_app,
)
from fangkong.kernel.i18n import _, cli_locale
from fangkong.kernel.messages import translate
from fangkong.surveillance import jobs as _jobs  # noqa: F401  (registers surveillance.run)

surveillance_app = typer.Typer(help=_("Sentinel surveillance and early warning: detection algorithms, R_t."),
                               no_args_is_help=True)
app.add_typer(surveillance_app, name="surveillance")


def _read(path: Path, columns: dict[str, list[str]], required: list[str]) -> list[Any]:
    from fangkong.kernel.tabular import UnusableFile, read_table
    from fangkong.surveillance.detect import InRow

    try:
        table = read_table(path, columns, required_any=required)
        missing = [c for c in required if c not in table.fields]
        if missing:
            fail(f"{path}: " + _("missing column(s): {columns}").format(columns=", ".join(missing)), 1)
        return [InRow(number=r.number, series=r.values.get("series", ""), t=r.values.get("t", ""),
                      values=r.values) for r in table]
    except UnusableFile as exc:
        fail(f"{path}: {translate(exc.message, cli_locale())}", 1)
    return []


def _write(out: Path, header: list[str], rows: list[dict[str, Any]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([_fmt(r.get(h, "")) for h in header])


def _fmt(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if not math.isfinite(v) else repr(v)
    return v


def _finish(report: Path | None, reports: list[Any]) -> None:
    from fangkong.kernel.tabular import summarise, summary_line, write_report

    if report is not None:
        write_report(report, reports, ["series", "t"])
    err_console.print(translate(summary_line(summarise(reports)), cli_locale()), highlight=False, markup=False)


def _params(method: str, raw: list[str]) -> dict[str, Any]:
    from fangkong.surveillance.algorithms import methods

    pairs: dict[str, str] = {}
    for item in raw:
        if "=" not in item:
            fail(_("--param takes NAME=VALUE, got {item}").format(item=item), EXIT_USAGE)
        k, v = item.split("=", 1)
        pairs[k.strip().replace("-", "_")] = v.strip()
    try:
        params = methods.parse_params(method, pairs)
        if method in methods.FARRINGTON:
            methods.farrington_settings(method, params)
    except methods.BadParameter as exc:
        fail(f"{exc.name}: {translate(exc.message, cli_locale())}", EXIT_USAGE)
    return params


@surveillance_app.command("detect", help=_("Judge the series of FILE (series, t, count) with one detection "
                                           "method; write series,t,observed,expected,upperbound,statistic,alarm."))
def detect_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file with columns series, t, count.")),
    method: str = typer.Option(..., "--method", help=_("ears-c1, ears-c2, ears-c3, cusum, farrington, "
                                                       "farrington-noufaily or farrington-1996.")),
    param: list[str] = typer.Option([], "--param", help=_("A parameter of the method, NAME=VALUE (repeatable).")),
    start: str = typer.Option(None, "--from", help=_("First period to judge (default: the first the method can).")),
    period: str = typer.Option("day", "--period", help=_("day or week: the step between dates in t.")),
    out: Path = typer.Option(..., "--out", help=_("Output CSV.")),
    report: Path = typer.Option(None, "--report", help=_("Write a per-row report (CSV, UTF-8 with BOM) to this file.")),
) -> None:
    from fangkong.surveillance import detect
    from fangkong.surveillance.algorithms import methods

    if method not in methods.METHODS:
        fail(_("unknown method {method}; one of {methods}").format(method=method, methods=", ".join(methods.METHODS)),
             EXIT_USAGE)
    if period not in detect.STEP_DAYS:
        fail(_("--period is day or week"), EXIT_USAGE)
    params = _params(method, param)
    rows = _read(file, detect.DETECT_COLUMNS, ["t", "count"])
    try:
        results, reports = detect.detect(rows, method=method, params=params, start=start, period=period)
    except methods.BadParameter as exc:
        fail(f"{exc.name}: {translate(exc.message, cli_locale())}", EXIT_USAGE)
    header = detect.DETECT_OUT + (["phi", "trend"] if method in methods.FARRINGTON else [])
    _write(out, header, results)
    _finish(report, reports)


@surveillance_app.command("rt", help=_("Estimate the instantaneous reproduction number R_t (Cori et al. 2013, "
                                       "EpiEstim's parametric serial interval) from FILE (series, t, local[, imported])."))
def rt_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file with columns series, t, local and optionally imported.")),
    series: str = typer.Option(None, "--series", help=_("Only this series.")),
    si_mean: float = typer.Option(..., "--si-mean", help=_("Mean serial interval in days (> 1).")),
    si_sd: float = typer.Option(..., "--si-sd", help=_("Standard deviation of the serial interval in days.")),
    window: int = typer.Option(7, "--window", help=_("Window length in days.")),
    prior_mean: float = typer.Option(5.0, "--prior-mean", help=_("Mean of the gamma prior of R.")),
    prior_sd: float = typer.Option(5.0, "--prior-sd", help=_("Standard deviation of the gamma prior of R.")),
    out: Path = typer.Option(..., "--out", help=_("Output CSV.")),
    report: Path = typer.Option(None, "--report", help=_("Write a per-row report (CSV, UTF-8 with BOM) to this file.")),
) -> None:
    from fangkong.surveillance import detect

    if si_mean <= 1 or si_sd <= 0 or window < 1 or prior_mean <= 0 or prior_sd <= 0:
        fail(_("--si-mean must be above 1; --si-sd, --window, --prior-mean and --prior-sd above 0"), EXIT_USAGE)
    rows = _read(file, detect.RT_COLUMNS, ["t", "local"])
    results, reports = detect.rt(rows, si_mean=si_mean, si_sd=si_sd, window=window, prior_mean=prior_mean,
                                 prior_sd=prior_sd, only=series)
    _write(out, detect.RT_OUT, results)
    _finish(report, reports)


# ------------------------------------------------------------------- sites, counts, run, exports



@import_app.command("sentinels", help=_("Import sentinel sites: ref, name, kind (fever_clinic, clinic, pharmacy, "
                                        "school), address, unit, active_from."))
def import_sentinels_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write a per-row report (CSV, UTF-8 with BOM) to this file.")),
) -> None:
    from fangkong.kernel.tabular import run_import
    from fangkong.surveillance import service

    run_import(_("Importing sentinel sites"), file, report, service.import_sites, ["site_ref"])


@import_app.command("sentinel-counts", help=_("Import daily sentinel counts: site_ref, date, indicator, count."))
def import_counts_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write a per-row report (CSV, UTF-8 with BOM) to this file.")),
) -> None:
    from fangkong.kernel.tabular import run_import
    from fangkong.surveillance import service

    run_import(_("Importing sentinel counts"), file, report, service.import_counts, ["site_ref", "date", "indicator"])


@import_app.command("purchases", help=_("Import pharmacy real-name registrations: source_ref, pharmacy_ref, "
                                        "purchased_at, name, id_number, phone, address, drug_name, drug_class, "
                                        "quantity, temperature, symptoms."))
def import_purchases_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write a per-row report (CSV, UTF-8 with BOM) to this file.")),
) -> None:
    from fangkong.kernel.tabular import run_import
    from fangkong.surveillance import service

    run_import(_("Importing pharmacy registrations"), file, report, service.import_purchases,
               ["source_ref", "pharmacy_ref", "lead_id"])


@import_app.command("antigen-results", help=_("Import antigen test results: source_ref, source (self, pharmacy, "
                                              "clinic, employer), site_ref, employer, tested_at, result, name, "
                                              "id_number, phone, address."))
def import_antigen_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX file.")),
    report: Path = typer.Option(None, "--report", help=_("Write a per-row report (CSV, UTF-8 with BOM) to this file.")),
) -> None:
    from fangkong.kernel.tabular import run_import
    from fangkong.surveillance import service

    run_import(_("Importing antigen results"), file, report, service.import_antigen, ["source_ref", "lead_id"])


@surveillance_app.command("run", help=_("Judge every series up to DATE (default yesterday): days without a verdict "
                                        "or whose data changed; alarms open or extend signals."))
def run_cmd(
    until: str = typer.Option(None, "--until", help=_("Last day to judge (YYYY-MM-DD).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    import json

    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.surveillance import service
    from fangkong.surveillance.service.sites import parse_day

    day = None
    if until:
        day = parse_day(until)
        if day is None:
            fail(_("--until must be a date (YYYY-MM-DD)"), EXIT_USAGE)
    with cli_session() as session:
        stats = service.run_detection(session, SYSTEM_ACTOR, until=day)
    if as_json:
        typer.echo(json.dumps(stats))
    else:
        typer.echo(" ".join(f"{k}={v}" for k, v in stats.items()))


@export_app.command("detections", help=_("Export the verdicts: level, site_ref, unit_code, indicator, algorithm, "
                                         "date, observed, upperbound, statistic, alarm."))
def export_detections_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file (.csv or .xlsx).")),
    alarms_only: bool = typer.Option(False, "--alarms-only", help=_("Only alarms.")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    _export("detections", out, headers, {"alarms_only": "1" if alarms_only else ""})


@export_app.command("signals", help=_("Export the signals: signal_id, level, site_ref, unit_code, indicator, "
                                      "algorithm, first_date, last_date, alarms, status, outcome, task_id."))
def export_signals_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file (.csv or .xlsx).")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    _export("signals", out, headers, {})


def _export(name: str, out: Path, headers: str | None, params: dict[str, str]) -> None:
    from fangkong.kernel import export
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.cli_support import check_export_args
    from fangkong.surveillance import exports

    check_export_args(out, headers)
    kind = exports.DETECTIONS if name == "detections" else exports.SIGNALS
    with cli_session() as session:
        filters = kind.parse_filters(session, SYSTEM_ACTOR, params)
        n = export.write(session, SYSTEM_ACTOR, kind, out=out, filters=filters, headers=headers)
    err_console.print(_("{n} rows written to {out}").format(n=n, out=out), highlight=False, markup=False)
