"""Venue and scan files with their totals and notes: `skipped`, never data; a scan with nothing to find
the person by again is rejected and creates nobody (issue #10)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select
from venues_factories import ID_A, NOW, venue

from fangkong.kernel import clock
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.venues.service import scans as scans_service
from fangkong.venues.service import venues as venues_service
from fangkong.venues.service.scans import ScanItem


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _persons(session) -> int:
    return session.execute(select(func.count()).select_from(Person)).scalar_one()


def test_venue_file_totals_and_footers_are_skipped(session, system, tmp_path):
    f = _csv(tmp_path / "v.csv", [
        ["编号", "场所名称", "场所类型", "地址"],
        ["V1", "万达广场", "商场", "湖塘镇花园路1号"],
        ["共计", "1家", "", ""],
        ["制表人：孙八", "", "制表日期：2022年4月18日", ""],
    ])
    places = session.execute(select(func.count()).select_from(Place)).scalar_one()
    rows = venues_service.import_venues_file(session, system, f)
    assert [(r.row, r.status) for r in rows] == [(2, "accepted"), (3, "skipped"), (4, "skipped")]
    assert rows[1].issues == ["row: a summary row (共计), not data"]
    assert session.execute(select(func.count()).select_from(Place)).scalar_one() == places + 1


def test_scan_file_totals_are_skipped_and_junk_rejected(session, system, tmp_path):
    venue(session, ref="V1")
    f = _csv(tmp_path / "s.csv", [
        ["场所编号", "姓名", "手机号", "身份证号", "扫码时间", "流水号"],
        ["V1", "", "13812345678", "", "2022-04-18 09:00", "r1"],
        ["V1", "", "1381234", "", "2022-04-18 09:05", "r2"],          # a 7-digit phone, no name
        ["V1", "", "", "32041219850312", "2022-04-18 09:06", "r3"],  # no name, an invalid ID
        ["V1", "", "", ID_A, "2022-04-18 09:10", "r4"],
        ["小计", "", "", "", "2", ""],
        ["说明：数据来自场所码平台", "", "", "", "", ""],
    ])
    before = _persons(session)
    rows = scans_service.import_scans_file(session, system, f)
    assert [(r.row, r.status) for r in rows] == [(2, "accepted"), (3, "rejected"), (4, "rejected"),
                                                 (5, "accepted"), (6, "skipped"), (7, "skipped")]
    assert rows[4].issues == ["row: a summary row (小计), not data"]
    assert _persons(session) == before + 2


def test_junk_scans_from_the_api_create_nobody(session, system):
    venue(session, ref="V1")
    before = _persons(session)
    rows = scans_service.record_scans(session, system, source="api", items=[
        ScanItem(1, venue_ref="V1", phone="1381234", scanned_at="2022-04-18 09:00"),
        ScanItem(2, venue_ref="V1", name="无", id_number="123", scanned_at="2022-04-18 09:00"),
    ])
    assert [r.status for r in rows] == ["rejected", "rejected"]
    assert _persons(session) == before
