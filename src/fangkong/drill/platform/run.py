"""`fangkong drill run` with `response: true`: the drill's own database, the platform, the senders and
responders (see `response`), and the simulation run against them (`sim.run.run_drill`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fangkong.drill.platform.database import check_url, default_url, open_drill_database
from fangkong.drill.platform.response import PlatformResponse, responder_hours
from fangkong.drill.platform.setup import prepare
from fangkong.drill.platform.transport import Platform, TransportName
from fangkong.drill.scenario_schema import Scenario
from fangkong.drill.sim.run import RunExists, RunResult, holds_run, run_drill, run_id
from fangkong.drill.sim.world import World


@dataclass
class PlatformStats:
    db_url: str
    transport: str
    calls: int


def run_platform_drill(scenario: Scenario, *, seed: int, out: Path, db_url: str | None = None,
                       transport: TransportName = "http", force: bool = False,
                       progress: Callable[[int], None] | None = None) -> tuple[RunResult, PlatformStats]:
    """Run `scenario` worked through the platform on the drill's own database (default
    `$FANGKONG_DATA_DIR/drills/RUN.db`). Refuses, before writing anything, a database that is not a
    drill's (`NotADrillDatabase`) and an `out` holding another run (`RunExists`, unless `force`)."""
    from sqlalchemy.orm import sessionmaker

    from fangkong.kernel import clock, db
    from fangkong.settings import get_settings

    responder_hours(scenario.responders, {})  # a bad mapping fails before anything is written
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    url = db_url or default_url(get_settings().data_dir, run_id(scenario, seed, started))
    check_url(url)
    if holds_run(out) and not force:
        raise RunExists(str(out))
    previous_mode, previous_engine = clock.mode(), db._engine
    engine = open_drill_database(url)
    db.set_engine(engine)  # the process's database is the drill's while it runs
    holder: dict[str, Any] = {}

    def factory(world: World) -> PlatformResponse:
        setup = prepare(engine, persons=scenario.city.persons, city_seed=scenario.city.seed,
                        world_person_ids=world.person_id.tolist())
        platform = Platform(sessionmaker(engine, expire_on_commit=False), transport)
        holder["platform"] = platform
        return PlatformResponse(platform, scenario=scenario, seed=seed, world=world, tokens=setup.tokens,
                                identity=setup.identity, sla_hours=setup.sla_hours, site_id=setup.site_id,
                                centralised=setup.centralised)

    try:
        result = run_drill(scenario, seed=seed, out=out, force=force, response=factory, progress=progress)
    finally:
        if "platform" in holder:
            holder["platform"].close()
        db.set_engine(previous_engine)
        engine.dispose()
        clock.configure(previous_mode)
    calls = holder["platform"].calls if "platform" in holder else 0
    return result, PlatformStats(db_url=url, transport=transport, calls=calls)
