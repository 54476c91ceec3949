"""Release rules of a measure (pure): the default pack's categories, day numbering from the anchor,
test-day matching, stepdown and release, conversion, extensions, missed days and check-in slots."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fangkong.control import measure_rules as mr
from fangkong.kernel.policy import service as policy_service

TZ = dt.timezone(dt.timedelta(hours=8))
PACK = policy_service.bundled_packs()[0]
#: day 0 of the examples: Monday 18 April 2022, local
D0 = dt.date(2022, 4, 18)
H = dt.timedelta(hours=1)


def t(day: int, hour: float = 9) -> dt.datetime:
    """Local time on day `day` counted from D0, in UTC."""
    return dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(0), tzinfo=TZ) + dt.timedelta(hours=hour)


def neg(day: int, hour: float = 9, report_after: float = 8, sid: int | None = None) -> mr.Sample:
    return mr.Sample(t(day, hour), "negative", t(day, hour) + report_after * H, sid)


def pos(day: int, hour: float = 9, report_after: float = 8) -> mr.Sample:
    return mr.Sample(t(day, hour), "positive", t(day, hour) + report_after * H)


def run(category: str, samples: list[mr.Sample], at: dt.datetime, *, started: dt.datetime | None = None,
        day0: dt.date = D0, **kw: object) -> mr.Evaluation:
    return mr.evaluate(mr.plan_for(PACK, category), day0=day0, started_at=started or t(0, 8), samples=samples,
                       at=at, tz=TZ, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ the pack's table

@pytest.mark.parametrize(("category", "phases", "test_days", "ending", "anchor", "day_n"), [
    ("close_contact", ("central", "home_monitoring"), (1, 2, 3, 5, 7, 10), "days", "exposure", 10),
    ("inbound", ("central", "home_monitoring"), (1, 2, 3, 5, 7, 10), "days", "arrival", 10),
    ("high_risk_area", ("central",), (1, 2, 3, 5, 7), "days", "departure", 7),
    ("secondary_contact", ("home_quarantine",), (1, 4, 7), "days", "exposure", 7),
    ("medium_risk_area", ("home_quarantine",), (1, 4, 7), "days", "departure", 7),
    ("discharged_case", ("home_monitoring",), (7,), "days", "start", 7),
    ("low_risk_area", ("self_monitoring",), (), "self_monitoring", "departure", 3),
    ("colocation", ("self_monitoring",), (), "self_monitoring", "start", 3),
    ("pool_positive", ("temporary",), (), "temporary", "start", None),
])
def test_plan_of_each_category(category, phases, test_days, ending, anchor, day_n) -> None:
    plan = mr.plan_for(PACK, category)
    assert (tuple(p.phase for p in plan.phases), plan.test_days, plan.ending, plan.anchor, plan.day_n) == (
        phases, test_days, ending, anchor, day_n)
    assert plan.pack_version == "cn-2022-v9@5" and plan.rule == f"categories.{PACK.category_code(category)}"


def test_close_contact_steps_down_on_day_7_and_is_releasable_on_day_10() -> None:
    samples = [neg(d) for d in (1, 2, 3, 5, 7, 10)]
    before = run("close_contact", samples, t(7, 12))
    assert (before.status, before.phase, before.stepdown_at) == ("active", "central", None)  # day 7 pending
    after = run("close_contact", samples, t(7, 18))
    assert (after.phase, after.stepdown_on, after.stepdown_at) == ("home_monitoring", D0 + dt.timedelta(days=7),
                                                                   t(7, 17))
    assert run("close_contact", samples, t(10, 16)).status == "active"  # day 10's result not yet reported
    done = run("close_contact", samples, t(10, 17))
    assert (done.status, done.releasable_on, done.planned_end_on) == ("releasable", D0 + dt.timedelta(days=10),
                                                                      D0 + dt.timedelta(days=10))
    assert [d.state for d in done.test_days] == ["done"] * 6 and done.missed_days == ()


def test_release_waits_for_the_last_result_after_day_n() -> None:
    samples = [neg(d) for d in (1, 4)] + [neg(7, report_after=50)]
    ev = run("secondary_contact", samples, t(12))
    assert ev.releasable_on == D0 + dt.timedelta(days=9) and ev.releasable_at == t(9, 11)
    # results all in before day N: releasable from the start of day N
    early = run("medium_risk_area", [neg(d, report_after=1) for d in (1, 4, 7)], t(7, 23))
    assert early.releasable_at == t(7, 10) and early.status == "releasable"
    on_day = run("medium_risk_area", [neg(d, report_after=1) for d in (1, 4, 5)], t(7, 23))
    assert on_day.status == "active" and on_day.waiting_for() == (7,)


def test_high_risk_area_counts_from_departure_and_falls_back_to_arrival() -> None:
    facts = mr.AnchorFacts(started_at=t(2, 15), departure_at=t(0, 20), arrival_at=t(1, 9))
    assert mr.anchor_day("departure", facts, TZ) == ("departure", D0)
    facts = mr.AnchorFacts(started_at=t(2, 15), arrival_at=t(1, 9))
    assert mr.anchor_day("departure", facts, TZ) == ("arrival", D0 + dt.timedelta(days=1))
    assert mr.anchor_day("departure", mr.AnchorFacts(started_at=t(2, 15)), TZ) == ("start", D0 + dt.timedelta(days=2))
    # an anchor after the start is a typing error: the start counts
    assert mr.anchor_day("exposure", mr.AnchorFacts(started_at=t(2), exposure_at=t(3)), TZ)[0] == "start"


def test_close_contact_found_on_day_3_serves_days_3_to_7() -> None:
    """缺几天补几天: day 0 is the last exposure; test days before the start are served, not due."""
    _used, day0 = mr.anchor_day("exposure", mr.AnchorFacts(started_at=t(3, 10), exposure_at=t(0, 19)), TZ)
    samples = [neg(3, 11), *(neg(d) for d in (5, 7, 10))]
    ev = run("close_contact", samples, t(10, 20), started=t(3, 10), day0=day0)
    assert [(d.day, d.state) for d in ev.test_days] == [
        (1, "served"), (2, "served"), (3, "done"), (5, "done"), (7, "done"), (10, "done")]
    assert ev.status == "releasable" and ev.planned_end_on == D0 + dt.timedelta(days=10)
    # the same person counted from the start would be held three days longer
    late = run("close_contact", samples, t(10, 20), started=t(3, 10), day0=D0 + dt.timedelta(days=3))
    assert late.status == "active" and late.planned_end_on == D0 + dt.timedelta(days=13)


def test_high_risk_area_single_phase() -> None:
    ev = run("high_risk_area", [neg(d) for d in (1, 2, 3, 5, 7)], t(7, 18))
    assert (ev.status, ev.phase, ev.stepdown_on) == ("releasable", "central", None)


def test_discharged_case_tests_on_day_7_only() -> None:
    assert run("discharged_case", [neg(7)], t(7, 18)).status == "releasable"
    assert run("discharged_case", [neg(6)], t(7, 18)).waiting_for() == (7,)


def test_make_ups_count_for_release_and_the_missed_days_stay_listed() -> None:
    samples = [neg(d) for d in (1, 3, 4, 5, 7, 10)]  # nothing on day 2
    ev = run("close_contact", samples, t(10, 20))
    # day 2 takes day 3's sample, day 3 day 4's (sampled on its date: not missed), in order
    assert [(d.day, d.state, d.missed) for d in ev.test_days] == [
        (1, "done", False), (2, "made_up", True), (3, "made_up", False), (5, "done", False), (7, "done", False),
        (10, "done", False)]
    assert ev.missed_days == (2,) and ev.status == "releasable"
    assert ev.test_days[1].sample == samples[1] and ev.test_days[2].sample == samples[2]


def test_a_test_day_is_missed_from_12_hours_after_it_ends() -> None:
    samples = [neg(1)]
    assert run("secondary_contact", samples, t(5, 11.99)).missed_days == ()
    ev = run("secondary_contact", samples, t(5, 12))
    assert ev.missed_days == (4,) and ev.test_days[1].state == "missed"
    # a sample on the day (result pending) is not a miss
    assert run("secondary_contact", [*samples, mr.Sample(t(4, 9))], t(5, 12)).missed_days == ()


def test_a_sample_without_a_result_never_counts() -> None:
    samples = [neg(1), neg(4), mr.Sample(t(7, 9))]
    ev = run("secondary_contact", samples, t(9))
    assert ev.status == "active" and ev.test_days[-1].state == "pending"


def test_a_positive_converts_even_when_releasable() -> None:
    samples = [neg(d) for d in (1, 4, 7)] + [pos(8, report_after=2)]
    assert run("secondary_contact", samples, t(8, 10)).status == "releasable"
    ev = run("secondary_contact", samples, t(8, 11))
    assert (ev.status, ev.phase, ev.converted_at) == ("converted", "ended", t(8, 11))
    # after a release the person is no longer under the measure
    assert run("secondary_contact", samples, t(8, 11), released_at=t(8, 10)).status == "releasable"


def test_self_monitoring_needs_two_negatives_24_hours_apart_with_results() -> None:
    close = [neg(0, 10), neg(1, 9)]  # 23 h apart
    assert run("colocation", close, t(3)).status == "active"
    ev = run("colocation", [*close, neg(1, 10, report_after=30)], t(3))
    assert ev.releasable_at == t(2, 16) and ev.releasable_on == D0 + dt.timedelta(days=2)
    assert run("low_risk_area", [neg(0, 10), neg(1, 10, report_after=30)], t(2, 15)).status == "active"
    # a negative collected before the start does not count
    assert run("colocation", [neg(-1, 10), neg(1, 9)], t(3), started=t(0, 8)).status == "active"


def test_temporary_control_ends_on_the_first_negative_retest_report() -> None:
    assert run("pool_positive", [], t(5)).planned_end_on is None
    ev = run("pool_positive", [neg(0, 12, report_after=6), neg(0, 10, report_after=9)], t(1))
    assert (ev.status, ev.releasable_at) == ("releasable", t(0, 18))
    assert run("pool_positive", [pos(0, 12)], t(1)).status == "converted"


def test_tests_before_a_restart_no_longer_count() -> None:
    samples = [neg(d) for d in (1, 2, 3, 5, 7)]
    assert run("high_risk_area", samples, t(8)).status == "releasable"
    restart = t(4, 15)  # someone on the floor below turned positive, reported at 15:00 on day 4
    samples += [neg(4, 16), neg(6), neg(9)]
    ev = run("high_risk_area", samples, t(11, 12), day0=D0 + dt.timedelta(days=4), counts_from=restart)
    # counted again from day 4: test days fall on D0+5, +6, +7, +9, +11; days 1–3 no longer count, the
    # day-4 sample (after the restart, on the new day 0) counts for none
    assert ev.planned_end_on == D0 + dt.timedelta(days=11)
    assert [(d.day, d.on, d.state) for d in ev.test_days] == [
        (1, D0 + dt.timedelta(days=5), "done"), (2, D0 + dt.timedelta(days=6), "done"),
        (3, D0 + dt.timedelta(days=7), "done"), (5, D0 + dt.timedelta(days=9), "done"),
        (7, D0 + dt.timedelta(days=11), "due")]
    assert ev.status == "active" and ev.waiting_for() == (7,)
    done = run("high_risk_area", [*samples, neg(11)], t(11, 18), day0=D0 + dt.timedelta(days=4), counts_from=restart)
    assert done.status == "releasable" and done.releasable_at == t(11, 17)


# -------------------------------------------------------------------------------------- extensions

def member(mid: int, person: int, **kw: object) -> mr.Member:
    base: dict[str, object] = {"category": "high_risk_area", "active_from": t(0)}
    base.update(kw)
    return mr.Member(mid, person, **base)  # type: ignore[arg-type]


SITE = {"site_id": 1, "building": "A", "central_from": t(0)}


def test_extensions_floors_household_and_secondary_contacts() -> None:
    members = [
        member(1, 101, floor=3, household="h1", **SITE),
        member(2, 102, floor=4, **SITE),  # floor above: restarts
        member(3, 103, floor=2, **SITE),  # floor below: restarts
        member(4, 104, floor=5, **SITE),  # two floors up: no
        member(5, 105, floor=3, site_id=1, building="B", central_from=t(0)),  # other building: no
        member(6, 106, category="secondary_contact", household="h1"),  # household at home
        member(7, 107, category="secondary_contact", contact_of=101),
        member(8, 108, floor=3, **SITE, active_until=t(1)),  # released before: no
    ]
    conversions, restarts = mr.extensions(members, [mr.Positive(101, t(2, 20))], TZ)
    assert conversions == [mr.Conversion(1, 101, t(2, 20))]
    got = {(r.measure_id, r.reason, r.category, r.needs_room, r.day0) for r in restarts}
    day = D0 + dt.timedelta(days=2)
    assert got == {(2, "floor", None, False, day), (3, "floor", None, False, day),
                   (6, "household", "close_contact", True, day), (7, "contact_of", "close_contact", True, day)}
    _c, restarts = mr.extensions(members, [mr.Positive(101, t(2, 20))], TZ, floors_rule=False)
    assert {r.measure_id for r in restarts} == {6, 7}


def test_conversions_apply_in_report_order() -> None:
    members = [member(1, 101, floor=3, **SITE), member(2, 102, floor=4, **SITE), member(3, 103, floor=5, **SITE)]
    # 102 reported first: 101 and 103 restart on day 1; then 101's positive on day 3 restarts only 102? no:
    # 102 is converted by then, so nobody is left on floors 2–4 but 101 itself
    conversions, restarts = mr.extensions(members, [mr.Positive(101, t(3)), mr.Positive(102, t(1))], TZ)
    assert [c.person_id for c in conversions] == [102, 101]
    assert [(r.person_id, r.day0) for r in restarts] == [
        (101, D0 + dt.timedelta(days=1)), (103, D0 + dt.timedelta(days=1))]
    # a positive of someone not under a measure (or converted already) restarts nobody
    assert mr.extensions(members, [mr.Positive(999, t(1))], TZ) == ([], [])


# -------------------------------------------------------------------------------------- check-ins

def test_checkin_slots_wholly_inside_and_alerts() -> None:
    slots = mr.checkin_slots(t(0, 10), None, t(1, 13), TZ)
    assert slots == [(t(0, 12), t(1, 0)), (t(1, 0), t(1, 12))]
    assert mr.missed_slots(slots, [t(0, 20)]) == [(t(1, 0), t(1, 12))]
    assert mr.checkin_slots(t(0, 10), t(0, 20), t(3), TZ) == []
    assert mr.checkin_alert(37.3, ["干咳", "困"], fever_celsius=PACK.control.fever_celsius,
                            listed=PACK.control.symptoms) == ["fever", "干咳"]
    assert mr.checkin_alert(37.2, [], listed=PACK.control.symptoms) == []


# ---------------------------------------------------------------------------------- properties

DAY_CATEGORIES = ("close_contact", "inbound", "high_risk_area", "secondary_contact", "medium_risk_area",
                  "discharged_case")
hours = st.integers(min_value=-24, max_value=16 * 24)
negatives = st.lists(st.tuples(hours, st.integers(min_value=0, max_value=72)), max_size=14).map(
    lambda xs: [mr.Sample(t(0, h), "negative", t(0, h + r), i) for i, (h, r) in enumerate(xs)])


@settings(deadline=None, max_examples=300)  # pure, but the machine is shared: no wall-clock limit
@given(category=st.sampled_from(DAY_CATEGORIES), samples=negatives, at_h=st.integers(0, 20 * 24),
       exposure_days=st.integers(0, 6))
def test_never_releasable_before_day_n(category, samples, at_h, exposure_days) -> None:
    started = t(exposure_days, 8)
    ev = run(category, samples, t(0, at_h), started=started)
    if ev.status == "releasable":
        assert ev.planned_end_on is not None and ev.releasable_on is not None
        assert ev.releasable_on >= ev.planned_end_on and t(0, at_h) >= mr.day_start(ev.planned_end_on, TZ)
        assert all(d.state in ("served", "done", "made_up") for d in ev.test_days)


@settings(deadline=None, max_examples=300)
@given(category=st.sampled_from((*DAY_CATEGORIES, "colocation", "low_risk_area", "pool_positive")),
       samples=negatives, extra=st.tuples(hours, st.integers(0, 72)), at_h=st.integers(0, 20 * 24))
def test_one_more_negative_never_delays_release(category, samples, extra, at_h) -> None:
    more = [*samples, mr.Sample(t(0, extra[0]), "negative", t(0, extra[0] + extra[1]), 999)]
    a, b = run(category, samples, t(0, at_h)), run(category, more, t(0, at_h))
    if a.releasable_at is not None:
        assert b.releasable_at is not None and b.releasable_at <= a.releasable_at
    if a.status == "releasable":
        assert b.status == "releasable"


@settings(deadline=None, max_examples=300)
@given(category=st.sampled_from((*DAY_CATEGORIES, "colocation", "low_risk_area", "pool_positive")),
       samples=negatives, p=st.tuples(st.integers(0, 14 * 24), st.integers(0, 48)), at_h=st.integers(0, 20 * 24))
def test_a_positive_never_releases(category, samples, p, at_h) -> None:
    positive = mr.Sample(t(0, 8 + p[0]), "positive", t(0, 8 + p[0] + p[1]))
    at = t(0, at_h)
    assume(positive.reported_at <= at)  # type: ignore[operator]
    ev = run(category, [*samples, positive], at)
    assert ev.status == "converted" and ev.converted_at == positive.reported_at


@settings(deadline=None, max_examples=300)
@given(category=st.sampled_from(DAY_CATEGORIES), samples=negatives)
def test_make_ups_are_used_in_order(category, samples) -> None:
    at = t(30)
    ev = run(category, samples, at)
    used = [(d.on, d.sample) for d in ev.test_days if d.sample is not None]
    times = [s.collected_at for _on, s in used]
    assert times == sorted(times) and len({s.id for _on, s in used}) == len(used)
    for on, s in used:
        assert mr.local_date(s.collected_at, TZ) >= on
    # earliest unused: no negative left over lies between a test day and the sample it took
    required = [d for d in ev.test_days if d.state != "served"]
    complete = bool(required) and all(d.sample is not None for d in required)
    # the matching that made the release was of the results reported by the one that completed it
    seen_by = max(d.sample.reported_at for d in required) if complete else at  # type: ignore[union-attr]
    left = [s for s in samples if s.known(seen_by) == "negative" and s.collected_at >= t(0, 8)
            and s.id not in {u.id for _on, u in used}]
    for on, s in used:
        assert not any(on <= mr.local_date(x.collected_at, TZ) and x.collected_at < s.collected_at for x in left)


@settings(deadline=None, max_examples=200)
@given(exposure_h=st.integers(0, 6 * 24), found_h=st.integers(1, 6 * 24), samples=negatives)
def test_exposure_anchor_counts_from_the_last_exposure(exposure_h, found_h, samples) -> None:
    exposure, started = t(0, exposure_h), t(0, exposure_h + found_h)
    used, day0 = mr.anchor_day("exposure", mr.AnchorFacts(started_at=started, exposure_at=exposure), TZ)
    assert used == "exposure" and day0 == mr.local_date(exposure, TZ)
    ev = mr.evaluate(mr.plan_for(PACK, "close_contact"), day0=day0, started_at=started, samples=samples,
                     at=t(30), tz=TZ)
    assert ev.planned_end_on == day0 + dt.timedelta(days=10)
    served = [d.day for d in ev.test_days if d.state == "served"]
    assert served == [d.day for d in ev.test_days if d.on < mr.local_date(started, TZ)]
    assert not any(d.missed for d in ev.test_days if d.state == "served")
