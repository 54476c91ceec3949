"""The data closed loop (数据闭环): each gap against a hand-computed day."""

from __future__ import annotations

import datetime as dt

import pytest
from cp_factories import NOW, checkpoint, local, records, valid_id

from fangkong.checkpoints.service import reconciliation as rec
from fangkong.checkpoints.service import trips
from fangkong.intake import service as intake_service
from fangkong.kernel import clock

DAY = dt.date(2022, 4, 20)
IDS = {k: valid_id(f"32041219800101{i:03d}") for i, k in enumerate("ABCDEFG")}


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW + dt.timedelta(days=3)):
        yield


def lead(session, system, key: str, channel: str, arrival: str, name: str = "") -> int:
    [row] = intake_service.ingest_leads(session, system, channel=channel, items=[intake_service.LeadItem(1, {
        "name": name or f"人{key}", "id_number": IDS[key], "arrival_at": arrival, "source_ref": f"{channel}-{key}"})]).rows
    return row.person_id


def test_gaps_by_hand(session, system) -> None:
    checkpoint(session, "K1")
    # A: pushed and seen and found by the community: no gap
    a = lead(session, system, "A", "bigdata", "2022-04-20 09:00")
    lead(session, system, "A", "community", "2022-04-20 20:00")
    # B: pushed (telecom), never seen at a checkpoint, no community lead: pushed_not_seen + pushed_not_community
    b = lead(session, system, "B", "telecom", "2022-04-20 10:00")
    # C: pushed and seen within 24 h but returned (劝返): neither pushed gap, and not "seen"
    lead(session, system, "C", "bigdata", "2022-04-20 11:00")
    # D: seen at the checkpoint only: seen_not_pushed + seen_not_community
    # E: community lead dated D, never seen: community_not_seen
    e = lead(session, system, "E", "community", "2022-04-20 12:00")
    # F: pushed on the 19th (not the day), seen on the 20th within 24 h: seen counts it as pushed
    lead(session, system, "F", "bigdata", "2022-04-19 20:00")
    rows = records(session, [
        {"record_ref": "a", "checkpoint": "K1", "inspected_at": "2022-04-20 08:00", "direction": "in",
         "id_number": IDS["A"], "name": "人A"},
        {"record_ref": "c", "checkpoint": "K1", "inspected_at": "2022-04-20 11:30", "direction": "in",
         "id_number": IDS["C"], "name": "人C", "decision": "return"},
        {"record_ref": "d", "checkpoint": "K1", "inspected_at": "2022-04-20 13:00", "direction": "in",
         "id_number": IDS["D"], "name": "人D", "plate": "苏D12121"},
        {"record_ref": "f", "checkpoint": "K1", "inspected_at": "2022-04-20 07:00", "direction": "in",
         "id_number": IDS["F"], "name": "人F"},
        # G: crew of an e-pass truck: not "seen"; its trip stays open and is overdue at the day's end
        {"record_ref": "g", "passage_ref": "tg", "checkpoint": "K1", "inspected_at": "2022-04-20 14:00",
         "direction": "in", "id_number": IDS["G"], "name": "人G", "role": "driver", "plate": "苏D34343",
         "vehicle_type": "truck", "epass_no": "320400000077", "destination": "320412"},
    ])
    assert all(r.status == "accepted" for r in rows), [r.issues for r in rows]
    d, f = rows[2].person_id, rows[3].person_id
    trips.confirm_arrivals(session, system, items=[trips.ArrivalItem(1, {
        "request_id": "q", "plate": "苏D56565", "arrived_at": "2022-04-20 16:00"})])
    got = [(g.gap, g.person_id, g.plate, g.at) for g in rec.reconciliation(session, system, day=DAY)]
    assert got == [
        ("pushed_not_seen", b, None, local("2022-04-20T10:00:00")),
        ("pushed_not_community", b, None, local("2022-04-20T10:00:00")),
        ("seen_not_pushed", d, "苏D12121", local("2022-04-20T13:00:00")),
        ("seen_not_community", f, None, local("2022-04-20T07:00:00")),
        ("seen_not_community", d, "苏D12121", local("2022-04-20T13:00:00")),
        ("community_not_seen", e, None, local("2022-04-20T12:00:00")),
        ("arrival_not_seen", None, "苏D56565", local("2022-04-20T16:00:00")),
        ("trip_open", None, "苏D34343", local("2022-04-20T14:00:00")),
    ]
    assert a not in {g[1] for g in got}
    # make tasks for one list: one task per row, never twice
    assert len(rec.make_gap_tasks(session, system, day=DAY, gap="seen_not_community")) == 2
    assert rec.make_gap_tasks(session, system, day=DAY, gap="seen_not_community") == []
