"""Drill scenarios (演练想定): the issue's YAML validates, `--set` edits name their field path, bad input
exits 2, a directory holding another run exits 1 unless --force (Typer's CliRunner, in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong import cli
from fangkong.drill.scenario_schema import PRESETS, ScenarioError, load_scenario
from fangkong.kernel.cli_support import CliError

ISSUE_YAML = """\
city: {persons: 20000, seed: 1}
start: 2022-04-01T00:00:00+08:00
days: 150
pathogen: omicron-ba2
transmission: {r0: 2.0, mixing: homogeneous}  # | structured
seeding: {infections: 20}
imports: {per_day: 0}
response: true       # false: simulation only, the run is its own baseline
responders: default
"""

SMALL_YAML = """\
city: {persons: 300, seed: 2}
start: 2022-04-01T00:00:00+08:00
days: 5
transmission: {r0: 2.0, mixing: structured}
seeding: {infections: 3}
response: false
"""


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    cli._load_commands()


class _Out:
    def __init__(self, code: int, output: str) -> None:
        self.exit_code, self.output = code, output


def _invoke(args: list[str]) -> _Out:
    """Exit status and output as `fangkong` gives them: a CliError carries its status (cli.main)."""
    result = CliRunner().invoke(cli.app, args)
    if isinstance(result.exception, CliError):
        return _Out(result.exception.code, result.output + str(result.exception))
    return _Out(result.exit_code, result.output)


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issue_scenario_validates_with_the_cited_omicron_values(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path, ISSUE_YAML))
    assert sc.city.persons == 20000 and sc.days == 150 and sc.response is True and sc.responders == "default"
    assert sc.transmission.mixing == "homogeneous" and sc.transmission.r0 == 2.0
    assert sc.start.utcoffset().total_seconds() == 8 * 3600
    p = sc.as_run()["pathogen"]
    assert p["preset"] == "omicron-ba2" and "omicron-ba2" in PRESETS
    assert (p["incubation_mean_d"], p["incubation_sd_d"], p["asymptomatic_share"],
            p["asymptomatic_relative_infectiousness"], p["presymptomatic_min_d"], p["presymptomatic_max_d"],
            p["latent_min_d"], p["pcr_positive_from_d"], p["pcr_positive_until_d"]) == (
        3.4, 1.8, 0.32, 0.5, 1.0, 2.5, 0.5, 1.0, 11.0)


def test_set_edits_a_dotted_field_even_inside_a_named_preset(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path, ISSUE_YAML), ["transmission.r0=3", "pathogen.incubation_mean_d=3.0",
                                                       "response=false", "imports.modes.air=1"])
    assert sc.transmission.r0 == 3.0 and sc.pathogen.incubation_mean_d == 3.0 and sc.response is False
    assert sc.pathogen.preset == "omicron-ba2" and sc.imports.modes["air"] == 1


@pytest.mark.parametrize(("sets", "line"), [
    (["transmission.r0=0"], "transmission.r0: must be > 0"),
    (["transmission.r0=-1"], "transmission.r0: must be > 0"),
    (["transmission.foo=1"], "transmission.foo: unknown field"),
    (["nothing=1"], "nothing: unknown field"),
    (["pathogen.asymptomatic_share=2"], "pathogen.asymptomatic_share: must be <= 1"),
    (["transmission.mixing=chaotic"], "transmission.mixing: "),
    (["pathogen.preset=delta"], "pathogen.preset: unknown preset 'delta'"),
    (["r0"], "r0: expected key=value"),
])
def test_bad_values_and_unknown_keys_name_the_field_path(tmp_path: Path, sets: list[str], line: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(_write(tmp_path, ISSUE_YAML), sets)
    assert any(x.startswith(line) for x in err.value.lines), err.value.lines


def test_schema_command_prints_the_json_schema() -> None:
    result = _invoke(["drill", "schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert {"city", "start", "days", "pathogen", "transmission", "seeding", "imports", "response",
            "responders"} <= set(schema["properties"])
    assert schema["$defs"]["Transmission"]["properties"]["r0"]["exclusiveMinimum"] == 0


def test_run_refuses_bad_input_with_exit_2_and_the_field_path(tmp_path: Path) -> None:
    path = _write(tmp_path, SMALL_YAML)
    bad = _invoke(["drill", "run", str(path), "--seed", "1", "--out", str(tmp_path / "o"),
                                  "--set", "transmission.r0=0"])
    assert bad.exit_code == 2 and "transmission.r0: must be > 0" in bad.output
    unknown = _invoke(["drill", "run", str(path), "--seed", "1", "--out", str(tmp_path / "o"),
                                      "--set", "transmission.beta=1"])
    assert unknown.exit_code == 2 and "transmission.beta: unknown field" in unknown.output
    assert not (tmp_path / "o").exists()  # nothing written


def test_an_out_directory_holding_another_run_needs_force(tmp_path: Path) -> None:
    path = _write(tmp_path, SMALL_YAML)
    out = tmp_path / "o"
    first = _invoke(["drill", "run", str(path), "--seed", "1", "--out", str(out), "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output.strip().splitlines()[-1])["infections"] >= 3
    assert (out / "score.json").exists() and (out / "baseline" / "truth_infections.csv").exists()
    again = _invoke(["drill", "run", str(path), "--seed", "2", "--out", str(out)])
    assert again.exit_code == 1 and "--force" in again.output
    assert json.loads((out / "score.json").read_text(encoding="utf-8"))["seed"] == 1  # untouched
    forced = _invoke(["drill", "run", str(path), "--seed", "2", "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads((out / "score.json").read_text(encoding="utf-8"))["seed"] == 2


def test_the_shipped_scenarios_validate() -> None:
    shipped = sorted((Path(__file__).resolve().parents[2] / "src" / "fangkong" / "drill" / "scenarios").glob("*.yaml"))
    assert {p.name for p in shipped} >= {"default.yaml", "calibration.yaml"}
    for path in shipped:
        load_scenario(path)
    assert load_scenario(shipped[0]).transmission.mixing in ("homogeneous", "structured")
