"""What a spreadsheet may unpack to (解压上限): refused from the zip directory and a streamed count, before
python-calamine unpacks anything, with a message naming the limit; CSV is read as a stream in chunks."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from fangkong.kernel.messages import FieldIssue, translate
from fangkong.kernel.tabular import ReportLog, ReportRow, UnusableFile, read_table, summarise
from fangkong.kernel.unpack_limits import (
    TOO_MANY_ROWS,
    LimitExceeded,
    Limits,
    check_spreadsheet,
    column_number,
)
from fangkong.settings import get_settings, reset_settings_cache

COLUMNS = {"name": ["姓名"], "phone": ["手机号"]}
ROOMY = Limits(unpacked_mb=256, shared_strings_mb=64, ratio=200, rows=500_000, cells=2_000_000, columns=1000)


def _workbook(rows: int = 3, width: int = 2) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("名单")
    ws.write_row(0, 0, ["姓名", "手机号", *[f"列{c}" for c in range(2, width)]])
    for r in range(1, rows + 1):
        ws.write_row(r, 0, [f"张{r}", f"1381234{r:04d}", *["x"] * (width - 2)])
    wb.close()
    return buf.getvalue()


def _replace(data: bytes, part: str, content: bytes) -> bytes:
    """The workbook with one part's content replaced (deflated, as Excel writes it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, content if info.filename == part else src.read(info.filename))
    return out.getvalue()


def _code(exc: pytest.ExceptionInfo[UnusableFile] | pytest.ExceptionInfo[LimitExceeded]) -> str:
    return exc.value.message.code  # type: ignore[attr-defined]


def test_a_shared_string_bomb_is_refused_before_the_reader_unpacks_it(tmp_path: Path) -> None:
    # the issue's workbook: a few MB of zip whose shared strings unpack to hundreds of MB
    strings = b'<?xml version="1.0"?><sst xmlns="x" count="1" uniqueCount="1"><si><t>' + b"A" * (120 * 1024 * 1024) \
        + b"</t></si></sst>"
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_replace(_workbook(), "xl/sharedStrings.xml", strings))
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(UnusableFile) as exc:
        read_table(path, COLUMNS)
    assert _code(exc) == "file.limit_ratio"
    assert "FANGKONG_IMPORT_MAX_RATIO" in str(exc.value.message)
    assert "压缩" in translate(exc.value.message, "zh_CN")
    # below the ratio limit, the shared strings' own limit names itself
    with pytest.raises(LimitExceeded) as exc2:
        check_spreadsheet(path, Limits(**{**ROOMY.__dict__, "ratio": 100_000}))
    assert _code(exc2) == "file.limit_shared_strings"
    with pytest.raises(LimitExceeded) as exc3:
        check_spreadsheet(path, Limits(**{**ROOMY.__dict__, "ratio": 100_000, "shared_strings_mb": 1000,
                                             "unpacked_mb": 100}))
    assert _code(exc3) == "file.limit_unpacked"
    assert "120.0 MB" in str(exc3.value.message)


@pytest.mark.parametrize(("limit", "value", "code"), [
    ("rows", 10, "file.limit_rows"),
    ("cells", 30, "file.limit_cells"),
    ("columns", 3, "file.limit_columns"),
])
def test_rows_cells_and_columns_are_counted_from_the_sheet(tmp_path: Path, limit: str, value: int,
                                                          code: str) -> None:
    path = tmp_path / "wide.xlsx"
    path.write_bytes(_workbook(rows=20, width=4))  # 21 rows, 84 cells, 4 columns
    check_spreadsheet(path, ROOMY)
    with pytest.raises(LimitExceeded) as exc:
        check_spreadsheet(path, Limits(**{**ROOMY.__dict__, limit: value}))
    assert _code(exc) == code


def test_a_dimension_that_claims_the_whole_sheet_is_refused(tmp_path: Path) -> None:
    data = _workbook()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    lying = sheet.replace(b'<dimension ref="A1:B4"/>', b'<dimension ref="A1:XFD1048576"/>')
    assert lying != sheet
    path = tmp_path / "dimension.xlsx"
    path.write_bytes(_replace(data, "xl/worksheets/sheet1.xml", lying))
    with pytest.raises(UnusableFile) as exc:
        read_table(path, COLUMNS)
    assert _code(exc) == "file.limit_columns"


