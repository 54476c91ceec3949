"""Indicators by unit against hand-computed values on a small tree (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from command_factories import CUTOFF, DAY, NOW, H, actor, build_tree, leads_of_the_day
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.command import service
from fangkong.kernel import clock
from fangkong.kernel.errors import NotFound, PermissionDenied, ValidationFailed


def _table(session, who, **kw):
    with clock.frozen(CUTOFF + H):
        t = service.indicators(session, who, day=DAY, **kw)
    return t, {(r.unit_code, r.indicator): r for r in t.rows}


def test_leads_and_clocks_rolled_up(session) -> None:
    tree = build_tree(session)
    leads_of_the_day(session, tree)
    t, rows = _table(session, actor(tree.root))
    assert not t.frozen and t.cutoff_at == CUTOFF
    root = tree.root.code

    def v(unit, code):
        r = rows[(unit, code)]
        return r.value, r.numerator, r.denominator, r.status

    # received in [D, C): L1–L5 (L0 came the day before)
    assert v("G1", "leads.received")[:2] == (4, 4)
    assert v("G2", "leads.received")[:2] == (1, 1)
    assert v("S1", "leads.received")[:2] == v(root, "leads.received")[:2] == (5, 5)
    assert v("D2", "leads.received")[:2] == (0, 0)
    # cleared the same day: L1 and L2 verified before C (L3 after it)
    assert v("G1", "leads.cleared_same_day") == (0.5, 2, 4, "red")
    assert v("G2", "leads.cleared_same_day") == (0.0, 0, 1, "red")
    assert v(root, "leads.cleared_same_day") == (0.4, 2, 5, "red")
    # a zero denominator: no value, status none (shown "—")
    assert v("D2", "leads.cleared_same_day") == (None, 0, 0, "none")
    assert rows[("D2", "leads.cleared_same_day")].shown() == "—"
    # overdue at C: L0 (received D−1 09:00, due D 09:00, never verified); L1–L5 are due after C
    assert v("G1", "leads.overdue")[:2] == (1, 1)
    assert v("G1", "leads.overdue")[3] == "amber"
    assert v("D1", "leads.overdue")[:2] == (1, 1)
    assert v("D2", "leads.overdue") == (0, 0, None, "green")
    # managed hours over the leads verified in [D, C): 1 h and 3 h, pooled (not the children's p90)
    assert v(root, "clock.managed_h.p50")[:2] == (2.0, 2)
    assert v(root, "clock.managed_h.p90")[:3] == (2.8, 2, None)
    assert v(root, "clock.managed_h.p90")[3] == "green"
    assert v("G2", "clock.managed_h.p90") == (None, 0, None, "none")
    # known at receipt: 0 h for the five leads of the day
    assert v(root, "clock.known_h.p90")[:2] == (0.0, 5)
    # rules name the bounds and their pack
    assert rows[(root, "leads.cleared_same_day")].rule.startswith("not ≥ 0.95 → red (command.thresholds.")
    # no thresholds: status empty
    assert v(root, "leads.received")[3] == ""
    # the root's level is city
    assert rows[(root, "leads.received")].level == "city"


def test_pooled_percentiles_not_child_percentiles(session) -> None:
    tree = build_tree(session)
    from command_factories import ADDR1, ADDR2, ingest, verify

    a, b, c = ingest(session, NOW, {"name": "子", "phone": "13900000001", "address": ADDR1},
                     {"name": "丑", "phone": "13900000002", "address": ADDR1},
                     {"name": "寅", "phone": "13900000003", "address": ADDR2})
    verify(session, tree.g1, a, "false_lead", NOW + H)
    verify(session, tree.g1, b, "false_lead", NOW + 2 * H)
    verify(session, tree.g2, c, "false_lead", NOW + 10 * H)
    _t, rows = _table(session, actor(tree.root))
    # G1 [1, 2] → p50 1.5; G2 [10] → 10; S1 pooled [1, 2, 10] → p50 2 (the mean of the children's is 5.75)
    assert rows[("G1", "clock.managed_h.p50")].value == 1.5
    assert rows[("G2", "clock.managed_h.p50")].value == 10
    assert rows[("S1", "clock.managed_h.p50")].value == 2
    # p90 of [1, 2, 10]: 2 + 0.8 × 8 = 8.4 → amber? no: ≤ 12 is green
    assert (rows[("S1", "clock.managed_h.p90")].value, rows[("S1", "clock.managed_h.p90")].status) == (8.4, "green")
    assert rows[("G1", "leads.cleared_same_day")].value == 1.0
    assert rows[("G1", "leads.cleared_same_day")].status == "green"


def test_not_enabled_indicators_are_not_zero(session, monkeypatch) -> None:
    """A planned indicator that no capability provides (a deployment that leaves checkpoints and quarantine
    sites out: here their registrations are taken away) shows 尚未启用, never a zero; the ones provided
    show their values, zeros included."""
    from fangkong.command import indicators

    indicators.load()
    for code in ("checkpoints.inspected", "trips.open", "quarantine.occupancy"):
        monkeypatch.delitem(indicators._REGISTRY, code)
    tree = build_tree(session)
    _t, rows = _table(session, actor(tree.root))
    for code in ("checkpoints.inspected", "trips.open", "quarantine.occupancy"):
        r = rows[("G1", code)]
        assert (r.enabled, r.value, r.status, r.shown()) == (False, None, "none", "尚未启用")
    r = rows[("G1", "signals.open")]
    assert (r.enabled, r.value, r.shown()) == (True, 0, "0")
    # the first set is there for every unit, even with nothing to count
    assert rows[("D2", "cases.new")].value == 0
    assert rows[("D2", "testing.compliance")].value is None


def test_scope_day_and_unknown_indicator(session) -> None:
    tree = build_tree(session)
    leads_of_the_day(session, tree)
    # a district sees its own subtree only; another district is a 404
    t, _rows = _table(session, actor(tree.d1, "district", "d1"))
    assert {r.unit_code for r in t.rows} == {"D1", "S1", "G1", "G2"}
    with pytest.raises(NotFound):
        _table(session, actor(tree.d1, "district", "d1"), unit_code="D2")
    # units in tree order: each unit before its children
    assert [r.unit_code for r in t.rows if r.indicator == "leads.received"] == ["D1", "S1", "G1", "G2"]
    with clock.frozen(NOW), pytest.raises(ValidationFailed) as exc:
        service.indicators(session, actor(tree.root), day=DAY.replace(day=19))
    assert exc.value.fields[0].field == "day"
    with pytest.raises(NotFound) as nf:
        _table(session, actor(tree.root), indicator="leads.nope")
    assert "leads.received" in str(nf.value)
    with pytest.raises(PermissionDenied):
        _table(session, actor(tree.g1, "grid", "g"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=1, max_size=60),
       st.sampled_from([0, 10, 25, 50, 90, 99, 100]))
def test_percentile_equals_numpy_linear(values: list[float], q: int) -> None:
    import numpy as np

    from fangkong.command.rules import percentile

    assert percentile(values, q) == float(np.percentile(np.asarray(values, dtype=float), q))
