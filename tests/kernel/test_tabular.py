"""The shared import reader and report writer (导入文件与结果报告), on real files made in the test."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st

from fangkong.kernel.tabular import ReportRow, UnusableFile, clean_cell, read_table, summarise, write_report

COLUMNS = {
    "name": ["姓名"],
    "id_number": ["身份证号", "身份证号码", "证件号码"],
    "phone": ["手机", "手机号", "联系电话"],
    "arrival_at": ["抵达时间", "到达时间"],
}


def _xlsx(path: Path, build) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("名单")
    build(wb, ws)
    wb.close()
    return path


def test_xlsx_title_rows_merged_header_blank_rows_numbers_and_dates(tmp_path: Path) -> None:
    def build(wb, ws) -> None:
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        ws.merge_range(0, 0, 0, 5, "武进区重点人员排查名单（2022年4月）")  # row 1: merged title
        ws.write(1, 0, "填报单位：湖塘镇")                                # row 2: a note
        # rows 4-5: a header over two lines: 联系方式 merged over 手机 | 备用
        ws.merge_range(3, 0, 4, 0, "姓名")
        ws.merge_range(3, 1, 4, 1, "身份证号码（必填）")
        ws.merge_range(3, 2, 3, 3, "联系方式")
        ws.write(4, 2, "手机")
        ws.write(4, 3, "备用电话")
        ws.merge_range(3, 4, 4, 4, "抵达时间")
        ws.write_row(5, 0, ["张三", "320483197001011234", 13812345678])
        ws.write_datetime(5, 4, dt.datetime(2022, 4, 18, 9, 30), date_fmt)
        # row 7 blank; row 8 has a phone typed as a number with a float tail and an ID as a number
        ws.write_row(7, 0, ["  李四\u3000", 3.2048319700101e17, 13900001111.0, "021-1234"])
        ws.write_datetime(7, 4, dt.datetime(2022, 4, 19), date_fmt)
        ws.write(9, 0, "王五")  # after another blank row
        ws.write(9, 7, "")      # trailing empty column

    t = read_table(_xlsx(tmp_path / "list.xlsx", build), COLUMNS)
    assert t.header_row == 5
    assert t.fields == {"name": 0, "id_number": 1, "phone": 2, "arrival_at": 4}
    assert t.unknown_headers == ["备用电话"]
    rows = list(t)
    assert [r.number for r in rows] == [6, 8, 10]
    assert rows[0].values == {"name": "张三", "id_number": "320483197001011234", "phone": "13812345678",
                              "arrival_at": "2022-04-18T09:30:00"}
    assert rows[1].values["name"] == "李四"
    assert rows[1].values["phone"] == "13900001111"
    assert rows[1].values["id_number"] == str(int(3.2048319700101e17))  # typed as a number: digits lost
    assert rows[1].values["arrival_at"] == "2022-04-19"  # calamine gives a date at midnight
    assert rows[1].extra == {"备用电话": "021-1234"}
    assert rows[2].values == {"name": "王五", "id_number": "", "phone": "", "arrival_at": ""}


def test_xlsx_named_sheet_and_single_line_header(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("说明").write(0, 0, "本表说明")
    ws = wb.add_worksheet("数据")
    ws.write_row(2, 1, ["姓名", "手机号", "备注", "", ""])
    ws.write_row(3, 1, ["赵六", "13800000000", "x"])
    wb.close()
    with pytest.raises(UnusableFile):
        read_table(path, COLUMNS)  # the first sheet has no header
    t = read_table(path, COLUMNS, sheet="数据")
    rows = list(t.rows)
    assert t.headers == ["", "姓名", "手机号", "备注"]
    assert [(r.number, r.values["name"], r.values["phone"], r.extra) for r in rows] == [
        (4, "赵六", "13800000000", {"备注": "x"})]
    with pytest.raises(UnusableFile, match="no sheet"):
        read_table(path, COLUMNS, sheet="nope")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_encodings_and_line_numbers(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "list.csv"
    text = ("湖塘镇重点人员名单\n"
            "\n"
            "姓名,证件号码,联系电话,籍贯\n"
            "张三,320483197001011234,138 1234 5678,江苏\n"
            ",,,\n"
            "\"李\n四\",,13900001111,\n"    # a quoted field over two physical lines
            "王五,,,\n")
    path.write_bytes(text.encode(encoding))
    t = read_table(path, COLUMNS)
    rows = list(t)
    assert t.header_row == 3
    assert [r.number for r in rows] == [4, 6, 8]
    assert rows[0].values["phone"] == "138 1234 5678"
    assert rows[0].extra == {"籍贯": "江苏"}
    assert rows[1].values["name"] == "李\n四"
    assert rows[2].values["name"] == "王五"


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_csv_delimiter_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(delimiter.join(["Name", "ID Number", "phone"]) + "\n"
                    + delimiter.join(["Zhang San", "1, 2", "13800000000"]).replace("1, 2", '"1, 2"') + "\n",
                    encoding="utf-8")
    rows = list(read_table(path, {**COLUMNS, "id_number": ["id_number"]}))
    assert rows[0].values["name"] == "Zhang San"
    assert rows[0].values["phone"] == "13800000000"


def test_header_matching_is_nfkc_casefold_and_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(" ＮＡＭＥ ,Id_Number*,ＰＨＯＮＥ\nx,y,z\n", encoding="utf-8")
    t = read_table(path, {"name": ["name"], "id_number": ["id number"], "phone": []})
    assert set(t.fields) == {"name", "id_number", "phone"}


def test_unusable_files(tmp_path: Path) -> None:
    with pytest.raises(UnusableFile, match="no such file"):
        read_table(tmp_path / "missing.csv", COLUMNS)
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(UnusableFile, match="header"):
        read_table(nohead, COLUMNS)
    binary = tmp_path / "junk.csv"
    binary.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(UnusableFile):
        read_table(binary, COLUMNS)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UnusableFile):
        read_table(broken, COLUMNS)
    only_name = tmp_path / "only_name.csv"
    only_name.write_text("姓名\n张三\n", encoding="utf-8")
    with pytest.raises(UnusableFile, match="required"):
        read_table(only_name, COLUMNS, required_any=["id_number", "phone"])


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_whole_floats_become_integers(n: int) -> None:
    assert clean_cell(float(n)) == str(n)


def test_clean_cell_types() -> None:
    assert clean_cell(None) == ""
    assert clean_cell(36.5) == "36.5"
    assert clean_cell(dt.date(2022, 4, 18)) == "2022-04-18"
    assert clean_cell(dt.datetime(2022, 4, 18, 9, 0)) == "2022-04-18T09:00:00"
    assert clean_cell("\u3000 a \xa0") == "a"


def test_report_and_summary(tmp_path: Path) -> None:
    rows = [ReportRow(4, "accepted", person_id=17), ReportRow(5, "rejected",
            issues=["id_number: check digit should be 7", "phone: not 11 digits"], extra={"unit_code": "A"}),
            ReportRow(6, "duplicate", person_id=17)]
    out = tmp_path / "r" / "report.csv"
    write_report(out, rows, ["unit_code"])
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        got = list(csv.reader(fh))
    assert got == [["row", "status", "person_id", "issues", "unit_code"],
                   ["4", "accepted", "17", "", ""],
                   ["5", "rejected", "", "id_number: check digit should be 7; phone: not 11 digits", "A"],
                   ["6", "duplicate", "17", "", ""]]
    assert summarise(rows) == {"accepted": 1, "duplicate": 1, "rejected": 1}


def test_large_xlsx_streams_quickly_enough(tmp_path: Path) -> None:
    """20,000 rows: read completely, numbered correctly (speed goals live in benchmarks)."""
    path = tmp_path / "big.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["姓名", "手机"])
    for i in range(1, 20001):
        ws.write_row(i, 0, [f"人{i}", 13800000000 + i])
    wb.close()
    rows = list(read_table(path, COLUMNS))
    assert len(rows) == 20000
    assert rows[-1].number == 20001 and rows[-1].values["phone"] == str(13800000000 + 20000)


def test_a_nul_character_in_a_cell_is_dropped_so_both_databases_import_alike():
    """Found by the importer fuzz on PostgreSQL (which cannot store NUL in text): a venue reference of
    one NUL character stopped the import with a DataError there, while SQLite stored it."""
    assert clean_cell("\x00") == ""
    assert clean_cell(" 场所\x00A ") == "场所A"
