"""The weekly half of the detection run: a series with five years of history is summed over whole
weeks and judged by the pack's weekly rule (`farrington`, R's farringtonFlexible defaults) beside its
daily EARS C2. The run's verdicts are the pure method's on the same week sums; an outbreak in the last
weeks opens a weekly signal; a second run changes nothing; a correction redoes the weeks it touches."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sentinel_factories import NOW
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.surveillance import rules, service
from fangkong.surveillance.algorithms import methods
from fangkong.surveillance.models import Signal, Verdict

START = dt.date(2017, 1, 2)  # a Monday
UNTIL = dt.date(2022, 4, 17)  # a Sunday
OUTBREAK = dt.date(2022, 4, 4)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _counts(ref: str) -> list[dict[str, object]]:
    rng = random.Random(7)
    out: list[dict[str, object]] = []
    day = START
    while day <= UNTIL:
        season = 6 + 3 * math.cos(2 * math.pi * day.timetuple().tm_yday / 365.25)
        n = max(0, int(rng.gauss(season, 2))) + (30 if day >= OUTBREAK else 0)
        out.append({"site_ref": ref, "date": day.isoformat(), "indicator": "fever_visits", "count": n})
        day += dt.timedelta(days=1)
    return out


def test_weekly_farrington_in_the_run(session: Session) -> None:
    unit = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="SVWK", name="周监测区", level="district",
                                             parent_code=None)
    service.register_site(session, SYSTEM_ACTOR, ref="FCWK", name="周哨点诊所", kind="clinic",
                          unit_code=unit.code, active_from=START)
    items = _counts("FCWK")
    service.record_counts(session, SYSTEM_ACTOR, items, source="file")
    first = service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
    key = f"site:{service.get_site_by_ref(session, SYSTEM_ACTOR, 'FCWK').id}{rules.WEEK_SUFFIX}"  # type: ignore[union-attr]
    weekly = list(session.execute(select(Verdict).where(Verdict.series_key == key,
                                                        Verdict.indicator == "fever_visits")
                                  .order_by(Verdict.day)).scalars())
    # the week sums judged by the pure method give the same verdicts
    days = sorted({dt.date.fromisoformat(str(i["date"])) for i in items})
    by_day = {dt.date.fromisoformat(str(i["date"])): int(i["count"]) for i in items  # type: ignore[call-overload]
              if i["indicator"] == "fever_visits"}
    weeks, sums = rules.weekly(days, [by_day[d] for d in days], UNTIL)
    params = methods.parse_params("farrington", {})
    need = methods.first_judged("farrington", params)
    det = methods.run("farrington", np.array(sums, dtype=float), params, start=need)
    assert [v.day for v in weekly] == weeks[need:] and all(d.weekday() == 6 for d in weeks)
    assert all(v.algorithm == "farrington" and v.status == "judged" for v in weekly)
    assert [v.observed for v in weekly] == [int(x) for x in det.observed]
    assert [v.alarm for v in weekly] == [bool(a) for a in det.alarm]
    ub = [None if not np.isfinite(x) else float(x) for x in det.upperbound]
    assert all((a is None and b is None) or abs(a - b) <= 1e-9 * max(1, abs(b))  # type: ignore[operator]
               for a, b in zip([v.upperbound for v in weekly], ub, strict=True))
    # the outbreak's two weeks alarm and open one weekly signal beside the daily one
    assert [v.day for v in weekly if v.alarm][-2:] == [dt.date(2022, 4, 10), dt.date(2022, 4, 17)]
    sig = session.execute(select(Signal).where(Signal.series_key == key, Signal.first_day >= OUTBREAK)).scalar_one()
    assert sig.first_day == dt.date(2022, 4, 10) and sig.algorithm == "farrington" and sig.last_day == UNTIL and sig.status == "open"
    assert session.execute(select(Signal).where(Signal.series_key == key.removesuffix(rules.WEEK_SUFFIX),
                                                Signal.indicator == "fever_visits")).scalars().all()
    assert first["series"] == 6  # the clinic, its unit and the root above it, daily and weekly
    # a second run changes nothing; a correction redoes only the weeks whose window holds the day
    again = service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
    assert again["judged"] == again["signals_opened"] == again["signals_extended"] == 0
    service.record_counts(session, SYSTEM_ACTOR, [{"site_ref": "FCWK", "date": "2022-04-13",
                                                   "indicator": "fever_visits", "count": 99}], source="api")  # past the page's cut-off
    redo = service.run_detection(session, SYSTEM_ACTOR, until=UNTIL)
    assert redo["signals_opened"] == 0 and 0 < redo["judged"] <= 2 * (10 + 1)  # site + unit: days and one week


@given(st.lists(st.one_of(st.none(), st.integers(0, 50)), min_size=1, max_size=60), st.integers(0, 6),
       st.integers(0, 20))
def test_weeks_sum_whole_weeks_and_a_missing_day_misses_its_week(values: list[int | None], shift: int,
                                                                 extra: int) -> None:
    start = dt.date(2022, 1, 3) + dt.timedelta(days=shift)
    days = [start + dt.timedelta(days=i) for i in range(len(values))]
    until = days[-1] + dt.timedelta(days=extra)
    weeks, sums = rules.weekly(days, values, until)
    for end, total in zip(weeks, sums, strict=True):
        assert end.weekday() == 6 and end <= until and end - dt.timedelta(days=6) >= start
        inside = [v for d, v in zip(days, values, strict=True) if end - dt.timedelta(days=6) <= d <= end]
        assert total == (None if None in inside else sum(v for v in inside if v is not None))
    # every whole week between the first Monday and `until` is there, in order
    assert weeks == sorted(weeks) and all((b - a).days == 7 for a, b in itertools.pairwise(weeks))
