"""Coverage per grid from the targets' kept state, equal to a plain GROUP BY over their columns through
samples, pools and exclusions; and declared household headcounts where the registry is thin: the gap
(declared − registered) per grid as `declared_extra`, the decided CSV columns unchanged."""

from __future__ import annotations

import pytest
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from zone_factories import build_city, pool, sample, t, user

from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import ValidationFailed
from fangkong.zones import service as zones_service
from fangkong.zones.models import RoundTarget, target_state
from fangkong.zones.service import headcounts

S = SYSTEM_ACTOR


def _plain(session: Session, round_id: int) -> list[tuple[int, ...]]:
    """The coverage as a plain GROUP BY over the targets' columns (what `state` must agree with)."""
    t_ = RoundTarget
    return [tuple(int(x or 0) for x in r) for r in session.execute(
        select(t_.unit_id, func.count(), func.count(t_.sampled_at), func.count(t_.result),
               func.sum(case((t_.result == "positive", 1), else_=0)),
               func.sum(case((t_.excluded.is_not(None), 1), else_=0)), func.count(t_.pool_positive_at))
        .where(t_.round_id == round_id).group_by(t_.unit_id).order_by(t_.unit_id))]


def _product(session: Session, round_id: int) -> list[tuple[int, ...]]:
    rows = zones_service.coverage(session, S, round_id=round_id, at=clock.now())
    return sorted((r.unit_id, r.targets, r.sampled, r.resulted, r.positive, r.excluded, r.positive_pools)
                  for r in rows)


def test_the_kept_state_answers_as_the_columns_through_a_round(session: Session) -> None:
    city = build_city(session)
    rnd = zones_service.start_round(session, S, unit_code=city.community.code, at=t(2, 7))
    with clock.frozen(t(2, 7)):
        assert _product(session, rnd.id) == _plain(session, rnd.id)
    sample(session, city, 1, t(2, 8))  # negative single tube
    sample(session, city, 2, t(2, 8), result="positive")
    sample(session, city, 3, t(2, 8), result=None)  # sampled, no result yet
    pool(session, city, "HPOOL1", [5, 6], t(2, 9), "positive")  # a positive pool: its members marked
    who = next(pid for pid, seq in city.people.items() if seq == 7)
    zones_service.exclude(session, S, round_id=rnd.id, person_id=who, reason="hospitalised")
    with clock.frozen(t(2, 16)):
        product = _product(session, rnd.id)
        assert product == _plain(session, rnd.id)
    assert sum(r[2] for r in product) == 5 and sum(r[4] for r in product) == 1 and sum(r[6] for r in product) == 2
    for x in session.execute(select(RoundTarget).where(RoundTarget.round_id == rnd.id)).scalars():
        assert x.state == target_state(sampled=x.sampled_at is not None, result=x.result,
                                       excluded=x.excluded is not None, pool_positive=x.pool_positive_at is not None)
    with clock.frozen(t(2, 17)):  # read again: nothing changed, nothing written
        assert zones_service.refresh(session, rnd, at=t(2, 17)) == 0


def test_declared_headcounts_show_the_gap_per_grid(session: Session) -> None:
    city = build_city(session)
    rnd = zones_service.start_round(session, S, unit_code=city.community.code, at=t(2, 7))
    # a household of two registered declared at five; the empty flat of grid 2 declared at two
    d = headcounts.declare_headcount(session, S, address="花园路8号1栋101室", headcount=5, note="租户3人")
    assert (d.registered, d.extra) == (2, 3)
    headcounts.declare_headcount(session, S, address="花园路9号1栋101室", headcount=2)
    headcounts.declare_headcount(session, S, address="花园路8号2栋102室", headcount=1)  # fewer: no gap
    with clock.frozen(t(2, 8)):
        rows = {r.unit_code: r for r in zones_service.coverage(session, S, round_id=rnd.id)}
    assert (rows[city.grid1.code].declared_extra, rows[city.grid2.code].declared_extra) == (3, 2)
    assert (rows[city.grid1.code].targets, rows[city.grid2.code].targets) == (4, 4)  # targets are the registered
    d = headcounts.declare_headcount(session, S, address="花园路8号1栋101室", headcount=3)  # declared again
    assert d.extra == 1
    with clock.frozen(t(2, 8)):
        rows = {r.unit_code: r for r in zones_service.coverage(session, S, round_id=rnd.id)}
    assert rows[city.grid1.code].declared_extra == 1
    # a zone round counts only the zone's households
    with clock.frozen(t(2, 9)):
        z = zones_service.draw_zone(session, S, level="high", reason="病例", addresses=["花园路8号2栋"]).zone
        zr = zones_service.start_round(session, S, zone_id=z.id)
        assert [(r.unit_code, r.declared_extra) for r in zones_service.coverage(session, S, round_id=zr.id)] == [
            (city.grid2.code, 0)]
    # bad input: outside the gazetteer, out of range, someone else's area
    with pytest.raises(ValidationFailed) as bad:
        headcounts.declare_headcount(session, S, address="花园路99号1栋101室", headcount=300)
    assert sorted(f.field for f in bad.value.fields) == ["address", "headcount"]
    user(session, "hc_grid2", "community", city.grid2)
    other = auth_service.actor_for(session, "hc_grid2")
    with pytest.raises(ValidationFailed):
        headcounts.declare_headcount(session, other, address="花园路8号1栋101室", headcount=9)


def test_the_coverage_file_keeps_its_decided_columns(session: Session) -> None:
    from fangkong.zones import exports

    city = build_city(session)
    rnd = zones_service.start_round(session, S, unit_code=city.community.code, at=t(2, 7))
    headcounts.declare_headcount(session, S, address="花园路9号1栋101室", headcount=2)
    decided = ["unit_code", "unit_name", "targets", "sampled", "resulted", "positive", "excluded", "missing"]
    assert [c.key for c in exports.COVERAGE_COLUMNS] == decided
    with clock.frozen(t(2, 8)):
        rows = list(exports.coverage_rows(session, S, round_id=rnd.id))
    assert [list(r) for r in rows] == [decided, decided]
