"""`fangkong demo`: build the fictional demo city (演示城市) in an initialised database; `fangkong drill`:
run a simulated outbreak in it (演练) and print the scenario schema."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import (
    EXIT_UNUSABLE,
    cli_session,
    describe_error,
    err_console,
    fail,
    print_rows,
    progress,
)
from fangkong.kernel.errors import DomainError
from fangkong.kernel.i18n import _

#: unit level → label for the summary
_LEVEL_LABELS = {
    "district": "Districts", "street": "Streets and towns", "community": "Communities and villages",
    "grid": "Grids",
}
#: place kind → label for the summary
_KIND_LABELS = {
    "employer": "Employers", "venue": "Venues", "checkpoint": "Checkpoints", "sampling_point": "Sampling points",
    "sentinel": "Sentinels", "quarantine_site": "Quarantine sites",
}


@app.command("demo", help=_("Build a fictional demo city (jurisdictions, addresses, households, persons, "
                            "places) in the initialised database. Same seed and size, same city."))
def demo_cmd(
    persons: int = typer.Option(20000, "--persons", min=1, help=_("Number of residents.")),
    seed: int = typer.Option(1, "--seed", help=_("Random seed: the same seed gives the same city.")),
    if_empty: bool = typer.Option(False, "--if-empty",
                                  help=_("Do nothing (and succeed) when the database already holds a city.")),
    leads: int = typer.Option(300, "--leads", min=0,
                              help=_("Key-person leads of a first day to load through intake (0 for none).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print the counts as JSON.")),
) -> None:
    from fangkong.command.service.demo import seed_demo_outlines
    from fangkong.drill.city import city_exists, generate_city
    from fangkong.drill.scenario import seed_scenario
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.surveillance.demo import seed_sentinels

    started = time.monotonic()
    with cli_session() as session:
        if city_exists(session):
            if if_empty:
                if as_json:
                    typer.echo(json.dumps({"created": False}))
                else:
                    typer.echo(_("The database already holds a city; nothing done."))
                return
            fail(_("The database already holds a city (jurisdictions, persons or places); the demo city is "
                   "built only into a freshly initialised database. Use --if-empty to skip quietly."),
                 EXIT_UNUSABLE)
        try:
            with progress(_("Persons"), persons) as advance:
                stats = generate_city(session, persons=persons, seed=seed, progress=advance)
            scenario = seed_scenario(session, leads=leads, seed=seed)
            seed_sentinels(session, seed=seed)
            outlines = seed_demo_outlines(session, SYSTEM_ACTOR, seed=seed)
        except DomainError as exc:
            fail(describe_error(exc), EXIT_UNUSABLE)
    elapsed = time.monotonic() - started
    if as_json:
        typer.echo(json.dumps({"created": True, "seed": seed, **stats.as_dict(), "risk_areas": scenario.risk_areas,
                               "leads": scenario.leads, "leads_verified": scenario.verified,
                               "members": scenario.members, "samples": scenario.samples, "outlines": outlines},
                              ensure_ascii=False))
        return
    rows: list[tuple[str, int]] = [(_(_LEVEL_LABELS[lv]), n) for lv, n in stats.units.items()]
    rows += [(_("Addresses"), stats.addresses), (_("Households"), stats.households),
             (_("Persons"), stats.persons), (_("Employed persons"), stats.employed),
             (_("Persons without a phone"), stats.persons_without_phone),
             (_("Persons sharing a family phone"), stats.persons_sharing_phone)]
    rows += [(_(_KIND_LABELS.get(k, k)), n) for k, n in stats.places.items()]
    rows += [(_("Quarantine rooms"), stats.quarantine_rooms), (_("Risk areas"), scenario.risk_areas),
             (_("Leads"), sum(scenario.leads.values())), (_("Leads verified"), scenario.verified),
             (_("Key-group members"), scenario.members), (_("Samples"), scenario.samples),
             (_("Positive pools"), scenario.positive_pools)]
    print_rows([_("Item"), _("Count")], rows, title=_("Demo city"))
    err_console.print(_("Demo city built in {seconds:.1f} s (seed {seed}).").format(seconds=elapsed, seed=seed),
                      highlight=False)


drill_app = typer.Typer(help=_("Drills: a simulated outbreak in the synthetic city, scored against a "
                               "no-response baseline."), no_args_is_help=True)
app.add_typer(drill_app, name="drill")


@drill_app.command("schema", help=_("Print the JSON Schema of a drill scenario (YAML)."))
def drill_schema_cmd() -> None:
    from fangkong.drill.scenario_schema import scenario_json_schema

    typer.echo(json.dumps(scenario_json_schema(), ensure_ascii=False, indent=2))


@drill_app.command("run", help=_("Run a drill scenario with a seed into a directory: truth files, daily curves "
                                 "and score.json, with the no-response baseline in DIR/baseline/."))
def drill_run_cmd(
    scenario_file: Path = typer.Argument(..., metavar="SCENARIO", help=_("Scenario YAML file.")),
    seed: int = typer.Option(..., "--seed", help=_("Random seed: the same scenario and seed give the same files.")),
    out: Path = typer.Option(..., "--out", help=_("Directory for the run's files.")),
    sets: list[str] = typer.Option([], "--set", metavar="KEY=VALUE",
                                   help=_("Change one scenario value, e.g. transmission.r0=2.5 (repeatable).")),
    force: bool = typer.Option(False, "--force", help=_("Replace a run already in the directory.")),
    db_url: str | None = typer.Option(None, "--db", metavar="URL",
                                      help=_("The drill's own database (default: $FANGKONG_DATA_DIR/drills/RUN.db, "
                                             "made like init --mode drill). Any other database is refused.")),
    transport: str = typer.Option("http", "--transport", metavar="http|inprocess",
                                  help=_("How the simulated senders and responders reach the platform: a real "
                                         "HTTP server on a free local port, or the same routes in-process.")),
    ceiling: bool = typer.Option(False, "--ceiling", help=_(
        "Also run the same drill with instant responders (into DIR/ceiling, on a database of its own) and "
        "score the response against that ceiling.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print score.json's scores as JSON.")),
) -> None:
    from fangkong.drill.platform.database import NotADrillDatabase
    from fangkong.drill.platform.transport import TRANSPORTS
    from fangkong.drill.scenario_schema import ScenarioError, load_scenario
    from fangkong.drill.sim.run import RunExists, run_drill

    try:
        scenario = load_scenario(scenario_file, sets)
    except ScenarioError as exc:
        fail("\n".join(exc.lines), 2)
    if transport not in TRANSPORTS:
        fail(_("--transport: one of {choices}").format(choices=", ".join(TRANSPORTS)), 2)
    platform_note = ""
    try:
        with progress(_("Simulated days"), scenario.days) as advance:
            if scenario.response:
                from fangkong.drill.platform.responders import responder_hours
                from fangkong.drill.platform.run import run_platform_drill

                try:
                    responder_hours(scenario.responders, {})
                except ValueError as exc:
                    fail(str(exc), 2)
                result, stats = run_platform_drill(scenario, seed=seed, out=out, db_url=db_url,
                                                   transport=transport, force=force,  # type: ignore[arg-type]
                                                   progress=advance, ceiling=ceiling)
                platform_note = _("Platform calls: {calls} over {transport}; database {db}.").format(
                    calls=stats.calls, transport=stats.transport, db=stats.db_url)
            else:
                result = run_drill(scenario, seed=seed, out=out, force=force, progress=advance)
    except RunExists:
        fail(_("{out} already holds a run; use --force to replace it").format(out=out), EXIT_UNUSABLE)
    except NotADrillDatabase as exc:
        fail(_("{db} is not a drill database: a drill runs only on its own database (made by init --mode "
               "drill, or a new one); nothing was written").format(db=exc), EXIT_UNUSABLE)
    from fangkong.drill.report.aar import write_aar

    write_aar(out)  # the after-action report (aar.xlsx, aar.pdf) beside the truth files, as the page offers it
    if as_json:
        typer.echo(json.dumps(result.score, ensure_ascii=False))
        return
    s = result.score
    print_rows([_("Item"), _("Figure")], [
        (_("Infections"), s["infections"]), (_("Attack rate"), f"{s['attack_rate']:.1%}"),
        (_("R over the first 1% of infections"), s["r_first_1pct"]),
        (_("Peak day"), s["peak_day"]), (_("Travellers"), s["travellers"]),
    ], title=_("Drill run"))
    err_console.print(_("Run written to {out} (baseline in {out}/baseline).").format(out=out), highlight=False)
    if platform_note:
        err_console.print(platform_note, highlight=False)


@drill_app.command("anchors", help=_("Run a sanity anchor (kucharski or ferretti) with the simulator's idealised "
                                     "interventions, no platform, and print our figures beside the paper's."))
def drill_anchors_cmd(
    name: str = typer.Argument(..., metavar="kucharski|ferretti", help=_("The anchor to run.")),
    seed: int = typer.Option(1, "--seed", help=_("Random seed: the same seed gives the same figures.")),
    persons: int | None = typer.Option(None, "--persons", min=100, help=_("Persons in the city (default: the "
                                                                          "anchor file's).")),
    sets: list[str] = typer.Option([], "--set", metavar="KEY=VALUE",
                                   help=_("Change one scenario value, e.g. transmission.r0=2.5 (repeatable).")),
    out: Path | None = typer.Option(None, "--out", help=_("Directory for anchor-NAME.json.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print the figures as JSON.")),
) -> None:
    from fangkong.drill.scenario_schema import ScenarioError
    from fangkong.drill.sim.anchors import ANCHORS, run_anchor

    if name not in ANCHORS:
        fail(_("unknown anchor {name}; one of {choices}").format(name=name, choices=", ".join(ANCHORS)), 2)
    edits = list(sets) + ([f"city.persons={persons}"] if persons else [])
    try:
        with progress(_("Simulated runs"), None) as advance:
            figures = run_anchor(name, seed=seed, sets=edits, progress=advance)
    except ScenarioError as exc:
        fail("\n".join(exc.lines), 2)
    text = json.dumps(figures, ensure_ascii=False, indent=2) + "\n"
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"anchor-{name}.json").write_text(text, encoding="utf-8")
    if as_json:
        typer.echo(text, nl=False)
        return
    if name == "kucharski":
        print_rows([_("Measures"), _("Paper R"), _("Paper reduction"), _("Our R"), _("Our reduction"),
                    _("Points off")],
                   [(r["rung"], r["paper_r"], f"{r['paper_reduction']:+.0%}", r["r"], f"{r['reduction']:+.0%}",
                     r["points_off"]) for r in figures["rows"]], title=figures["source"])
        err_console.print(_("Same order down the ladder: {same}; household SAR {sar}.").format(
            same=figures["same_order"], sar=figures["household_sar"]), highlight=False)
        return
    for delay, block in figures["delays"].items():
        print_rows([_("Isolation"), _("R without tracing"), _("R at the most tracing"), _("Least tracing for R < 1")],
                   [(r["isolation"], r["r_no_trace"], r["r_at_max_trace"], r["least_tracing"] if r["least_tracing"]
                     is not None else "—") for r in block["rows"]],
                   title=_("Delay {delay} d").format(delay=delay))
    err_console.print(_("R0 {r0}; 3-day delay: R > 1 for every pair: {above}; smallest pair at 0 days: {pair}.").format(
        r0=figures["r0"], above=figures["delay_3_all_above_1"], pair=figures["delay_0_smallest_pair"]),
        highlight=False)
