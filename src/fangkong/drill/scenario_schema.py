"""A drill's scenario (演练想定): the YAML a drill runs, validated by Pydantic.

```yaml
city: {persons: 20000, seed: 1}
start: 2022-04-01T00:00:00+08:00
days: 150
pathogen: omicron-ba2            # or {preset: omicron-ba2, incubation_mean_d: 3.0, ...}
transmission: {r0: 2.0, mixing: homogeneous}  # | structured
seeding: {infections: 20}
imports: {per_day: 0}
response: true                   # false: simulation only, the run is its own baseline
responders: default
```

`pathogen` names a preset (`PRESETS`) or gives one with any value overridden; the scenario "as run"
(`Scenario.as_run()`) always spells every value out, so a score file says exactly what was simulated.
`--set key=value` edits one dotted field before validation (`transmission.r0=2.5`,
`pathogen.asymptomatic_share=0.4`); an unknown key or an invalid value is a `ScenarioError` whose
lines name the field path (`transmission.r0: must be > 0`).

Not to be confused with `drill/scenario.py`, the demo city's starting situation.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fangkong.kernel.i18n import _

__all__ = ["PRESETS", "Scenario", "ScenarioError", "load_scenario", "scenario_json_schema"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CitySpec(_Strict):
    """The synthetic city the drill runs in: the one `fangkong demo --persons N --seed S` builds."""

    persons: int = Field(20000, gt=0, le=5_000_000)
    seed: int = 1


class Pathogen(_Strict):
    """Natural history (自然史). Times in days. Defaults: `omicron-ba2` with the sources of issue #17:
    incubation 3.42 d (Wu et al., JAMA Netw Open 2022;5:e2228008; SD assumed); infectious from 1–2.5 d
    before onset, at least 0.5 d after infection, front-loaded; ≈ 5–6 d after onset (Wu et al., Int J
    Infect Dis 2023;129:228; Boucau et al., NEJM 2022;387:275); 32% asymptomatic (Shang et al.,
    Vaccines 2022;10:1049) at relative infectiousness 0.5 (assumed); PCR positive from day 1 to ≈ 11."""

    preset: str = "omicron-ba2"
    incubation_mean_d: float = Field(3.4, gt=0)
    incubation_sd_d: float = Field(1.8, gt=0)
    #: infectiousness starts uniformly this many days before onset …
    presymptomatic_min_d: float = Field(1.0, ge=0)
    presymptomatic_max_d: float = Field(2.5, ge=0)
    #: … but never earlier than this after infection
    latent_min_d: float = Field(0.5, ge=0)
    #: infectiousness ends uniformly this many days after onset
    infectious_after_onset_min_d: float = Field(5.0, gt=0)
    infectious_after_onset_max_d: float = Field(6.0, gt=0)
    #: after onset infectiousness decays exponentially with this time constant (front-loaded)
    decay_d: float = Field(1.5, gt=0)
    asymptomatic_share: float = Field(0.32, ge=0, le=1)
    asymptomatic_relative_infectiousness: float = Field(0.5, ge=0)
    pcr_positive_from_d: float = Field(1.0, ge=0)
    pcr_positive_until_d: float = Field(11.0, gt=0)
    pcr_sensitivity: float = Field(0.95, ge=0, le=1)
    antigen_sensitivity: float = Field(0.6, ge=0, le=1)
    #: share of symptomatic persons who visit a fever clinic or pharmacy, and the delay after onset
    care_seeking_share: float = Field(0.3, ge=0, le=1)
    care_seeking_delay_mean_d: float = Field(1.5, ge=0)

    @model_validator(mode="after")
    def _ranges(self) -> Pathogen:
        if self.presymptomatic_max_d < self.presymptomatic_min_d:
            raise ValueError("presymptomatic_max_d must be >= presymptomatic_min_d")
        if self.infectious_after_onset_max_d < self.infectious_after_onset_min_d:
            raise ValueError("infectious_after_onset_max_d must be >= infectious_after_onset_min_d")
        if self.pcr_positive_until_d <= self.pcr_positive_from_d:
            raise ValueError("pcr_positive_until_d must be > pcr_positive_from_d")
        return self


#: named natural histories; a scenario's `pathogen: NAME` takes one whole
PRESETS: dict[str, dict[str, Any]] = {"omicron-ba2": {}}


class Transmission(_Strict):
    """How infection spreads: `homogeneous` (everyone meets everyone: the final-size check) or
    `structured` (household, work or school group, venue visits, community, scaled to R0)."""

    r0: float = Field(2.0, gt=0, le=30)
    mixing: Literal["homogeneous", "structured"] = "structured"
    #: shares of R0 by setting in `structured` mixing (normalised to 1)
    household: float = Field(0.35, ge=0)
    work: float = Field(0.25, ge=0)
    venue: float = Field(0.25, ge=0)
    community: float = Field(0.15, ge=0)
    #: share of a centralised-quarantined person's household contact that still happens (leak)
    centralised_leak: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _shares(self) -> Transmission:
        if self.household + self.work + self.venue + self.community <= 0:
            raise ValueError("the setting shares must not all be 0")
        return self


class Seeding(_Strict):
    """Infections present at the start (index cases, 起始病例)."""

    infections: int = Field(20, ge=0)


class Imports(_Strict):
    """Travellers from risk areas arriving daily (rail, air, road, dock); `infected_share` of them infected."""

    per_day: float = Field(0, ge=0)
    infected_share: float = Field(0.05, ge=0, le=1)
    #: modes of arrival and their weights
    modes: dict[Literal["rail", "air", "road", "dock"], float] = Field(
        default_factory=lambda: {"rail": 0.4, "air": 0.15, "road": 0.4, "dock": 0.05})


class Movement(_Strict):
    """Daily movement: venue visits per day (Poisson, at most `max_visits`), Zipf popularity exponent,
    distance scale (km) and the scan probability where scanning is enforced or not."""

    visits_weekday: float = Field(0.8, ge=0)
    visits_weekend: float = Field(1.3, ge=0)
    max_visits: int = Field(3, ge=0, le=8)
    zipf: float = Field(1.0, ge=0)
    distance_km: float = Field(2.0, gt=0)
    scan_enforced_share: float = Field(0.7, ge=0, le=1)
    scan_enforced: float = Field(0.9, ge=0, le=1)
    scan_not_enforced: float = Field(0.35, ge=0, le=1)
    work_group: int = Field(12, ge=2)
    school_class: int = Field(35, ge=2)
    #: each venue visitor meets at most this many of those present in the same hour
    venue_contacts: int = Field(10, ge=1)


Responders = Literal["instant", "default", "none"] | dict[str, Any]


class Scenario(_Strict):
    """One drill's scenario (演练想定)."""

    city: CitySpec = Field(default_factory=CitySpec)
    start: dt.datetime = dt.datetime(2022, 4, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    days: Annotated[int, Field(gt=0, le=1000)] = 150
    pathogen: Pathogen = Field(default_factory=Pathogen)
    transmission: Transmission = Field(default_factory=Transmission)
    seeding: Seeding = Field(default_factory=Seeding)
    imports: Imports = Field(default_factory=Imports)
    movement: Movement = Field(default_factory=Movement)
    response: bool = True
    responders: Responders = "default"

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("pathogen"), str):
            data = {**data, "pathogen": {"preset": data["pathogen"]}}
        if isinstance(data, dict) and isinstance(data.get("pathogen"), dict):
            name = data["pathogen"].get("preset", "omicron-ba2")
            if name not in PRESETS:
                raise ValueError(f"pathogen.preset: unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}")
            data = {**data, "pathogen": {**PRESETS[name], **data["pathogen"]}}
        return data

    @model_validator(mode="after")
    def _aware_start(self) -> Scenario:
        if self.start.tzinfo is None:
            self.start = self.start.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
        return self

    def as_run(self) -> dict[str, Any]:
        """Every value spelled out, JSON-ready (the `scenario` of score.json)."""
        return self.model_dump(mode="json")


