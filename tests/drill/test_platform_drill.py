"""The response driven through the real platform (drill/platform): both transports give the same
run, the response beats the baseline, a run in which nothing is done equals the baseline byte for
byte, a non-drill database is refused with nothing written, and drill/ imports no capability's models."""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from fangkong.drill.platform.database import NotADrillDatabase
from fangkong.drill.platform.run import run_platform_drill
from fangkong.drill.scenario_schema import Scenario, load_scenario
from fangkong.drill.sim.run import RunExists
from fangkong.settings import reset_settings_cache
from tests.cli_runner import run_cli

TINY = """\
city: {persons: 300, seed: 1}
days: 9
transmission: {r0: 2.5}
seeding: {infections: 6}
imports: {per_day: 2, infected_share: 0.3}
response: true
responders: instant
"""
TRUTH = ("truth_infections.csv", "contacts.csv", "travellers.csv", "daily.csv")
SRC = Path(__file__).resolve().parents[2] / "src" / "fangkong"


def _scenario(tmp: Path, sets: list[str] | None = None) -> Scenario:
    path = tmp / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return load_scenario(path, sets or [])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from fangkong.kernel.people import crypto

    tmp = tmp_path_factory.mktemp("drill-platform")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FANGKONG_DATA_DIR", str(tmp))
        reset_settings_cache()
        crypto.reset_keys()
        yield tmp
    reset_settings_cache()
    crypto.reset_keys()


@pytest.fixture(scope="module")
def runs(data_dir: Path) -> dict[str, Any]:
    """The tiny scenario over both transports, on databases of their own."""
    out: dict[str, Any] = {}
    for transport in ("inprocess", "http"):
        result, stats = run_platform_drill(_scenario(data_dir), seed=3, out=data_dir / transport,
                                           db_url=f"sqlite:///{data_dir / (transport + '.db')}",
                                           transport=transport, ceiling=True)  # type: ignore[arg-type]
        out[transport] = (result, stats)
    return out


def test_both_transports_give_the_same_run(runs: dict[str, Any], data_dir: Path) -> None:
    (a, sa), (b, sb) = runs["inprocess"], runs["http"]
    for name in TRUTH:
        assert (data_dir / "inprocess" / name).read_bytes() == (data_dir / "http" / name).read_bytes(), name
    assert a.score == b.score
    assert sa.calls == sb.calls > 0
    # instant responders are their own ceiling: no second run
    assert sa.ceiling_calls == 0 and not (data_dir / "http" / "ceiling").exists()
    assert b.score["contacts_before_infectious_ceiling"] == b.score["contacts_before_infectious"]


def test_the_response_beats_the_baseline_and_is_scored(runs: dict[str, Any]) -> None:
    result, _stats = runs["http"]
    s = result.score
    assert s["infections_averted"] > 0 and s["relative_reduction"] > 0
    assert s["infections"] < s["baseline_infections"]
    assert s["imports_controlled_24h"] is not None and s["imports_controlled_24h"] >= 0.9  # instant responders
    assert s["controlled"] > 0 and s["detected"] > 0 and s["tests_used"] > 0
    assert s["leads_cleared_same_day"] is not None
    assert set(s["first_positive_to_all_contacts_h"]) == {"p50", "p90"}
    # baseline: nobody controlled, every response share empty or zero
    assert result.baseline["controlled"] == 0 and result.baseline["contacts_before_infectious"] is None


def test_a_run_in_which_nothing_is_done_equals_the_baseline(data_dir: Path) -> None:
    scenario = _scenario(data_dir, ["responders=none", "days=5"])
    out = data_dir / "none"
    result, stats = run_platform_drill(scenario, seed=3, out=out, db_url=f"sqlite:///{data_dir / 'none.db'}",
                                       transport="inprocess")
    assert stats.calls > 0  # the senders still sent (checkpoint records), nobody acted on them
    assert result.score["controlled"] == 0
    for name in TRUTH:
        assert (out / name).read_bytes() == (out / "baseline" / name).read_bytes(), name


def test_a_non_drill_database_is_refused_with_nothing_written(cli_db: Engine, tmp_path: Path) -> None:
    """The configured (test-mode) database, and PostgreSQL's when set, are not a drill's: exit 1."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    urls = [str(cli_db.url.render_as_string(hide_password=False))]
    if os.environ.get("FANGKONG_TEST_DATABASE_URL"):
        urls.append(os.environ["FANGKONG_TEST_DATABASE_URL"])
    with Session(cli_db) as session:
        before = session.execute(select(func.count()).select_from(_table(session, "person"))).scalar_one()
    for url in urls:
        out = tmp_path / "o"
        run = run_cli("drill", "run", str(path), "--seed", "1", "--out", str(out), "--db", url)
        assert run.returncode == 1, run.stdout + run.stderr
        assert "not a drill database" in " ".join(run.stderr.split())
        assert not out.exists()
    with Session(cli_db) as session:
        assert session.execute(select(func.count()).select_from(_table(session, "person"))).scalar_one() == before
    if len(urls) > 1:  # the server database's default schema got nothing either
        from sqlalchemy import create_engine, inspect

        probe = create_engine(urls[1])
        try:
            assert "system_setting" not in inspect(probe).get_table_names()
        finally:
            probe.dispose()
    with pytest.raises(NotADrillDatabase):
        run_platform_drill(_scenario(tmp_path), seed=1, out=tmp_path / "o2", db_url="sqlite:///:memory:")


def _table(session: Session, name: str) -> Any:
    from sqlalchemy import table

    return table(name)


def test_an_out_holding_another_run_is_refused_before_the_database_is_made(tmp_path: Path) -> None:
    out = tmp_path / "o"
    (out / "baseline").mkdir(parents=True)
    (out / "score.json").write_text(json.dumps({"seed": 1}), encoding="utf-8")
    db_file = tmp_path / "d.db"
    with pytest.raises(RunExists):
        run_platform_drill(_scenario(tmp_path), seed=1, out=out, db_url=f"sqlite:///{db_file}")
    assert not db_file.exists()


def test_bad_responders_and_transport_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    bad = run_cli("drill", "run", str(path), "--seed", "1", "--out", str(tmp_path / "o"), "--transport", "pigeon")
    assert bad.returncode == 2 and "--transport" in bad.stderr
    role = run_cli("drill", "run", str(path), "--seed", "1", "--out", str(tmp_path / "o"),
                   "--set", "responders={janitor: 3}")
    assert role.returncode == 2 and "responders.janitor" in role.stderr
    assert not (tmp_path / "o").exists()


def test_the_platform_driver_imports_no_capability_at_all() -> None:
    """drill/platform reaches the capabilities only over the public API (the app it serves), never
    their modules; that drill/ imports no capability's models is tests/drill/test_sim_isolation.py's."""
    from fangkong.registry import CAPABILITIES

    offenders = []
    for file in sorted((SRC / "drill" / "platform").rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                parts = name.split(".")
                if len(parts) > 1 and parts[0] == "fangkong" and parts[1] in CAPABILITIES and parts[1] != "drill":
                    offenders.append(f"{file.name}: {name}")
    assert len(list((SRC / "drill" / "platform").glob("*.py"))) >= 5 and not offenders, offenders
