"""Decisions under the later rules: the 二十条 (2022-11-11) and the 新十条 (2022-12-07) as packs beside
the 9th edition. A pack may lack secondary contacts or the medium (and low) level; activating a pack
changes decisions from then on, never the ones already stored."""

from __future__ import annotations

import datetime as dt

import pytest
from intake_factories import NOW, Tree, actor_at
from sqlalchemy import select

from fangkong.control.models import Measure
from fangkong.intake import rules
from fangkong.intake.models import Lead
from fangkong.intake.pages_common import namer
from fangkong.intake.service import (
    LeadItem,
    add_risk_area,
    import_risk_areas,
    ingest_leads,
    record_verification,
    update_risk_area,
)
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import ValidationFailed
from fangkong.kernel.jurisdictions.regions import resolve_region
from fangkong.kernel.messages import translate
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import Row
from fangkong.policy_packs import read_pack_text

V9 = policy_service.parse_pack(read_pack_text())
ERSHI = policy_service.parse_pack(read_pack_text("ershitiao.yaml"))
XIN = policy_service.parse_pack(read_pack_text("xinshitiao.yaml"))
T = dt.datetime(2022, 11, 20, 1, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
MEDIUM = rules.AreaSpan(resolve_region("北京市朝阳区").code, "medium", T - 10 * DAY, None)
HIGH = rules.AreaSpan(resolve_region("广州市海珠区").code, "high", T - 10 * DAY, None)
LOW = rules.AreaSpan(resolve_region("广州市天河区").code, "low", T - 10 * DAY, None)


def decide(pack, category=None, origin=None, areas=()):
    return rules.decide(pack, category=category, origin=origin, arrival_at=T - DAY, decided_at=T, areas=areas)


# -- pure decisions --------------------------------------------------------------------------------
def test_twenty_measures_close_contact_and_inbound_are_five_plus_three() -> None:
    for category in ("close_contact", "inbound_traveller"):
        d = decide(ERSHI, category)
        assert [(p.measure, p.days) for p in d.phases] == [("centralised_quarantine", 5), ("home_quarantine", 3)]
        assert d.test_days == (1, 2, 3, 5, 6, 8)  # centralised days 1, 2, 3, 5; home days 1, 3
        assert d.total_days == 8 and d.pack_version == "cn-2022-ershitiao@1"
    high = decide(ERSHI, origin="广州市海珠区", areas=[HIGH])
    assert (high.rule, high.measure, high.total_days) == ("risk_areas.high", "home_quarantine", 7)


def test_twenty_measures_have_no_secondary_contacts_and_no_medium_level() -> None:
    assert "secondary_contact" not in ERSHI.categories and ERSHI.levels == ("high", "low")
    assert decide(ERSHI, "secondary_contact").rule == "categories.other"
    # a medium area (from before) decides nothing under a pack without medium; it does under the 9th
    assert decide(ERSHI, origin="北京市朝阳区", areas=[MEDIUM]).rule == "categories.other"
    assert decide(V9, origin="北京市朝阳区", areas=[MEDIUM]).rule == "risk_areas.medium"
    with pytest.raises(KeyError):
        ERSHI.risk_level("medium")
    high = ERSHI.risk_level("high")
    assert high.downgrade is not None and (high.downgrade.to, high.downgrade.days_without_new_case) == ("low", 5)


def test_ten_new_measures() -> None:
    assert XIN.levels == ("high",) and "secondary_contact" not in XIN.categories
    d = decide(XIN, "close_contact")
    assert [(p.measure, p.days) for p in d.phases] == [("home_quarantine", 5)] and d.test_days == (5,)
    assert "第 5 天核酸检测" in d.explanation_zh
    assert not XIN.testing.area_wide_by_default and not XIN.testing.checkpoint_test_check
    assert V9.testing.area_wide_by_default and V9.testing.checkpoint_test_check
    assert decide(XIN, "truck_driver").measure == "no_measure"  # 不再开展落地检
    assert decide(XIN, origin="广州市天河区", areas=[LOW]).rule == "categories.other"
    assert decide(XIN, origin="广州市海珠区", areas=[HIGH]).category == "high_risk_area"
    high = XIN.risk_level("high")
    assert high.downgrade is not None and (high.downgrade.to, high.downgrade.days_without_new_case) == ("lifted", 5)


def test_names_of_codes_the_active_pack_lacks() -> None:
    measure_name, category_name = namer(XIN, "zh_CN")
    assert category_name("secondary_contact") == "密接的密接"  # decided under the 9th edition
    assert category_name("medium_risk_area") == "中风险区旅居人员"
    assert namer(XIN, "en")[1]("secondary_contact") == "Secondary contact"
    assert measure_name("home_quarantine") == "居家隔离医学观察"


# -- stored decisions and activation ---------------------------------------------------------------
def _lead(session, tree, ref: str, category: str) -> Lead:
    result = ingest_leads(session, actor_at(tree.root), channel="tracing", category=category, items=[
        LeadItem(1, {"name": "张" + ref, "phone": f"1380000{ref:0>4}", "address": "幸福路12号3幢2单元301室",
                     "source_ref": ref})])
    return session.get(Lead, result.rows[0].extra["lead_id"])


def test_activating_a_pack_changes_decisions_from_then_on_never_past_ones(session) -> None:
    tree = Tree(session)
    with clock.frozen(NOW):
        old = _lead(session, tree, "1", "close_contact")
    stored = (old.pack_version, old.rule, old.measure_code, dict(old.decision or {}))
    assert stored[0] == "cn-2022-v9@5" and stored[3]["total_days"] == 10

    policy_service.activate_pack(session, SYSTEM_ACTOR, code="cn-2022-ershitiao", version="1")
    with clock.frozen(NOW + DAY):
        new = _lead(session, tree, "2", "close_contact")
        with pytest.raises(ValidationFailed):  # a batch of secondary contacts: no such category any more
            _lead(session, tree, "3", "secondary_contact")
    session.refresh(old)
    assert (old.pack_version, old.rule, old.measure_code, old.decision) == stored  # the past stays
    assert (new.pack_version, new.decision["total_days"]) == ("cn-2022-ershitiao@1", 8)
    assert [p["measure"] for p in new.decision["phases"]] == ["centralised_quarantine", "home_quarantine"]

    # the old lead, verified now, starts the measure its own pack decided (7+3), the new one 5+3
    worker = actor_at(tree.grid1)
    from fangkong.kernel.places.models import Place

    site = Place(kind="quarantine_site", code="QS9", name="隔离酒店", unit_id=tree.root.id, unit_path=tree.root.path)
    session.add(site)
    session.flush()
    with clock.frozen(NOW + 2 * DAY):
        record_verification(session, worker, lead_id=old.id, outcome_code="found_site", site_place_id=site.id)
        record_verification(session, worker, lead_id=new.id, outcome_code="found_site", site_place_id=site.id)
    m_old, m_new = session.get(Measure, old.measure_id), session.get(Measure, new.measure_id)
    assert (m_old.pack_version, m_old.planned_end_at - m_old.started_at) == ("cn-2022-v9@5", 10 * DAY)
    assert (m_new.pack_version, m_new.planned_end_at - m_new.started_at) == ("cn-2022-ershitiao@1", 8 * DAY)

    # re-activating the 9th edition changes neither stored decision; the next lead is the 9th's again
    policy_service.activate_pack(session, SYSTEM_ACTOR, code="cn-2022-v9", version="5")
    with clock.frozen(NOW + 3 * DAY):
        third = _lead(session, tree, "4", "close_contact")
    session.refresh(new)
    assert (new.pack_version, new.decision["total_days"]) == ("cn-2022-ershitiao@1", 8)
    assert (third.pack_version, third.decision["total_days"]) == ("cn-2022-v9@5", 10)
    assert session.get(Measure, m_new.id).planned_end_at - m_new.started_at == 8 * DAY


def test_a_file_category_the_pack_lacks_is_an_issue(session) -> None:
    tree = Tree(session)
    policy_service.activate_pack(session, SYSTEM_ACTOR, code="cn-2022-ershitiao", version="1")
    with clock.frozen(NOW):
        result = ingest_leads(session, actor_at(tree.root), channel="community", items=[
            LeadItem(1, {"name": "李四", "phone": "13900001111", "category": "次密接"})])
    [issue] = result.rows[0].issues
    assert issue.startswith("category: 次密接 is not a category of the active policy pack 二十条")
    assert "不是当前政策包「二十条" in translate(issue.message, "zh_CN")
    lead = session.execute(select(Lead).where(Lead.id == result.rows[0].extra["lead_id"])).scalar_one()
    assert lead.decision_category == "other"


# -- risk areas ------------------------------------------------------------------------------------
def _rows(*rows: dict[str, str]) -> list[Row]:
    return [Row(i + 2, values, {}) for i, values in enumerate(rows)]


def test_a_medium_area_under_a_pack_without_medium_is_an_issue(session) -> None:
    policy_service.activate_pack(session, SYSTEM_ACTOR, code="cn-2022-ershitiao", version="1")
    report = import_risk_areas(session, SYSTEM_ACTOR, rows=_rows(
        {"region_name": "北京市朝阳区", "level": "中风险", "start_at": "2022-11-20 10:00"},
        {"region_name": "广州市海珠区", "level": "高风险", "start_at": "2022-11-20 10:00"}))
    assert [r.status for r in report] == ["rejected", "accepted"]
    [issue] = report[0].issues
    assert issue.startswith("level: ")
    zh = translate(issue.message, "zh_CN")
    assert "中风险区" in zh and "二十条" in zh and "高风险区、低风险区" in zh
    with pytest.raises(ValidationFailed) as err:
        add_risk_area(session, SYSTEM_ACTOR, region_name="北京市朝阳区", level="medium",
                      start_at=NOW)
    assert [f.field for f in err.value.fields] == ["level"]
    # the 新十条 has high-risk areas only
    policy_service.activate_pack(session, SYSTEM_ACTOR, code="cn-2022-xinshitiao", version="1")
    area = add_risk_area(session, SYSTEM_ACTOR, region_name="广州市海珠区凤阳街道", level="high", start_at=NOW)
    with pytest.raises(ValidationFailed):
        update_risk_area(session, SYSTEM_ACTOR, area_id=area.id, level="low")
    # under the 9th edition a medium area is what it was
    policy_service.activate_pack(session, SYSTEM_ACTOR, code="cn-2022-v9", version="5")
    assert add_risk_area(session, SYSTEM_ACTOR, region_name="北京市朝阳区", level="medium", start_at=NOW).level == "medium"