class ScenarioError(Exception):
    """An unusable scenario: `lines` are `field.path: message` (exit 2)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _limit(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _message(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], {k: _limit(v) for k, v in (err.get("ctx") or {}).items()}
    if kind == "greater_than":
        return _("must be > {limit}").format(limit=ctx["gt"])
    if kind == "greater_than_equal":
        return _("must be >= {limit}").format(limit=ctx["ge"])
    if kind == "less_than_equal":
        return _("must be <= {limit}").format(limit=ctx["le"])
    if kind == "extra_forbidden":
        return _("unknown field")
    if kind == "missing":
        return _("required")
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"]))
    return str(err["msg"])


def _errors(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
        text = _message(err)
        if not loc and ": " in text:  # a before-validator names its own path
            lines.append(text.removeprefix("Value error, "))
            continue
        lines.append(f"{'.'.join(loc) or 'scenario'}: {text.removeprefix('Value error, ')}")
    return lines


def _apply_set(data: dict[str, Any], item: str) -> None:
    if "=" not in item:
        raise ScenarioError([_("{item}: expected key=value").format(item=item)])
    key, raw = item.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ScenarioError([_("{key}: unknown field").format(key=key)])
    value = yaml.safe_load(raw) if raw.strip() else ""
    node: Any = data
    model: Any = Scenario
    for i, part in enumerate(parts):
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            if isinstance(node, dict) and model is None:  # a free mapping (imports.modes, responders)
                pass
            else:
                raise ScenarioError([_("{key}: unknown field").format(key=".".join(parts[: i + 1]))])
        ann = fields[part].annotation if fields is not None and part in fields else None
        if i == len(parts) - 1:
            node[part] = value
            return
        child = node.get(part)
        if part == "pathogen" and isinstance(child, str):
            child = {"preset": child}
        if not isinstance(child, dict):
            child = {}
        node[part] = child
        node = child
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def load_scenario(source: str | Path | dict[str, Any], sets: list[str] | tuple[str, ...] = ()) -> Scenario:
    """The validated scenario of a YAML file (or mapping), with `key=value` edits applied first."""
    if isinstance(source, dict):
        data = dict(source)
    else:
        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ScenarioError([f"{source}: {exc.strerror or exc}"]) from exc
        except yaml.YAMLError as exc:
            raise ScenarioError([f"{source}: {_('not valid YAML')} ({exc})"]) from exc
    if not isinstance(data, dict):
        raise ScenarioError([_("scenario: expected a mapping")])
    data.pop("anchor", None)  # a sanity anchor's ladder (drill/sim/anchors.py): not part of the scenario
    for item in sets:
        _apply_set(data, item)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_errors(exc)) from exc


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario (`fangkong drill schema`)."""
    return Scenario.model_json_schema()
