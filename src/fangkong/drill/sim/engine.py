"""The outbreak engine (疫情推演): one simulated day at a time, vectorised over persons.

A day: travellers arrive (imports); everyone moves (home, work or school on weekdays, 0–k venue
visits); each susceptible person's force of infection is summed over their settings from today's
infectiousness of the others there; a keyed uniform decides who is infected, a second which setting,
a third by whom; symptomatic persons seek care; then the `Response` sees what real senders would send
and answers with measures, which close settings from their start — one started within the day
removes that day's infections at or after its start in the settings it closes (`Engine._thin`). Scaling: in `homogeneous` mixing
λ = β·Σ infectiousness / N with β = R0 / E[relative infectiousness]; in `structured` mixing each
setting gets its share of R0 divided by the mean number of contacts it gives a person in this city.
Each case's daily infectiousness integrates to its relative infectiousness exactly (the part that
falls inside the day of infection is spread over the later days), so R0 is what the scenario says.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fangkong.drill.scenario_schema import Scenario
from fangkong.drill.sim.draws import Draws
from fangkong.drill.sim.history import Courses, draw_courses
from fangkong.drill.sim.response import (
    DayActions,
    DayObservation,
    ListedContact,
    NoResponse,
    Response,
    Sample,
)
from fangkong.drill.sim.world import VISIT_HOURS, World, build_world

#: infection settings, in the order of their codes
SETTINGS = ("seed", "import", "household", "work", "school", "venue", "community")
SEED, IMPORT, HOUSEHOLD, WORK, SCHOOL, VENUE, COMMUNITY = range(len(SETTINGS))
MEASURE_CODES = {"home": 1, "centralised": 2}
#: community infection: this share within the home grid, the rest city-wide
GRID_SHARE = 0.7
#: imported infections happened up to this many days before arrival
IMPORT_INFECTED_BEFORE_D = 3.0
_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


@dataclass
class Visits:
    """One day's venue visits (sorted by person)."""

    person: np.ndarray
    venue: np.ndarray  # index into world.venues
    hour: np.ndarray  # index into VISIT_HOURS
    scanned: np.ndarray
    at: np.ndarray  # days since start


@dataclass
class Truth:
    """What happened (the drill's own store, never the platform's)."""

    infected_at: np.ndarray
    infector: np.ndarray  # person index, -1
    setting: np.ndarray  # SETTINGS code, -1
    generation: np.ndarray
    imported: np.ndarray
    detected_at: np.ndarray
    controlled_at: np.ndarray
    control_kind: np.ndarray
    travellers: list[tuple[int, float, bool]] = field(default_factory=list)  # (index, arrived_at, infected)
    contacts: list[ListedContact] = field(default_factory=list)
    infectious: list[int] = field(default_factory=list)  # per day: persons infectious
    samples: int = 0


