"""Natural history (自然史): each person's course should they be infected, drawn once per person.

Times are days after infection. Incubation is lognormal (the scenario's mean and SD); infectiousness
starts `presymptomatic` days before onset (uniform between the bounds) but never before `latent_min`;
it is flat until onset, then decays exponentially (`decay_d`: front-loaded) until it ends
`infectious_after_onset` days after onset. An asymptomatic person follows the same clock (onset is
then only the profile's pivot) at `asymptomatic_relative_infectiousness`. With the `omicron-ba2`
values the intrinsic generation interval is ≈ 3.5 d (`mean_generation_interval`).

A person's course is drawn from their own keyed numbers, so the same person has the same course in
a baseline and a response run whenever they are infected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fangkong.drill.scenario_schema import Pathogen
from fangkong.drill.sim.draws import Draws


@dataclass
class Courses:
    """Per person, should they be infected (days after infection)."""

    infectious_from: np.ndarray  # a
    onset: np.ndarray  # the incubation period
    infectious_until: np.ndarray  # e
    asymptomatic: np.ndarray  # bool
    relative: np.ndarray  # relative infectiousness
    decay: float
    care_seeking: np.ndarray  # bool: a symptomatic person who visits a fever clinic or pharmacy
    care_delay: np.ndarray  # days after onset

    def cumulative(self, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        """∫₀ᵗ of the (unnormalised) infectiousness profile of persons `idx`, `t` days after infection."""
        a, o, e = self.infectious_from[idx], self.onset[idx], self.infectious_until[idx]
        c = np.maximum(a, o)
        t = np.clip(t, 0.0, e)
        flat = np.clip(t, a, c) - a
        tail = self.decay * (np.exp(-(c - o) / self.decay) - np.exp(-(np.maximum(t, c) - o) / self.decay))
        return flat + tail

    def mass(self, idx: np.ndarray) -> np.ndarray:
        return self.cumulative(idx, self.infectious_until[idx])


def draw_courses(pathogen: Pathogen, n: int, draws: Draws) -> Courses:
    sigma2 = np.log1p((pathogen.incubation_sd_d / pathogen.incubation_mean_d) ** 2)
    mu = np.log(pathogen.incubation_mean_d) - sigma2 / 2
    onset = np.exp(mu + np.sqrt(sigma2) * draws.normal("incubation", n))
    pre = pathogen.presymptomatic_min_d + (pathogen.presymptomatic_max_d - pathogen.presymptomatic_min_d) * \
        draws.uniform("presymptomatic", n)
    start = np.maximum(onset - pre, pathogen.latent_min_d)
    after = pathogen.infectious_after_onset_min_d + (
        pathogen.infectious_after_onset_max_d - pathogen.infectious_after_onset_min_d) * draws.uniform("after_onset", n)
    until = np.maximum(onset + after, start + 0.25)
    asymptomatic = draws.uniform("asymptomatic", n) < pathogen.asymptomatic_share
    relative = np.where(asymptomatic, pathogen.asymptomatic_relative_infectiousness, 1.0)
    care = (~asymptomatic) & (draws.uniform("care_seeking", n) < pathogen.care_seeking_share)
    delay = -pathogen.care_seeking_delay_mean_d * np.log1p(-draws.uniform("care_delay", n))
    return Courses(infectious_from=start, onset=onset, infectious_until=until, asymptomatic=asymptomatic,
                   relative=relative, decay=pathogen.decay_d, care_seeking=care, care_delay=delay)


def mean_generation_interval(courses: Courses) -> float:
    """The intrinsic generation interval: the mean infection-to-transmission time over everyone's
    profile, weighted by relative infectiousness (numerically, on a 0.01-day grid)."""
    idx = np.arange(len(courses.onset))
    ts = np.arange(0.0, float(courses.infectious_until.max()) + 0.02, 0.01)
    total = mean = 0.0
    prev = courses.cumulative(idx, np.zeros(len(idx)))
    for t in ts[1:]:
        cur = courses.cumulative(idx, np.full(len(idx), t))
        w = (cur - prev) / courses.mass(idx) * courses.relative
        total += float(w.sum())
        mean += float((w * (t - 0.005)).sum())
        prev = cur
    return mean / total
