"""Lead files, the API and the public forms as people really fill them: summary and note rows are
`skipped`; a lead with nothing to find the person by again is rejected and creates nobody (issue #10)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from intake_factories import NOW, Tree, actor_at, make_id
from signin import sign_in
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.intake.models import Lead, RiskArea
from fangkong.intake.service.ingest import import_leads_file
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.people.models import Person
from fangkong.kernel.tabular import read_table, write_report

ADDR = "幸福路12号3幢2单元301室"


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _count(session: Session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def tree(session: Session) -> Tree:
    return Tree(session)


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_summary_footer_and_note_rows_are_skipped_with_the_reason(session, tree, tmp_path):
    f = _csv(tmp_path / "push.csv", [
        ["大数据推送重点人员名单"],
        ["序号", "姓名", "身份证号", "手机号码", "现住址"],
        ["1", "张三", make_id(seq="101"), "13812345678", ADDR],
        ["2", "李四", "", "13812345679", ""],
        ["合  计", "2人", "", "", ""],
        ["", "", "", "", ""],
        ["填表人：王五", "", "审核人：赵六", "联系电话：13900000000", ""],
        ["备注：1. 名单由市大数据局推送；2. 请于24小时内反馈。", "", "", "", ""],
        ["注：", "", "", "", ""],
    ])
    persons = _count(session, Person)
    with clock.frozen(NOW):
        result = import_leads_file(session, actor_at(tree.root), f, channel="bigdata")
    assert [(r.row, r.status) for r in result.rows] == [(3, "accepted"), (4, "accepted"), (5, "skipped"),
                                                        (7, "skipped"), (8, "skipped"), (9, "skipped")]
    skipped = [r for r in result.rows if r.status == "skipped"]
    assert skipped[0].issues == ["row: a summary row (合计), not data"]
    assert skipped[1].issues == ["row: the form's signature footer (填表人:王五), not data"]
    assert skipped[2].issues[0].startswith("row: a note (备注:1.")
    assert all(r.person_id is None and not r.extra for r in skipped)
    assert _count(session, Lead) == 2 and _count(session, Person) == persons + 2
    # the report keeps the file's order and says why
    out = tmp_path / "report.csv"
    write_report(out, result.rows)
    lines = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert [ln[:2] for ln in lines[1:]] == [["3", "accepted"], ["4", "accepted"], ["5", "skipped"],
                                            ["7", "skipped"], ["8", "skipped"], ["9", "skipped"]]
    assert lines[3][3] == "row: a summary row (合计), not data"


def test_risk_area_files_skip_totals_too(session, tree, tmp_path):
    from fangkong.intake.headers import RISK_AREA_COLUMNS
    from fangkong.intake.service import import_risk_areas

    f = _csv(tmp_path / "areas.csv", [["region_name", "level", "start_at"],
                                      ["上海市浦东新区", "high", "2022-04-01"],
                                      ["合计：1个", "", ""]])
    table = read_table(f, RISK_AREA_COLUMNS, required_any=["region_name"])
    rows = table.report(import_risk_areas(session, SYSTEM_ACTOR, rows=list(table)))
    assert [r.status for r in rows] == ["accepted", "skipped"]
    assert _count(session, RiskArea) == 1


def test_junk_leads_are_rejected_and_create_nobody(session, tree, tmp_path):
    f = _csv(tmp_path / "junk.csv", [
        ["姓名", "身份证号", "手机号码", "现住址"],
        ["", "", "1381234", ""],                     # a 7-digit phone and no name
        ["", "32041219700101123", "", ADDR],          # an empty name and an invalid ID
        ["不详", "", "12345", ""],                    # a placeholder name and a bad phone
        ["-", "123", "", ""],                         # a dash for a name and a bad ID
        ["王小明", "", "1381234", ""],                # a name: kept, the phone an issue
    ])
    persons = _count(session, Person)
    with clock.frozen(NOW):
        result = import_leads_file(session, actor_at(tree.root), f, channel="community")
    assert [r.status for r in result.rows] == ["rejected"] * 4 + ["accepted"]
    fields = [sorted({i.split(":")[0] for i in r.issues if "nothing to find the person by again" in i})
              for r in result.rows[:4]]
    assert fields == [["phone"], ["id_number"], ["phone"], ["id_number"]]
    assert all(r.person_id is None for r in result.rows[:4])
    assert _count(session, Person) == persons + 1 and _count(session, Lead) == 1


def test_junk_over_the_api_is_rejected(client, session, tree):
    auth_service.create_user(session, SYSTEM_ACTOR, username="centre", role="command", unit_code=tree.root.code,
                             password="correct-horse-9")
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username="centre")
    session.flush()
    persons = _count(session, Person)
    body = {"channel": "bigdata", "items": [{"phone": "1381234", "source_ref": "J1"},
                                            {"name": "", "id_number": "123", "address": ADDR, "source_ref": "J2"},
                                            {"name": "张三", "phone": "13812345678", "source_ref": "J3"}]}
    with clock.frozen(NOW):
        r = client.post("/api/v1/leads", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["status"] for i in items] == ["rejected", "rejected", "accepted"]
    assert any(i.startswith("phone: nothing to find the person by again") for i in items[0]["issues"])
    assert any(i.startswith("id_number: nothing to find the person by again") for i in items[1]["issues"])
    assert _count(session, Person) == persons + 1


def test_junk_from_the_public_form_is_refused(client, session, tree):
    persons = _count(session, Person)
    form = client.get("/report")
    token = re.search(r'name="form_token" value="([^"]+)"', form.text).group(1)
    with clock.frozen(NOW):
        r = client.post("/report", data={"form_token": token, "name": "", "phone": "1381234", "origin": "上海市"})
    assert r.status_code == 422
    assert _count(session, Person) == persons and _count(session, Lead) == 0


def test_junk_persons_are_refused_by_the_registry(session, tree):
    from fangkong.kernel.errors import ValidationFailed
    from fangkong.kernel.people import service as people_service

    for name in ("无", "", "—"):
        with pytest.raises(ValidationFailed) as err:
            people_service.register_person(session, SYSTEM_ACTOR, name=name, phone="1381234", strict=False)
        assert [f.field for f in err.value.fields] == ["name"]
    assert people_service.register_person(session, SYSTEM_ACTOR, name=None, phone="13812345678").name is None


def test_the_import_report_page_says_skipped_in_chinese(client, session, tree):
    auth_service.create_user(session, SYSTEM_ACTOR, username="staff", role="community",
                             unit_code=tree.community.code, password="correct-horse-9")
    session.flush()
    r = sign_in(client, "staff", "correct-horse-9")
    assert r.status_code == 303
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)
    text = f"姓名,身份证号,手机号,现住址\n张三,{make_id(seq='301')},13812345678,{ADDR}\n合计,1人,,\n"
    with clock.frozen(NOW):
        page = client.post("/leads/import", data={"csrf_token": csrf, "channel": "community"},
                           files={"file": ("名单.csv", text.encode("utf-8"), "text/csv")})
    assert page.status_code == 200, page.text
    assert re.search(r'status-skipped"[^>]*>已跳过<', page.text)
    assert "汇总行(合计),不是数据" in page.text and "not data" not in page.text