def _pick(groups_c: np.ndarray, weights_c: np.ndarray, target: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each target group, the position (into the contributor arrays) of one contributor of that
    group chosen with probability ∝ weight; -1 where the group has none."""
    if not len(target):
        return _EMPTY_I
    if not len(groups_c):
        return np.full(len(target), -1, dtype=np.int64)
    order = np.argsort(groups_c, kind="stable")
    g, cum = groups_c[order], np.cumsum(weights_c[order])
    left = np.searchsorted(g, target, side="left")
    right = np.searchsorted(g, target, side="right")
    base = np.where(left > 0, cum[np.maximum(left - 1, 0)], 0.0)
    total = cum[np.maximum(right - 1, 0)] - base
    pos = np.searchsorted(cum, base + u * total, side="right")
    pos = np.clip(pos, left, np.maximum(right - 1, left))
    return np.where(right > left, order[np.minimum(pos, len(order) - 1)], -1)


def _saturating_beta(target: float, others: np.ndarray, relative: np.ndarray) -> float:
    """β with mean(others · (1 − e^(−β·relative))) = target (bisection; the largest reachable if not)."""
    def expected(beta: float) -> float:
        return float((others * -np.expm1(-beta * relative)).mean())

    lo, hi = 0.0, 1.0
    while expected(hi) < target and hi < 1e3:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expected(mid) < target else (lo, mid)
    return hi


class Engine:
    """One run of a scenario with one seed against one response."""

    def __init__(self, scenario: Scenario, seed: int, world: World | None = None) -> None:
        self.scenario = scenario
        self.seed = seed
        self.draws = Draws(seed)
        self.world = world or build_world(persons=scenario.city.persons, seed=scenario.city.seed,
                                          movement=scenario.movement, draws=Draws(scenario.city.seed))
        self.n = self.world.persons
        self.courses: Courses = draw_courses(scenario.pathogen, self.n, self.draws)
        self.start_date = scenario.start.date()
        self.group_size = (np.bincount(self.world.group[self.world.group >= 0]) if (self.world.group >= 0).any()
                           else np.zeros(0, dtype=np.int64))
        self.betas = self._calibrate()

    # ------------------------------------------------------------------------------------ scaling

    def _weekday(self, day: int) -> bool:
        return (self.start_date + dt.timedelta(days=day)).weekday() < 5

    def _calibrate(self) -> dict[str, float]:
        t = self.scenario.transmission
        e_rel = float(self.courses.relative.mean()) or 1.0
        if t.mixing == "homogeneous":
            return {"community": t.r0 / e_rel}
        total = t.household + t.work + t.venue + t.community
        w = self.world
        k_h = float((w.household_size[w.household] - 1).mean())
        has = w.group >= 0
        k_w = float(np.where(has, self.group_size[np.maximum(w.group, 0)] - 1, 0).mean()) * 5 / 7 if has.any() else 0
        contacts = []
        for day in range(7):
            v = self.movement(day, np.full(self.n, np.nan))
            key = v.venue * len(VISIT_HOURS) + v.hour
            present = np.bincount(key)[key]
            contacts.append(np.minimum(present - 1, self.scenario.movement.venue_contacts).sum() / self.n)
        k_v = float(np.mean(contacts))
        betas = {"household": t.household, "work": t.work, "venue": t.venue, "community": t.community}
        ks = {"household": k_h, "work": k_w, "venue": k_v, "community": 1.0}
        missing = sum(share for s, share in betas.items() if ks[s] <= 0)  # a city without the setting
        scale = total / (total - missing) if missing < total else 1.0
        out = {s: (share / total * scale * t.r0 / (e_rel * ks[s]) if ks[s] > 0 else 0.0)
               for s, share in betas.items()}
        # per-pair settings saturate (a household member is infected once): solve for the β whose
        # expected infections, Σ (others) · (1 − e^(−β·relative)), give the setting its share of R0
        rel = self.courses.relative
        others = {"household": (w.household_size[w.household] - 1).astype(np.float64),
                  "work": np.where(has, self.group_size[np.maximum(w.group, 0)] - 1, 0).astype(np.float64) * 5 / 7}
        for s, k in others.items():
            if out[s] > 0:
                out[s] = _saturating_beta(betas[s] / total * scale * t.r0, k, rel)
        return out

    # ----------------------------------------------------------------------------------- movement

    def movement(self, day: int, controlled_at: np.ndarray) -> Visits:
        """Day `day`'s venue visits; a controlled person makes none after their measure starts."""
        m = self.scenario.movement
        k_max = m.max_visits
        if k_max == 0 or not len(self.world.venues):
            return Visits(_EMPTY_I, _EMPTY_I, _EMPTY_I, np.zeros(0, dtype=bool), _EMPTY_F)
        mean = m.visits_weekday if self._weekday(day) else m.visits_weekend
        pmf = [math.exp(-mean) * mean**k / math.factorial(k) for k in range(k_max)]
        cdf = np.cumsum(pmf)
        k = np.searchsorted(cdf, self.draws.uniform("visits", self.n, day), side="right")  # ≤ k_max
        person, slot = np.nonzero(np.arange(k_max)[None, :] < k[:, None])
        flat = person * k_max + slot
        uv = self.draws.uniform("venue", self.n, day, width=k_max).ravel()[flat]
        uh = self.draws.uniform("hour", self.n, day, width=k_max).ravel()[flat]
        us = self.draws.uniform("scan", self.n, day, width=k_max).ravel()[flat]
        venue = self.world.choose_venue(self.world.grid[person], uv)
        hour = np.minimum((uh * len(VISIT_HOURS)).astype(np.int64), len(VISIT_HOURS) - 1)
        at = day + (VISIT_HOURS[hour] + 0.5) / 24
        keep = ~(controlled_at[person] <= at)
        scanned = us < self.world.venue_scan_p[venue]
        return Visits(person[keep], venue[keep], hour[keep], scanned[keep], at[keep])

    # --------------------------------------------------------------------------------------- run

    def run(self, response: Response | None = None, progress: Callable[[int], None] | None = None) -> Truth:
        response = response or NoResponse()
        sc, n = self.scenario, self.n
        truth = Truth(infected_at=np.full(n, np.nan), infector=np.full(n, -1, dtype=np.int64),
                      setting=np.full(n, -1, dtype=np.int8), generation=np.full(n, -1, dtype=np.int32),
                      imported=np.zeros(n, dtype=bool), detected_at=np.full(n, np.nan),
                      controlled_at=np.full(n, np.nan), control_kind=np.zeros(n, dtype=np.int8))
        self.truth = truth
        self.norm = np.zeros(n)
        self.count_from = np.zeros(n, dtype=np.int64)
        self.active = _EMPTY_I
        self.pending: list[Sample] = []
        response.start(persons=n, days=sc.days, seed=self.seed)
        self._seed_infections()
        try:
            for day in range(sc.days):
                self._day(day, response)
                if progress is not None:
                    progress(1)
        finally:
            response.finish()
        return truth

    def _infect(self, idx: np.ndarray, at: np.ndarray, *, setting: int | np.ndarray, infector: np.ndarray,
                count_from: np.ndarray | None = None) -> None:
        t = self.truth
        t.infected_at[idx] = at
        t.infector[idx] = infector
        t.setting[idx] = setting
        t.generation[idx] = np.where(infector >= 0, t.generation[np.maximum(infector, 0)] + 1, 0)
        first = np.floor(at) + 1
        lost = self.courses.cumulative(idx, first - at)
        mass = self.courses.mass(idx) - lost
        self.norm[idx] = np.where(mass > 1e-9, self.courses.relative[idx] / np.maximum(mass, 1e-9), 0.0)
        self.count_from[idx] = first.astype(np.int64) if count_from is None else np.maximum(first, count_from)
        self.active = np.union1d(self.active, idx)

    def _seed_infections(self) -> None:
        k = min(self.scenario.seeding.infections, self.n)
        if not k:
            return
        who = np.sort(self.draws.generator("seeding").choice(self.n, size=k, replace=False))
        at = self.draws.uniform("seed_time", self.n)[who] * 0.999
        self._infect(who, at, setting=SEED, infector=np.full(k, -1, dtype=np.int64))

    def _imports(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        imp, t = self.scenario.imports, self.truth
        if imp.per_day <= 0:
            return _EMPTY_I, _EMPTY_F, np.zeros(0, dtype="<U4"), _EMPTY_I
        count = int(self.draws.generator("imports_count", day).poisson(imp.per_day))
        who = np.unique(self.draws.generator("imports_who", day).integers(0, self.n, size=count))
        at = day + self.draws.uniform("arrival_time", self.n, day)[who] * 0.999
        modes = sorted(imp.modes)
        weights = np.array([imp.modes[m] for m in modes], dtype=np.float64)
        mode_i = np.searchsorted(np.cumsum(weights) / weights.sum(), self.draws.uniform("arrival_mode", self.n, day)[who],
                                 side="right")
        mode = np.array(modes)[np.minimum(mode_i, len(modes) - 1)] if len(who) else np.zeros(0, dtype="<U4")
        u_cp = self.draws.uniform("arrival_checkpoint", self.n, day)[who]
        place = np.full(len(who), -1, dtype=np.int64)
        all_cps = np.concatenate(list(self.world.checkpoints.values())) if self.world.checkpoints else _EMPTY_I
        for i, m in enumerate(mode):
            cps = self.world.checkpoints.get(str(m), all_cps)
            if len(cps):
                place[i] = self.world.place_id[cps[int(u_cp[i] * len(cps))]]
        infected = (self.draws.uniform("arrival_infected", self.n, day)[who] < imp.infected_share) & \
            np.isnan(t.infected_at[who])
        if infected.any():
            idx = who[infected]
            before = self.draws.uniform("import_infected_before", self.n, day)[idx] * IMPORT_INFECTED_BEFORE_D
            self._infect(idx, at[infected] - before, setting=IMPORT, infector=np.full(len(idx), -1, dtype=np.int64),
                         count_from=np.full(len(idx), day + 1))
            t.imported[idx] = True
        t.travellers.extend(zip(who.tolist(), at.tolist(), infected.tolist(), strict=True))
        return who, at, mode, place

    def _weights(self, day: int) -> np.ndarray:
        """Today's infectiousness of every person (zero for most)."""
        t, c = self.truth, self.courses
        a = self.active
        t0 = t.infected_at[a]
        alive = t0 + c.infectious_until[a] > day
        self.active = a = a[alive]
        t0 = t0[alive]
        w = np.zeros(self.n)
        on = self.count_from[a] <= day
        a, t0 = a[on], t0[on]
        w[a] = self.norm[a] * (c.cumulative(a, day + 1 - t0) - c.cumulative(a, day - t0))
        return w

    def _day(self, day: int, response: Response) -> None:
        sc, t, wd = self.scenario, self.truth, self.world
        arr_who, arr_at, arr_mode, arr_place = self._imports(day)
        visits = self.movement(day, t.controlled_at)
        W = self._weights(day)
        t.infectious.append(int((W > 0).sum()))
        out = np.clip(np.nan_to_num(t.controlled_at - day, nan=1.0), 0.0, 1.0)  # share of the day outside
        home = np.where(t.control_kind == MEASURE_CODES["centralised"],
                        out + (1 - out) * sc.transmission.centralised_leak, 1.0)
        new = self._transmit(day, W, out, home, visits) if W.any() else _EMPTY_I
        care_p, care_place, care_at = self._care(day)
        results = self._results(self.pending)
        self.pending = []
        sc_mask = visits.scanned
        obs = DayObservation(
            day=day, arrivals_person=wd.person_id[arr_who], arrivals_at=arr_at, arrivals_mode=arr_mode,
            arrivals_place=arr_place, scans_person=wd.person_id[visits.person[sc_mask]],
            scans_place=wd.place_id[wd.venues[visits.venue[sc_mask]]], scans_at=visits.at[sc_mask],
            visits_person=wd.person_id[visits.person], visits_place=wd.place_id[wd.venues[visits.venue]],
            visits_at=visits.at, care_person=wd.person_id[care_p], care_place=care_place, care_at=care_at,
            results=results)
        before = t.controlled_at.copy()
        self._apply(response.day(obs))
        if len(new):
            self._thin(day, new, before, care_p)

    def _thin(self, day: int, new: np.ndarray, before: np.ndarray, reported: np.ndarray) -> None:
        """Measures the response started within today (or earlier, learnt only now) act from their
        time: today's infections at or after a measure's start in a setting it closes — for the
        infectee or the infector — did not happen (pro rata removal of the day's exposure: an
        infection's time is uniform over its exposure). The rest of the day, and every infection before
        the measure, stay as drawn: a run in which no measure starts is the baseline."""
        t, sc = self.truth, self.scenario
        ctrl = t.controlled_at
        fresh = ctrl < np.where(np.isnan(before), np.inf, before)  # NaN compares False: never controlled
        fresh &= ctrl < day + 1
        if not fresh.any():
            return
        at, setting, src = t.infected_at[new], t.setting[new].astype(np.int64), t.infector[new]
        closed_home = np.isin(setting, (WORK, SCHOOL, VENUE, COMMUNITY))
        leak = self.draws.uniform("centralised_leak", self.n, day)[new] < sc.transmission.centralised_leak
        closed_central = closed_home | ((setting == HOUSEHOLD) & ~leak)

        def closes(who: np.ndarray) -> np.ndarray:
            ok = who >= 0
            w = np.maximum(who, 0)
            kind = t.control_kind[w]
            shut = np.where(kind == MEASURE_CODES["centralised"], closed_central, closed_home)
            return ok & fresh[w] & (ctrl[w] <= at) & shut

        drop = (closes(new) | closes(src)) & ~np.isin(new, reported)  # a care visit already seen stays
        if not drop.any():
            return
        gone = new[drop]
        t.infected_at[gone] = np.nan
        t.infector[gone] = -1
        t.setting[gone] = -1
        t.generation[gone] = -1
        self.norm[gone] = 0.0
        self.count_from[gone] = 0

    def _transmit(self, day: int, W: np.ndarray, out: np.ndarray, home: np.ndarray, visits: Visits) -> np.ndarray:
        sc, t, wd, b = self.scenario, self.truth, self.world, self.betas
        n = self.n
        parts: list[tuple[int, np.ndarray]] = []
        Wo = W * out
        if sc.transmission.mixing == "homogeneous":
            parts.append((COMMUNITY, b["community"] * (Wo.sum() - Wo) / n * out))
        else:
            Wh = W * home
            sh = np.bincount(wd.household, Wh, minlength=len(wd.household_size))
            parts.append((HOUSEHOLD, b["household"] * (sh[wd.household] - Wh) * home))
            lam_g = np.zeros(n)
            if self._weekday(day) and b["work"] > 0 and len(self.group_size):
                has = wd.group >= 0
                sg = np.bincount(wd.group[has], Wo[has], minlength=len(self.group_size))
                lam_g[has] = b["work"] * (sg[wd.group[has]] - Wo[has]) * out[has]
            school = np.zeros(n, dtype=bool)
            school[wd.group >= 0] = wd.group_is_school[wd.group[wd.group >= 0]]
            parts.append((WORK, np.where(school, 0.0, lam_g)))
            parts.append((SCHOOL, np.where(school, lam_g, 0.0)))
            key = visits.venue * len(VISIT_HOURS) + visits.hour
            wv = W[visits.person]
            self._visit_lam = np.zeros(0)
            if len(key):
                sv = np.bincount(key, wv)
                nv = np.bincount(key)
                cap = np.minimum(1.0, sc.movement.venue_contacts / np.maximum(nv[key] - 1, 1))
                self._visit_lam = b["venue"] * (sv[key] - wv) * cap
                parts.append((VENUE, np.bincount(visits.person, self._visit_lam, minlength=n)))
            else:
                parts.append((VENUE, np.zeros(n)))
            sgrid = np.bincount(wd.grid, Wo, minlength=len(wd.grid_size))
            local = GRID_SHARE * (sgrid[wd.grid] - Wo) / np.maximum(wd.grid_size[wd.grid], 1)
            city = (1 - GRID_SHARE) * (Wo.sum() - Wo) / n
            parts.append((COMMUNITY, b["community"] * (local + city) * out))
        lam = np.sum([p for _, p in parts], axis=0)
        u = self.draws.uniform("infect", n, day)
        new = np.flatnonzero(np.isnan(t.infected_at) & (lam > 0) & (u < -np.expm1(-lam)))
        if not len(new):
            return new
        stack = np.stack([p[new] for _, p in parts], axis=1)
        cum = np.cumsum(stack, axis=1)
        us = self.draws.uniform("setting", n, day)[new] * cum[:, -1]
        which = np.minimum((cum <= us[:, None]).sum(axis=1), len(parts) - 1)
        setting = np.array([code for code, _ in parts], dtype=np.int8)[which]
        ui = self.draws.uniform("infector", n, day)[new]
        ui2 = self.draws.uniform("infector_venue", n, day)[new]
        infector = np.full(len(new), -1, dtype=np.int64)
        src = np.flatnonzero(W > 0)
        if sc.transmission.mixing == "homogeneous":
            pos = _pick(np.zeros(len(src), dtype=np.int64), Wo[src], np.zeros(len(new), dtype=np.int64), ui)
            infector = np.where(pos >= 0, src[np.maximum(pos, 0)], -1)
        else:
            Wh = W * home
            m = setting == HOUSEHOLD
            pos = _pick(wd.household[src], Wh[src], wd.household[new[m]], ui[m])
            infector[m] = np.where(pos >= 0, src[np.maximum(pos, 0)], -1)
            m = (setting == WORK) | (setting == SCHOOL)
            has = src[wd.group[src] >= 0]
            pos = _pick(wd.group[has], Wo[has], wd.group[new[m]], ui[m])
            infector[m] = np.where(pos >= 0, has[np.maximum(pos, 0)], -1)
            m = setting == VENUE
            if m.any():
                visit = _pick(visits.person, self._visit_lam, new[m], ui2[m])  # which of the infectee's visits
                key = visits.venue * len(VISIT_HOURS) + visits.hour
                wv = W[visits.person]
                inf_v = np.flatnonzero(wv > 0)
                pos = _pick(key[inf_v], wv[inf_v], key[np.maximum(visit, 0)], ui[m])
                infector[m] = np.where((pos >= 0) & (visit >= 0), visits.person[inf_v[np.maximum(pos, 0)]], -1)
            m = setting == COMMUNITY
            if m.any():
                sgrid = np.bincount(wd.grid, Wo, minlength=len(wd.grid_size))
                g = wd.grid[new[m]]
                local = GRID_SHARE * sgrid[g] / np.maximum(wd.grid_size[g], 1)
                city = (1 - GRID_SHARE) * Wo.sum() / n
                in_grid = ui2[m] * (local + city) < local
                pos_g = _pick(wd.grid[src], Wo[src], g, ui[m])
                pos_c = _pick(np.zeros(len(src), dtype=np.int64), Wo[src], np.zeros(int(m.sum()), dtype=np.int64),
                              ui[m])
                pos = np.where(in_grid & (pos_g >= 0), pos_g, pos_c)
                infector[m] = np.where(pos >= 0, src[np.maximum(pos, 0)], -1)
        at = day + self.draws.uniform("infect_time", n, day)[new] * 0.999
        if (setting == VENUE).any():
            m = setting == VENUE
            visit = _pick(visits.person, self._visit_lam, new[m], ui2[m])
            hour = VISIT_HOURS[visits.hour[np.maximum(visit, 0)]]
            at[m] = day + (hour + self.draws.uniform("infect_time", n, day)[new[m]]) / 24
        src_from = np.where(infector >= 0, t.infected_at[np.maximum(infector, 0)]
                            + self.courses.infectious_from[np.maximum(infector, 0)], day)
        at = np.clip(np.maximum(at, src_from), day, day + 0.999)
        self._infect(new, at, setting=setting, infector=infector)
        return new

    def _care(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Symptomatic persons seeking care today, at a fever clinic or pharmacy (a sentinel)."""
        t, c, wd = self.truth, self.courses, self.world
        when = t.infected_at + c.onset + c.care_delay
        who = np.flatnonzero(c.care_seeking & (when >= day) & (when < day + 1))
        if not len(who) or not len(wd.sentinels):
            return who, _EMPTY_I[: len(who)] if not len(who) else np.full(len(who), -1), when[who]
        u = self.draws.uniform("care_place", self.n, day)[who]
        place = wd.place_id[wd.sentinels[(u * len(wd.sentinels)).astype(np.int64)]]
        return who, place, when[who]

    def _results(self, samples: list[Sample]) -> list[tuple[Sample, bool]]:
        """The lab's findings for samples, from the truth (PCR window and sensitivity; antigen while
        infectious). One keyed draw per (test, day of collection), indexed by person: batched."""
        if not samples:
            return []
        p, c, t = self.scenario.pathogen, self.courses, self.truth
        pid = self.world.person_id
        idx = np.searchsorted(pid, np.array([s.person_id for s in samples], dtype=np.int64))
        idx = np.minimum(idx, self.n - 1)
        known = pid[idx] == np.array([s.person_id for s in samples], dtype=np.int64)
        at = np.array([s.collected_at for s in samples])
        since = at - t.infected_at[idx]  # NaN for the never infected: no window
        pcr = np.array([s.test == "pcr" for s in samples])
        window = np.where(pcr, (since >= p.pcr_positive_from_d) & (since <= p.pcr_positive_until_d),
                          (since >= c.infectious_from[idx]) & (since <= c.infectious_until[idx]))
        sens = np.where(pcr, p.pcr_sensitivity, p.antigen_sensitivity)
        u = np.ones(len(samples))
        days = np.floor(at).astype(np.int64)
        for test in ("pcr", "antigen"):
            for day in np.unique(days[pcr == (test == "pcr")]).tolist():
                m = (pcr == (test == "pcr")) & (days == day)
                u[m] = self.draws.uniform(f"test_{test}", self.n, day)[idx[m]]
        t.samples += int(known.sum())
        positive = known & window & (u < sens)
        return [(s, bool(v)) for s, v, k in zip(samples, positive.tolist(), known.tolist(), strict=True) if k]

    def _apply(self, actions: DayActions) -> None:
        t, wd = self.truth, self.world
        pid = wd.person_id

        def index(person_id: int) -> int | None:
            i = int(np.searchsorted(pid, person_id))
            return i if i < self.n and pid[i] == person_id else None

        for m in actions.measures:
            i = index(m.person_id)
            if i is None:
                continue
            if np.isnan(t.controlled_at[i]) or m.started_at < t.controlled_at[i]:
                t.controlled_at[i] = m.started_at
            t.control_kind[i] = max(int(t.control_kind[i]), MEASURE_CODES[m.kind])
        for case in actions.cases:
            i = index(case.person_id)
            if i is not None and (np.isnan(t.detected_at[i]) or case.detected_at < t.detected_at[i]):
                t.detected_at[i] = case.detected_at
        t.contacts.extend(actions.contacts)
        self.pending.extend(actions.samples)
