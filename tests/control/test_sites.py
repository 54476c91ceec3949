"""Quarantine sites on a real database: sites and rooms (one at a time and from files, idempotent, rows
naming the field), room states (occupied, cleaning until marked clean, out of service), one person or
one household per room, the proposed room (nearest site), assignment with a transport task, arrival
starting the measure, transfers (old room to cleaning), capacity with rooms per 10,000 residents, and
`fangkong report capacity`."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from control_factories import build_world, person
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.models import Measure
from fangkong.control.sites import rules
from fangkong.control.sites.models import RoomStay
from fangkong.control.sites.service import capacity as capacity_service
from fangkong.control.sites.service import sites as sites_service
from fangkong.control.sites.service import stays as stays_service
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import Conflict
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.tasks.models import Task

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _now():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        yield


def site_with_rooms(session: Session, w, ref: str = "QS1", *, unit=None, rooms=(("A", 3, "301", 1), ("A", 3, "302", 2),
                                                                              ("A", 4, "401", 1))):
    site = sites_service.register_site(session, SYSTEM_ACTOR, name=f"隔离酒店{ref}", ref=ref,
                                       unit_id=(unit or w.district).id, contacts="王站长 13900000000")
    made = [sites_service.add_room(session, SYSTEM_ACTOR, site_id=site.place_id, building=b, floor=f, number=n, beds=beds)
            for b, f, n, beds in rooms]
    return site, made


def planned(session: Session, w, seq: int, name: str, *, category: str = "close_contact") -> Measure:
    pid = person(session, w, seq, name)
    return control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category=category,
                                         rule=f"categories.{category}", started_at=NOW, exposure_at=NOW, planned=True)


def states(session: Session, rooms, at: dt.datetime) -> list[str]:
    got = sites_service.room_states(session, rooms, at=at)
    return [got[r.id] for r in rooms]


def test_rooms_occupied_then_cleaning_until_marked_clean(session: Session) -> None:
    w = build_world(session)
    site, (r301, r302, r401) = site_with_rooms(session, w)
    m = planned(session, w, 1, "张一")
    assert (m.status, m.phase) == ("planned", "central")
    [stay] = stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[m.id], room_id=r301.id,
                                       transport=stays_service.Transport(pickup="花园路8号", vehicle="苏D12345",
                                                                         escort="李护士"))
    assert states(session, [r301, r302, r401], NOW) == ["occupied", "free", "free"]
    task = session.get(Task, stay.transport_task_id)
    assert task is not None and task.kind == "control_transport" and task.detail["vehicle"] == "苏D12345"
    assert "张一" in task.title and "A-301" in task.title
    # arrival starts the measure and closes the transport
    later = NOW + dt.timedelta(hours=2)
    stays_service.arrive(session, SYSTEM_ACTOR, measure_id=m.id, at=later)
    assert (m.status, m.place_kind, m.place_id) == ("active", "site", site.place_id)
    assert session.get(Task, stay.transport_task_id).status == "done"  # type: ignore[union-attr]
    # released: the room is left empty → cleaning, until marked clean
    out = NOW + dt.timedelta(days=3)
    control_service.release_measure(session, SYSTEM_ACTOR, measure_id=m.id, at=out, override_reason="医生同意")
    assert stay.until_at == out and stay.needs_cleaning
    assert states(session, [r301], out - dt.timedelta(minutes=1)) == ["occupied"]
    assert states(session, [r301], out) == ["cleaning"]
    with pytest.raises(Conflict):  # a room being cleaned is not assigned
        stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[planned(session, w, 2, "张二").id],
                                  room_id=r301.id, at=out)
    sites_service.mark_clean(session, SYSTEM_ACTOR, room_id=r301.id, at=out + dt.timedelta(hours=5))
    assert states(session, [r301], out + dt.timedelta(hours=5)) == ["free"]
    assert states(session, [r301], out + dt.timedelta(hours=4)) == ["cleaning"]  # replayable as of a moment
    with pytest.raises(Conflict):
        sites_service.mark_clean(session, SYSTEM_ACTOR, room_id=r301.id, at=out + dt.timedelta(hours=6))


def test_a_room_holds_one_person_or_one_household_up_to_its_beds(session: Session) -> None:
    w = build_world(session)
    _site, (r301, r302, _r401) = site_with_rooms(session, w)
    a, b, c = planned(session, w, 1, "王父"), planned(session, w, 2, "王母"), planned(session, w, 3, "赵某")
    stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[a.id], room_id=r301.id)
    with pytest.raises(Conflict, match="no free bed"):  # one bed, one person
        stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[c.id], room_id=r301.id)
    stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[b.id], room_id=r302.id, household="H-王")
    with pytest.raises(Conflict):  # someone outside the household
        stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[c.id], room_id=r302.id)
    d = planned(session, w, 4, "王子")
    d.household = "H-王"
    [stay] = stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[d.id], room_id=r302.id)
    assert (stay.bed, stay.household) == (2, "H-王")
    e = planned(session, w, 5, "王女")
    e.household = "H-王"
    with pytest.raises(Conflict):  # two beds: full
        stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[e.id], room_id=r302.id)
    with pytest.raises(Conflict, match="already has room"):
        stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[a.id], room_id=r302.id)


def test_the_proposed_room_is_at_the_nearest_site_and_keeps_a_household_together(session: Session) -> None:
    w = build_world(session)
    far, _ = site_with_rooms(session, w, "FAR", unit=w.other, rooms=(("1", 1, "101", 1), ("1", 1, "102", 2)))
    near, near_rooms = site_with_rooms(session, w, "NEAR", unit=w.community,
                                       rooms=(("B", 2, "201", 1), ("B", 2, "202", 2)))
    one = planned(session, w, 1, "孙一")
    [best, *_rest] = stays_service.propose_rooms(session, SYSTEM_ACTOR, measure_ids=[one.id])
    assert (best.site_id, best.room) == (near.place_id, "B-201")  # same community; the smallest room that fits
    pair = [planned(session, w, 2, "钱甲"), planned(session, w, 3, "钱乙")]
    stays = stays_service.assign_proposed(session, SYSTEM_ACTOR, measure_ids=[m.id for m in pair])
    assert {s.room_id for s in stays} == {near_rooms[1].id} and len({s.household for s in stays}) == 1
    # the near site is full for a pair now: the far one is proposed
    pair2 = [planned(session, w, 4, "周甲"), planned(session, w, 5, "周乙")]
    [p] = stays_service.propose_rooms(session, SYSTEM_ACTOR, measure_ids=[m.id for m in pair2], limit=1)
    assert (p.site_id, p.room) == (far.place_id, "1-102")
    sites_service.set_site_status(session, SYSTEM_ACTOR, site_id=far.place_id, status="standby")
    assert stays_service.propose_rooms(session, SYSTEM_ACTOR, measure_ids=[m.id for m in pair2]) == []
    with pytest.raises(Conflict):
        stays_service.assign_proposed(session, SYSTEM_ACTOR, measure_ids=[m.id for m in pair2])


def test_transfers_leave_the_old_room_to_cleaning(session: Session) -> None:
    w = build_world(session)
    _site, (r301, r302, r401) = site_with_rooms(session, w)
    m = planned(session, w, 1, "吴一")
    stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[m.id], room_id=r301.id)
    stays_service.arrive(session, SYSTEM_ACTOR, measure_id=m.id)
    later = NOW + dt.timedelta(days=1)
    new = stays_service.transfer(session, SYSTEM_ACTOR, measure_id=m.id, to_room_id=r401.id, at=later)
    assert new is not None and new.room_id == r401.id and new.transport_task_id is not None
    assert states(session, [r301, r401], later) == ["cleaning", "occupied"]
    stays_service.transfer(session, SYSTEM_ACTOR, measure_id=m.id, to_hospital="市第三人民医院",
                           at=later + dt.timedelta(hours=1))
    assert m.status == "transferred_out"
    assert states(session, [r401], later + dt.timedelta(hours=1)) == ["cleaning"]
    # an occupied room cannot go out of service; an empty one can
    sites_service.set_room_status(session, SYSTEM_ACTOR, room_id=r302.id, status="out_of_service")
    assert states(session, [r302], later) == ["out_of_service"]


def test_a_stepdown_leaves_the_room(session: Session) -> None:
    w = build_world(session)
    _site, (r301, *_rest) = site_with_rooms(session, w)
    m = planned(session, w, 1, "郑一")
    stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[m.id], room_id=r301.id, arrived=True)
    control_service.change_status(session, SYSTEM_ACTOR, measure_id=m.id, to_status="active", reason="arrived")
    at = NOW + dt.timedelta(days=7, hours=2)
    control_service.lifecycle.record_change(session, SYSTEM_ACTOR, m, action="stepped_down", to_status="active",
                                            to_phase="home_monitoring", at=at, reason="rule")
    assert states(session, [r301], at) == ["cleaning"]


def test_capacity_per_site_and_unit_with_rooms_per_10k(session: Session, tmp_path: Path) -> None:
    w = build_world(session)
    w.district.population = 1_000  # 2 usable rooms (one out of service) → 20 per 10,000: on target
    w.other.population = 10_000
    site, (r301, _r302, r401) = site_with_rooms(session, w)
    other, _ = site_with_rooms(session, w, "QS2", unit=w.other, rooms=(("1", 1, "101", 1),))
    sites_service.set_room_status(session, SYSTEM_ACTOR, room_id=r401.id, status="out_of_service")
    m = planned(session, w, 1, "冯一")
    stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[m.id], room_id=r301.id, arrived=True)
    report = capacity_service.capacity(session, SYSTEM_ACTOR, at=NOW)
    by_ref = {s.ref: s.counts for s in report.sites}
    assert (by_ref["QS1"].rooms, by_ref["QS1"].usable, by_ref["QS1"].occupied, by_ref["QS1"].free,
            by_ref["QS1"].out_of_service) == (3, 2, 1, 1, 1)
    units = {u.code: u for u in report.units}
    assert units["C01"].per_10k == 20 and not units["C01"].below
    assert units["C02"].per_10k == 1.0 and units["C02"].below
    assert units["C02"].population == 10_000 and report.target == 20
    # releases due over the next 7 days: a close contact's day N is day 10
    assert report.releases_by_day.get(NOW.date() + dt.timedelta(days=10)) is None
    soon = capacity_service.capacity(session, SYSTEM_ACTOR, at=NOW + dt.timedelta(days=5))
    assert {s.ref: s.releases_due for s in soon.sites}["QS1"] == 1
    assert other.place_id != site.place_id


def test_rules_free_beds_and_nearness() -> None:
    at = NOW
    stay = rules.StayFact(1, "H", at - dt.timedelta(hours=1))
    assert rules.free_beds(2, "usable", [stay], at, household="H") == [2]
    assert rules.free_beds(2, "usable", [stay], at, household=None) == []
    assert rules.free_beds(2, "usable", [stay], at - dt.timedelta(hours=2), household=None) == [1, 2]
    assert rules.nearness("/1/2/3/", "/1/2/9/") == 2 and rules.nearness("/1/2/3/", "/4/") == 0
    assert rules.rooms_per_10k(20, 10_000) == 20 and rules.rooms_per_10k(5, None) is None
    assert rules.below_target(19.99, 20) and not rules.below_target(None, 20)


def test_import_sites_and_rooms_per_row_idempotent(session: Session, tmp_path: Path) -> None:
    w = build_world(session)
    sites = tmp_path / "sites.csv"
    sites.write_text("隔离点编号,名称,地址,属地编码,状态,联系人\n"
                     "QA,湖塘宾馆,花园路1号,C01,启用,王站长\n"
                     "QB,新北酒店,,C02,备用,\n"
                     ",无编号,,C01,,\n"
                     "QC,坏状态,,C01,不知道,\n"
                     "QD,坏属地,,X99,,\n"
                     "QA,湖塘宾馆,花园路1号,C01,启用,王站长\n", encoding="utf-8")
    report = sites_service.import_sites_file(session, SYSTEM_ACTOR, sites)
    assert [r.status for r in report] == ["accepted", "accepted", "rejected", "rejected", "rejected", "duplicate"]
    assert [r.row for r in report] == [2, 3, 4, 5, 6, 7]
    assert report[2].issues[0].startswith("ref:") and report[3].issues[0].startswith("status:")
    assert report[4].issues[0].startswith("unit:")
    rooms = tmp_path / "rooms.csv"
    rooms.write_text("site_ref,building,floor,room,beds,status\n"
                     "QA,1,3,301,1,可用\n"
                     "QA,1,,402,2,usable\n"
                     "QZ,1,3,301,1,\n"
                     "QA,1,3,303,十,\n"
                     "QA,1,3,,1,\n"
                     "QB,2,1,101,1,停用\n", encoding="utf-8")
    rep = sites_service.import_rooms_file(session, SYSTEM_ACTOR, rooms)
    assert [r.status for r in rep] == ["accepted", "accepted", "rejected", "rejected", "rejected", "accepted"]
    assert rep[2].issues == ["site_ref: unknown quarantine site QZ"]
    assert rep[3].issues[0].startswith("beds:") and rep[4].issues[0].startswith("room:")
    qa = next(s for s in sites_service.list_sites(session, SYSTEM_ACTOR) if s.ref == "QA")
    _place, _site, views = sites_service.site_rooms(session, SYSTEM_ACTOR, qa.id, at=NOW)
    assert [(v.number, v.floor, v.beds) for v in views] == [("301", 3, 1), ("402", 4, 2)]  # floor from the number
    again = sites_service.import_rooms_file(session, SYSTEM_ACTOR, rooms)
    assert [r.status for r in again] == ["duplicate", "duplicate", "rejected", "rejected", "rejected", "duplicate"]
    assert all(r.status == "duplicate" for r in sites_service.import_sites_file(session, SYSTEM_ACTOR, sites)
               if r.status != "rejected")
    assert w.site.id not in {s.id for s in sites_service.list_sites(session, SYSTEM_ACTOR, status="closed")}


def test_capacity_export_columns(session: Session, tmp_path: Path) -> None:
    from fangkong.kernel import export

    w = build_world(session)
    jurisdictions_service.get_unit_by_code(session, "C01").population = 3_000  # type: ignore[union-attr]
    site_with_rooms(session, w)
    out = tmp_path / "capacity.csv"
    export.write(session, SYSTEM_ACTOR, capacity_service.CAPACITY, out=out, filters={"at": NOW})
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:7] == ["site", "rooms", "usable", "occupied", "cleaning", "free", "out_of_service"]
    assert next(r for r in rows if r[0] == "QS1")[:7] == ["QS1", "3", "3", "0", "0", "3", "0"]
    unit_rows = {r[7]: r for r in rows[1:] if r[0] == ""}
    assert float(unit_rows["C01"][rows[0].index("rooms_per_10k")]) == 10
    assert unit_rows["C01"][rows[0].index("below_target")] in ("true", "True", "1")
    assert session.execute(select(RoomStay)).first() is None


def test_dashboard_series_count_arrivals_releases_and_occupied_rooms(session: Session) -> None:
    w = build_world(session)
    _site, (r301, r302, _r401) = site_with_rooms(session, w)
    a, b = planned(session, w, 1, "甲"), planned(session, w, 2, "乙")
    stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[a.id], room_id=r301.id)
    stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[b.id], room_id=r302.id)
    stays_service.arrive(session, SYSTEM_ACTOR, measure_id=a.id, at=NOW + dt.timedelta(hours=1))
    stays_service.arrive(session, SYSTEM_ACTOR, measure_id=b.id, at=NOW + dt.timedelta(days=1))
    out = NOW + dt.timedelta(days=2, hours=3)
    control_service.release_measure(session, SYSTEM_ACTOR, measure_id=a.id, at=out, override_reason="医生同意")
    at = NOW + dt.timedelta(days=3)
    flows = {d: (i, o) for d, i, o in capacity_service.flows(session, SYSTEM_ACTOR, at=at)}
    day = NOW.date()
    assert (flows[day], flows[day + dt.timedelta(days=1)], flows[day + dt.timedelta(days=2)]) == ((1, 0), (1, 0), (0, 1))
    occupied = dict(capacity_service.occupancy_series(session, SYSTEM_ACTOR, at=at))
    # noon of day 0: both rooms held (assigned at 09:00); day 2: 甲 left at 12:00 sharp, so at noon only
    # 乙's room is held (a stay holds its room up to, not at, its end); day 3 (as of 09:00): 乙's
    assert (occupied[day], occupied[day + dt.timedelta(days=2)], occupied[day + dt.timedelta(days=3)]) == (2, 1, 1)


def test_the_command_screen_reads_occupancy_from_the_rooms(session: Session) -> None:
    """隔离点使用率 on the command centre's indicators, by hand: occupied rooms over rooms in service at the
    cut-off, per district and summed (not averaged) at the root; a district with no room shows —."""
    from fangkong.command import service as command_service

    w = build_world(session)
    _site, (r301, r302, r401) = site_with_rooms(session, w)
    site_with_rooms(session, w, "QS2", unit=w.other, rooms=(("1", 1, "101", 1),))
    sites_service.set_room_status(session, SYSTEM_ACTOR, room_id=r401.id, status="out_of_service")
    a, b = planned(session, w, 1, "冯一"), planned(session, w, 2, "冯二")
    stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[a.id], room_id=r301.id, arrived=True)
    stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[b.id], room_id=r302.id, arrived=True)

    t = command_service.indicators(session, SYSTEM_ACTOR, day=NOW.date())
    got = {r.unit_code: (r.numerator, r.denominator, r.shown()) for r in t.rows
           if r.indicator == "quarantine.occupancy"}
    root = next(r.unit_code for r in t.rows if r.level == "city")
    assert got["C01"] == (2, 2, "100.00%")  # 301 and 302 occupied; 401 out of service
    assert got["C02"] == (0, 1, "0.00%")
    assert got[root] == (2, 3, "66.67%")
    assert not any(r.enabled is False for r in t.rows if r.indicator == "quarantine.occupancy")
