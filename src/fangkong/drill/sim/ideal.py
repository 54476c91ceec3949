"""An idealised response (理想化干预) inside the simulator: the interventions of the modelling papers the
drill is checked against (`anchors`), with coverage and delay parameters, and no platform.

It is a `Response`, but unlike the platform's it reads the drill's truth directly (who is symptomatic
when, and — for `trace: infectees` — who infected whom), as the papers' models do. Never used for a
scored drill; only for the sanity anchors (`fangkong drill anchors`).

- **isolation**: a symptomatic person isolates `isolate_delay_d` after onset with probability
  `isolate` (`isolate_kind`: `home` keeps household contact, `centralised` removes from all settings);
- **household quarantine**: when a case isolates, each household member is quarantined at home with
  probability `quarantine_household`;
- **tracing** (`trace` > 0), `trace_delay_d` after the case isolates: `settings` — each member of the
  case's work group or class, and each person in the same venue and hour as the case since
  `trace_window_d` days before its isolation, with probability `trace` (and, with `app` > 0, only
  when both carry the app, each person with probability `app`); `infectees` — each person the case
  infected (an infection is untraceable with probability `untraceable`: environmental transmission);
  traced persons are quarantined at home;
- **mass testing**: each day a share `test_weekly / 7` of the population is tested (PCR window and
  sensitivity of the pathogen); a positive isolates `test_result_delay_d` later.

Decisions use keyed draws — (seed, component, person, day), and for a case's contacts (seed, component,
contact, case) — so a rung of a ladder is reproducible and rungs share their numbers. Measures are
handed to the engine one day ahead (times in the next day), so they act from their start.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from fangkong.drill.sim.draws import Draws
from fangkong.drill.sim.response import DayActions, DayObservation, Measure

_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Ideal:
    """One rung of an anchor ladder: which idealised interventions, at what coverage and delay."""

    isolate: float = 0.0
    isolate_delay_d: float = 0.0
    isolate_kind: Literal["home", "centralised"] = "home"
    quarantine_household: float = 0.0
    trace: float = 0.0
    trace_by: Literal["settings", "infectees"] = "settings"
    trace_delay_d: float = 0.0
    trace_window_d: float = 2.0
    app: float = 0.0
    untraceable: float = 0.0
    test_weekly: float = 0.0
    test_result_delay_d: float = 1.0

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> Ideal:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data or {}) - known)
        if unknown:
            raise ValueError(f"unknown intervention parameter(s): {', '.join(unknown)}")
        return cls(**(data or {}))


class IdealResponse:
    """The idealised response of one rung, reading the truth of `engine` (an `Engine`)."""

    name = "ideal"

    def __init__(self, engine: Any, ideal: Ideal) -> None:
        self.engine, self.ideal = engine, ideal
        self.draws: Draws = engine.draws
        w = engine.world
        self.n = engine.n
        self.pid = w.person_id
        self.decided = np.zeros(self.n, dtype=bool)  # symptomatic: isolated, or decided not to
        self.isolated = np.zeros(self.n, dtype=bool)  # found by a test
        members = np.argsort(w.household, kind="stable")
        self.hh_members, self.hh_start = members, np.searchsorted(w.household[members], np.arange(len(w.household_size)))
        has = np.flatnonzero(w.group >= 0)
        g_order = has[np.argsort(w.group[has], kind="stable")]
        self.group_members = g_order
        self.group_keys = w.group[g_order]
        self.app = self.draws.uniform("ideal_app", self.n) < ideal.app if ideal.app > 0 else None
        self.visits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per day: person idx, key, at
        self.late: list[tuple[int, float, float]] = []  # (case, trace time, infected since): still to trace
        self.measures: list[Measure] = []

    # ------------------------------------------------------------------------------ protocol

    def start(self, *, persons: int, days: int, seed: int) -> None:
        return None

    def finish(self) -> None:
        return None

    def day(self, obs: DayObservation) -> DayActions:
        d = obs.day
        ideal = self.ideal
        self.measures = []
        if ideal.trace > 0 and ideal.trace_by == "settings":
            person = np.searchsorted(self.pid, obs.visits_person)  # person ids are ascending
            key = obs.visits_place.astype(np.int64) * 100 + np.floor((obs.visits_at - d) * 24).astype(np.int64)
            self.visits.append((person, key, obs.visits_at))
            keep = int(np.ceil(ideal.trace_window_d)) + 2
            if len(self.visits) > keep:
                self.visits[: len(self.visits) - keep] = [(_EMPTY, _EMPTY, np.zeros(0))] * (len(self.visits) - keep)
        late, self.late = self.late, []
        for case, at, since in late:  # infectees of earlier traces infected since (known now)
            self._trace_infectees(case, at, since, d)
        horizon = d + 2.0  # measures due before the end of tomorrow: decided now, acting from their time
        if ideal.isolate > 0:
            self._isolations(d, horizon)
        if ideal.test_weekly > 0:
            self._testing(d)
        self.measures.sort(key=lambda m: (m.started_at, m.person_id, m.kind))
        return DayActions(measures=self.measures)

    # ------------------------------------------------------------------------------- internals

    def _measure(self, idx: np.ndarray, at: float | np.ndarray, kind: str) -> None:
        at_a = np.broadcast_to(np.asarray(at, dtype=np.float64), idx.shape)
        self.measures.extend(Measure(person_id=int(self.pid[i]), kind=kind, started_at=float(t))  # type: ignore[arg-type]
                             for i, t in zip(idx.tolist(), at_a.tolist(), strict=True))

    def _isolations(self, d: int, horizon: float) -> None:
        e, ideal = self.engine, self.ideal
        t, c = e.truth, e.courses
        onset = t.infected_at + c.onset
        due = np.flatnonzero(~self.decided & ~c.asymptomatic & (onset + ideal.isolate_delay_d < horizon))
        if not len(due):
            return
        self.decided[due] = True
        comply = self.draws.uniform("ideal_isolate", self.n)[due] < ideal.isolate
        cases = due[comply & ~self.isolated[due]]
        self.isolated[cases] = True
        at = np.maximum(onset[cases] + ideal.isolate_delay_d, d + 1.0)
        self._isolate(cases, at, d)

    def _isolate(self, cases: np.ndarray, at: np.ndarray, d: int) -> None:
        ideal = self.ideal
        if not len(cases):
            return
        self._measure(cases, at, ideal.isolate_kind)
        for case, when in zip(cases.tolist(), at.tolist(), strict=True):
            if ideal.quarantine_household > 0:
                hh = self._household(case)
                u = self.draws.uniform("ideal_household", self.n, case)[hh]
                self._measure(hh[u < ideal.quarantine_household], when, "home")
            if ideal.trace > 0:
                traced_at = when + ideal.trace_delay_d
                if ideal.trace_by == "infectees":
                    self._trace_infectees(case, traced_at, -np.inf, d)
                else:
                    self._trace_settings(case, when, traced_at)

    def _household(self, case: int) -> np.ndarray:
        h = self.engine.world.household[case]
        lo = self.hh_start[h]
        hi = self.hh_start[h + 1] if h + 1 < len(self.hh_start) else len(self.hh_members)
        members = self.hh_members[lo:hi]
        return members[members != case]

    def _traced(self, case: int, contacts: np.ndarray) -> np.ndarray:
        ideal = self.ideal
        contacts = np.unique(contacts[contacts != case])
        if not len(contacts):
            return contacts
        u = self.draws.uniform("ideal_trace", self.n, case)[contacts]
        ok = u < ideal.trace
        if self.app is not None:
            ok &= self.app[contacts] & self.app[case]
        return contacts[ok]

    def _trace_settings(self, case: int, isolated_at: float, traced_at: float) -> None:
        w = self.engine.world
        found = [_EMPTY]
        g = w.group[case]
        if g >= 0:
            lo, hi = np.searchsorted(self.group_keys, [g, g + 1])
            found.append(self.group_members[lo:hi])
        since = isolated_at - self.ideal.trace_window_d
        for person, key, at in self.visits:
            mine = key[(person == case) & (at >= since) & (at < isolated_at)]
            if len(mine):
                found.append(person[np.isin(key, mine)])
        self._measure(self._traced(case, np.concatenate(found)), traced_at, "home")

    def _trace_infectees(self, case: int, traced_at: float, since: float, d: int) -> None:
        """The case's infectees infected in [since, traced_at) as far as known after day `d`; the rest
        on the next days."""
        t = self.engine.truth
        infected = t.infected_at
        until = min(traced_at, d + 1.0)
        who = np.flatnonzero((t.infector == case) & (infected >= since) & (infected < until))
        if traced_at > d + 1:
            self.late.append((case, traced_at, d + 1.0))
        if self.ideal.untraceable > 0 and len(who):
            who = who[self.draws.uniform("ideal_untraceable", self.n)[who] >= self.ideal.untraceable]
        self._measure(self._traced(case, who), traced_at, "home")

    def _testing(self, d: int) -> None:
        e, ideal = self.engine, self.ideal
        p, t = e.scenario.pathogen, e.truth
        day = d + 1  # tomorrow's tests, decided today (the result acts from its time)
        tested = np.flatnonzero(self.draws.uniform("ideal_test", self.n, day) < ideal.test_weekly / 7)
        tested = tested[~self.isolated[tested]]
        at = day + self.draws.uniform("ideal_test_time", self.n, day)[tested]
        since = at - t.infected_at[tested]
        positive = (since >= p.pcr_positive_from_d) & (since <= p.pcr_positive_until_d) & \
            (self.draws.uniform("ideal_test_result", self.n, day)[tested] < p.pcr_sensitivity)
        cases = tested[positive]
        self.isolated[cases] = True
        self._isolate(cases, at[positive] + ideal.test_result_delay_d, d)
