"""A hand-made drill run directory, as `fangkong drill run` writes one (the simulator lands separately):
score.json, daily.csv, baseline/daily.csv, truth_infections.csv, contacts.csv, travellers.csv.

The story, small enough to check by hand (times +08:00, April 2022):
- person 1, seeded, onset 2 Apr 06:00, detected 2 Apr 10:00 (4 h), controlled 2 Apr 11:00; infects 2 and 3;
- person 2, listed as 1's contact 2 Apr 12:00, controlled 2 Apr 13:00 before infectious from 3 Apr 00:00;
  detected 3 Apr 08:00 (onset 3 Apr 00:00: 8 h); infects 4;
- person 3, infected by 1, never listed (a miss), infectious from 3 Apr 06:00, never controlled;
- person 4, listed as 2's contact 3 Apr 09:00, controlled 4 Apr 12:00, after infectious from 4 Apr 06:00;
- person 5, an imported traveller, arrived 1 Apr 20:00, not detected; 1's contact 9 was not infected.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

SCENARIO: dict[str, Any] = {
    "city": {"persons": 200, "seed": 1}, "start": "2022-04-01T00:00:00+08:00", "days": 5,
    "pathogen": "omicron-ba2", "transmission": {"r0": 2.0, "mixing": "homogeneous"},
    "seeding": {"infections": 1}, "imports": {"per_day": 1}, "response": True, "responders": "default"}

SCORES: dict[str, Any] = {
    "imports_controlled_24h": 0.9, "contacts_before_infectious": 0.5, "contacts_before_infectious_ceiling": 0.8,
    "infectees_of_cases_controlled_before_infectious": 1 / 3,
    "first_positive_to_all_contacts_h": {"p50": 1.0, "p90": 30.0}, "leads_cleared_same_day": 0.97,
    "infections_averted": 12, "relative_reduction": 0.6, "infections": 5, "baseline_infections": 17,
    "attack_rate": 0.025, "r_first_1pct": 2.1, "tests_used": 340}

DAILY = [(0, "2022-04-01", 2, 1, 0, 0), (1, "2022-04-02", 1, 2, 1, 1), (2, "2022-04-03", 1, 3, 1, 2),
         (3, "2022-04-04", 1, 2, 0, 1), (4, "2022-04-05", 0, 1, 0, 0)]
BASELINE = [(0, "2022-04-01", 2, 1, 0, 0), (1, "2022-04-02", 2, 3, 0, 0), (2, "2022-04-03", 3, 5, 0, 0),
            (3, "2022-04-04", 4, 8, 0, 0), (4, "2022-04-05", 6, 11, 0, 0)]

T = "2022-04-0{}T{}:00+08:00"
INFECTIONS = [
    # person_id,infected_at,infector_id,setting,infectious_from,onset_at,asymptomatic,imported,detected_at,controlled_at
    (1, T.format(1, "00:00"), "", "seed", T.format(1, "12:00"), T.format(2, "06:00"), 0, 0, T.format(2, "10:00"),
     T.format(2, "11:00")),
    (2, T.format(1, "18:00"), 1, "household", T.format(3, "00:00"), T.format(3, "00:00"), 0, 0, T.format(3, "08:00"),
     T.format(2, "13:00")),
    (3, T.format(2, "08:00"), 1, "venue", T.format(3, "06:00"), "", 1, 0, "", ""),
    (4, T.format(3, "02:00"), 2, "work", T.format(4, "06:00"), T.format(5, "00:00"), 0, 0, "", T.format(4, "12:00")),
    (5, T.format(1, "10:00"), "", "import", T.format(2, "10:00"), "", 1, 1, "", ""),
]
CONTACTS = [
    # case_id,contact_person_id,category,listed_at,controlled_at,infected
    (1, 2, "close", T.format(2, "12:00"), T.format(2, "13:00"), 1),
    (1, 9, "close", T.format(2, "20:00"), T.format(2, "21:00"), 0),
    (2, 4, "close", T.format(3, "09:00"), T.format(4, "12:00"), 1),
]
TRAVELLERS = [(5, T.format(1, "20:00"), 1, ""), (6, T.format(1, "08:00"), 0, T.format(1, "18:00"))]


def _csv(path: Path, head: list[str], rows: list[tuple[Any, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        w.writerows(rows)


def make_run(root: Path, run_id: str = "run-1", *, started_at: str = "2026-12-07T10:00:00+08:00",
             scores: dict[str, Any] | None = None) -> Path:
    """Write a run directory `root/run_id` and return it."""
    d = root / run_id
    d.mkdir(parents=True, exist_ok=True)
    (d / "score.json").write_text(json.dumps({
        "scenario": SCENARIO, "seed": 7, "scores": scores if scores is not None else SCORES,
        "run": {"id": run_id, "wall_s": 42.5, "versions": {"fangkong": "0.1.0", "numpy": "2.4"},
                "started_at": started_at}}, ensure_ascii=False), encoding="utf-8")
    daily = ["day", "date", "infections", "infectious", "detected", "controlled"]
    _csv(d / "daily.csv", daily, DAILY)
    _csv(d / "baseline" / "daily.csv", daily, BASELINE)
    _csv(d / "truth_infections.csv", ["person_id", "infected_at", "infector_id", "setting", "infectious_from",
                                      "onset_at", "asymptomatic", "imported", "detected_at", "controlled_at"],
         INFECTIONS)
    _csv(d / "contacts.csv", ["case_id", "contact_person_id", "category", "listed_at", "controlled_at", "infected"],
         CONTACTS)
    _csv(d / "travellers.csv", ["person_id", "arrived_at", "infected", "controlled_at"], TRAVELLERS)
    return d
