"""Risk areas as the national lists publish them: import (file, CLI), idempotent re-import, county codes,
derived low-risk rest of a county, leads decided by code, and the migration of rows stored before."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_runner import CliRun, run_cli
from intake_factories import NOW, Tree, actor_at
from sqlalchemy import select, text

from fangkong.intake import service
from fangkong.intake.headers import RISK_AREA_COLUMNS, RISK_AREA_WHERE
from fangkong.intake.models import Lead, RiskArea
from fangkong.intake.service import LeadItem, ingest_leads
from fangkong.kernel import clock, db
from fangkong.kernel.db import UTCDateTime
from fangkong.kernel.errors import Conflict, ValidationFailed
from fangkong.kernel.messages import issue_loaded
from fangkong.kernel.tabular import read_table

HEADER = ["省", "市", "县区", "风险区名称", "风险等级", "开始时间", "结束时间"]
ROWS = [
    ["江苏省", "南京市", "鼓楼区", "宁海路街道幸福小区", "高风险", "2022-04-10", ""],
    ["上海市", "上海市", "浦东新区", "", "中风险", "2022-04-01 00:00", "2022-05-01 00:00"],
    ["广东省", "东莞市", "长安镇", "新安社区", "中风险", "2022-04-12", ""],
    ["", "", "鼓楼区", "某小区", "高风险", "2022-04-10", ""],              # which 鼓楼区?
    ["江苏省", "苏州市", "吴中区", "", "低风险", "2022-04-10", ""],          # low is derived, not listed
    ["江苏省", "南京市", "玄武区", "梅园新村", "高风险", "0001-01-01", ""],  # a typing error, not a crash
    ["江苏省", "南京市", "下关区", "", "高风险", "2022-04-10", ""],          # abolished in 2013
]


def _csv(path: Path, rows: list[list[str]], title: str | None = "全国中高风险地区名单(截至2022年4月18日)") -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        if title:
            w.writerow([title])
        w.writerows(rows)
    return path


@pytest.fixture
def tree(session):
    return Tree(session)


def _import(session, tree, path: Path):
    table = read_table(path, RISK_AREA_COLUMNS, required_any=RISK_AREA_WHERE)
    with clock.frozen(NOW):
        return service.import_risk_areas(session, actor_at(tree.root), rows=list(table), filename=path.name)


def test_national_list_import_by_county_code_with_row_and_field_issues(session, tree, tmp_path):
    report = _import(session, tree, _csv(tmp_path / "list.csv", [HEADER, *ROWS]))
    assert [(r.row, r.status) for r in report] == [
        (3, "accepted"), (4, "accepted"), (5, "accepted"), (6, "rejected"), (7, "rejected"), (8, "rejected"),
        (9, "rejected")]
    issues = {r.row: [str(i) for i in r.issues] for r in report}
    assert issues[6][0].startswith("county: 鼓楼区 names several counties: 江苏省南京市鼓楼区、")
    assert report[3].issues[0].message.code == "region.ambiguous"
    assert [i.field for i in report[4].issues] == ["level"]
    assert report[4].issues[0].message.code == "risk_area.level_low"
    assert [(i.field, i.message.code) for i in report[5].issues] == [("start_at", "risk_area.bad_time")]
    assert report[6].issues[0].message.code == "region.abolished"
    areas = {a.id: a for a in session.execute(select(RiskArea)).scalars()}
    stored = sorted((a.county_code, tuple(a.places), a.level) for a in areas.values())
    assert stored == [("310115", (), "medium"), ("320106", ("宁海路街道幸福小区",), "high"),
                      ("441900", ("长安镇新安社区",), "medium")]
    gulou = areas[report[0].extra["risk_area_id"]]
    assert gulou.region_name == "江苏省南京市鼓楼区 宁海路街道幸福小区"
    assert clock.iso_local(gulou.start_at) == "2022-04-10T00:00:00+08:00" and gulou.end_at is None


def test_reimport_is_duplicate_and_region_name_rows_are_the_same_areas(session, tree, tmp_path):
    f = _csv(tmp_path / "list.csv", [HEADER, *ROWS[:3]])
    _import(session, tree, f)
    again = _import(session, tree, f)
    assert [r.status for r in again] == ["duplicate"] * 3
    # the same areas written as one free-text column (the format before #10), English headers
    free = _csv(tmp_path / "free.csv", [["region_name", "level", "start_at", "end_at"],
                                       ["南京鼓楼区宁海路街道幸福小区", "high", "2022-04-10", ""],
                                       ["上海浦东新区", "medium", "2022-04-01", "2022-05-01"]], title=None)
    assert [r.status for r in _import(session, tree, free)] == ["duplicate", "duplicate"]
    # a later notice lifting the area changes its end: accepted, still one row
    lifted = _csv(tmp_path / "lifted.csv", [HEADER, [*ROWS[0][:6], "2022-04-20"]])
    assert [r.status for r in _import(session, tree, lifted)] == ["accepted"]
    assert len(session.execute(select(RiskArea)).scalars().all()) == 3


def test_declaring_checks_where_and_level(session, tree):
    actor = actor_at(tree.root)
    with pytest.raises(ValidationFailed) as exc:
        service.add_risk_area(session, actor, region_name="鼓楼区", level="high", start_at=NOW)
    assert [(f.field, f.message.code) for f in exc.value.fields] == [("region_name", "region.ambiguous")]
    with pytest.raises(ValidationFailed) as exc:
        service.add_risk_area(session, actor, region_name="南京市鼓楼区", level="low", start_at=NOW)
    assert [f.field for f in exc.value.fields] == ["level"]
    with pytest.raises(ValidationFailed) as exc:
        service.add_risk_area(session, actor, region_code="320100", level="high", start_at=NOW)
    assert [f.field for f in exc.value.fields] == ["region_code"]
    with pytest.raises(ValidationFailed) as exc:
        service.add_risk_area(session, actor, region_code="320106", place="幸福" * 150, level="high", start_at=NOW)
    assert [f.field for f in exc.value.fields] == ["place"]
    a = service.add_risk_area(session, actor, region_code="320106", place="幸福小区、江东村", level="中",
                              start_at=NOW)
    assert (a.county_code, a.places, a.level) == ("320106", ["幸福小区", "江东村"], "medium")
    assert service.add_risk_area(session, actor, region_name="南京市鼓楼区", place="江东村，幸福小区",
                                 level="medium", start_at=NOW).id == a.id


def test_changing_an_area_into_another_is_a_conflict(session, tree):
    actor = actor_at(tree.root)
    high = service.add_risk_area(session, actor, region_name="南京市鼓楼区幸福小区", level="high", start_at=NOW)
    medium = service.add_risk_area(session, actor, region_name="南京市鼓楼区幸福小区", level="medium", start_at=NOW)
    with pytest.raises(Conflict):
        service.update_risk_area(session, actor, area_id=medium.id, level="high")
    with pytest.raises(ValidationFailed):
        service.update_risk_area(session, actor, area_id=high.id, level="low")
    moved = service.update_risk_area(session, actor, area_id=medium.id, region_name="南京市玄武区梅园新村")
    assert (moved.county_code, moved.places) == ("320102", ["梅园新村"])


def test_derived_low_areas(session, tree):
    actor = actor_at(tree.root)
    place = service.add_risk_area(session, actor, region_name="南京市鼓楼区幸福小区", level="high",
                                  start_at=NOW - dt.timedelta(days=2))
    service.add_risk_area(session, actor, region_name="上海市浦东新区", level="high", start_at=NOW)
    service.add_risk_area(session, actor, region_name="上海市浦东新区张江镇", level="medium", start_at=NOW)
    derived = service.derived_low_areas(session, actor, at=NOW + dt.timedelta(hours=1))
    # 浦东 is high as a whole: no low-risk rest there
    assert [(d.county_code, d.county_name, [a.id for a in d.areas]) for d in derived] == [
        ("320106", "江苏省南京市鼓楼区", [place.id])]
    assert service.derived_low_areas(session, actor, at=NOW - dt.timedelta(days=3)) == []


def test_leads_are_decided_by_county_code(session, tree):
    actor = actor_at(tree.root)
    with clock.frozen(NOW):
        service.add_risk_area(session, actor, province="江苏省", city="南京市", county="鼓楼区",
                              place="宁海路街道幸福小区", level="high", start_at=NOW - dt.timedelta(days=5))
        result = ingest_leads(session, actor, channel="bigdata", items=[
            LeadItem(1, {"name": "甲", "phone": "13800000001", "origin": "南京鼓楼区幸福小区",
                         "arrival_at": "2022-04-17 10:00"}),
            LeadItem(2, {"name": "乙", "phone": "13800000002", "origin": "南京市鼓楼区",
                         "arrival_at": "2022-04-17 10:00"}),
            LeadItem(3, {"name": "丙", "phone": "13800000003", "origin": "鼓楼区",
                         "arrival_at": "2022-04-17 10:00"}),
            LeadItem(4, {"name": "丁", "phone": "13800000004", "origin": "南京", "arrival_at": "2022-04-17 10:00"}),
        ])
    leads = {r.row: session.get(Lead, r.extra["lead_id"]) for r in result.rows}
    assert [leads[n].rule for n in (1, 2, 3, 4)] == ["risk_areas.high", "risk_areas.low_derived",
                                                     "categories.other", "categories.other"]
    assert leads[1].decision["origin_code"] == "320106" and leads[1].decision["risk_area_id"]
    assert "江苏省南京市鼓楼区宁海路街道幸福小区" in leads[1].decision["explanation_zh"]
    assert "其他地区为低风险区" in leads[2].decision["explanation_zh"]
    rows = {r.row: r for r in result.rows}
    assert [i.field for i in rows[3].issues] == ["origin"] and "names several counties" in rows[3].issues[0]
    assert [i.message.code for i in rows[4].issues] == ["origin.not_county"]
    # stored by code (issue #10): read back through `issue_loaded`, the same `field: message` text
    assert [str(issue_loaded(i)) for i in leads[3].issues] == [str(rows[3].issues[0])]
    assert leads[3].issues[0]["code"] == "region.ambiguous"


def test_cli_import_national_list_twice(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8")

    def run(*args: str) -> CliRun:
        return run_cli(*args, env=env)

    assert run("init", "--mode", "test").returncode == 0
    f = _csv(tmp_path / "list.csv", [HEADER, *ROWS])
    first = run("import", "risk-areas", str(f), "--report", str(tmp_path / "r1.csv"))
    assert first.returncode == 0, first.stderr
    assert "7 rows: 3 accepted, 4 rejected" in first.stderr
    with (tmp_path / "r1.csv").open(encoding="utf-8-sig") as fh:
        lines = list(csv.reader(fh))
    assert lines[0][:4] == ["row", "status", "person_id", "issues"]
    assert lines[4][:2] == ["6", "rejected"] and lines[4][3].startswith("county: 鼓楼区 names several counties")
    second = run("import", "risk-areas", str(f))
    assert "3 duplicate, 4 rejected" in second.stderr, second.stderr
    con = sqlite3.connect(tmp_path / "fangkong.db")
    with con:
        counties = [r[0] for r in con.execute("SELECT county_code FROM risk_area ORDER BY county_code")]
    con.close()
    assert counties == ["310115", "320106", "441900"]


@pytest.fixture(params=["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else []))
def blank_engine(request, tmp_path):
    """An empty database of the backend, for migrating step by step."""
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    url = os.environ["FANGKONG_TEST_DATABASE_URL"]
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = db.make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_migration_resolves_stored_rows_and_keeps_the_rest(blank_engine):
    """Rows stored before #10 (free text) get their county; rows naming no single county are kept."""
    engine = blank_engine
    db.migrate(engine, "0100")
    old = [("南京市鼓楼区", None, "high"), ("南京鼓楼区", None, "high"), ("鼓楼区", None, "high"),
           ("上海市浦东新区张江镇", None, "medium"), ("旧代码", "3101", "medium"), ("常州市武进市", None, "high")]
    at = dt.datetime(2022, 4, 10, tzinfo=dt.UTC)
    table = sa.table("risk_area", *(sa.column(c) for c in ("id", "region_code", "region_name", "name_key", "level")),
                     *(sa.column(c, UTCDateTime()) for c in ("start_at", "created_at", "updated_at")))
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [
            {"id": n, "region_code": code, "region_name": name, "name_key": name, "level": level, "start_at": at,
             "created_at": at, "updated_at": at} for n, (name, code, level) in enumerate(old, start=1)])
    db.migrate(engine, "heads")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, county_code, places, name_key FROM risk_area ORDER BY id")).all()
    places = [json.loads(r[2]) if isinstance(r[2], str) else r[2] for r in rows]
    assert [(r[1], p) for r, p in zip(rows, places, strict=True)] == [
        ("320106", []), ("320106", []), (None, []), ("310115", ["张江镇"]), (None, []), ("320412", [])]
    assert rows[0][3] == "320106:" and rows[1][3] == "南京鼓楼区"  # the second of one area keeps its old key
    assert rows[2][3] == "鼓楼区"
