"""The daily report read back: XLSX (title row, merged headers, a sheet per section, units in tree
order with subtotals, numbers as numbers, 数据 = the rows of `fangkong indicators`) and PDF text
(header with cut-off and pack version, 未截止 before the freeze, 补报 after late feedback)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pypdf
from command_factories import CUTOFF, DAY, H, actor, build_tree, leads_of_the_day

from fangkong.command import service
from fangkong.command.service.report import write_report
from fangkong.intake.service import import_outcomes
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.tabular import Row


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)


def test_xlsx_and_pdf(session, tmp_path: Path) -> None:
    tree = build_tree(session)
    leads = leads_of_the_day(session, tree)
    leads[4].source_ref = "R4"
    session.flush()
    chief = actor(tree.root)

    # before the freeze: live, watermarked 未截止
    with clock.frozen(CUTOFF + H):
        live_xlsx = tmp_path / "live.xlsx"
        write_report(session, chief, day=DAY, unit_code="D1", out=live_xlsx)
        live_pdf = tmp_path / "live.pdf"
        write_report(session, chief, day=DAY, unit_code="D1", out=live_pdf)
    wb = openpyxl.load_workbook(live_xlsx)
    assert "未截止" in str(wb["线索核查"]["A3"].value)
    text = _pdf_text(live_pdf)
    assert "未截止" in text and "截止时间 2022-04-19 00:00" in text and "cn-2022-v9@5" in text

    with clock.frozen(CUTOFF + 2 * H):
        service.take_snapshot(session, SYSTEM_ACTOR, day=DAY)
    with clock.frozen(CUTOFF + 9 * H):  # late feedback after the freeze
        import_outcomes(session, SYSTEM_ACTOR, rows=[Row(2, {"source_ref": "R4", "channel": "bigdata",
                                                            "outcome": "false_lead", "managed_at": "2022-04-18 20:00"})])
        out = tmp_path / "daily.xlsx"
        report = write_report(session, chief, day=DAY, unit_code="D1", out=out)
        pdf = tmp_path / "daily.pdf"
        write_report(session, chief, day=DAY, unit_code="D1", out=pdf)
        table = service.indicators(session, chief, day=DAY, unit_code="D1")
    assert report.table.frozen

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["线索核查", "三个时钟", "核酸检测", "病例与密接", "卡口隔离预警", "补报", "数据"]
    ws = wb["线索核查"]
    assert ws["A1"].value == "甲区疫情防控指标日报(2022-04-18)"
    assert "截止时间 2022-04-19 00:00" in ws["A2"].value and "cn-2022-v9@5" in ws["A2"].value
    assert "快照第 1 版" in ws["A2"].value
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:L1", "A2:L2", "A3:A4", "D3:F3", "G3:I3", "J3:L3"} <= merged
    assert [ws.cell(3, c).value for c in (4, 7, 10)] == ["接收线索", "日产日清率", "超时未核查"]
    # units in tree order, parents marked as subtotals; numbers stored as numbers
    assert [ws.cell(r, 1).value for r in range(5, 9)] == ["D1", "S1", "G1", "G2"]
    assert ws.cell(5, 2).value == "甲区(小计)" and ws.cell(7, 2).value.strip() == "一网格"
    assert (ws.cell(7, 4).value, ws.cell(7, 7).value, ws.cell(7, 8).value, ws.cell(7, 9).value) == (4, 0.5, 2, 4)
    assert ws.cell(7, 7).number_format == "0.00%"
    assert ws.cell(5, 10).value == 1  # D1 overdue: L0
    assert wb["卡口隔离预警"].cell(5, 4).value == 0  # no inspection: a number, not a note
    late = wb["补报"]
    rows = [[c.value for c in r] for r in late.iter_rows(min_row=4)]
    assert ["G1", "一网格", "日产日清率", 0.5, 0.75, 2, 3, 4, 4] in rows

    data = [[c.value for c in r] for r in wb["数据"].iter_rows()]
    assert data[0] == service.COLUMNS
    expected = [[None if v == "" else v for v in r.as_csv().values()] for r in table.rows]
    assert data[1:] == expected

    text = _pdf_text(pdf)
    assert "甲区疫情防控指标日报(2022-04-18)" in text and "未截止" not in text
    assert "补报" in text and "一网格" in text and "50.00%" in text


def test_daily_report_job_reads_the_snapshot(session) -> None:
    """The job after the snapshot writes the city's report under the data directory; its 数据 sheet is
    the frozen rows (`fangkong indicators` of the day), a file only its owner reads."""
    from fangkong.command.jobs import daily_report

    tree = build_tree(session)
    leads_of_the_day(session, tree)
    with clock.frozen(CUTOFF + 2 * H):
        service.take_snapshot(session, SYSTEM_ACTOR, day=DAY)
        out = daily_report(session, day=DAY.isoformat(), formats="xlsx")
        table = service.indicators(session, SYSTEM_ACTOR, day=DAY)
    [written] = out["written"]
    assert (written["frozen"], written["version"]) == (True, 1)
    path = Path(written["file"])
    assert path.name == "daily-2022-04-18.xlsx" and path.stat().st_mode & 0o777 == 0o600
    data = [[c.value for c in r] for r in openpyxl.load_workbook(path)["数据"].iter_rows(min_row=2)]
    assert len(data) == len(table.rows)
    g1 = next(r for r in data if r[1] == "G1" and r[4] == "leads.cleared_same_day")
    assert (g1[5], g1[6], g1[7], g1[8]) == (0.5, 2, 4, "red")  # by hand: 2 of G1's 4 leads cleared on D
