"""`fangkong demo`: build the fictional demo city (演示城市) in an initialised database."""

from __future__ import annotations

import json
import time

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
    from fangkong.drill.city import city_exists, generate_city
    from fangkong.drill.scenario import seed_scenario
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
        except DomainError as exc:
            fail(describe_error(exc), EXIT_UNUSABLE)
    elapsed = time.monotonic() - started
    if as_json:
        typer.echo(json.dumps({"created": True, "seed": seed, **stats.as_dict(), "risk_areas": scenario.risk_areas,
                               "leads": scenario.leads, "leads_verified": scenario.verified,
                               "members": scenario.members, "samples": scenario.samples}, ensure_ascii=False))
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
