"""Daily clearance (日产日清) and reconciliation (数据闭环) against hand-computed figures."""

from __future__ import annotations

import datetime as dt

import pytest
from intake_factories import NOW, Tree, actor_at
from sqlalchemy import event, select

from fangkong.intake.models import Lead
from fangkong.intake.service import (
    LeadItem,
    daily_clearance,
    daily_clearance_by_child,
    ingest_leads,
    reconciliation,
    record_verification,
)
from fangkong.intake.service.reports import percentile
from fangkong.kernel import clock
from fangkong.kernel.errors import NotFound

H = dt.timedelta(hours=1)
ADDR = "幸福路12号3幢2单元301室"
DAY = dt.date(2022, 4, 18)


@pytest.fixture
def tree(session):
    return Tree(session)


def _ingest(session, tree, channel, at, *values):
    with clock.frozen(at):
        res = ingest_leads(session, actor_at(tree.root), channel=channel,
                           items=[LeadItem(i + 1, v) for i, v in enumerate(values)])
    return [session.get(Lead, r.extra["lead_id"]) for r in res.rows]


def _verify(session, tree, lead, outcome, at, unit=None, **kw):
    with clock.frozen(at):
        record_verification(session, actor_at(unit or tree.grid1), lead_id=lead.id, outcome_code=outcome, **kw)


def test_percentile():
    assert percentile([60, 180, 1020], 0.5) == 180
    assert percentile([60, 180, 1020], 0.9) == 852.0
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7


def test_daily_clearance(session, tree):
    _ingest(session, tree, "bigdata", NOW - 24 * H, {"name": "前一天", "phone": "13700000000", "address": ADDR})
    l1, l2, l3, l4 = _ingest(session, tree, "bigdata", NOW, *[
        {"name": n, "phone": p, "address": ADDR, "category": c} for n, p, c in [
            ("甲", "13800000001", "secondary_contact"), ("乙", "13800000002", ""), ("丙", "13800000003", ""),
            ("丁", "13800000004", "")]])
    (l5,) = _ingest(session, tree, "telecom", NOW, {"name": "戊", "phone": "13800000005"})
    _verify(session, tree, l1, "found_home", NOW + H)
    _verify(session, tree, l2, "false_lead", NOW + 3 * H)
    _verify(session, tree, l3, "false_lead", NOW + 17 * H)  # 02:00 the next day: after the cut-off
    with clock.frozen(NOW + 25 * H):
        data = daily_clearance(session, actor_at(tree.root), day=DAY)
    t = data["totals"]
    assert (t["received"], t["cleared"], t["open"], t["overdue"], t["not_cleared_by_cutoff"]) == (5, 3, 2, 2, 3)
    assert (t["received_known_median_min"], t["known_managed_median_min"], t["known_managed_p90_min"]) == (0, 180, 852)
    assert (t["managed_controlled_median_min"], t["daily_clearance_ok"]) == (0, False)
    assert (data["cutoff_at"], data["cutoff_passed"]) == ("2022-04-19T00:00:00+08:00", True)
    assert sorted(data["not_cleared_lead_ids"]) == sorted([l3.id, l4.id, l5.id])
    with clock.frozen(NOW + 2 * H):  # the same day before its cut-off: open leads are pending, not failed
        assert daily_clearance(session, actor_at(tree.root), day=DAY)["cutoff_passed"] is False
    units = {u["unit_code"]: u for u in data["units"]}
    assert (units["G1"]["received"], units["G1"]["cleared"], units["G1"]["overdue"]) == (4, 3, 1)
    assert (units["000000"]["received"], units["000000"]["open"]) == (1, 1)

    # the grid's own view: only its leads; a neighbouring grid sees none of them
    mine = daily_clearance(session, actor_at(tree.grid1), day=DAY)
    assert mine["totals"]["received"] == 4
    assert daily_clearance(session, actor_at(tree.grid2), day=DAY)["totals"]["received"] == 0
    with pytest.raises(NotFound):
        daily_clearance(session, actor_at(tree.grid2), day=DAY, unit_id=tree.grid1.id)
    # before the due time nothing is overdue
    with clock.frozen(NOW + 2 * H):
        assert daily_clearance(session, actor_at(tree.root), day=DAY)["totals"]["overdue"] == 0


