"""Recording scans: venues resolved, persons resolved in batches, repeats, imports, retention."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from venues_factories import ID_A, ID_B, NOW, token_of, units, user, venue

from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.errors import PermissionDenied, ValidationFailed
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.models import Person
from fangkong.venues.models import Scan
from fangkong.venues.service import codes as codes_service
from fangkong.venues.service import scans as scans_service
from fangkong.venues.service import venues as venues_service
from fangkong.venues.service.scans import ScanItem


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


def scans_of(session, place_id: int) -> list[Scan]:
    return list(session.execute(select(Scan).where(Scan.place_id == place_id).order_by(Scan.id)).scalars())


def test_a_batch_reports_every_item_and_stores_the_accepted(session, system) -> None:
    place = venue(session, ref="R1")
    token = token_of(session, place)
    items = [
        ScanItem(1, venue_ref="R1", phone="138 1234 5678", scanned_at="2022-04-18 09:00", request_id="a"),
        ScanItem(2, venue_code=token, id_number=ID_A, scanned_at="2022/04/18 09:05", request_id="b"),
        ScanItem(3, venue_code=codes_service.venue_url(token), phone="+86 13987654321",
                 scanned_at="2022年4月18日 9:10", request_id="c"),
        ScanItem(4, venue_ref="NOPE", phone="13812345678", scanned_at="2022-04-18 09:00", request_id="d"),
        ScanItem(5, venue_code=token[:-2] + "zz", phone="13812345678", scanned_at="2022-04-18 09:00"),
        ScanItem(6, venue_ref="R1", phone="12345", scanned_at="2022-04-18 09:00"),
        ScanItem(7, venue_ref="R1", phone="13812345678", scanned_at="2022-04-19 09:00"),
        ScanItem(8, venue_ref="R1", phone="13812345678", scanned_at="2022-03-01 09:00"),
        ScanItem(9, venue_ref="R1", phone="13812345678", scanned_at="yesterday"),
        ScanItem(10, venue_ref="R1", scanned_at="2022-04-18 09:00"),
        ScanItem(11, venue_ref="R1", phone="13812345678", scanned_at="2022-04-18 09:00", request_id="a"),
    ]
    rows = scans_service.record_scans(session, system, items=items, source="api")
    assert [r.row for r in rows] == list(range(1, 12))
    assert [r.status for r in rows] == ["accepted"] * 3 + ["rejected"] * 7 + ["duplicate"]
    issues = {r.row: "; ".join(r.issues) for r in rows}
    assert issues[4] == "venue: unknown venue ref NOPE"
    assert issues[5].startswith("venue_code: not a valid venue code")
    assert issues[6].startswith("phone:")
    assert issues[7] == "scanned_at: in the future"
    assert issues[8] == "scanned_at: older than the 28-day retention period"
    assert issues[9] == "scanned_at: not a date or time"
    assert issues[10] == "id_number: nothing to find the person by (no ID number, no phone)"
    assert rows[10].person_id == rows[0].person_id
    stored = scans_of(session, place.id)
    assert [s.request_id for s in stored] == ["a", "b", "c"]
    assert stored[1].scanned_at == dt.datetime(2022, 4, 18, 1, 5, tzinfo=dt.UTC)
    # three new persons, found again by their numbers
    assert people_service.find_by_phone(session, "13812345678")[0].id == rows[0].person_id
    assert people_service.find_by_id_number(session, ID_A).id == rows[1].person_id
    assert {s.source for s in stored} == {"api"}


def test_a_repeat_is_a_duplicate_and_changes_nothing(session, system) -> None:
    place = venue(session, ref="R1")
    items = [ScanItem(1, venue_ref="R1", phone="13812345678", scanned_at="2022-04-18 09:00", request_id="x"),
             ScanItem(2, venue_ref="R1", id_number=ID_B, scanned_at="2022-04-18 09:00")]
    first = scans_service.record_scans(session, system, items=items, source="file")
    persons = session.execute(select(func.count()).select_from(Person)).scalar()
    again = scans_service.record_scans(session, system, items=items, source="file")
    assert [r.status for r in first] == ["accepted", "accepted"]
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    assert [r.person_id for r in again] == [r.person_id for r in first]
    assert len(scans_of(session, place.id)) == 2
    assert session.execute(select(func.count()).select_from(Person)).scalar() == persons
    moved = scans_service.record_scans(session, system, items=[
        ScanItem(1, venue_ref="R1", phone="13812345678", scanned_at="2022-04-18 10:00", request_id="x")],
        source="file")
    assert moved[0].status == "duplicate"
    assert moved[0].issues == ["request_id: already used for another scan; the first was kept"]


def test_persons_resolve_by_id_then_phone_and_name(session, system) -> None:
    venue(session, ref="R1")
    grandma = people_service.register_person(session, system, name="王奶奶", phone="13812345678")
    son = people_service.register_person(session, system, name="王强", id_number=ID_A, phone="13812345678")

    def one(**kw) -> tuple[int | None, list[str]]:
        rid = f"p{one.n}"
        one.n += 1
        r = scans_service.record_scans(session, system, source="api", items=[
            ScanItem(1, venue_ref="R1", scanned_at="2022-04-18 09:00", request_id=rid, **kw)])[0]
        return r.person_id, r.issues
    one.n = 0

    assert one(id_number=ID_A, phone="13999999999")[0] == son.id  # a valid ID wins
    # a family phone without a name: never guess between grandma and son; a phone-only person is
    # registered, and later name-less scans of that phone find that person
    nameless, _ = one(phone="13812345678")
    assert nameless not in (grandma.id, son.id)
    assert one(phone="13812345678")[0] == nameless
    assert one(phone="13812345678", name="王强")[0] == son.id  # phone + name
    assert one(phone="13812345678", name="王奶奶")[0] == grandma.id
    # a phone-only stranger, then the same phone with their ID: one person, who now has the ID
    stranger, _ = one(phone="13700000001")
    assert one(phone="13700000001", id_number=ID_B)[0] == stranger
    assert people_service.find_by_id_number(session, ID_B).id == stranger
    # an invalid ID with a valid phone: accepted on the phone, the ID reported
    pid, issues = one(phone="13700000001", id_number="320412198503121230")
    assert pid == stranger and issues and issues[0].startswith("id_number:")
    learned = session.execute(select(AuditEvent.detail).where(AuditEvent.action == "people.keys_learned")
                              ).scalars().all()
    assert [(d["count"], d["person_ids"], d["source"]) for d in learned] == [(1, [stranger], "scan")]


def test_one_batch_creates_one_person_per_new_phone(session, system) -> None:
    venue(session, ref="R1")
    items = [ScanItem(i + 1, venue_ref="R1", phone="13600000000", id_number=ID_A if i == 0 else None,
                      scanned_at=f"2022-04-18 0{i}:00") for i in range(5)]
    rows = scans_service.record_scans(session, system, items=items, source="api")
    assert [r.status for r in rows] == ["accepted"] * 5
    assert len({r.person_id for r in rows}) == 1


def test_a_revoked_code_is_accepted_only_for_scans_before_the_rotation(session, system) -> None:
    place = venue(session)
    old = token_of(session, place)
    with clock.frozen(NOW - dt.timedelta(hours=2)):
        codes_service.rotate_code(session, system, place_id=place.id)
    rows = scans_service.record_scans(session, system, source="api", items=[
        ScanItem(1, venue_code=old, phone="13812345678", scanned_at="2022-04-18 09:00"),
        ScanItem(2, venue_code=old, phone="13812345678", scanned_at="2022-04-18 11:00")])
    assert [r.status for r in rows] == ["accepted", "rejected"]
    assert rows[1].issues == ["venue_code: replaced by a newer code before this scan"]


def test_uploads_need_the_permission_and_see_only_their_venues(session) -> None:
    a, b = units(session)
    venue(session, ref="IN-A", unit=a)
    venue(session, ref="IN-B", unit=b)
    enterprise = user(session, "v_ent", "enterprise", a)
    viewer = user(session, "v_view", "viewer", a)
    items = [ScanItem(1, venue_ref="IN-A", phone="13812345678", scanned_at="2022-04-18 09:00"),
             ScanItem(2, venue_ref="IN-B", phone="13812345678", scanned_at="2022-04-18 09:00")]
    with pytest.raises(PermissionDenied):
        scans_service.upload_scans(session, viewer, items=items)
    out = scans_service.upload_scans(session, enterprise, items=items, idempotency_key="k1")
    assert [i["status"] for i in out["items"]] == ["accepted", "rejected"]
    assert out["items"][1]["issues"] == ["venue: unknown venue ref IN-B"]
    # the same key: the first answer, unchanged, even with other items
    assert scans_service.upload_scans(session, enterprise, items=items[:1], idempotency_key="k1") == out


def test_staff_checks_record_temperature_and_mask(session) -> None:
    a, _ = units(session)
    place = venue(session, unit=a)
    staff = user(session, "v_staff", "community", a)
    report = scans_service.record_staff_check(session, staff, place_id=place.id, phone="13812345678",
                                              temperature="36.6", mask_ok="yes")
    scan = scans_of(session, place.id)[0]
    assert (scan.temperature, scan.mask_ok, scan.source, scan.checked_by_id) == (36.6, True, "staff", staff.user_id)
    assert report.person_id == scan.person_id
    with pytest.raises(ValidationFailed) as exc:
        scans_service.record_staff_check(session, staff, place_id=place.id, phone="13812345678", temperature="52")
    assert exc.value.fields[0].field == "temperature"


def test_the_scan_page_records_now_and_refuses_bad_codes(session) -> None:
    place = venue(session)
    token = token_of(session, place)
    done = scans_service.record_page_scan(session, token=token, phone="13812345678", id_number=ID_A,
                                          request_id="page-1")
    assert done.scanned_at == NOW and not done.duplicate
    again = scans_service.record_page_scan(session, token=token, phone="13812345678", request_id="page-1")
    assert again.duplicate and again.person_id == done.person_id
    with pytest.raises(codes_service.CodeRefused):
        # another last character (a token that ends in "x" must not be "tampered" into itself)
        scans_service.record_page_scan(session, token=token[:-1] + ("y" if token.endswith("x") else "x"),
                                       phone="13812345678")
    with pytest.raises(ValidationFailed):
        scans_service.record_page_scan(session, token=token, phone="1381234")
    assert len(scans_of(session, place.id)) == 1


# ------------------------------------------------------------------------------------------ files

def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_import_venues_reports_each_row_and_is_idempotent_by_ref(session, system, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "v.csv", [
        ["场所导入"], [],
        ["编号", "场所名称", "场所类型", "地址", "日均人流"],
        ["V1", "万达广场", "商场", "湖塘镇花园路1号", "20000"],
        ["V2", "老王面馆", "restaurant", "", "200"],
        ["", "无编号", "餐饮", "", ""],
        ["V3", "", "餐饮", "", ""],
        ["V4", "某某", "飞船", "", "12.5"],
        ["V1", "万达广场", "商场", "", ""],
    ])
    rows = venues_service.import_venues_file(session, system, f)
    assert [(r.row, r.status) for r in rows] == [(4, "accepted"), (5, "accepted"), (6, "rejected"), (7, "rejected"),
                                               (8, "rejected"), (9, "duplicate")]
    assert rows[2].issues == ["ref: required"] and rows[3].issues == ["name: required"]
    assert rows[4].issues == ["category: unknown category '飞船', kept as written",
                              "capacity: a whole number of visitors a day"]
    v1 = codes_service.find_venue(session, system, "V1")
    assert (v1.category, v1.capacity) == ("mall", 20000)
    assert codes_service.active_code(session, v1.id) is not None  # printable at once
    again = venues_service.import_venues_file(session, system, f)
    assert [r.status for r in again] == ["duplicate", "duplicate", "rejected", "rejected", "rejected", "duplicate"]


def test_import_scans_reports_each_row_and_rejects_unknown_venues(session, system, tmp_path: Path) -> None:
    place = venue(session, ref="V1")
    token = token_of(session, place)
    f = write_csv(tmp_path / "s.csv", [
        ["场所编号", "场所码", "手机号", "身份证号", "扫码时间", "流水号"],
        ["V1", "", "13812345678", "", "2022-04-18 09:00", "r1"],
        ["", token, "", ID_A, "2022-04-18 09:10", "r2"],
        ["V9", "", "13812345678", "", "2022-04-18 09:00", "r3"],
        ["V1", "", "13812345678", "", "2022-04-18 09:20", ""],
    ])
    rows = scans_service.import_scans_file(session, system, f)
    assert [(r.row, r.status) for r in rows] == [(2, "accepted"), (3, "accepted"), (4, "rejected"), (5, "accepted")]
    assert rows[2].issues == ["venue: unknown venue ref V9"]
    again = scans_service.import_scans_file(session, system, f)
    assert [r.status for r in again] == ["duplicate", "duplicate", "rejected", "duplicate"]
    assert len(scans_of(session, place.id)) == 3


# -------------------------------------------------------------------------------------- retention

def test_retention_deletes_exactly_what_is_older_than_the_window(session, system) -> None:
    place = venue(session)
    cutoff = NOW - dt.timedelta(days=28)
    times = {"older": cutoff - dt.timedelta(seconds=1), "edge": cutoff, "newer": cutoff + dt.timedelta(seconds=1)}
    with clock.frozen(cutoff + dt.timedelta(seconds=2)):  # recorded when all three were fresh
        rows = scans_service.record_scans(session, system, source="api", items=[
            ScanItem(i, place_id=place.id, phone="13812345678", scanned_at=t.isoformat(), request_id=k)
            for i, (k, t) in enumerate(times.items(), 1)])
    assert [r.status for r in rows] == ["accepted"] * 3
    assert len(scans_of(session, place.id)) == 3
    result = venues_service.purge_expired_scans(session, system)
    assert (result.deleted, result.cutoff, result.retention_days) == (1, cutoff, 28)
    assert [s.request_id for s in scans_of(session, place.id)] == ["edge", "newer"]
    ev = session.execute(select(AuditEvent).where(AuditEvent.action == "venues.retention")).scalar_one()
    assert ev.detail["deleted"] == 1
    assert venues_service.purge_expired_scans(session, system).deleted == 0
