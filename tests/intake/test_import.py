"""Lead files as they really arrive: mixed headers, title rows, merged header cells, blank rows,
full-width digits, traditional characters, bad check digits, duplicates across channels."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake_factories import NOW, Tree, actor_at, bad_check, make_id, random_ids
from sqlalchemy import func, select

from fangkong.intake import service as intake_service
from fangkong.intake.models import AssistRequest, Lead
from fangkong.intake.service import LeadItem, ingest_leads
from fangkong.intake.service.ingest import import_leads_file
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import PermissionDenied, ValidationFailed
from fangkong.kernel.people.models import Person
from fangkong.kernel.tabular import UnusableFile, write_report
from fangkong.kernel.tasks.models import Task

ID_A, ID_B = make_id(seq="101"), make_id(born="19580203", seq="202")


def _csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture
def tree(session):
    return Tree(session)


def test_messy_csv_report(session, tree, tmp_path):
    f = _csv(tmp_path / "push.csv", [
        ["大数据推送重点人员名单(4月18日)"],                    # a title row
        [],
        ["编号", "姓名", "ID Number", "手机号码", "来源地", "Arrival", "现住址", "人员类别", "备注"],
        ["P1", "张 三", ID_A, "１３８ １２３４ ５６７８", "上海市浦东新区", "2022/04/17 10:00",
         "幸福路12号3幢2单元301室", "密接", "第一批"],
        ["P2", "陳偉", bad_check(ID_B), "+86 139-0000-1111", "北京", "2022年4月16日 8:30", "", "", ""],
        ["", "", "", "", "", "", "", "", ""],                      # a blank row
        ["P3", "王五", "", "", "", "", "", "", ""],               # nothing to find them by
        ["P4", "李四", "", "12345", "", "yesterday", "和平路8号1幢1单元101室", "外星人", ""],
    ])
    with clock.frozen(NOW):
        result = import_leads_file(session, actor_at(tree.root), f, channel="bigdata")
    rows = {r.row: r for r in result.rows}
    assert sorted(rows) == [4, 5, 7, 8]  # spreadsheet line numbers; the blank row has no line
    assert [rows[n].status for n in (4, 5, 7, 8)] == ["accepted", "accepted", "rejected", "accepted"]
    assert rows[4].issues == []
    assert rows[5].issues == [f"id_number: check digit should be {ID_B[-1]}"]
    assert rows[7].issues == ["id_number: nothing to find the person by (no ID number, no phone, no address)"]
    assert "phone: should be 11 digits (got 5)" in rows[8].issues
    assert any(i.startswith("arrival_at: not a date or time") for i in rows[8].issues)
    assert "category: unknown category '外星人'" in rows[8].issues

    lead = session.get(Lead, rows[4].extra["lead_id"])
    assert (lead.name, lead.category, lead.phone_masked, lead.id_number_masked) == (
        "张三", "close_contact", "138****5678", ID_A[:6] + "********" + ID_A[-4:])
    assert lead.unit_id == tree.grid1.id and lead.address_id == tree.addr1.id
    payload = intake_service.lead_payload(lead)
    assert payload["备注"] == "第一批" and payload["ID Number"] == ID_A  # raw, untouched
    assert ID_A.encode() not in lead.payload_enc  # … and encrypted at rest
    assert clock.iso_local(lead.arrival_at) == "2022-04-17T10:00:00+08:00"
    assert (lead.rule, lead.measure_code) == ("categories.close_contact", "centralised_quarantine")
    task = session.get(Task, lead.verification_task_id)
    assert (task.kind, task.unit_id, task.subject_id) == ("verify_person", tree.grid1.id, lead.id)
    assert task.due_at == NOW + __import__("datetime").timedelta(hours=24)

    chen = session.get(Lead, rows[5].extra["lead_id"])
    assert chen.name == "陳偉" and chen.name_key == "陈伟" and chen.id_number_valid is False
    assert chen.id_number_bidx is None and chen.unit_id == tree.root.id
    assert session.get(Task, chen.verification_task_id).kind == "locate_person"

    # the report file: row,status,person_id,issues first
    out = tmp_path / "report.csv"
    write_report(out, result.rows, ["lead_id", "match_rule"])
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "row,status,person_id,issues,lead_id,match_rule"
    assert lines[3].startswith("7,rejected,,")


def test_xlsx_with_title_row_and_merged_header(session, tree, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["武进区 社区排查登记表"])
    ws.merge_cells("A1:F1")
    ws.append(["序号", "姓名", "身份证号码", "联系方式", None, "现住址"])
    ws.append([None, None, None, "手机号", "固话", None])
    ws.merge_cells("D2:E2")
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    ws.append([1, "张三", ID_A, 13812345678, "0519-1234567", "幸福路12号3幢2单元301室"])
    ws.append([None, None, None, None, None, None])
    ws.append([2, "赵六", int(ID_B[:15]) if ID_B[:15].isdigit() else ID_B, "13900001111", "", ""])
    f = tmp_path / "community.xlsx"
    wb.save(f)
    with clock.frozen(NOW):
        result = import_leads_file(session, actor_at(tree.root), f, channel="community")
    assert [(r.row, r.status) for r in result.rows] == [(4, "accepted"), (6, "accepted")]
    lead = session.get(Lead, result.rows[0].extra["lead_id"])
    assert lead.phone_masked == "138****5678" and lead.id_number_valid
    assert intake_service.lead_payload(lead)["固话"] == "0519-1234567"
    assert any(i.startswith("id_number: ") for i in result.rows[1].issues)


def test_unusable_file_stores_nothing(session, tree, tmp_path):
    f = _csv(tmp_path / "x.csv", [["foo", "bar"], ["1", "2"]])
    before = session.execute(select(func.count()).select_from(Lead)).scalar()
    with pytest.raises(UnusableFile):
        import_leads_file(session, actor_at(tree.root), f, channel="bigdata")
    assert session.execute(select(func.count()).select_from(Lead)).scalar() == before


def test_gb18030_csv(session, tree, tmp_path):
    f = _csv(tmp_path / "gbk.csv", [["姓名", "手机号"], ["张三", "13812345678"]], encoding="gb18030")
    with clock.frozen(NOW):
        result = import_leads_file(session, actor_at(tree.root), f, channel="telecom")
    assert [r.status for r in result.rows] == ["accepted"]


def test_reimport_reports_every_row_duplicate(session, tree, tmp_path):
    rows = [["姓名", "身份证号", "手机号"], ["张三", ID_A, "13812345678"], ["李四", "", "13900001111"],
            ["王五", bad_check(ID_B), ""]]
    f = _csv(tmp_path / "a.csv", rows)
    with clock.frozen(NOW):
        first = import_leads_file(session, actor_at(tree.root), f, channel="community")
        counts = (session.execute(select(func.count()).select_from(Lead)).scalar(),
                  session.execute(select(func.count()).select_from(Person)).scalar())
        again = import_leads_file(session, actor_at(tree.root), f, channel="community")
    assert [r.status for r in again.rows] == ["duplicate"] * 3
    assert [r.person_id for r in again.rows] == [r.person_id for r in first.rows]
    assert [r.extra["lead_id"] for r in again.rows] == [r.extra["lead_id"] for r in first.rows]
    assert (session.execute(select(func.count()).select_from(Lead)).scalar(),
            session.execute(select(func.count()).select_from(Person)).scalar()) == counts


def test_duplicates_across_channels_are_two_leads_of_one_person(session, tree):
    item = {"name": "张三", "id_number": ID_A, "phone": "13812345678", "source_ref": "X1"}
    with clock.frozen(NOW):
        a = ingest_leads(session, actor_at(tree.root), channel="bigdata", items=[LeadItem(1, dict(item))])
        b = ingest_leads(session, actor_at(tree.root), channel="community", items=[LeadItem(1, dict(item))])
        c = ingest_leads(session, actor_at(tree.root), channel="community",
                         items=[LeadItem(1, dict(item)), LeadItem(2, {**item, "source_ref": "X2"})])
    assert a.rows[0].status == b.rows[0].status == "accepted"
    assert a.rows[0].person_id == b.rows[0].person_id
    assert b.rows[0].extra["match_rule"] == "id_number"
    assert [r.status for r in c.rows] == ["duplicate", "accepted"]


def test_same_content_twice_in_one_batch(session, tree):
    item = {"name": "张三", "phone": "13812345678"}
    with clock.frozen(NOW):
        res = ingest_leads(session, actor_at(tree.root), channel="tip",
                           items=[LeadItem(1, dict(item)), LeadItem(2, dict(item))])
    assert [r.status for r in res.rows] == ["accepted", "duplicate"]
    assert res.rows[1].extra["duplicate_of_row"] == 1


def test_assist_channel_opens_an_inbound_assist_request(session, tree):
    with clock.frozen(NOW):
        res = ingest_leads(session, actor_at(tree.root), channel="assist",
                           items=[LeadItem(1, {"name": "张三", "phone": "13812345678", "origin": "南京市"})])
    req = session.execute(select(AssistRequest).where(AssistRequest.lead_id == res.rows[0].extra["lead_id"])
                          ).scalar_one()
    assert (req.direction, req.status, req.region) == ("in", "open", "南京市")


def test_channel_category_and_permission_checks(session, tree):
    with pytest.raises(ValidationFailed):
        ingest_leads(session, SYSTEM_ACTOR, channel="pigeon", items=[])
    with pytest.raises(ValidationFailed):
        ingest_leads(session, SYSTEM_ACTOR, channel="bigdata", category="alien", items=[])
    with pytest.raises(PermissionDenied):
        ingest_leads(session, actor_at(tree.root, permissions=frozenset({"lead.view"})), channel="bigdata", items=[])


POOL_IDS = random_ids(6, seed=3)
field_values = {
    "name": st.sampled_from(["张三", "陳偉", "陈伟", "李 四", "王五", ""]),
    "id_number": st.sampled_from([*POOL_IDS, bad_check(POOL_IDS[0]), "", "12345"]),
    "phone": st.sampled_from(["13812345678", "１３９００００１１１１", "+86 13700001111", "", "555"]),
    "address": st.sampled_from(["幸福路12号3幢2单元301室", "和平路8号1幢1单元101室", "", "无名路"]),
    "source_ref": st.sampled_from(["", "", "R1", "R2", "R3"]),
}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries(field_values), min_size=1, max_size=8),
       channel=st.sampled_from(["bigdata", "community"]))
def test_importing_twice_equals_importing_once(session, tree, rows, channel):
    nested = session.begin_nested()
    try:
        items = [LeadItem(i + 2, dict(r)) for i, r in enumerate(rows)]
        with clock.frozen(NOW):
            first = ingest_leads(session, SYSTEM_ACTOR, channel=channel, items=items)
            state = _state(session)
            second = ingest_leads(session, SYSTEM_ACTOR, channel=channel, items=items)
        assert _state(session) == state
        for a, b in zip(first.rows, second.rows, strict=True):
            if a.status == "rejected":
                assert b.status == "rejected"
            else:
                assert b.status == "duplicate"
                assert b.person_id == a.person_id
    finally:
        nested.rollback()


def _state(session):
    return (
        sorted(session.execute(select(Lead.id, Lead.person_id, Lead.status)).all()),
        session.execute(select(func.count()).select_from(Person)).scalar(),
        session.execute(select(func.count()).select_from(Task)).scalar(),
    )
