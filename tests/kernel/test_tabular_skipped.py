"""Summary and note rows are not data (issue #10): the reader tells them apart and every report says
`skipped` with the reason, in file order."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from fangkong.kernel.jurisdictions import service as js
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.tabular import ReportRow, note_row, read_table, summarise, summary_line

COLUMNS = {"name": ["姓名"], "phone": ["手机号"], "address": ["地址"]}


@pytest.mark.parametrize(("cells", "reason"), [
    (["合计", "", "35"], "a summary row (合计), not data"),
    (["", "合  计", "35"], "a summary row (合计), not data"),
    (["小计：12人", "", ""], "a summary row (小计:12人), not data"),
    (["总计", "", ""], "a summary row (总计), not data"),
    (["共计35人", "", ""], "a summary row (共计35人), not data"),
    (["填表人：王五", "审核人：赵六", "联系电话：139"], "the form's signature footer (填表人:王五), not data"),
    (["审核人:", "", ""], "the form's signature footer (审核人:), not data"),
    (["联系电话：0519-8888", "", ""], "the form's signature footer (联系电话:0519-8888), not data"),
    (["备注：请于每日18时前报送", "", ""], "a note (备注:请于每日18时前报送), not data"),
    (["注：1.身份证号必填", "", ""], "a note (注:1.身份证号必填), not data"),
    (["注1、以上人员均已落实管控", "", ""], "a note (注1、以上人员均已落实管控), not data"),
    (["说明", "", ""], "a note (说明), not data"),
])
def test_summary_footer_and_note_rows(cells, reason):
    assert note_row(cells) == reason


@pytest.mark.parametrize("cells", [
    ["张三", "13812345678", "总计路1号"],     # an address that starts with 总计
    ["合计英", "13812345678", ""],            # a name that starts with 合计 is still a name
    ["李备注", "", "幸福路1号"],
    ["1", "注", "幸福路1号"],                 # a note word in a later column is not a note row
    ["说明书", "", ""],
])
def test_data_rows_are_data(cells):
    assert note_row(cells) is None


def test_the_table_collects_skipped_rows_and_merges_them_in_file_order(tmp_path: Path):
    f = tmp_path / "t.csv"
    f.write_text("名单\n姓名,手机号,地址\n张三,13812345678,\n合计,1,\n\n填表人：李四,,\n王五,13812345679,\n",
                 encoding="utf-8")
    table = read_table(f, COLUMNS)
    rows = list(table)
    assert [r.number for r in rows] == [3, 7]
    assert [(r.row, r.status) for r in table.skipped] == [(4, "skipped"), (6, "skipped")]
    report = table.report([ReportRow(r.number, "accepted") for r in rows])
    assert [(r.row, r.status) for r in report] == [(3, "accepted"), (4, "skipped"), (6, "skipped"), (7, "accepted")]
    assert [i.field for i in report[1].issues] == ["row"]
    assert summarise(report) == {"accepted": 2, "skipped": 2}
    assert summary_line(summarise(report)) == "4 rows: 2 accepted, 2 skipped"


def test_units_file_totals_are_skipped(session, system, tmp_path: Path):
    f = tmp_path / "units.csv"
    f.write_text("code,name,level,parent_code\nS1,一区,district,\n合计,1,,\n填报单位：市指挥部,,,\n",
                 encoding="utf-8")
    before = session.execute(select(func.count()).select_from(Unit)).scalar_one()
    report = js.import_units(session, system, f)
    assert [(r.row, r.status) for r in report] == [(2, "accepted"), (3, "skipped"), (4, "skipped")]
    assert session.execute(select(func.count()).select_from(Unit)).scalar_one() == before + 1
