"""The daily snapshot: frozen values, late feedback never changes them, `live` recomputes, a recompute
is a new audited version, and the differences are listed as 补报."""

from __future__ import annotations

import pytest
from command_factories import CUTOFF, DAY, H, actor, build_tree, leads_of_the_day
from sqlalchemy import select

from fangkong.command import service
from fangkong.command.jobs import daily_snapshot
from fangkong.command.models import IndicatorSnapshot
from fangkong.intake.service import import_outcomes
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import PermissionDenied, ValidationFailed
from fangkong.kernel.tabular import Row


def _rows(t):
    return {(r.unit_code, r.indicator): r for r in t.rows}


def test_frozen_numbers_survive_late_feedback(session) -> None:
    tree = build_tree(session)
    leads = leads_of_the_day(session, tree)
    for lead, ref in zip(leads, ["R0", "R1", "R2", "R3", "R4", "R5"], strict=True):
        lead.source_ref = ref
    session.flush()
    with clock.frozen(CUTOFF - H), pytest.raises(ValidationFailed):  # before the cut-off: not over
        service.take_snapshot(session, SYSTEM_ACTOR, day=DAY)
    with clock.frozen(CUTOFF + H):
        first = daily_snapshot(session, day=DAY.isoformat())
        assert first["created"] and first["version"] == 1
        assert daily_snapshot(session, day=DAY.isoformat())["created"] is False  # again: nothing new
        frozen = service.indicators(session, actor(tree.root), day=DAY)
    assert frozen.frozen and frozen.version == 1 and frozen.pack_version == "cn-2022-v9@5"
    assert _rows(frozen)[("G1", "leads.cleared_same_day")].value == 0.5

    # late feedback (补报): L4 verified at 20:00 on D, reported the next morning on a feedback sheet
    with clock.frozen(CUTOFF + 9 * H):
        report = import_outcomes(session, SYSTEM_ACTOR, rows=[Row(2, {
            "source_ref": "R4", "channel": "bigdata", "outcome": "排除", "managed_at": "2022-04-18 20:00"})])
        assert report[0].status == "accepted"
        still = service.indicators(session, actor(tree.root), day=DAY)
        live = service.indicators(session, actor(tree.root), day=DAY, live=True)
        late = service.late_differences(session, actor(tree.root), day=DAY)
    assert _rows(still)[("G1", "leads.cleared_same_day")].value == 0.5  # frozen: unchanged
    assert (_rows(live)[("G1", "leads.cleared_same_day")].value, _rows(live)[("G1", "leads.cleared_same_day")].numerator
            ) == (0.75, 3)
    assert not live.frozen
    diff = {(d["unit_code"], d["indicator"]): d for d in late}
    assert (diff[("G1", "leads.cleared_same_day")]["frozen_value"], diff[("G1", "leads.cleared_same_day")]["live_value"]
            ) == (0.5, 0.75)
    assert ("G2", "leads.cleared_same_day") not in diff
    # managed p50 pooled over L1 1 h, L2 3 h, L4 11 h = 3
    assert diff[(tree.root.code, "clock.managed_h.p50")]["live_value"] == 3

    # a recompute (更正) is a new version, audited; the old version is kept
    with clock.frozen(CUTOFF + 10 * H):
        again = daily_snapshot(session, day=DAY.isoformat(), recompute="1", reason="补报")
        assert again == {"day": DAY.isoformat(), "version": 2, "values": again["values"], "created": True}
        now_frozen = service.indicators(session, actor(tree.root), day=DAY)
        assert service.late_differences(session, actor(tree.root), day=DAY) == []
    assert now_frozen.version == 2 and _rows(now_frozen)[("G1", "leads.cleared_same_day")].value == 0.75
    versions = session.execute(select(IndicatorSnapshot.version).where(IndicatorSnapshot.day == DAY)
                               .order_by(IndicatorSnapshot.version)).scalars().all()
    assert versions == [1, 2]
    actions = session.execute(select(AuditEvent.action).where(AuditEvent.action.like("command.%"))
                              .order_by(AuditEvent.id)).scalars().all()
    assert actions == ["command.snapshot_taken", "command.snapshot_recomputed"]


def test_snapshot_scope_and_permission(session) -> None:
    tree = build_tree(session)
    with clock.frozen(CUTOFF + H):
        service.take_snapshot(session, SYSTEM_ACTOR, day=DAY)
        mine = service.indicators(session, actor(tree.d2, "district", "d2"), day=DAY)
        with pytest.raises(PermissionDenied):
            service.take_snapshot(session, actor(tree.d2, "district", "d2"), day=DAY, recompute=True)
    # a frozen read is narrowed to the caller's subtree like a live one
    assert {r.unit_code for r in mine.rows} == {"D2"} and mine.frozen
    assert next(r for r in mine.rows if r.indicator == "signals.open").enabled is True


def test_outcome_sheet_rules(session) -> None:
    tree = build_tree(session)
    leads = leads_of_the_day(session, tree)
    for lead, ref in zip(leads, ["R0", "R1", "R2", "R3", "R4", "R5"], strict=True):
        lead.source_ref = ref
    session.flush()
    rows = [
        Row(2, {"source_ref": "R4", "channel": "bigdata", "outcome": "started", "managed_at": "2022-04-18 10:00",
                "controlled_at": "2022-04-18 11:00", "measure": "home_quarantine"}),
        Row(3, {"source_ref": "R5", "channel": "bigdata", "outcome": "started", "managed_at": "2022-04-18 08:00",
                "controlled_at": "2022-04-18 11:00", "measure": "home_quarantine"}),
        Row(4, {"source_ref": "R0", "channel": "bigdata", "outcome": "started", "managed_at": "2022-04-18 10:00",
                "controlled_at": "2022-04-18 09:00", "measure": "home_quarantine"}),
        Row(5, {"source_ref": "R9", "channel": "bigdata", "outcome": "false_lead", "managed_at": "2022-04-18 10:00"}),
        Row(6, {"source_ref": "R0", "channel": "bigdata", "outcome": "false_lead", "managed_at": "2022-04-20 10:00"}),
        Row(7, {"source_ref": "R0", "channel": "bigdata", "outcome": "started", "managed_at": "2022-04-18 10:00",
                "controlled_at": "2022-04-18 11:00", "measure": "nope"}),
    ]
    with clock.frozen(CUTOFF + H):
        report = import_outcomes(session, SYSTEM_ACTOR, rows=rows)
        again = import_outcomes(session, SYSTEM_ACTOR, rows=rows[:1])
    got = {r.row: (r.status, "; ".join(str(i) for i in r.issues)) for r in report}
    assert got[2][0] == "accepted"
    assert got[3] == ("rejected", "managed_at: before the lead was received (2022-04-18T09:00:00+08:00)")
    assert got[4] == ("rejected", "controlled_at: before managed_at")
    assert got[5] == ("rejected", "source_ref: no lead of channel bigdata with this reference: R9")
    assert got[6] == ("rejected", "managed_at: in the future")
    assert got[7] == ("rejected", "measure: not a measure of the active pack: nope")
    assert again[0].status == "duplicate"
    l4 = leads[4]
    session.refresh(l4)
    assert (l4.status, clock.iso_local(l4.managed_at), clock.iso_local(l4.controlled_at), l4.measure_code) == (
        "controlled", "2022-04-18T10:00:00+08:00", "2022-04-18T11:00:00+08:00", "home_quarantine")

