"""Checkpoint records: a row per person or a plate alone, rejections naming the field, repeats, leads."""

from __future__ import annotations

import pytest
from cp_factories import ID_A, ID_B, NOW, checkpoint, local, record, records
from sqlalchemy import select

from fangkong.checkpoints.models import CheckpointRecord
from fangkong.intake import service as intake_service
from fangkong.kernel import clock


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


def test_a_person_and_a_sighting_are_recorded(session, system) -> None:
    checkpoint(session, "K1")
    rows = records(session, [
        {"record_ref": "r1", "passage_ref": "p1", "checkpoint": "K1", "inspected_at": "2022-04-20 09:00",
         "direction": "进", "plate": "苏D·12345", "vehicle_type": "小客车", "name": "张三", "id_number": ID_A,
         "role": "驾驶员", "health_code": "绿码", "decision": "放行", "temperature": "36.5"},
        {"record_ref": "r2", "checkpoint": "卡口K1", "inspected_at": "2022/04/20 09:05", "direction": "巡查",
         "plate": "苏D 54321"},
    ])
    assert [r.status for r in rows] == ["accepted", "accepted"], [r.issues for r in rows]
    stored = list(session.execute(select(CheckpointRecord).order_by(CheckpointRecord.id)).scalars())
    assert [(s.plate, s.direction, s.vehicle_type, s.role, s.decision) for s in stored] == [
        ("苏D12345", "in", "car", "driver", "pass"), ("苏D54321", "seen", None, None, None)]
    assert stored[0].person_id == rows[0].person_id is not None
    assert stored[1].person_id is None
    assert stored[0].temperature == 36.5
    assert stored[0].inspected_at == local("2022-04-20T09:00:00")


def test_rejections_name_the_field_and_a_bad_id_is_only_an_issue(session, system) -> None:
    checkpoint(session, "K1")
    base = {"checkpoint": "K1", "inspected_at": "2022-04-20 09:00", "direction": "in", "plate": "苏D12345"}
    rows = records(session, [
        {**base, "record_ref": "a", "checkpoint": "NOPE"},
        {**base, "record_ref": "b", "inspected_at": "yesterday"},
        {**base, "record_ref": "c", "direction": "sideways"},
        {"record_ref": "d", "checkpoint": "K1", "inspected_at": "2022-04-20 09:00", "direction": "in"},
        {**base, "record_ref": "e", "name": "李四", "id_number": "320412198503121230", "phone": "13812345678"},
        {**base, "record_ref": ""},
    ])
    assert [r.status for r in rows] == ["rejected"] * 4 + ["accepted", "rejected"]
    issues = ["; ".join(r.issues) for r in rows]
    assert issues[0] == "checkpoint: unknown checkpoint NOPE"
    assert issues[1].startswith("inspected_at:")
    assert issues[2].startswith("direction: unknown direction 'sideways'")
    assert issues[3] == "plate: nothing to record: no plate and no person"
    assert issues[4].startswith("id_number:")
    assert issues[5] == "record_ref: required"


def test_a_repeat_is_a_duplicate_and_a_reused_ref_is_rejected(session, system) -> None:
    checkpoint(session, "K1")
    row = {"record_ref": "r1", "checkpoint": "K1", "inspected_at": "2022-04-20 09:00", "direction": "in",
           "plate": "苏D12345", "id_number": ID_A, "name": "张三"}
    first = record(session, **row)
    again = record(session, **row)
    other = record(session, **{**row, "direction": "out"})
    assert (first.status, again.status, other.status) == ("accepted", "duplicate", "rejected")
    assert again.person_id == first.person_id
    assert other.issues == ["record_ref: already used for a record with other content"]
    n = session.execute(select(CheckpointRecord)).scalars().all()
    assert len(n) == 1


def test_a_yellow_code_or_a_risk_area_makes_a_checkpoint_lead_but_not_truck_crew(session, system) -> None:
    checkpoint(session, "K1")
    intake_service.add_risk_area(session, system, level="high", start_at=local("2022-04-10T00:00:00"), end_at=None,
                                 region_name="上海市浦东新区")
    rows = records(session, [
        {"record_ref": "y", "passage_ref": "car1", "checkpoint": "K1", "inspected_at": "2022-04-20 09:00",
         "direction": "in", "plate": "苏D12345", "name": "张三", "id_number": ID_A, "health_code": "黄码"},
        {"record_ref": "o", "passage_ref": "car1", "checkpoint": "K1", "inspected_at": "2022-04-20 09:00",
         "direction": "in", "plate": "苏D12345", "name": "李四", "id_number": ID_B, "origin": "上海市浦东新区",
         "role": "乘客"},
        {"record_ref": "t", "passage_ref": "truck1", "checkpoint": "K1", "inspected_at": "2022-04-20 09:10",
         "direction": "in", "plate": "沪A99999", "vehicle_type": "货车", "epass_no": "320400000001",
         "name": "王五", "phone": "13912345678", "role": "驾驶员", "origin": "上海市浦东新区",
         "destination": "常州市武进区"},
        {"record_ref": "g", "checkpoint": "K1", "inspected_at": "2022-04-20 09:20", "direction": "in",
         "phone": "13700001111", "name": "赵六", "health_code": "绿码"},
    ])
    assert [r.status for r in rows] == ["accepted"] * 4, [r.issues for r in rows]
    leads = [r.extra["lead_id"] for r in rows]
    assert leads[0] is not None and leads[1] is not None
    assert leads[2] is None and leads[3] is None
    assert rows[2].extra["trip_id"] is not None
    lead = intake_service.get_lead(session, system, leads[1])
    assert lead.channel == "checkpoint" and lead.source_ref == "o"


def test_crew_on_a_pass_that_verified_invalid_are_checked_like_anyone(session, system) -> None:
    """A forged, revoked or expired pass exempts nobody: its driver from a high-risk area becomes a lead
    (a number alone, unverified, is taken as given: see the test above)."""
    from fangkong.checkpoints.epass import service as _epass  # noqa: F401  (registers the verifier)
    from fangkong.checkpoints.service import records as records_service

    checkpoint(session, "K1")
    intake_service.add_risk_area(session, system, level="high", start_at=local("2022-04-10T00:00:00"), end_at=None,
                                 region_name="上海市浦东新区")
    [row] = records(session, [
        {"record_ref": "f", "passage_ref": "truck2", "checkpoint": "K1", "inspected_at": "2022-04-20 09:10",
         "direction": "in", "plate": "沪A88888", "vehicle_type": "货车", "epass_no": "320400000002",
         "epass_token": "eyJhbGciOiJub25lIn0.e30.", "name": "钱七", "phone": "13912340000", "role": "驾驶员",
         "origin": "上海市浦东新区", "destination": "常州市武进区"}])
    assert row.status == "accepted", row.issues
    assert row.extra["lead_id"] is not None and row.extra["trip_id"] is not None  # a lead, and still followed
    stored = session.get(CheckpointRecord, session.execute(
        select(CheckpointRecord.id).where(CheckpointRecord.record_ref == "f")).scalar_one())
    assert stored.epass_verdict not in (None, "valid")
    assert records_service.passages_on_epass([stored]) == set()
