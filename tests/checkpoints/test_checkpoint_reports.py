"""Shift counts, trips (点对点闭环) and stranded vehicles, against hand-computed expectations."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from cp_factories import ID_A, ID_B, ID_C, NOW, checkpoint, local, records
from sqlalchemy import select

from fangkong.checkpoints import exports, kinds
from fangkong.checkpoints.models import Trip
from fangkong.checkpoints.service import reports, trips
from fangkong.checkpoints.service.trips import ArrivalItem
from fangkong.intake import service as intake_service
from fangkong.kernel import clock, export
from fangkong.kernel.tasks.models import Task


@pytest.fixture(autouse=True)
def _now(monkeypatch):
    monkeypatch.setenv("FANGKONG_REGION_CODE", "320400")
    from fangkong.settings import get_settings

    get_settings.cache_clear()
    with clock.frozen(NOW + dt.timedelta(days=3)):
        yield
    get_settings.cache_clear()


def _row(ref, at, d, **kw):
    return {"record_ref": ref, "checkpoint": kw.pop("cp", "K1"), "inspected_at": at, "direction": d, **kw}


def test_shift_counts_by_hand(session, system, tmp_path: Path) -> None:
    checkpoint(session, "K1", shifts="08:00-20:00;20:00-08:00")
    checkpoint(session, "K2")  # default shifts, no records: three rows of zeros
    checkpoint(session, "SA", kind="service_area")  # not in the report
    rows = records(session, [
        # day shift of the 20th: a car with two persons in (one sampled), a truck in, a car out (returned)
        _row("a1", "2022-04-20 09:00", "in", passage_ref="c1", plate="苏D11111", vehicle_type="car",
             id_number=ID_A, name="甲", decision="test"),
        _row("a2", "2022-04-20 09:00", "in", passage_ref="c1", plate="苏D11111", vehicle_type="car",
             id_number=ID_B, name="乙", health_code="黄码"),
        _row("a3", "2022-04-20 10:00", "in", passage_ref="t1", plate="苏D22222", vehicle_type="truck"),
        _row("a4", "2022-04-20 19:59", "out", passage_ref="c2", plate="苏D33333", vehicle_type="car",
             id_number=ID_C, name="丙", decision="return"),
        # night shift of the 20th (crossing midnight): one person in on foot at 03:00 on the 21st
        _row("a5", "2022-04-21 03:00", "in", phone="13800001111", name="丁"),
        # the night shift of the 19th and the day shift of the 21st: not in the 20th's rows
        _row("a6", "2022-04-20 07:59", "in", plate="苏D44444"),
        _row("a7", "2022-04-21 08:00", "in", plate="苏D55555"),
        _row("s1", "2022-04-20 09:00", "seen", cp="SA", plate="苏D66666"),
    ])
    assert all(r.status == "accepted" for r in rows), [r.issues for r in rows]
    got = reports.shift_counts(session, system, day=dt.date(2022, 4, 20))
    cols = reports.SHIFT_COLUMNS
    assert [[r[c] for c in cols] for r in got] == [
        ["K1", "2022-04-20", "08:00-20:00", 2, 1, 2, 1, 1, 1, 1, 1],
        ["K1", "2022-04-20", "20:00-08:00", 0, 0, 1, 0, 0, 0, 0, 0],
        ["K2", "2022-04-20", "00:00-08:00", 0, 0, 0, 0, 0, 0, 0, 0],
        ["K2", "2022-04-20", "08:00-16:00", 0, 0, 0, 0, 0, 0, 0, 0],
        ["K2", "2022-04-20", "16:00-24:00", 0, 0, 0, 0, 0, 0, 0, 0],
    ]
    out = tmp_path / "shifts.csv"
    export.write(session, system, exports.SHIFTS, out=out, filters={"day": dt.date(2022, 4, 20)})
    with out.open(encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    assert lines[0] == cols
    assert len(lines) == 6


def test_a_trip_is_opened_confirmed_and_closed(session, system, tmp_path: Path) -> None:
    checkpoint(session, "K1")
    truck = {"plate": "苏D77777", "vehicle_type": "truck", "epass_no": "320400000001", "destination": "常州市武进区",
             "role": "driver", "name": "司机甲", "id_number": ID_A}
    rows = records(session, [_row("e1", "2022-04-20 08:00", "in", passage_ref="v1", **truck)])
    trip_id = rows[0].extra["trip_id"]
    assert trip_id is not None and rows[0].extra["lead_id"] is None
    arr = trips.confirm_arrivals(session, system, items=[
        ArrivalItem(1, {"request_id": "q1", "plate": "苏D 77777", "arrived_at": "2022-04-20 10:00", "receiver": "某物流"}),
        ArrivalItem(2, {"request_id": "q2", "plate": "苏D77777", "arrived_at": "2022-04-20 11:00"}),
        ArrivalItem(3, {"request_id": "q3", "plate": "苏D88888", "arrived_at": "2022-04-20 11:00"}),
        ArrivalItem(4, {"request_id": "q1", "plate": "苏D 77777", "arrived_at": "2022-04-20 10:00", "receiver": "某物流"}),
    ])
    assert [a.status for a in arr] == ["accepted", "accepted", "accepted", "duplicate"]
    assert arr[0].extra["trip_id"] == trip_id and arr[1].extra["trip_id"] == trip_id
    assert "the first stays" in "; ".join(arr[1].issues)
    assert arr[2].extra["trip_id"] is None and "arrival_not_seen" in "; ".join(arr[2].issues)

    def state(at: str) -> tuple[str, float | None]:
        [row] = trips.trip_states(session, system, at=local(at))
        return row.state.state, row.state.overdue_hours

    assert state("2022-04-20T09:00:00") == ("in_transit", None)
    assert state("2022-04-20T10:30:00") == ("at_destination", None)
    assert state("2022-04-21T12:30:00") == ("exit_overdue", 2.5)
    # overdue trips make one task each, at the trip's unit, once
    assert len(trips.make_overdue_tasks(session, system, at=local("2022-04-21T12:30:00"))) == 1
    assert trips.make_overdue_tasks(session, system, at=local("2022-04-21T13:00:00")) == []
    task = session.execute(select(Task).where(Task.kind == kinds.TRIP_OVERDUE)).scalar_one()
    assert task.subject_id == trip_id
    # the outbound passage closes it (recorded late: the state as of before it is unchanged)
    records(session, [_row("x1", "2022-04-21 14:00", "out", passage_ref="v2", plate="苏D77777", vehicle_type="truck")])
    assert state("2022-04-21T13:00:00") == ("exit_overdue", 3.0)
    assert state("2022-04-21T14:00:00") == ("closed", None)
    out = tmp_path / "trips.csv"
    export.write(session, system, exports.TRIPS, out=out, filters={"at": local("2022-04-21T15:00:00")})
    with out.open(encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    assert lines == [["trip_id", "plate", "epass_no", "entered_at", "arrived_at", "exited_at", "state", "overdue_hours"],
                     [str(trip_id), "苏D77777", "320400000001", "2022-04-20T08:00:00+08:00",
                      "2022-04-20T10:00:00+08:00", "2022-04-21T14:00:00+08:00", "closed", ""]]


def test_transit_and_exit_not_seen_and_driver_staying(session, system) -> None:
    checkpoint(session, "K1")
    passing = {"plate": "沪A12345", "vehicle_type": "truck", "epass_no": "310100000009", "destination": "南京市鼓楼区"}
    records(session, [_row("p1", "2022-04-20 08:00", "in", passage_ref="w1", **passing),
                      _row("p2", "2022-04-20 20:00", "in", passage_ref="w2", **passing)])
    rows = trips.trip_states(session, system, at=local("2022-04-20T21:00:00"))
    assert [(r.state.state, r.state.overdue_hours) for r in rows] == [("exit_not_seen", None), ("passing", None)]
    rows = trips.trip_states(session, system, at=local("2022-04-20T12:30:00"))
    assert [(r.state.state, r.state.overdue_hours) for r in rows] == [("transit_overdue", 0.5)]
    # a local truck whose driver stays: the crew become leads
    local_truck = {"plate": "苏D99999", "vehicle_type": "truck", "epass_no": "320400000002", "destination": "320412"}
    got = records(session, [
        _row("d1", "2022-04-20 09:00", "in", passage_ref="z1", role="driver", name="司机乙", id_number=ID_B, **local_truck),
        _row("d2", "2022-04-20 09:00", "in", passage_ref="z1", role="crew", name="随车丙", id_number=ID_C, **local_truck)])
    assert [g.extra["lead_id"] for g in got] == [None, None]
    trip_id = got[0].extra["trip_id"]
    trip = session.get(Trip, trip_id)
    assert trip.local and trip.destination_code == "320412"
    lead_ids = trips.close_driver_staying(session, system, trip_id=trip_id, at=local("2022-04-20T12:00:00"))
    assert len(lead_ids) == 2
    assert {intake_service.get_lead(session, system, i).channel for i in lead_ids} == {"checkpoint"}
    [row] = trips.trip_states(session, system, at=local("2022-04-20T13:00:00"), plate="苏D99999")
    assert row.state.state == "closed"


def test_stranded_vehicles_make_tasks(session, system) -> None:
    checkpoint(session, "SA", kind="service_area", name="芳茂山服务区")
    checkpoint(session, "K1")
    records(session, [
        _row("s1", "2022-04-20 00:00", "seen", cp="SA", plate="苏D10001"),
        _row("s2", "2022-04-20 03:00", "seen", cp="SA", plate="苏D10001"),
        _row("s3", "2022-04-20 06:30", "seen", cp="SA", plate="苏D10001"),
        _row("s4", "2022-04-20 00:00", "seen", cp="SA", plate="苏D10002"),
        _row("s5", "2022-04-20 07:00", "seen", cp="SA", plate="苏D10002", decision="escort"),
        _row("s6", "2022-04-20 01:00", "seen", cp="SA", plate="苏D10003"),
        _row("s7", "2022-04-20 04:00", "in", plate="苏D10003"),
        _row("s8", "2022-04-20 05:00", "seen", cp="SA", plate="苏D10003"),
    ])
    found = reports.stranded(session, system, at=local("2022-04-20T08:00:00"))
    assert [(v.plate, v.service_area, v.first_seen_at, v.last_seen_at, v.hours) for v in found] == [
        ("苏D10001", "SA", local("2022-04-20T00:00:00"), local("2022-04-20T06:30:00"), 6.5)]
    assert len(reports.make_stranded_tasks(session, system, at=local("2022-04-20T08:00:00"))) == 1
    assert reports.make_stranded_tasks(session, system, at=local("2022-04-20T09:00:00")) == []


def test_roster_and_handover_across_midnight(session, system) -> None:
    """班次交接: the night shift's note (20:00-08:00 of the 20th) is what the day shift of the 21st reads;
    saving again updates the one log; an unknown shift names the field."""
    from fangkong.checkpoints.service import checkpoints as checkpoints_service
    from fangkong.kernel.errors import ValidationFailed

    cp = checkpoint(session, "K1", shifts="08:00-20:00;20:00-08:00")
    save = checkpoints_service.save_shift_log
    save(session, system, place_id=cp.id, day=dt.date(2022, 4, 20), shift="20:00-08:00", roster="张警官 李辅警",
         handover="苏D·A1234 未出城,请跟进")
    log = save(session, system, place_id=cp.id, day=dt.date(2022, 4, 20), shift="20:00-08:00", roster="张警官",
               handover="苏DA1234 未出城,请跟进")
    note = checkpoints_service.previous_handover(session, system, place_id=cp.id, at=local("2022-04-21T09:00:00"))
    assert note is not None and note.id == log.id and note.roster == "张警官" and note.handover.startswith("苏DA1234")
    # at 03:00 on the 21st the night shift of the 20th runs: the note left for it is the day shift's (none)
    assert checkpoints_service.previous_handover(session, system, place_id=cp.id, at=local("2022-04-21T03:00:00")) is None
    with pytest.raises(ValidationFailed) as err:
        save(session, system, place_id=cp.id, day=dt.date(2022, 4, 20), shift="08:00-16:00", roster="x")
    assert [e.field for e in err.value.fields] == ["shift"]


def test_the_command_screen_counts_inspections_and_open_trips(session, system) -> None:
    """卡口查验 and 未闭环行程 on the command centre's indicators, by hand: day D = 20 April (cut-off 24:00)."""
    from fangkong.command import service as command_service

    checkpoint(session, "K1")
    truck = {"plate": "苏D77777", "vehicle_type": "truck", "epass_no": "320400000001", "destination": "常州市武进区",
             "role": "driver", "name": "司机甲", "id_number": ID_A}
    records(session, [
        _row("i1", "2022-04-19 23:59", "in", plate="苏D44444"),  # the day before
        _row("i2", "2022-04-20 08:00", "in", passage_ref="v1", **truck),  # opens a trip
        _row("i3", "2022-04-20 09:00", "in", phone="13800001111", name="丁"),
        _row("i4", "2022-04-21 00:00", "in", plate="苏D55555"),  # at the cut-off: the next day
    ])

    def figures(day: dt.date) -> dict[str, tuple[float | None, str]]:
        t = command_service.indicators(session, system, day=day)
        root = next(r.unit_code for r in t.rows if r.level == "city")
        return {r.indicator: (r.value, r.shown()) for r in t.rows if r.unit_code == root}

    d20 = figures(dt.date(2022, 4, 20))
    assert d20["checkpoints.inspected"] == (2, "2") and d20["trips.open"] == (1, "1")
    records(session, [_row("x1", "2022-04-21 14:00", "out", passage_ref="v2", plate="苏D77777", vehicle_type="truck")])
    # closed on the 21st: still open at the 20th's cut-off, no longer at the 21st's
    assert figures(dt.date(2022, 4, 20))["trips.open"] == (1, "1")
    assert figures(dt.date(2022, 4, 21))["trips.open"] == (0, "0")
    assert figures(dt.date(2022, 4, 21))["checkpoints.inspected"] == (2, "2")
