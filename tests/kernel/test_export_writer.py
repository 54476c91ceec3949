"""The one export writer (issue #10): machine CSV stays stable, the people's XLSX has Chinese headers,
local times, labels and names beside codes and masked numbers; formula injection is neutralised in
both; every export is audited once."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from fangkong.kernel import clock, export
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import PermissionDenied, ValidationFailed
from fangkong.kernel.export import (
    BOOL,
    CODE,
    DATETIME,
    ID_NUMBER,
    INT,
    NUMBER,
    PHONE,
    Column,
    ExportKind,
    Sensitive,
    neutralise,
)
from fangkong.kernel.people import crypto
from fangkong.kernel.tabular import ReportRow, write_report

UTC = dt.UTC
ID = "320412197001011232"
PAYLOADS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)", "\tx=1", "\rx=1", "=HYPERLINK(\"http://x\")"]

COLUMNS = [
    Column("item_id", "编号", INT),
    Column("name", "姓名"),
    Column("channel", "渠道", CODE, label={"bigdata": "Big-data push"}.get, label_zh="渠道名称"),
    Column("unit_code", "单位编码"),
    Column("unit_name", "单位名称", machine=False),
    Column("at", "时间", DATETIME),
    Column("delta", "差值", NUMBER),
    Column("late", "超时", BOOL),
    Column("id_number", "身份证号", ID_NUMBER),
    Column("phone", "手机号", PHONE),
]


def _row(i: int, name: str = "张三", delta: float = -5) -> dict:
    return {"item_id": i, "name": name, "channel": "bigdata", "unit_code": "G1", "unit_name": "幸福一网格",
            "at": dt.datetime(2022, 4, 18, 1, 0, 37, tzinfo=UTC), "delta": delta, "late": i % 2 == 1,
            "id_number": Sensitive("320412********1232", crypto.encrypt(ID)),
            "phone": Sensitive("138****5678", crypto.encrypt("13812345678"))}


def _kind(rows: list[dict]) -> ExportKind:
    return ExportKind("test_items", "测试清单", COLUMNS, lambda session, actor, **f: iter(rows), ("data.export",))


def _actor(*perms: str) -> Actor:
    return Actor(None, "tester", "command", None, "/", frozenset({"data.export", *perms}))


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_csv_is_the_stable_machine_format(session, tmp_path):
    out = tmp_path / "x.csv"
    assert export.write(session, _actor(), _kind([_row(1), _row(2)]), out=out) == 2
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    lines = _csv(out)
    assert lines[0] == ["item_id", "name", "channel", "unit_code", "at", "delta", "late", "id_number", "phone"]
    assert lines[1] == ["1", "张三", "bigdata", "G1", "2022-04-18T09:00:37+08:00", "-5", "true",
                        "320412********1232", "138****5678"]


def test_csv_with_chinese_headers_is_the_peoples_layout(session, tmp_path):
    out = tmp_path / "x.csv"
    export.write(session, _actor(), _kind([_row(1)]), out=out, headers="zh")
    lines = _csv(out)
    assert lines[0] == ["编号", "姓名", "渠道", "渠道名称", "单位编码", "单位名称", "时间", "差值", "超时", "身份证号",
                        "手机号"]
    assert lines[1] == ["1", "张三", "bigdata", "数据推送", "G1", "幸福一网格", "2022-04-18 09:00", "-5", "是",
                        "320412********1232", "138****5678"]


def test_xlsx_is_for_people(session, tmp_path):
    out = tmp_path / "x.xlsx"
    assert export.write(session, _actor(), _kind([_row(1), _row(2)]), out=out) == 2
    wb = openpyxl.load_workbook(out)
    ws = wb.worksheets[0]
    assert ws.title == "测试清单"
    assert [c.value for c in ws[1]] == ["编号", "姓名", "渠道", "渠道名称", "单位编码", "单位名称", "时间", "差值", "超时",
                                      "身份证号", "手机号"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref is not None
    assert ws.column_dimensions["G"].width >= 16  # times are readable without resizing
    row = [c.value for c in ws[2]]
    assert row[:6] == [1, "张三", "bigdata", "数据推送", "G1", "幸福一网格"]
    assert row[6] == dt.datetime(2022, 4, 18, 9, 0) and ws["G2"].number_format == "yyyy-mm-dd hh:mm"
    assert row[7] == -5 and ws["H2"].data_type == "n"       # a negative number stays a number
    assert row[8:] == ["是", "320412********1232", "138****5678"]  # masked by default


def test_unmasked_needs_the_permission_and_is_audited(session, tmp_path):
    out = tmp_path / "x.xlsx"
    with pytest.raises(PermissionDenied):
        export.write(session, _actor(), _kind([_row(1)]), out=out, unmasked=True)
    export.write(session, _actor("person.unmask"), _kind([_row(1)]), out=out, unmasked=True,
                 filters={"day": dt.date(2022, 4, 18)})
    ws = openpyxl.load_workbook(out).worksheets[0]
    assert [c.value for c in ws[2]][-2:] == [ID, "13812345678"]
    ev = session.execute(select(AuditEvent).where(AuditEvent.action == "data.exported")
                         .order_by(AuditEvent.id.desc())).scalars().first()
    assert ev.actor_name == "tester" and ev.object_type == "test_items"
    assert ev.detail == {"kind": "test_items", "rows": 1, "unmasked": True, "format": "xlsx", "headers": "zh",
                         "filter": {"day": "2022-04-18"}, "file": "x.xlsx"}
    assert ID not in str(ev.detail)


def test_a_kind_needs_its_permissions_and_a_known_format(session, tmp_path):
    with pytest.raises(PermissionDenied):
        export.write(session, Actor(None, "x", "grid", None, "/", frozenset()), _kind([]), out=tmp_path / "x.csv")
    with pytest.raises(ValidationFailed):
        export.write(session, _actor(), _kind([]), out=tmp_path / "x.pdf")
    with pytest.raises(ValidationFailed):
        export.write(session, _actor(), _kind([]), out=tmp_path / "x.csv", headers="fr")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_injection_is_neutralised_in_csv(session, tmp_path, payload):
    for headers in ("en", "zh"):
        out = tmp_path / f"{headers}.csv"
        export.write(session, _actor(), _kind([_row(1, name=payload, delta=-3)]), out=out, headers=headers)
        lines = _csv(out)
        cells = dict(zip(lines[0], lines[1], strict=True))
        name = cells["name" if headers == "en" else "姓名"]
        assert name == "'" + payload  # text: a leading apostrophe, so a spreadsheet shows it as text
        assert cells["delta" if headers == "en" else "差值"] == "-3"  # a number: untouched


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_injection_is_neutralised_in_xlsx(session, tmp_path, payload):
    for headers in ("en", "zh"):
        out = tmp_path / f"{headers}.xlsx"
        export.write(session, _actor(), _kind([_row(1, name=payload)]), out=out, headers=headers)
        assert openpyxl.load_workbook(out).worksheets[0]["B2"].data_type == "s"  # a string, never a formula
        # the text itself, unchanged (calamine: what our own importer reads; openpyxl shows CR as _x000D_)
        assert CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()[1][1] == payload


def test_import_reports_are_neutralised_too(tmp_path):
    out = tmp_path / "report.csv"
    write_report(out, [ReportRow(2, "rejected", None, ["=cmd|' /C calc'!A0"], {"code": "+1+1", "n": -4})],
                 ["code", "n"])
    assert _csv(out)[1] == ["2", "rejected", "", "'=cmd|' /C calc'!A0", "'+1+1", "-4"]


def test_neutralise():
    assert [neutralise(p)[0] for p in PAYLOADS] == ["'"] * len(PAYLOADS)
    assert neutralise("张三") == "张三" and neutralise("2022-04-18") == "2022-04-18" and neutralise("") == ""


def test_rows_stream(session, tmp_path):
    """The writer pulls rows one by one: a producer that would not fit in memory still writes."""
    seen = []

    def rows(session, actor):
        for i in range(3000):
            seen.append(i)
            yield _row(i)

    kind = ExportKind("stream", "流", COLUMNS, rows, ("data.export",))
    assert export.write(session, _actor(), kind, out=tmp_path / "s.csv") == 3000
    assert export.write(session, _actor(), kind, out=tmp_path / "s.xlsx") == 3000
    assert len(seen) == 6000


def test_a_drill_database_says_so(session, tmp_path):
    clock.configure("drill")
    try:
        export.write(session, _actor(), _kind([_row(1)]), out=tmp_path / "d.xlsx")
        export.write(session, _actor(), _kind([_row(1)]), out=tmp_path / "d.csv", headers="zh")
        export.write(session, _actor(), _kind([_row(1)]), out=tmp_path / "m.csv")
    finally:
        clock.configure("test")
    ws = openpyxl.load_workbook(tmp_path / "d.xlsx").worksheets[0]
    assert ws.title == "演练-测试清单" and "演练" in ws["A1"].value and ws["A2"].value == "编号"
    assert ws.freeze_panes == "A3"
    assert "演练" in _csv(tmp_path / "d.csv")[0][0]
    assert _csv(tmp_path / "m.csv")[0][0] == "item_id"  # the machine CSV keeps its header on line 1
