"""`fangkong drill run` with `response: true`: the drill's own database, the platform, the senders and
responders (see `response`), and the simulation run against them (`sim.run.run_drill`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fangkong.drill.platform.database import check_url, default_url, open_drill_database
from fangkong.drill.platform.responders import responder_hours
from fangkong.drill.platform.response import PlatformResponse
from fangkong.drill.platform.setup import prepare
from fangkong.drill.platform.transport import Platform, TransportName
from fangkong.drill.scenario_schema import Scenario
from fangkong.drill.sim.run import RunExists, RunResult, holds_run, run_drill, run_id
from fangkong.drill.sim.world import World

#: the scores an instant response reaches in the same drill (`*_ceiling` in score.json)
CEILING_SCORES = ("contacts_before_infectious", "infectees_of_cases_controlled_before_infectious")


@dataclass
class PlatformStats:
    db_url: str
    transport: str
    calls: int
    ceiling_calls: int = 0


def ceiling_url(url: str, data_dir: Path, run: str) -> str:
    """The ceiling run's own database: beside a SQLite `--db` (`NAME-ceiling.db`), else the default place."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        return f"sqlite:///{path.with_name(path.stem + '-ceiling' + path.suffix).as_posix()}"
    return default_url(data_dir, run + "-ceiling")


def _add_ceiling(out: Path, result: RunResult, ceiling: dict[str, Any]) -> None:
    """`*_ceiling` scores into the run's score.json (same layout as `sim.run` writes it)."""
    added = {f"{name}_ceiling": ceiling.get(name) for name in CEILING_SCORES}
    result.score.update(added)
    path = out / "score.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["scores"].update(added)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def run_platform_drill(scenario: Scenario, *, seed: int, out: Path, db_url: str | None = None,
                       transport: TransportName = "http", force: bool = False,
                       progress: Callable[[int], None] | None = None,
                       ceiling: bool = False) -> tuple[RunResult, PlatformStats]:
    """Run `scenario` worked through the platform on the drill's own database (default
    `$FANGKONG_DATA_DIR/drills/RUN.db`). Refuses, before writing anything, a database that is not a
    drill's (`NotADrillDatabase`) and an `out` holding another run (`RunExists`, unless `force`).

    `ceiling`: also run the same drill with `responders: instant` (into `out/ceiling/`, on a database of
    its own: `ceiling_url`) and add its scores as `*_ceiling` to the run's score.json — the ceiling an
    instant response reaches in the same drill. With instant responders the run is its own ceiling."""
    from sqlalchemy.orm import sessionmaker

    from fangkong.kernel import clock, db
    from fangkong.settings import get_settings

    responder_hours(scenario.responders, {})  # a bad mapping fails before anything is written
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    url = db_url or default_url(get_settings().data_dir, run_id(scenario, seed, started))
    check_url(url)
    instant = scenario.responders == "instant"
    c_url = ceiling_url(url, get_settings().data_dir, run_id(scenario, seed, started)) if ceiling and not instant else None
    if c_url is not None:
        check_url(c_url)
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
    stats = PlatformStats(db_url=url, transport=transport, calls=calls)
    if ceiling:
        if c_url is None:  # instant responders: the run is its own ceiling
            _add_ceiling(out, result, result.score)
        else:
            top, _s = run_platform_drill(scenario.model_copy(update={"responders": "instant"}), seed=seed,
                                         out=out / "ceiling", db_url=c_url, transport=transport, force=force)
            stats.ceiling_calls = _s.calls
            _add_ceiling(out, result, top.score)
    return result, stats
