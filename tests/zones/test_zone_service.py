"""Zones on a real database: preview, draw with residents' measures through control, overlap, the
national list, eligibility from rounds and results, lifting."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session
from zone_factories import build_city, sample, t

from fangkong.control import service as control_service
from fangkong.intake import service as intake_service
from fangkong.intake.areas import locate
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import Conflict, ValidationFailed
from fangkong.kernel.tabular import Row
from fangkong.zones import service as zones_service

S = SYSTEM_ACTOR


def test_preview_counts_addresses_households_and_residents(session: Session) -> None:
    build_city(session)
    p = zones_service.preview_zone(session, S, addresses=["花园路8号1栋"])  # a whole building
    assert (p.addresses, p.households, p.residents, p.issues) == (2, 2, 4, [])
    p = zones_service.preview_zone(session, S, units=["320412001001"])  # the whole 小区 (community)
    assert (p.addresses, p.households, p.residents) == (5, 4, 8)
    assert p.owner is not None and p.owner.code == "320412001001"
    p = zones_service.preview_zone(session, S, units=["32041200100102"], addresses=["花园路8号1栋101室"])
    assert (p.addresses, p.households, p.residents) == (4, 3, 6)


def test_an_address_outside_the_gazetteer_is_an_issue_with_the_closest_matches(session: Session) -> None:
    build_city(session)
    p = zones_service.preview_zone(session, S, addresses=["花园路8号1栋103室"])
    [issue] = p.issues
    assert issue.field == "addresses.0"
    text = str(issue.message)
    assert "花园路8号1栋103室" in text and "花园路8号1栋101室" in text
    with pytest.raises(ValidationFailed):
        zones_service.draw_zone(session, S, level="high", reason="病例 C1", addresses=["花园路8号1栋103室"])


def test_draw_puts_residents_under_measure_and_files_the_risk_area(session: Session) -> None:
    city = build_city(session)
    with clock.frozen(t(1, 10)):
        r = zones_service.draw_zone(session, S, level="high", reason="病例 C1 住所", addresses=["花园路8号1栋"])
    z = r.zone
    assert (z.addresses, z.households, z.residents, r.measures, z.level, z.drawn_by) == (2, 2, 4, 4, "high", "system")
    assert z.unit_path == city.grid1.path
    in_force = control_service.measures_in_force(session, list(city.people), at=t(1, 11))
    assert sorted(m.category for ms in in_force.values() for m in ms) == ["sealed_zone_resident"] * 4
    [area] = intake_service.list_risk_areas(session, S, active_at=t(1, 11))
    assert (area.county_code, area.level) == ("320412", "high")
    assert [e.action for e in zones_service.history(session, S, z.id)] == ["drawn"]


def test_overlapping_zones_resolve_to_the_strictest_level(session: Session) -> None:
    build_city(session)
    with clock.frozen(t(1, 10)):
        low = zones_service.draw_zone(session, S, level="low", reason="防范", units=["320412001001"]).zone
        high = zones_service.draw_zone(session, S, level="high", reason="病例", addresses=["花园路8号2栋101室"]).zone
    levels = zones_service.levels_at(session, S, at=t(2))
    assert sorted(lv for lv, _z in levels.values()) == ["high", "low", "low", "low", "low"]
    assert {z for _lv, z in levels.values()} == {low.id, high.id}


def test_national_list_round_trip(session: Session) -> None:
    build_city(session)
    with clock.frozen(t(1, 10)):
        zones_service.draw_zone(session, S, level="high", reason="病例", addresses=["花园路8号1栋"], name="花园路8号1栋")
        zones_service.draw_zone(session, S, level="medium", reason="病例", addresses=["花园路8号2栋"], name="花园路8号2栋")
    rows = zones_service.national_rows(session, S, at=t(2))
    assert [(r["province"], r["city"], r["county"], r["place"], r["level"]) for r in rows] == [
        ("江苏省", "常州市", "武进区", "花园路8号1栋", "高"), ("江苏省", "常州市", "武进区", "花园路8号2栋", "中")]
    stored = {(a.county_code, tuple(a.places), a.level) for a in intake_service.list_risk_areas(session, S)}
    read = {(locate(province=r["province"], city=r["city"], county=r["county"], place=r["place"]).county_code,
             tuple(locate(province=r["province"], city=r["city"], county=r["county"], place=r["place"]).places),
             "high" if r["level"] == "高" else "medium") for r in rows}
    assert read == stored
    # re-importing the exported list through intake changes nothing
    report = intake_service.import_risk_areas(session, S, rows=[Row(i + 2, {
        "province": r["province"], "city": r["city"], "county": r["county"], "place": r["place"],
        "level": r["level"], "start_at": clock.iso_local(r["start_at"]), "end_at": ""}) for i, r in enumerate(rows)])
    assert [x.status for x in report] == ["duplicate", "duplicate"], [x.issues for x in report]


def test_eligibility_and_lift_by_the_data(session: Session) -> None:
    city = build_city(session)
    with clock.frozen(t(1, 10)):
        z = zones_service.draw_zone(session, S, level="high", reason="病例", addresses=["花园路8号1栋"]).zone
    from fangkong.zones.service.zones import zone_person_ids
    seqs = sorted(city.people[p] for p in zone_person_ids(session, z.id))
    # day 7 = 8 April; a round on day 7, all but one sampled
    with clock.frozen(t(8, 8)):
        rnd = zones_service.start_round(session, S, zone_id=z.id)
    assert rnd.targets == 4
    for s in seqs[:3]:
        sample(session, city, s, t(8, 9))
    e = zones_service.eligibility_of(session, S, z.id, at=t(9, 1))
    assert (e.eligible, e.waiting_for, e.eligible_on) == (False, "round_incomplete", None)
    with pytest.raises(Conflict):
        zones_service.lift_zone(session, S, zone_id=z.id, at=t(9, 1))
    missing = zones_service.missing(session, S, round_id=rnd.id, at=t(9, 1))
    assert [city.people[tg.person_id] for tg, _p in missing] == [seqs[3]]
    sample(session, city, seqs[3], t(8, 20))
    e = zones_service.eligibility_of(session, S, z.id, at=t(9, 3))
    assert (e.eligible, e.qualifying_round, e.eligible_on, e.next_level) == (True, rnd.id, dt.date(2022, 4, 9),
                                                                             "medium")
    cov = zones_service.coverage(session, S, round_id=rnd.id, at=t(9, 3))
    assert [(c.unit_code, c.targets, c.sampled, c.resulted, c.positive, c.missing) for c in cov] == [
        (city.grid1.code, 4, 4, 4, 0, 0)]
    zone, _e, ended = zones_service.lift_zone(session, S, zone_id=z.id, at=t(9, 3))
    assert (zone.level, zone.came_from_high, ended) == ("medium", True, 4)
    in_force = control_service.measures_in_force(session, list(city.people), at=t(9, 4))
    assert sorted(m.category for ms in in_force.values() for m in ms) == ["controlled_zone_resident"] * 4
    # medium after high: 3 quiet days from 9 April → 13 April
    assert zones_service.eligibility_of(session, S, z.id, at=t(12, 23)).eligible is False
    # a late positive on 11 April resets the count
    sample(session, city, seqs[0], t(11, 9), result="positive")
    e = zones_service.eligibility_of(session, S, z.id, at=t(13, 1))
    assert (e.eligible, e.eligible_on) == (False, dt.date(2022, 4, 15))
    with pytest.raises(Conflict):
        zones_service.lift_zone(session, S, zone_id=z.id, at=t(13, 1))
    zone, e, _n = zones_service.lift_zone(session, S, zone_id=z.id, at=t(13, 1), override=True, reason="指挥部决定")
    assert zone.level == "low"
    events = zones_service.history(session, S, z.id)
    assert [(ev.action, ev.to_level, ev.override) for ev in events] == [
        ("drawn", "high", False), ("downgraded", "medium", False), ("downgraded", "low", True)]


def test_residents_who_left_within_the_look_back_window_become_leads(session: Session) -> None:
    from zone_factories import make_id

    from fangkong.intake.models import Lead
    from fangkong.kernel.places import service as places_service
    from fangkong.venues import service as venues_service

    city = build_city(session)
    inside = places_service.create_place(session, S, kind="venue", name="花园菜市场", ref="ZV1", category="market",
                                         unit_id=city.grid1.id)
    away = places_service.create_place(session, S, kind="venue", name="新北超市", ref="ZV2", category="supermarket",
                                       unit_id=city.district.id)
    session.flush()
    scans = [(inside, 1, t(1, 8)), (away, 1, t(3, 8)),  # left
             (away, 2, t(3, 9)), (inside, 2, t(4, 9)),  # came back
             (away, 3, t(1, 9))]  # before the look-back window
    items = [venues_service.ScanItem(i, place_id=p.id, id_number=make_id(seq), scanned_at=at.isoformat(),
                                     request_id=f"zs{i}") for i, (p, seq, at) in enumerate(scans, start=1)]
    with clock.frozen(t(5)):
        got = venues_service.record_scans(session, S, items=items, source="api")
    assert {r.status for r in got} == {"accepted"}, [r.issues for r in got]
    assert inside.id and away.id
    with clock.frozen(t(9, 10)):
        r = zones_service.draw_zone(session, S, level="high", reason="病例", addresses=["花园路8号1栋"])
    assert r.leads == 1
    [lead] = session.query(Lead).filter(Lead.channel == "zone").all()
    assert city.people[lead.person_id] == 1 and lead.category == "high_risk_area"
    # the batch read the draw uses gives each person's scans as the single read does
    ids = list(city.people)
    batch = venues_service.scans_of_persons(session, S, person_ids=ids, since=t(1), until=t(9))
    single = {pid: venues_service.scans_of_person(session, S, person_id=pid, since=t(1), until=t(9)) for pid in ids}
    assert batch == {pid: v for pid, v in single.items() if v} and len(batch) == 3


def test_door_knock_tasks_at_eighty_percent_of_the_deadline(session: Session) -> None:
    from fangkong.kernel.tasks.models import Task
    from fangkong.zones.kinds import DOOR_KNOCK

    city = build_city(session)
    with clock.frozen(t(1, 10)):
        z = zones_service.draw_zone(session, S, level="high", reason="病例", units=["320412001001"]).zone
    rnd = zones_service.start_round(session, S, zone_id=z.id, at=t(2, 0), deadline_hours=10)
    seqs = sorted(city.people.values())
    for s in seqs[:6]:  # building 1 (grid 1) all sampled, building 2 two left
        sample(session, city, s, t(2, 1))
    from fangkong.zones.service.rounds import create_door_knock_tasks
    assert create_door_knock_tasks(session, S, at=t(2, 7.9)) == {"rounds": 0, "tasks": 0}
    assert create_door_knock_tasks(session, S, at=t(2, 8)) == {"rounds": 1, "tasks": 1}
    [task] = session.query(Task).filter(Task.kind == DOOR_KNOCK).all()
    assert (task.unit_id, task.subject_id, task.due_at) == (city.grid2.id, rnd.id, t(2, 10))
    assert len(task.detail["person_ids"]) == 2
    assert create_door_knock_tasks(session, S, at=t(2, 9)) == {"rounds": 0, "tasks": 0}  # once per round


def test_persons_present_but_registered_elsewhere_are_round_targets(session: Session) -> None:
    """A visitor registered outside the city who scanned the shop at 花园路9号 (grid 2) within the
    look-back window is a target of the community's round, on that grid, and so is one who entered
    through a checkpoint for 花园路8号1栋102室 (grid 1); a resident scanning there is not counted twice; a
    visitor seen only at a venue outside the area, before the window, or entering for an address
    elsewhere, is not."""
    from zone_factories import make_id

    from fangkong.checkpoints.service import checkpoints as checkpoints_service
    from fangkong.checkpoints.service import records as records_service
    from fangkong.checkpoints.service.records import RecordItem
    from fangkong.kernel.people import service as people_service
    from fangkong.kernel.places import service as places_service
    from fangkong.venues import service as venues_service
    from fangkong.zones.models import RoundTarget

    city = build_city(session)
    shop = places_service.create_place(session, S, kind="venue", name="花园便利店", ref="ZV3", category="shop",
                                       address_text="花园路9号1栋101室")
    away = places_service.create_place(session, S, kind="venue", name="新北超市", ref="ZV4", category="supermarket",
                                       unit_id=city.district.id)
    assert shop.address_id is not None and shop.unit_id == city.grid2.id
    visitors = {seq: people_service.register_person(session, S, name=f"访客{seq}", id_number=make_id(seq),
                                                    phone=f"137{seq:08d}").id for seq in (101, 102, 103, 104, 105)}
    scans = [(shop, 101, t(3, 8)), (shop, 1, t(3, 9)),  # a visitor; a resident
             (away, 102, t(3, 10)),  # outside the area
             (shop, 103, t(3, 8) - dt.timedelta(days=8))]  # before the look-back window (7 days)
    items = [venues_service.ScanItem(i, place_id=p.id, id_number=make_id(seq), scanned_at=at.isoformat(),
                                     request_id=f"zp{i}") for i, (p, seq, at) in enumerate(scans, start=1)]
    with clock.frozen(t(5)):
        got = venues_service.record_scans(session, S, items=items, source="api")
    assert {r.status for r in got} == {"accepted"}, [r.issues for r in got]
    checkpoints_service.create_checkpoint(session, S, name="武进收费站", kind="highway_exit", ref="ZK1")
    arrivals = [("zk1", 104, "花园路8号1栋102室"), ("zk2", 105, "新北区太湖路1号")]
    rows = records_service.record_items(session, S, items=[RecordItem(i, {
        "record_ref": ref, "checkpoint": "ZK1", "inspected_at": "2022-04-04 09:00", "direction": "in",
        "plate": f"苏D1234{i}", "id_number": make_id(seq), "name": f"访客{seq}", "address": address})
        for i, (ref, seq, address) in enumerate(arrivals, 1)])
    assert [r.status for r in rows] == ["accepted"] * 2, [r.issues for r in rows]
    rnd = zones_service.start_round(session, S, unit_code=city.community.code, at=t(5, 7))
    assert rnd.targets == 10
    targets = session.query(RoundTarget).filter(RoundTarget.round_id == rnd.id).all()
    present = sorted((x.person_id, x.address_id, x.unit_id) for x in targets if x.source == "present")
    room = next(x.address_id for x in targets if city.people.get(x.person_id) == 3)  # 花园路8号1栋102室
    assert present == sorted([(visitors[101], shop.address_id, city.grid2.id), (visitors[104], room, city.grid1.id)])
    sample(session, city, 101, t(5, 9))
    with clock.frozen(t(5, 18)):
        rows = zones_service.coverage(session, S, round_id=rnd.id, at=t(5, 18))
    assert {r.unit_code: (r.targets, r.sampled, r.resulted) for r in rows} == {
        city.grid1.code: (5, 0, 0), city.grid2.code: (5, 1, 1)}


def test_persons_arriving_later_are_decided_by_the_zone_level(session: Session) -> None:
    from zone_factories import make_id

    from fangkong.kernel.people import service as people_service
    from fangkong.zones.jobs import new_residents

    build_city(session)
    with clock.frozen(t(1, 10)):
        high = zones_service.draw_zone(session, SYSTEM_ACTOR, level="high", reason="病例",
                                       addresses=["花园路8号1栋"]).zone
        zones_service.draw_zone(session, SYSTEM_ACTOR, level="low", reason="防范", addresses=["花园路8号2栋"])
    with clock.frozen(t(3, 9)):
        newcomer = people_service.register_person(session, SYSTEM_ACTOR, name="新住户", id_number=make_id(90),
                                                  address_text="花园路8号1栋102室")
        elsewhere = people_service.register_person(session, SYSTEM_ACTOR, name="外人", id_number=make_id(91),
                                                   address_text="花园路9号1栋101室")
        session.flush()
        first = new_residents(session)
        assert first == {"zones": 1, "residents": 1, "by_zone": {high.id: 1}}
        in_force = control_service.measures_in_force(session, [newcomer.id, elsewhere.id])
        assert [m.category for m in in_force.get(newcomer.id, [])] == ["sealed_zone_resident"]
        assert elsewhere.id not in in_force
        assert new_residents(session)["residents"] == 0  # admitted once
    assert high.residents == 5 and zones_service.measure_counts(session, high.id) == (5, 0)