def test_a_directory_that_lies_about_sizes_is_refused(tmp_path: Path) -> None:
    """A part declared 100 bytes that inflates to far more: zipfile stops at the declared size and the
    CRC fails, so the file is refused instead of the reader trusting the directory."""
    data = bytearray(_replace(_workbook(), "xl/sharedStrings.xml",
                              b'<sst xmlns="x"><si><t>' + b"B" * 5_000_000 + b"</t></si></sst>"))
    name = b"xl/sharedStrings.xml"
    for sig, size_at in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = 0
        while (at := data.find(sig, at)) >= 0:
            name_at = at + (46 if sig == b"PK\x01\x02" else 30)
            if data[name_at:name_at + len(name)] == name:
                data[at + size_at:at + size_at + 4] = struct.pack("<I", 100)
            at += 4
    path = tmp_path / "liar.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(UnusableFile) as exc:
        read_table(path, COLUMNS)
    assert _code(exc) == "file.bad_zip"


def test_limits_are_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "small.xlsx"
    path.write_bytes(_workbook(rows=5))
    assert len(list(read_table(path, COLUMNS))) == 5
    monkeypatch.setenv("FANGKONG_IMPORT_MAX_ROWS", "3")
    reset_settings_cache()
    try:
        assert get_settings().import_max_rows == 3
        with pytest.raises(UnusableFile) as exc:
            read_table(path, COLUMNS)
        assert _code(exc) == "file.limit_rows"
        assert "FANGKONG_IMPORT_MAX_ROWS" in str(exc.value.message)
    finally:
        monkeypatch.delenv("FANGKONG_IMPORT_MAX_ROWS")
        reset_settings_cache()


def test_column_letters() -> None:
    assert [column_number(c) for c in ("A", "Z", "AA", "XFD")] == [1, 26, 27, 16384]


def test_csv_is_read_in_chunks_with_a_broken_line_refused_before_any_chunk(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("姓名,手机号\n" + "".join(f"张{i},1381234{i:04d}\n" for i in range(2500)), encoding="gb18030")
    table = read_table(path, COLUMNS)
    sizes = [len(c) for c in table.chunks(1000)]
    assert sizes == [1000, 1000, 500]
    # a cell longer than Excel allows, far down the file: found at opening, before the first chunk
    broken = tmp_path / "broken.csv"
    broken.write_text("姓名,手机号\n" + "张三,13812340000\n" * 3000 + "张" * 40_000 + ",1\n", encoding="utf-8")
    with pytest.raises(UnusableFile) as exc:
        read_table(broken, COLUMNS)
    assert exc.value.message.code == "file.csv_error"  # type: ignore[attr-defined]
    assert "line 3002" in str(exc.value.message)


def test_a_big_report_spills_to_disk_and_reads_back_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ReportLog, "SPILL_AFTER", 10)
    monkeypatch.setattr(ReportLog, "BATCH", 4)
    log = ReportLog()
    expected = []
    for start in range(1, 36, 7):  # chunks of 7 lines
        chunk = [ReportRow(n, "rejected", issues=[FieldIssue("phone", TOO_MANY_ROWS(found=n, limit=1))])
                 for n in range(start, start + 7)]
        expected.extend(chunk)
        log.extend(chunk)
    assert len(log) == 35 and log._file is not None and len(log._rows) <= 10
    assert [r.row for r in log] == list(range(1, 36))
    assert [r.row for r in log] == list(range(1, 36))  # read again from the start
    assert log == expected and log[0].issues[0].message.code == "file.limit_rows" and log[-1].row == 35
    assert [r.row for r in log[2:4]] == [3, 4]
    assert summarise(log) == {"rejected": 35}


def test_rows_changed_while_iterating_a_spilled_report_stay_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Like a list: code that blanks what a report says about someone (a foreign person id) while it
    iterates changes the log, also the lines kept on disk, also when it stops early."""
    monkeypatch.setattr(ReportLog, "SPILL_AFTER", 10)
    monkeypatch.setattr(ReportLog, "BATCH", 4)
    log = ReportLog(ReportRow(n, "accepted", person_id=n) for n in range(1, 31))
    assert log._file is not None
    for r in log:
        if r.row % 3 == 0:
            r.person_id = None
    assert [r.person_id for r in log] == [None if n % 3 == 0 else n for n in range(1, 31)]
    for r in log:  # stops early: the rest stays as it was
        r.status = "duplicate"
        if r.row == 6:
            break
    assert [r.status for r in log] == ["duplicate"] * 6 + ["accepted"] * 24
    assert len(log) == 30 and [r.row for r in log] == list(range(1, 31))
