"""The demo city's sentinels (an injected outbreak raises a signal; a second seeding does nothing), the
field investigation's result closing a signal, and R_t from tracing's cases by onset day, local and
imported, equal to the pure estimate on the same daily series."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pytest
from sentinel_factories import NOW, epidemiologist
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.drill.city import generate_city
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import Conflict
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.tasks.models import Task
from fangkong.surveillance import service
from fangkong.surveillance.algorithms import rt
from fangkong.surveillance.demo import OUTBREAK_DAYS, seed_sentinels
from fangkong.surveillance.models import SentinelCount, SentinelSite, Signal, Verdict
from fangkong.surveillance.service import rt as rt_service


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def add_cases(session: Session, per_day: list[int], *, imported_every: int = 5) -> int:
    """Confirmed cases with onsets over the days before NOW, every `imported_every`-th found at a checkpoint."""
    from fangkong.tracing import service as tracing_service

    persons = iter(session.execute(select(Person.id).order_by(Person.id)).scalars())
    first = clock.now() - dt.timedelta(days=len(per_day))
    n = 0
    for d, k in enumerate(per_day):
        for _ in range(k):
            n += 1
            tracing_service.create_case(session, SYSTEM_ACTOR, classification="confirmed", person_id=next(persons),
                                        detection_channel="checkpoint" if n % imported_every == 0 else "sentinel",
                                        onset_at=first + dt.timedelta(days=d, hours=1))
    return n


def test_demo_sentinels_raise_a_signal_investigated_to_its_result(session: Session) -> None:
    generate_city(session, persons=300, seed=2)
    made = seed_sentinels(session, seed=2)
    places = session.execute(select(func.count()).select_from(Place).where(Place.kind == "sentinel")).scalar_one()
    assert made["sites"] == places >= 3 and made["signals"] >= 1
    assert session.execute(select(func.count()).select_from(SentinelCount)).scalar_one() == made["counts"] > 0
    site = session.execute(select(SentinelSite).where(SentinelSite.ref == made["outbreak_site"])).scalar_one()
    outbreak = clock.today() - dt.timedelta(days=OUTBREAK_DAYS)
    sig = session.execute(select(Signal).where(Signal.site_id == site.id, Signal.indicator == "fever_visits",
                                               Signal.series_key.not_like("%/week"),
                                               Signal.last_day >= outbreak)).scalar_one()
    assert sig.status == "open" and sig.first_day >= outbreak and sig.last_day == clock.today() - dt.timedelta(days=1)
    # six years at the first fever clinic: weekly Farrington verdicts for it and its units
    weekly = session.execute(select(Verdict).where(Verdict.series_key.endswith("/week"),
                                                   Verdict.status == "judged")).scalars().all()
    assert {v.algorithm for v in weekly} == {"farrington"}
    assert {(v.level, v.indicator) for v in weekly} >= {("site", "fever_visits"), ("unit", "fever_visits"),
                                                         ("site", "ili_visits")}
    assert all(v.day.weekday() == 6 for v in weekly) and all(v.expected is not None for v in weekly)
    old = session.execute(select(Signal).where(Signal.last_day < clock.today() - dt.timedelta(days=56))).scalars().all()
    assert all((s.status, s.note) == ("closed", "演示历史数据") for s in old)
    assert seed_sentinels(session, seed=2) == {"sites": 0}  # a second seeding does nothing
    # investigate, then the field result closes the signal and its field task
    with pytest.raises(Conflict):
        service.record_field_result(session, SYSTEM_ACTOR, signal_id=sig.id, result="no_cases")
    service.review_signal(session, SYSTEM_ACTOR, signal_id=sig.id, action="investigate", note="现场核查")
    done = service.record_field_result(session, SYSTEM_ACTOR, signal_id=sig.id, result="cases_found", note="3例")
    assert (done.status, done.outcome) == ("closed", "cases_found")
    task = session.get(Task, done.field_task_id)
    assert task is not None and task.status != "open" and task.outcome_code == "cases_found"


def test_rt_from_tracing_cases_is_the_pure_estimate(session: Session) -> None:
    generate_city(session, persons=300, seed=4)
    per_day = [1, 0, 2, 1, 3, 2, 4, 3, 5, 6, 4, 7, 8, 6, 9, 10]
    n = add_cases(session, per_day)
    curve = rt_service.rt_curve(session, SYSTEM_ACTOR, until=clock.today() - dt.timedelta(days=1))
    assert sum(curve.local) + sum(curve.imported) == n and sum(curve.imported) == n // 5
    assert len(curve.days) == len(per_day) and curve.days[-1] == clock.today() - dt.timedelta(days=1)
    est = rt.estimate_r(np.array(curve.local), np.array(curve.imported), si_mean=rt_service.SI_MEAN,
                        si_sd=rt_service.SI_SD)
    assert len(curve.ends) == len(est.t_end) and curve.ends[-1] == curve.days[-1]
    finite = [i for i, m in enumerate(est.mean) if np.isfinite(m)]
    assert finite and all(abs(curve.mean[i] - est.mean[i]) < 1e-3 for i in finite)  # type: ignore[operator]
    assert all(curve.lower[i] < curve.median[i] < curve.upper[i] for i in finite)  # type: ignore[operator]
    assert all(curve.mean[i] is None for i in range(len(curve.ends)) if i not in finite)
    # scoped: an epidemiologist of a unit outside the city sees no case
    other = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="RTX", name="外区", level="district",
                                              parent_code=None)
    assert rt_service.rt_curve(session, epidemiologist(other)).days == []