def test_clearance_by_child_reads_the_leads_once_and_equals_each_childs_report(session, connection, tree):
    """The page's "by unit" table comes from the same read as the unit's report: each child's totals
    equal that child's own report, and the statements do not grow with the leads or the children."""
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.jurisdictions import service as jurisdictions_service

    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    def run(unit_id):
        seen.clear()
        session.expire_all()
        event.listen(connection, "before_cursor_execute", count)
        try:
            with clock.frozen(NOW + 25 * H):
                return daily_clearance_by_child(session, actor_at(tree.root), day=DAY, unit_id=unit_id)
        finally:
            event.remove(connection, "before_cursor_execute", count)

    (a,) = _ingest(session, tree, "bigdata", NOW, {"name": "甲", "phone": "13800000001", "address": ADDR})
    run(tree.community.id)
    small = len(seen)
    more = [{"name": f"人{i}", "phone": f"138000001{i:02d}", "address": "和平路8号1幢1单元101室"} for i in range(12)]
    leads = _ingest(session, tree, "telecom", NOW, *more)
    _verify(session, tree, a, "found_home", NOW + H)
    _verify(session, tree, leads[0], "false_lead", NOW + 2 * H, unit=tree.grid2)
    for i in range(5):
        jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code=f"G9{i}", name=f"网格{i}", level="grid",
                                          parent_code="320412001001")
    report, children = run(tree.community.id)
    assert len(seen) == small, seen
    assert sum("FROM lead" in s for s in seen) == 1
    with clock.frozen(NOW + 25 * H):
        assert report == daily_clearance(session, actor_at(tree.root), day=DAY, unit_id=tree.community.id)
        for child, totals in children:
            assert totals == daily_clearance(session, actor_at(tree.root), day=DAY, unit_id=child.id)["totals"]
    got = {c.code: (t["received"], t["cleared"]) for c, t in children}
    assert got == {"G1": (1, 1), "G2": (12, 1), **{f"G9{i}": (0, 0) for i in range(5)}}
    # from the root: the district holds all thirteen
    _report, children = run(None)
    assert [(c.code, t["received"]) for c, t in children] == [("320412", 13)]


def test_reconciliation(session, tree):
    a1, = _ingest(session, tree, "bigdata", NOW, {"name": "甲", "phone": "13800000001", "address": ADDR})
    _ingest(session, tree, "community", NOW + H, {"name": "甲", "phone": "13800000001", "address": ADDR})
    b1, = _ingest(session, tree, "telecom", NOW, {"name": "乙", "phone": "13800000002", "address": ADDR})
    c1, d1 = _ingest(session, tree, "checkpoint", NOW, {"name": "丙", "phone": "13800000003", "address": ADDR},
                     {"name": "丁", "phone": "13800000004", "address": ADDR})
    _verify(session, tree, d1, "false_lead", NOW + 2 * H)
    _verify(session, tree, a1, "left_city", NOW + 2 * H, destination="南京市")
    e1, = _ingest(session, tree, "assist", NOW, {"name": "戊", "phone": "13800000005", "address": ADDR})
    _verify(session, tree, e1, "false_lead", NOW + 3 * H)
    with clock.frozen(NOW + 10 * H):
        data = reconciliation(session, actor_at(tree.root), day=DAY)
    assert [i["person_id"] for i in data["data_not_community"]] == [b1.person_id]
    assert data["data_not_community"][0]["channels"] == ["telecom"]
    assert [i["person_id"] for i in data["checkpoint_not_verified"]] == [c1.person_id]
    assert [(a["direction"], a["region"]) for a in data["assist_unanswered"]] == [("out", "南京市")]
    # another day: nothing reported then
    other = reconciliation(session, actor_at(tree.root), day=DAY + dt.timedelta(days=1))
    assert other["data_not_community"] == [] and other["checkpoint_not_verified"] == []
    assert len(other["assist_unanswered"]) == 1
    assert session.execute(select(Lead).where(Lead.id == c1.id)).scalar_one().managed_at is None
