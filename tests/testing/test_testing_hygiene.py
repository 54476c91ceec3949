"""Rosters, samples and results as units really send them: a 合计 row, a signature footer and a 备注 note
under the list are reported `skipped`; rows with nothing to find a person by again are rejected and
create nobody (issue #10)."""

from __future__ import annotations

import xlsxwriter
from sqlalchemy import func, select
from testing_factories import actor_at, make_id, phone, write_csv

from fangkong.kernel.people.models import Person
from fangkong.testing import service

HEADER = ["序号", "姓名", "身份证号码", "手机号"]
SAMPLE_HEADER = ["试管条码", "混采数", "姓名", "身份证号码", "手机号", "采样时间", "采样点"]
RESULT_HEADER = ["试管条码", "检测结果", "Ct值", "检测机构", "报告时间"]


def _persons(session) -> int:
    return session.execute(select(func.count()).select_from(Person)).scalar_one()


def test_roster_summary_footer_and_note_rows_are_skipped(session, tree, tmp_path, at_now):
    path = tmp_path / "roster.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.merge_range(0, 0, 0, 3, "顺达快递 从业人员名单")
    ws.write_row(1, 0, HEADER)
    ws.write_row(2, 0, [1, "王小明", make_id(1), phone(1)])
    ws.write_row(3, 0, [2, "李娜", make_id(2), phone(2)])
    ws.write_row(4, 0, ["合计", "", "", "2人"])
    ws.write_row(6, 0, ["填表人：张三", "", "审核人：李四", "联系电话：13900000000"])
    ws.merge_range(7, 0, 7, 3, "备注：名单每周一报送。")
    wb.close()
    before = _persons(session)
    report = service.import_roster(session, actor_at(tree.street), path, group_code="courier_delivery_rider",
                                   employer_ref=tree.employer.code)
    assert [(r.row, r.status) for r in report] == [(3, "accepted"), (4, "accepted"), (5, "skipped"),
                                                   (7, "skipped"), (8, "skipped")]
    assert report[2].issues == ["row: a summary row (合计), not data"]
    assert report[3].issues == ["row: the form's signature footer (填表人:张三), not data"]
    assert report[4].issues[0].startswith("row: a note (备注:")
    assert all(r.person_id is None for r in report[2:])
    assert _persons(session) == before + 2


def test_samples_and_results_files_skip_their_totals(session, tree, tmp_path, at_now):
    actor = actor_at(tree.district)
    rows = [["P-1", "10合1", f"测试{i}", make_id(i), phone(i), "2022-04-17 08:30", tree.point.code] for i in (1, 2)]
    samples = write_csv(tmp_path / "s.csv", SAMPLE_HEADER, [*rows, ["小计", "", "", "", "", "", ""],
                                                            ["总计：2管", "", "", "", "", "", ""]])
    report = service.import_samples(session, actor, samples)
    assert [r.status for r in report] == ["accepted", "accepted", "skipped", "skipped"]
    assert [r.row for r in report] == [2, 3, 4, 5]
    results = write_csv(tmp_path / "r.csv", RESULT_HEADER, [["P-1", "阴性", "", "常州检测", "2022-04-17 20:00"],
                                                           ["合计", "1", "", "", ""],
                                                           ["注：结果以检测机构报告为准", "", "", "", ""]])
    report = service.import_results(session, actor, results)
    assert [r.status for r in report] == ["accepted", "skipped", "skipped"]
    assert report[2].issues[0].startswith("row: a note (注:")


def test_junk_roster_rows_are_rejected_and_create_nobody(session, tree, tmp_path, at_now):
    rows = [
        [1, "", "", "1381234"],                  # a 7-digit phone and no name
        [2, "", "32041219800101123", ""],        # an empty name and an invalid ID
        [3, "无", "", "12345"],                  # a placeholder for a name, a bad phone
        [4, "王小明", "", "1381234"],            # a name: kept, the bad phone is an issue
    ]
    before = _persons(session)
    report = service.import_roster(session, actor_at(tree.street), write_csv(tmp_path / "j.csv", HEADER, rows),
                                   group_code="courier_delivery_rider", employer_ref=tree.employer.code)
    assert [r.status for r in report] == ["rejected", "rejected", "rejected", "accepted"]
    assert "phone: nothing to find the person by again: give a name, a valid ID number or a valid mobile " \
           "number" in report[0].issues
    assert any(i.startswith("id_number: nothing to find the person by again") for i in report[1].issues)
    assert any(i.startswith("phone: nothing to find") for i in report[2].issues)
    assert all(r.person_id is None for r in report[:3])
    assert _persons(session) == before + 1
    assert session.get(Person, report[3].person_id).name == "王小明"


def test_junk_sample_rows_are_rejected(session, tree, tmp_path, at_now):
    rows = [["P-9", "10合1", "", "", "1381234", "2022-04-17 08:30", tree.point.code],
            ["P-9", "10合1", "", "123456789012345678", "", "2022-04-17 08:30", tree.point.code]]
    before = _persons(session)
    report = service.import_samples(session, actor_at(tree.district),
                                    write_csv(tmp_path / "s.csv", SAMPLE_HEADER, rows))
    assert [r.status for r in report] == ["rejected", "rejected"]
    assert _persons(session) == before


def test_junk_roster_over_the_api_is_rejected(client, session, tree):
    from fangkong.kernel.auth import service as auth_service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    auth_service.create_user(session, SYSTEM_ACTOR, username="enrol-api", role="district",
                             unit_code=tree.district.code, password="correct horse battery staple")
    session.flush()
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username="enrol-api")
    session.flush()
    body = {"employer": tree.employer.code,
            "items": [{"name": "", "phone": "1381234"}, {"name": "李娜", "id_number": make_id(7)}]}
    before = _persons(session)
    r = client.post("/api/v1/groups/courier_delivery_rider/members", json=body,
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["status"] for i in items] == ["rejected", "accepted"]
    assert any(i.startswith("phone: nothing to find") for i in items[0]["issues"])
    assert _persons(session) == before + 1
