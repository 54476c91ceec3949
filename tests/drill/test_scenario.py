"""The demo's starting situation goes through the real intake services."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from fangkong.control.models import Measure
from fangkong.drill.city import generate_city
from fangkong.drill.scenario import seed_scenario
from fangkong.intake.models import Lead, RiskArea
from fangkong.kernel import clock
from fangkong.kernel.tasks.models import Task
from fangkong.testing.models import GroupMember

NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=dt.UTC)


def test_scenario_loads_leads_tasks_and_measures(session):
    with clock.frozen(NOW):
        generate_city(session, persons=600, seed=3)
        stats = seed_scenario(session, leads=60, seed=3)
    assert stats.risk_areas == session.execute(select(func.count()).select_from(RiskArea)).scalar() == 3
    by_channel = dict(session.execute(select(Lead.channel, func.count()).group_by(Lead.channel)).all())
    external = {c: n for c, n in by_channel.items() if c != "testing"}  # "testing": the positive pool's
    assert sum(external.values()) == sum(stats.leads.values()) == 60
    assert {"bigdata", "telecom", "community"} <= set(external)
    # every lead has its person and decision; open verification tasks wait on grids
    assert session.execute(select(func.count()).select_from(Lead).where(Lead.person_id.is_(None))).scalar() == 0
    assert session.execute(select(func.count()).select_from(Lead).where(Lead.rule.is_(None))).scalar() == 0
    open_tasks = session.execute(select(func.count()).select_from(Task).where(
        Task.kind == "verify_person", Task.status == "open")).scalar()
    assert open_tasks > 0
    # verified leads have their measure; centralised quarantine ones went to a site
    assert 0 < stats.verified < 60
    # received over the last half day in batches, verified hours later (never after now): real clocks
    leads = [lead for lead in session.execute(select(Lead).where(Lead.channel != "testing")).scalars()]
    assert len({clock.to_local(lead.received_at).hour for lead in leads}) > 5
    assert all(clock.parse_time(lead.received_at) <= NOW for lead in leads)
    managed = [lead for lead in leads if lead.managed_at is not None]
    assert len(managed) == stats.verified
    hours = [(clock.parse_time(m.managed_at) - clock.parse_time(m.received_at)).total_seconds() / 3600
             for m in managed]
    assert all(0 < h <= 10 for h in hours) and max(hours) - min(hours) > 1
    assert all(clock.parse_time(m.managed_at) <= NOW for m in managed)
    measures = session.execute(select(Measure.kind, Measure.place_kind)).all()
    assert measures and all(place == "site" for kind, place in measures if kind == "centralised_quarantine")
    # key groups: members on lists, most with a negative test; the positive pool drives the testing loop
    assert stats.members > 0 and 0 < stats.samples <= stats.members and stats.positive_pools == 1
    members, negatives = session.execute(select(func.count(), func.count(GroupMember.last_negative_at))
                                         .select_from(GroupMember)).one()
    assert members == stats.members and 0 < negatives < members
    pool_leads = session.execute(select(func.count()).select_from(Lead).where(Lead.channel == "testing")).scalar()
    retests = session.execute(select(func.count()).select_from(Task).where(
        Task.kind == "testing_retest", Task.status == "open")).scalar()
    temporary = session.execute(select(func.count()).select_from(Measure).where(
        Measure.kind == "temporary_control")).scalar()
    # a member already under a stronger measure (an earlier lead) gets no extra temporary control
    assert 0 < pool_leads == retests <= 10 and 0 < temporary <= pool_leads


def test_scenario_without_leads_only_declares_the_risk_areas(session):
    with clock.frozen(NOW):
        generate_city(session, persons=300, seed=5)
        first = seed_scenario(session, leads=0, seed=5)
    assert first.leads == {} and first.verified == 0 and first.risk_areas == 3


def test_scenario_under_the_later_packs_uses_only_what_they_define(session):
    """二十条: no medium areas, no secondary contacts; 新十条: high-risk areas only, fewer key groups."""
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.policy import service as policy_service
    from fangkong.testing.models import Tube, TubeSample

    policy_service.activate_pack(session, SYSTEM_ACTOR, code="cn-2022-xinshitiao", version="1")
    with clock.frozen(NOW):
        generate_city(session, persons=600, seed=3)
        stats = seed_scenario(session, leads=60, seed=3)
    assert set(session.execute(select(RiskArea.level)).scalars()) == {"high"} and stats.risk_areas == 1
    categories = set(session.execute(select(Lead.category)).scalars())
    assert "secondary_contact" not in categories and "close_contact" in categories
    assert {lead.pack_version for lead in session.execute(select(Lead)).scalars()} == {"cn-2022-xinshitiao@1"}
    groups = {g.code for g in policy_service.active_pack(session).key_groups}
    assert set(session.execute(select(GroupMember.group_code)).scalars()) <= groups
    # a member under a measure (not the positive pool's own temporary control) was sampled alone
    under = set(session.execute(select(Measure.person_id).where(
        Measure.status == "active", Measure.kind != "temporary_control")).scalars())
    sizes = session.execute(select(Tube.pool_size).join(TubeSample, TubeSample.tube_id == Tube.id)
                            .where(TubeSample.person_id.in_(under or {0}))).scalars().all()
    assert all(size == 1 for size in sizes)
