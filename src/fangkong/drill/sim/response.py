"""The response side of a drill (响应): what the simulated city tells it and what it answers, per day.

Every simulated day the engine hands a `Response` a `DayObservation`: only what real senders would
send (travellers at checkpoints, venue scans, co-presence positions, care visits at fever clinics and
pharmacies, the results of samples it asked for). The response — the platform worked by staff or
scripted responders, reached through its public interfaces — answers with `DayActions`: measures
started (with their times), samples taken, cases confirmed and close contacts listed. The engine
applies the measures to the settings they close from their start time; it never looks at how they
were decided. Truth (who infected whom) never crosses this line.

`NoResponse` answers nothing: the baseline. A run in which no measure starts is byte-identical to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

MeasureKind = Literal["home", "centralised"]


@dataclass(frozen=True)
class Measure:
    """A control measure the platform started (管控措施): `home` removes the person from every setting
    but their household, `centralised` from all (with the scenario's leak)."""

    person_id: int
    kind: MeasureKind
    started_at: float  # days since the scenario's start


@dataclass(frozen=True)
class Sample:
    """A sample taken (采样); its result comes back in a later observation."""

    person_id: int
    collected_at: float
    test: Literal["pcr", "antigen"] = "pcr"


@dataclass(frozen=True)
class Case:
    """A person the platform recorded as a positive case (阳性/确诊) at `detected_at`."""

    person_id: int
    detected_at: float


@dataclass(frozen=True)
class ListedContact:
    """A close contact (密接) listed for a case."""

    case_id: int
    contact_person_id: int
    category: str  # household, work, venue, telecom, …
    listed_at: float


@dataclass
class DayObservation:
    """What real senders send about day `day` (arrays of equal length per group; times in days since start)."""

    day: int
    # travellers arriving at checkpoints (checkpoint records, big-data pushes)
    arrivals_person: np.ndarray
    arrivals_at: np.ndarray
    arrivals_mode: np.ndarray
    arrivals_place: np.ndarray  # checkpoint place id
    # scanned venue visits (场所码)
    scans_person: np.ndarray
    scans_place: np.ndarray
    scans_at: np.ndarray
    # every venue visit's position (telecom co-presence): person, place, hour start
    visits_person: np.ndarray
    visits_place: np.ndarray
    visits_at: np.ndarray
    # symptomatic persons seen at fever clinics or pharmacies (sentinels)
    care_person: np.ndarray
    care_place: np.ndarray
    care_at: np.ndarray
    # results of samples taken earlier (the lab's raw finding; turnaround is the response's)
    results: list[tuple[Sample, bool]] = field(default_factory=list)


@dataclass
class DayActions:
    """What the platform did, as recorded there."""

    measures: list[Measure] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    contacts: list[ListedContact] = field(default_factory=list)


class Response(Protocol):
    """The response side of a drill. `start` once with the run's facts, `day` after each simulated
    day, `finish` at the end (flush, close connections)."""

    name: str

    def start(self, *, persons: int, days: int, seed: int) -> None: ...

    def day(self, observation: DayObservation) -> DayActions: ...

    def finish(self) -> None: ...


class NoResponse:
    """No response at all: the baseline (无干预)."""

    name = "none"

    def start(self, *, persons: int, days: int, seed: int) -> None:
        return None

    def day(self, observation: DayObservation) -> DayActions:
        return DayActions()

    def finish(self) -> None:
        return None
