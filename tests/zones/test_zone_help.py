"""Households that may not leave, and what a round's positives set off, on a real database: help
requests (due by kind, a task for the grid, served with audit, the resident's own page), special needs,
lockdown proposals from positive pools and single tubes, the daily round of high-risk zones."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from zone_factories import build_city, make_id, pool, sample, t

from fangkong.control import service as control_service
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import Conflict, ValidationFailed
from fangkong.kernel.places import service as places_service
from fangkong.kernel.tasks.models import Task
from fangkong.zones import service as zones_service
from fangkong.zones.models import RoundTarget
from fangkong.zones.service import help as help_service
from fangkong.zones.service import rounds as rounds_service

S = SYSTEM_ACTOR


def _pid(city, seq: int) -> int:
    return next(p for p, s in city.people.items() if s == seq)


def test_help_requests_are_tasks_due_by_kind_served_with_audit(session: Session) -> None:
    city = build_city(session)
    places_service.create_place(session, S, kind="sentinel", category="fever_clinic", name="武进人民医院发热门诊",
                                unit_id=city.district.id)
    with clock.frozen(t(1, 10)):
        z = zones_service.draw_zone(session, S, level="high", reason="病例 C1", addresses=["花园路8号1栋"]).zone
    with clock.frozen(t(2, 9)):
        supplies = help_service.request_help(session, S, person_id=_pid(city, 1), kind="supplies", detail="米和油")
        urgent = help_service.request_help(session, S, person_id=_pid(city, 2), kind="emergency", detail="胸痛",
                                           via="hotline")
    assert (supplies.zone_id, supplies.due_at, supplies.hospital) == (z.id, t(3, 9), None)
    assert (urgent.due_at, urgent.hospital) == (t(2, 9.5), "武进人民医院发热门诊")
    task = session.get(Task, urgent.task_id)
    assert task is not None and (task.unit_id, task.due_at, task.status) == (city.grid1.id, t(2, 9.5), "open")
    # the queue: the most urgent first
    assert [r.id for r, _p in help_service.queue(session, S)] == [urgent.id, supplies.id]
    with pytest.raises(ValidationFailed):
        help_service.finish(session, S, request_id=urgent.id, status="served", outcome=" ")
    with clock.frozen(t(2, 9.3)):
        help_service.finish(session, S, request_id=urgent.id, status="served", outcome="120 送医")
    assert (urgent.status, urgent.served_by, session.get(Task, urgent.task_id).status) == ("served", "system", "done")
    with pytest.raises(Conflict):
        help_service.finish(session, S, request_id=urgent.id, status="closed", outcome="again")
    assert [r.id for r, _p in help_service.queue(session, S)] == [supplies.id]
    actions = session.execute(select(AuditEvent.action).where(AuditEvent.object_type == "zone_help_request")
                              ).scalars().all()
    assert sorted(actions) == ["help.requested", "help.requested", "help.served"]
    with pytest.raises(ValidationFailed):
        help_service.request_help(session, S, person_id=_pid(city, 1), kind="haircut")


def test_the_resident_asks_by_id_number_and_phone_and_follows_the_state(session: Session) -> None:
    city = build_city(session)
    with clock.frozen(t(1, 10)):
        zones_service.draw_zone(session, S, level="high", reason="病例 C1", addresses=["花园路8号1栋"])
        req = help_service.request_help_by_resident(session, id_number=make_id(1), phone="13600000001",
                                                    kind="medicine", detail="降压药")
        assert req is not None and req.via == "phone" and req.due_at == t(1, 22)
        # the wrong phone, or a person outside every zone (building 2): nothing, and never which
        assert help_service.request_help_by_resident(session, id_number=make_id(1), phone="13600000002",
                                                     kind="medicine") is None
        assert help_service.request_help_by_resident(session, id_number=make_id(5), phone="13600000005",
                                                     kind="medicine") is None
    assert help_service.by_token(session, req.token) is req
    assert help_service.by_token(session, "nope") is None
    assert city.people[req.person_id] == 1


def test_special_needs_are_listed_per_zone(session: Session) -> None:
    city = build_city(session)
    with clock.frozen(t(1, 10)):
        z = zones_service.draw_zone(session, S, level="high", reason="病例", addresses=["花园路8号1栋"]).zone
        help_service.record_special_need(session, S, person_id=_pid(city, 1), need="pregnant", note="孕32周")
        help_service.record_special_need(session, S, person_id=_pid(city, 1), need="pregnant")  # idempotent
        help_service.record_special_need(session, S, person_id=_pid(city, 6), need="elderly_alone")  # outside
    assert [(n.need, city.people[p.id]) for n, p in help_service.special_needs_of_zone(session, S, z.id)] == [
        ("pregnant", 1)]


def _pool(session: Session, city, seqs: list[int], at: dt.datetime, result: str) -> None:
    from fangkong.testing import service as testing_service

    with clock.frozen(at):
        testing_service.open_tube(session, S, barcode="POOL1", pool_size=len(seqs), sampling_point_id=city.point.id)
        for seq in seqs:
            testing_service.add_sample(session, S, barcode="POOL1", person=make_id(seq), collected_at=at)
    with clock.frozen(at + dt.timedelta(hours=5)):
        rows = testing_service.ingest_results(session, S, items=[testing_service.ResultItem(2, {
            "tube_barcode": "POOL1", "result": result, "lab": "常州检测",
            "reported_at": (at + dt.timedelta(hours=5)).strftime("%Y-%m-%d %H:%M")})])
    assert rows[0].status == "accepted", rows[0].issues


def test_a_positive_pool_in_a_round_proposes_a_lockdown_the_command_centre_confirms(session: Session) -> None:
    city = build_city(session)
    with clock.frozen(t(1, 10)):
        high = zones_service.draw_zone(session, S, level="high", reason="病例", addresses=["花园路8号1栋"]).zone
    rnd = zones_service.start_round(session, S, unit_code=city.community.code, at=t(2, 7))
    assert rnd.sampling == "open_points" and rnd.targets == 8
    _pool(session, city, [5, 6], t(2, 8), "positive")  # building 2, room 101 (outside the high zone)
    sample(session, city, 1, t(2, 8), result="positive")  # inside the high zone: already sealed
    with clock.frozen(t(2, 14)):
        rows = zones_service.coverage(session, S, round_id=rnd.id, at=t(2, 14))
    by_grid = {r.unit_code: (r.sampled, r.positive, r.positive_pools) for r in rows}
    assert by_grid == {city.grid1.code: (1, 1, 0), city.grid2.code: (2, 0, 2)}
    [proposal] = rounds_service.proposals(session, S, round_id=rnd.id)
    assert (proposal.status, proposal.level, proposal.addresses, proposal.residents) == ("proposed", "high", 1, 2)
    assert proposal.name == "花园路8号2栋101室"
    # nothing in force before the command centre confirms: no measure of the zone, not in the levels
    assert proposal.id not in {z for _lv, z in zones_service.levels_at(session, S, at=t(2, 15)).values()}
    with clock.frozen(t(2, 15)):
        zones_service.refresh(session, rnd, at=t(2, 15))  # once per round and address
        assert len(rounds_service.proposals(session, S, round_id=rnd.id)) == 1
        r = zones_service.confirm_zone(session, S, zone_id=proposal.id)
        with pytest.raises(Conflict):
            zones_service.confirm_zone(session, S, zone_id=proposal.id)
    assert (r.zone.status, r.zone.starts_at) == ("active", t(2, 15))
    in_force = control_service.measures_in_force(session, [_pid(city, 5), _pid(city, 6)], at=t(2, 16))
    assert all(any(m.category == "sealed_zone_resident" for m in ms) for ms in in_force.values())
    assert high.status == "active"
    pooled = session.execute(select(RoundTarget).where(RoundTarget.round_id == rnd.id,
                                                       RoundTarget.pool_positive_at.is_not(None))).scalars().all()
    assert sorted(city.people[x.person_id] for x in pooled) == [5, 6]


def test_a_negative_pool_covers_its_members_and_a_positive_pools_members_await_the_retest(session: Session) -> None:
    """Hand-computed round over 20 residents (5 per room): grid 1 holds seqs 1–10, grid 2 seqs 11–20.
    A negative pool of 1–10 makes grid 1 sampled 10 / resulted 10; a positive pool of 11–20 makes
    grid 2 sampled 10 / resulted 0 / positive pools 10, until one member's single-tube retest (negative)
    resolves that member alone: resulted 1."""
    city = build_city(session, per_room=5)
    rnd = zones_service.start_round(session, S, unit_code=city.community.code, at=t(2, 7))
    assert rnd.targets == 20
    pool(session, city, "POOLN", list(range(1, 11)), t(2, 8), "negative")
    pool(session, city, "POOLP", list(range(11, 21)), t(2, 8), "positive")
    with clock.frozen(t(2, 12)):  # pools collected, results not reported yet
        rows = zones_service.coverage(session, S, round_id=rnd.id, at=t(2, 12))
    assert {r.unit_code: (r.targets, r.sampled, r.resulted, r.positive_pools) for r in rows} == {
        city.grid1.code: (10, 10, 0, 0), city.grid2.code: (10, 10, 0, 0)}
    with clock.frozen(t(2, 14)):
        rows = zones_service.coverage(session, S, round_id=rnd.id, at=t(2, 14))
    got = {r.unit_code: (r.targets, r.sampled, r.resulted, r.positive, r.positive_pools, r.missing) for r in rows}
    assert got == {city.grid1.code: (10, 10, 10, 0, 0, 0), city.grid2.code: (10, 10, 0, 0, 10, 0)}
    sample(session, city, 11, t(2, 15), result="negative")  # the retest of one member, within the round
    with clock.frozen(t(2, 22)):
        rows = zones_service.coverage(session, S, round_id=rnd.id, at=t(2, 22))
    got = {r.unit_code: (r.sampled, r.resulted, r.positive, r.positive_pools) for r in rows}
    assert got == {city.grid1.code: (10, 10, 0, 0), city.grid2.code: (10, 1, 0, 10)}
    by_seq = {city.people[x.person_id]: x.result for x in session.execute(
        select(RoundTarget).where(RoundTarget.round_id == rnd.id)).scalars()}
    assert [s for s, r in sorted(by_seq.items()) if r == "negative"] == [*range(1, 12)]


def test_high_risk_zones_get_a_round_every_day_until_lifted(session: Session) -> None:
    city = build_city(session)
    with clock.frozen(t(1, 10)):
        z = zones_service.draw_zone(session, S, level="high", reason="病例", addresses=["花园路8号1栋"]).zone
        zones_service.draw_zone(session, S, level="medium", reason="病例", addresses=["花园路8号2栋"])
    assert rounds_service.start_daily_rounds(session, S, at=t(1, 7))["rounds"] == 0  # not yet in force
    first = rounds_service.start_daily_rounds(session, S, at=t(2, 7))
    assert (first["zones"], first["rounds"]) == (1, 1)
    assert rounds_service.start_daily_rounds(session, S, at=t(2, 20))["rounds"] == 0  # once a day
    assert rounds_service.start_daily_rounds(session, S, at=t(3, 7))["rounds"] == 1
    with clock.frozen(t(3, 8)):
        zones_service.lift_zone(session, S, zone_id=z.id, override=True, reason="指挥部决定")
    assert rounds_service.start_daily_rounds(session, S, at=t(4, 7))["rounds"] == 0
    assert [r.targets for r in zones_service.list_rounds(session, S, zone_id=z.id)] == [4, 4]
    assert city.grid1.id


def test_the_special_needs_file_reports_each_row_and_a_second_read_changes_nothing(session: Session,
                                                                                    tmp_path) -> None:
    from fangkong.kernel.people.models import Person
    from fangkong.zones.imports import import_special_needs

    city = build_city(session)
    with clock.frozen(t(1, 10)):
        z = zones_service.draw_zone(session, S, level="high", reason="病例", addresses=["花园路8号1栋"]).zone
    bad_id = make_id(3)[:-1] + ("0" if make_id(3)[-1] != "0" else "1")
    f = tmp_path / "特殊人群.csv"
    f.write_text("花园社区特殊人群名单\n"
                 "姓名,身份证号,手机号,特殊人群,备注\n"
                 f"居民1,{make_id(1)},,孕妇；慢性病,孕32周 透析\n"  # two needs, by the words communities write
                 ",,13600000002,独居老人,\n"  # phone without a name: nobody to find
                 f"居民3,{bad_id},,残疾,\n"  # a wrong check digit: the field says so
                 f"居民4,{make_id(4)},,理发,\n"  # not a need
                 "居民2,,13600000002,独居老人,\n"  # phone and name
                 f"新来的,{make_id(77)},,disabled,\n"  # unknown: registered from the row
                 f"居民1,{make_id(1)},,孕产妇,\n", encoding="utf-8")  # the same need again in the file
    with clock.frozen(t(1, 12)):
        first = import_special_needs(session, S, f)
        assert [(r.row, r.status) for r in first] == [(3, "accepted"), (4, "rejected"), (5, "rejected"),
                                                      (6, "rejected"), (7, "accepted"), (8, "accepted"),
                                                      (9, "duplicate")]
        assert first[0].extra["need"] == "pregnant;chronic_treatment" and first[0].person_id == _pid(city, 1)
        assert [i.field for i in first[1].issues] == ["id_number"]
        assert [i.field for i in first[2].issues] == ["id_number"] and "check digit" in str(first[2].issues[0])
        assert [i.field for i in first[3].issues] == ["need"] and "理发" in str(first[3].issues[0])
        assert first[4].person_id == _pid(city, 2)
        assert session.get(Person, first[5].person_id).name == "新来的"
        again = import_special_needs(session, S, f)
    assert [r.status for r in again] == ["duplicate", "rejected", "rejected", "rejected", "duplicate", "duplicate",
                                         "duplicate"]
    assert sorted((n.need, city.people[p.id]) for n, p in help_service.special_needs_of_zone(session, S, z.id)) == [
        ("chronic_treatment", 1), ("elderly_alone", 2), ("pregnant", 1)]
    audits = session.execute(select(AuditEvent).where(AuditEvent.action == "help.special_need")).scalars().all()
    assert len(audits) == 1 and audits[0].detail["count"] == 4


def test_elderly_living_alone_are_listed_from_the_registry(session: Session) -> None:
    from fangkong.kernel.jurisdictions import service as jurisdictions_service
    from fangkong.kernel.people import service as people_service

    city = build_city(session)
    for room in ("103", "104", "105"):
        jurisdictions_service.add_address(session, S, text=f"花园路8号1栋{room}室", grid_code=city.grid1.code)
    alone = people_service.register_person(session, S, name="独居老人", id_number=make_id(61, born="19620418"),
                                           address_text="花园路8号1栋103室")  # 60 on the day the zone is drawn
    people_service.register_person(session, S, name="同住老人", id_number=make_id(62, born="19400101"),
                                   address_text="花园路8号1栋104室")
    people_service.register_person(session, S, name="同住子女", id_number=make_id(63, born="19700101"),
                                   address_text="花园路8号1栋104室")
    young = people_service.register_person(session, S, name="独居青年", id_number=make_id(64, born="19620419"),
                                           address_text="花园路8号1栋105室")  # alone, one day short of 60
    session.flush()
    with clock.frozen(t(18, 10)):
        z = zones_service.draw_zone(session, S, level="high", reason="病例", addresses=["花园路8号1栋"]).zone
        assert [p.id for p in help_service.elderly_alone_from_registry(session, S, z.id)] == [alone.id]
        help_service.record_special_need(session, S, person_id=alone.id, need="elderly_alone")
        assert help_service.elderly_alone_from_registry(session, S, z.id) == []  # recorded: listed once, as recorded
    assert young.id not in help_service.elderly_alone_from_registry(session, S, z.id)
