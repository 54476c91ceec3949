"""A drill run as its directory holds it (演练复盘数据): `score.json`, `daily.csv` (and the no-response
baseline's `baseline/daily.csv`), `truth_infections.csv`, `contacts.csv`, optionally `travellers.csv`.

Runs live under `$FANGKONG_DATA_DIR/drills/<id>/`; the id is the directory's name. This module only
reads them — the simulator (`fangkong drill run`) writes them — and computes what the report shows:
scores against goals, both curves, the clocks (where the hours go) and the slowest chains with their
复盘. Pure file reading: no session, no platform table.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fangkong.kernel import clock
from fangkong.kernel.errors import NotFound
from fangkong.kernel.messages import Message, _, message, translate

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
NO_SUCH_RUN = message("drill.no_such_run", _("no drill run named %(run)s"))

# --- the scores: what each one means, how it reads, and its goal --------------------------------------

SHARE, HOURS, COUNT, NUMBER = "share", "hours", "count", "number"


@dataclass(frozen=True)
class Goal:
    """`op` compares the score (or its p90 for hours) with `value`, or with the run's own score named
    `ceiling` (what an instant response reached in the same drill)."""

    op: str  # ge | gt | le
    value: float | None = None
    ceiling: str | None = None
    source: str = ""


#: name → (label msgid, kind, goal); the order is the report's
SCORES: dict[str, tuple[str, str, Goal | None]] = {
    "imports_controlled_24h": (_("Travellers under a measure within 24 h of arrival"), SHARE,
                               Goal("ge", 0.95, source=_("issue #17: target ≥ 95%"))),
    "contacts_before_infectious": (_("Infected close contacts controlled before they became infectious"), SHARE,
                                   Goal("ge", ceiling="contacts_before_infectious_ceiling",
                                        source=_("the ceiling an instant response reaches in the same drill"))),
    "infectees_of_cases_controlled_before_infectious": (
        _("Everyone infected by a detected case, controlled before infectious (never listed: a miss)"), SHARE,
        Goal("ge", ceiling="infectees_of_cases_controlled_before_infectious_ceiling",
             source=_("the ceiling an instant response reaches in the same drill"))),
    "first_positive_to_all_contacts_h": (_("Hours from a case's first positive to all its contacts listed"), HOURS,
                                         Goal("le", 24, source=_("epidemiological investigation within 24 h (p90)"))),
    "leads_cleared_same_day": (_("Leads cleared the same day"), SHARE, None),
    "infections_averted": (_("Infections averted (baseline minus response)"), COUNT,
                           Goal("gt", 0, source=_("the response beats the baseline"))),
    "relative_reduction": (_("Relative reduction of infections"), SHARE, Goal("gt", 0, source=_(
        "the response beats the baseline"))),
    "infections": (_("Infections with the response"), COUNT, None),
    "baseline_infections": (_("Infections without a response (baseline)"), COUNT, None),
    "attack_rate": (_("Attack rate"), SHARE, None),
    "baseline_attack_rate": (_("Attack rate without a response"), SHARE, None),
    "r_first_1pct": (_("R over the first 1% of infections"), NUMBER, None),
    "r_eff_by_generation": (_("Effective R by generation"), NUMBER, None),
    "cases_detected_in_control": (_("Cases detected while already under a measure"), SHARE, None),
    "tests_used": (_("Tests used"), COUNT, None),
    "quarantine_person_days": (_("Quarantine person-days"), COUNT, None),
    "quarantine_person_days_per_averted": (_("Quarantine person-days per infection averted"), NUMBER, None),
    "generation_interval_mean_d": (_("Mean generation interval (days)"), NUMBER, None),
    "infections_by_setting": (_("Infections by setting"), COUNT, None),
    "peak_day": (_("Peak day (day of the run)"), COUNT, None),
    "peak_infections": (_("Infections on the peak day"), COUNT, None),
    "seeded": (_("Seeded infections"), COUNT, None),
    "imported_infections": (_("Imported infections"), COUNT, None),
    "travellers": (_("Travellers arrived"), COUNT, None),
    "r_first_1pct_cases": (_("Infections behind the early R"), COUNT, None),
    "detected": (_("Cases detected"), COUNT, None),
    "controlled": (_("Persons put under a measure"), COUNT, None),
    "contacts_before_infectious_ceiling": (_("Ceiling: infected contacts controlled before infectious, instant "
                                             "response"), SHARE, None),
    "infectees_of_cases_controlled_before_infectious_ceiling": (
        _("Ceiling: infectees of cases controlled before infectious, instant response"), SHARE, None),
}
OTHER_SCORE = message("drill.other_score", _("Score %(name)s"))


def score_label(name: str) -> str | Message:
    """The msgid naming a score (an unknown score by its code, still through the catalog)."""
    return SCORES[name][0] if name in SCORES else OTHER_SCORE(name=name)


# --- the files ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Day:
    day: int
    date: str
    infections: int
    infectious: int
    detected: int
    controlled: int


@dataclass(frozen=True)
class Infection:
    person_id: int
    infected_at: dt.datetime | None
    infector_id: int | None
    setting: str
    infectious_from: dt.datetime | None
    onset_at: dt.datetime | None
    asymptomatic: bool
    imported: bool
    detected_at: dt.datetime | None
    controlled_at: dt.datetime | None


@dataclass(frozen=True)
class Contact:
    case_id: int
    contact_person_id: int
    category: str
    listed_at: dt.datetime | None
    controlled_at: dt.datetime | None
    infected: bool


@dataclass
class ScoreRow:
    name: str
    label: Any
    kind: str
    value: Any
    shown: str
    goal: str
    met: bool | None


@dataclass
class Clock:
    """One interval of the response, over every case (or contact, or traveller) that has both ends."""

    code: str
    label: str
    n: int
    p50: float | None
    p90: float | None


@dataclass
class Chain:
    """A detected case and whom it infected: how late each was controlled, and why (复盘)."""

    case_id: int
    infector_id: int | None
    setting: str
    infected_at: dt.datetime | None
    onset_at: dt.datetime | None
    detected_at: dt.datetime | None
    controlled_at: dt.datetime | None
    contacts: int
    infectees: list[int]
    late: int  # infectees controlled after their infectious start, or never
    unlisted: int  # infectees never listed as a contact
    onset_to_detected_h: float | None
    detected_to_all_contacts_h: float | None
    review: Any = None

    @property
    def setting_msgid(self) -> str:
        return setting_label(self.setting)


@dataclass
class RunSummary:
    id: str
    scenario: dict[str, Any]
    seed: int | None
    started_at: str
    wall_s: float | None
    infections: Any
    averted: Any


@dataclass
class Run:
    id: str
    dir: Path
    scenario: dict[str, Any]
    seed: int | None
    scores: dict[str, Any]
    meta: dict[str, Any]
    daily: list[Day] = field(default_factory=list)
    baseline: list[Day] = field(default_factory=list)
    infections: list[Infection] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    travellers: list[dict[str, Any]] = field(default_factory=list)


def runs_dir() -> Path:
    from fangkong.settings import get_settings

    return get_settings().data_dir / "drills"


def _time(text: str | None) -> dt.datetime | None:
    return clock.parse_time(text) if text and text.strip() else None


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(float(text)) if text else None


def _bool(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes", "y", "t", "是")


def _rows(path: Path) -> Iterator[dict[str, str]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)


def read_daily(path: Path) -> list[Day]:
    return [Day(int(r["day"]), r.get("date", ""), _int(r.get("infections")) or 0, _int(r.get("infectious")) or 0,
                _int(r.get("detected")) or 0, _int(r.get("controlled")) or 0) for r in _rows(path)]


def read_infections(path: Path) -> list[Infection]:
    return [Infection(int(r["person_id"]), _time(r.get("infected_at")), _int(r.get("infector_id")),
                      r.get("setting", ""), _time(r.get("infectious_from")), _time(r.get("onset_at")),
                      _bool(r.get("asymptomatic")), _bool(r.get("imported")), _time(r.get("detected_at")),
                      _time(r.get("controlled_at"))) for r in _rows(path)]


def read_contacts(path: Path) -> list[Contact]:
    return [Contact(int(r["case_id"]), int(r["contact_person_id"]), r.get("category", ""), _time(r.get("listed_at")),
                    _time(r.get("controlled_at")), _bool(r.get("infected"))) for r in _rows(path)]


def run_path(run_id: str) -> Path:
    """The directory of a run, or NotFound (an id that is not a plain name never reaches the disk)."""
    if not RUN_ID.match(run_id or ""):
        raise NotFound(NO_SUCH_RUN(run=run_id[:100]))
    root = runs_dir().resolve()
    path = (root / run_id).resolve()
    if path.parent != root or not (path / "score.json").is_file():
        raise NotFound(NO_SUCH_RUN(run=run_id))
    return path


def _score_json(path: Path) -> dict[str, Any]:
    data = json.loads((path / "score.json").read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def list_runs() -> list[RunSummary]:
    """Every run with a readable score.json, newest first (by the run's start, then its name)."""
    root = runs_dir()
    out: list[RunSummary] = []
    if not root.is_dir():
        return out
    for score in root.glob("*/score.json"):
        if not RUN_ID.match(score.parent.name):
            continue
        try:
            data = _score_json(score.parent)
        except (OSError, ValueError):
            continue
        run, scores = data.get("run") or {}, data.get("scores") or {}
        out.append(RunSummary(score.parent.name, data.get("scenario") or {}, data.get("seed"),
                              str(run.get("started_at") or ""), run.get("wall_s"), scores.get("infections"),
                              scores.get("infections_averted")))
    return sorted(out, key=lambda r: (r.started_at, r.id), reverse=True)


def load_run(run_id: str) -> Run:
    return load_dir(run_path(run_id))


def load_dir(path: Path) -> Run:
    """Read a run directory (every file but score.json is optional)."""
    data = _score_json(path)
    meta = data.get("run") or {}
    return Run(id=path.name, dir=path, scenario=data.get("scenario") or {}, seed=data.get("seed"),
               scores=data.get("scores") or {}, meta=meta, daily=read_daily(path / "daily.csv"),
               baseline=read_daily(path / "baseline" / "daily.csv"),
               infections=read_infections(path / "truth_infections.csv"),
               contacts=read_contacts(path / "contacts.csv"),
               travellers=[{"person_id": _int(r.get("person_id")), "arrived_at": _time(r.get("arrived_at")),
                            "infected": _bool(r.get("infected")), "controlled_at": _time(r.get("controlled_at"))}
                           for r in _rows(path / "travellers.csv")])


# --- what the report shows ----------------------------------------------------------------------------

def _pct(v: float) -> str:
    return f"{v * 100:.1f}%"


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def shown(kind: str, value: Any) -> str:
    """A score as people read it: 96.0%, 1,234, p50 3.2 h · p90 10.5 h, lists joined."""
    if value is None:
        return "—"
    if isinstance(value, Mapping):
        parts = [f"{k} {_num(float(v))}{' h' if kind == HOURS else ''}" for k, v in value.items()
                 if isinstance(v, int | float)]
        return " · ".join(parts) or "—"
    if isinstance(value, list | tuple):
        return " → ".join(shown(kind, v) for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return str(value)
    if kind == SHARE:
        return _pct(value)
    if kind == HOURS:
        return f"{_num(value)} h"
    return _num(value)


def _compared(value: Any) -> float | None:
    """The number a goal judges: the value, or the p90 of a distribution."""
    if isinstance(value, Mapping):
        value = value.get("p90")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _detail(name: str, value: Any, kind: str, locale: str) -> str | None:
    """The structured scores read in the page's language: R by generation, infections by setting."""
    if name == "r_eff_by_generation" and isinstance(value, list):
        gen = translate(_("G%(n)s"), locale)
        return " → ".join(
            (gen % {"n": g.get("generation")}) + f" {_num(float(g.get('infections') or 0))}"
            + ("" if g.get("r") is None else f" (R {float(g['r']):.2f})")
            for g in value if isinstance(g, Mapping))
    if name == "infections_by_setting" and isinstance(value, Mapping):
        return " · ".join(f"{translate(setting_label(k), locale)} {_num(float(v))}" for k, v in value.items()
                          if isinstance(v, int | float))
    return None


def score_rows(run: Run, locale: str = "zh_CN") -> list[ScoreRow]:
    """Every score of the run (known ones in the report's order, then the others), against its goal.

    A run without a response (`response: false`) is its own baseline: no goal is judged on it."""
    names = [n for n in SCORES if n in run.scores] + sorted(n for n in run.scores if n not in SCORES)
    responded = run.scenario.get("response", True) is not False
    out = []
    for name in names:
        _label, kind, goal = SCORES.get(name, (None, NUMBER, None))
        value = run.scores[name]
        goal_text, met = "", None
        detail = _detail(name, value, kind, locale)
        if detail is not None:
            out.append(ScoreRow(name, score_label(name), kind, value, detail, goal_text, met))
            continue
        if goal is not None and responded:
            target = goal.value if goal.ceiling is None else _compared(run.scores.get(goal.ceiling))
            v = _compared(value)
            if target is not None:
                sign = {"ge": "≥", "gt": ">", "le": "≤"}[goal.op]
                goal_text = f"{sign} {shown(kind if not isinstance(value, Mapping) else HOURS, target)}"
                if v is not None:
                    met = {"ge": v >= target - 1e-12, "gt": v > target, "le": v <= target}[goal.op]
        out.append(ScoreRow(name, score_label(name), kind, value, shown(kind, value), goal_text, met))
    return out


def _hours(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds() / 3600


def _quantile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile (the same rule as the simulator's scores: no interpolation)."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


#: where an infection happened, as the simulator names the settings
SETTINGS: dict[str, str] = {
    "household": _("At home, in the household"), "work": _("Work or school group"), "school": _("School"), "venue": _("Venue visit"),
    "community": _("Community"), "seed": _("Seeded infection"), "import": _("Imported"),
}


def setting_label(code: str) -> str:
    """The msgid of a setting (an unknown code as it is)."""
    return SETTINGS.get(code, code)


CLOCKS: dict[str, str] = {
    "infected_to_detected": _("Infection to detection"),
    "onset_to_detected": _("Onset to detection (symptomatic cases)"),
    "detected_to_controlled": _("Detection to the case's own measure"),
    "detected_to_all_contacts": _("Detection to all contacts listed"),
    "listed_to_controlled": _("Contact listed to contact controlled"),
    "arrival_to_controlled": _("Traveller's arrival to measure"),
}


def clocks(run: Run) -> list[Clock]:
    """Where the hours go: each interval's p50 and p90 over the cases, contacts and travellers."""
    series: dict[str, list[float]] = {k: [] for k in CLOCKS}
    by_case = _contacts_by_case(run)
    for inf in run.infections:
        if inf.detected_at is None:
            continue
        for code, h in (("infected_to_detected", _hours(inf.infected_at, inf.detected_at)),
                        ("onset_to_detected", None if inf.asymptomatic else _hours(inf.onset_at, inf.detected_at)),
                        ("detected_to_controlled", _hours(inf.detected_at, inf.controlled_at)),
                        ("detected_to_all_contacts", _all_listed_h(inf, by_case.get(inf.person_id, [])))):
            if h is not None:
                series[code].append(max(h, 0.0))
    for c in run.contacts:
        h = _hours(c.listed_at, c.controlled_at)
        if h is not None:
            series["listed_to_controlled"].append(max(h, 0.0))
    for t in run.travellers:
        h = _hours(t["arrived_at"], t["controlled_at"])
        if h is not None:
            series["arrival_to_controlled"].append(max(h, 0.0))
    return [Clock(code, CLOCKS[code], len(v), _quantile(v, 0.5), _quantile(v, 0.9)) for code, v in series.items()]


def _contacts_by_case(run: Run) -> dict[int, list[Contact]]:
    out: dict[int, list[Contact]] = {}
    for c in run.contacts:
        out.setdefault(c.case_id, []).append(c)
    return out


def _all_listed_h(case: Infection, contacts: list[Contact]) -> float | None:
    listed = [c.listed_at for c in contacts if c.listed_at is not None]
    return _hours(case.detected_at, max(listed)) if listed else None


REVIEW = message("drill.chain_review", _(
    "%(onset)s from onset to detection; %(listing)s from detection to the last contact listed; %(late)s of "
    "%(infectees)s infected by this case were controlled only after becoming infectious or never "
    "(%(unlisted)s never listed as a contact)."))
NOT_KNOWN = _("unknown")


def _h(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


def slowest_chains(run: Run, *, limit: int = 10) -> list[Chain]:
    """Detected cases ranked by how many of those they infected were controlled late (after their
    infectious start, or never — never listed counts as a miss), then by the hours from detection to
    the last contact listed; each with its 复盘 (where the hours went)."""
    by_case = _contacts_by_case(run)
    infectees: dict[int, list[Infection]] = {}
    for i in run.infections:
        if i.infector_id is not None:
            infectees.setdefault(i.infector_id, []).append(i)
    chains = []
    for case in run.infections:
        if case.detected_at is None:
            continue
        listed = {c.contact_person_id: c for c in by_case.get(case.person_id, [])}
        late = unlisted = 0
        for x in infectees.get(case.person_id, []):
            contact = listed.get(x.person_id)
            controlled = contact.controlled_at if contact is not None and contact.controlled_at else x.controlled_at
            if contact is None:
                unlisted += 1
            if contact is None or controlled is None or (x.infectious_from is not None and controlled > x.infectious_from):
                late += 1
        onset_h = None if case.asymptomatic else _hours(case.onset_at, case.detected_at)
        listing_h = _all_listed_h(case, by_case.get(case.person_id, []))
        ids = [x.person_id for x in infectees.get(case.person_id, [])]
        chains.append(Chain(case.person_id, case.infector_id, case.setting, case.infected_at, case.onset_at,
                            case.detected_at, case.controlled_at, len(listed), ids, late, unlisted, onset_h,
                            listing_h, REVIEW(onset=_h(onset_h), listing=_h(listing_h), late=late,
                                              infectees=len(ids), unlisted=unlisted)))
    chains.sort(key=lambda c: (-c.late, -(c.detected_to_all_contacts_h or 0.0), c.case_id))
    return chains[:limit]


def curves(run: Run) -> dict[str, Any]:
    """Both curves for the chart: the response's and the baseline's daily columns, by day."""
    days = sorted({d.day for d in run.daily} | {d.day for d in run.baseline})
    resp = {d.day: d for d in run.daily}
    base = {d.day: d for d in run.baseline}
    dates = {d.day: d.date for d in [*run.baseline, *run.daily]}

    def col(src: dict[int, Day], name: str) -> list[int | None]:
        return [getattr(src[d], name) if d in src else None for d in days]

    return {"days": [dates.get(d) or str(d) for d in days],
            "response": {k: col(resp, k) for k in ("infections", "infectious", "detected", "controlled")},
            "baseline": {k: col(base, k) for k in ("infections", "infectious")}}
