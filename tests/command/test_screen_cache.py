"""The big screen's per-day cache: a second read is served from it, a committed write makes the live
day stale (answered within the pack's bound while a background refresh computes it, then visible; with
a bound of 0, at once), a frozen day is keyed by its snapshot (a recompute after late feedback shows the new
version), and a session with uncommitted writes never reads or fills it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from command_factories import CUTOFF, DAY, NOW, H, build_tree, ingest, leads_of_the_day
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fangkong.command import service as command_service
from fangkong.command.service import cache, panels
from fangkong.intake.models import Lead
from fangkong.intake.service import import_outcomes
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import Row
from fangkong.policy_packs import read_pack_text


@pytest.fixture
def committed(cli_db: Engine) -> Iterator[Engine]:
    with Session(cli_db) as s:
        tree = build_tree(s)
        leads_of_the_day(s, tree)
        s.commit()
    cache.clear()
    yield cli_db
    cache.clear()


def _kpi(session: Session, code: str, unit: str | None = None) -> object:
    items = panels.panel(session, SYSTEM_ACTOR, "kpis", day=DAY, unit_code=unit)["items"]
    return next(i for i in items if i["indicator"] == code)["value"]


def test_live_day_cached_until_a_committed_write(committed: Engine) -> None:
    with clock.frozen(CUTOFF - H):
        with Session(committed) as s:
            assert _kpi(s, "leads.received") == 5
            before = cache.stats()
            assert _kpi(s, "leads.received") == 5
            panels.panel(s, SYSTEM_ACTOR, "rankings", day=DAY)  # shares today's table with the KPIs
            after = cache.stats()
            assert (after["hits"] - before["hits"], after["misses"] - before["misses"]) == (3, 0)
        with Session(committed) as s:  # a new lead, committed: the live day is stale
            ingest(s, NOW + 2 * H, {"name": "己", "phone": "13800000006", "address": "幸福路12号3幢2单元301室"})
            s.commit()
        with Session(committed) as s:
            before = cache.stats()
            # within the stale bound the previous figures answer while the fresh ones are computed
            assert _kpi(s, "leads.received") == 5
            after = cache.stats()
            # (the KPIs read today and yesterday, both live: two stale entries)
            assert (after["stale"] - before["stale"], after["misses"] - before["misses"]) == (2, 0)
            cache.settle()
            # the background refresh finished: the write is visible, from the cache
            assert _kpi(s, "leads.received") == 6
            assert cache.stats()["misses"] == after["misses"]
            assert cache.stats()["refreshed"] == after["refreshed"] + 2
            assert _kpi(s, "leads.received", unit="G1") == 5


def test_a_steady_write_stream_recomputes_once_per_refresh(committed: Engine) -> None:
    """Writes arriving faster than the refresh: requests keep being answered from the cache, one
    background recomputation at a time, and each write shows once a refresh has finished."""
    with clock.frozen(CUTOFF - H):
        with Session(committed) as s:
            assert _kpi(s, "leads.received") == 5
        misses = cache.stats()["misses"]
        for n in range(3):
            with Session(committed) as s:
                ingest(s, NOW + 2 * H, {"name": "己", "phone": f"1380000001{n}", "address": "幸福路12号3幢2单元301室"})
                s.commit()
            with Session(committed) as s:
                assert _kpi(s, "leads.received") == 5 + n  # stale: the figures before this write
                assert _kpi(s, "leads.received") == 5 + n
                cache.settle()
                assert _kpi(s, "leads.received") == 6 + n
        assert cache.stats()["misses"] == misses  # never recomputed in the request


def test_a_bound_of_zero_shows_a_write_at_once(committed: Engine) -> None:
    with Session(committed) as s:
        data = yaml.safe_load(read_pack_text())
        data["version"] = "screen-stale-0"
        data.setdefault("command", {})["screen_stale_seconds"] = 0
        row = policy_service.store_pack(s, SYSTEM_ACTOR, yaml.safe_dump(data, allow_unicode=True))
        policy_service.activate_pack(s, SYSTEM_ACTOR, code=row.code, version=row.version)
        s.commit()
    with clock.frozen(CUTOFF - H):
        with Session(committed) as s:
            assert _kpi(s, "leads.received") == 5
        with Session(committed) as s:
            ingest(s, NOW + 2 * H, {"name": "己", "phone": "13800000006", "address": "幸福路12号3幢2单元301室"})
            s.commit()
        with Session(committed) as s:
            assert _kpi(s, "leads.received") == 6


def test_frozen_day_keyed_by_its_snapshot(committed: Engine) -> None:
    with Session(committed) as s:
        lead_ids = s.execute(select(Lead.id).order_by(Lead.id)).scalars().all()
    with clock.frozen(CUTOFF + H):
        with Session(committed) as s:
            command_service.take_snapshot(s, SYSTEM_ACTOR, day=DAY)
            s.commit()
        with Session(committed) as s:
            cleared = _kpi(s, "leads.cleared_same_day")
            assert cleared == 0.4  # 2 of 5
            before = cache.stats()
            trends = panels.panel(s, SYSTEM_ACTOR, "trends", day=DAY)
            series = {x["indicator"]: x["values"] for x in trends["series"]}
            assert series["leads.cleared_same_day"][-1] == 0.4
            assert cache.stats()["hits"] > before["hits"]
        # late feedback (补报): 丁 verified at 20:00 on D, reported the next morning; the frozen value stays
        with Session(committed) as s:
            s.query(Lead).filter(Lead.id == lead_ids[4]).one().source_ref = "R4"
            report = import_outcomes(s, SYSTEM_ACTOR, rows=[Row(2, {
                "source_ref": "R4", "channel": "bigdata", "outcome": "排除", "managed_at": "2022-04-18 20:00"})])
            assert report[0].status == "accepted"
            s.commit()
        with Session(committed) as s:
            assert _kpi(s, "leads.cleared_same_day") == 0.4
        # a recompute (更正) is a new snapshot: the screen shows it at once
        with Session(committed) as s:
            command_service.take_snapshot(s, SYSTEM_ACTOR, day=DAY, recompute=True, reason="补报")
            s.commit()
        with Session(committed) as s:
            assert _kpi(s, "leads.cleared_same_day") == 0.6  # 3 of 5


def test_uncommitted_writes_bypass_the_cache(committed: Engine) -> None:
    with clock.frozen(CUTOFF - H), Session(committed) as s:
        assert _kpi(s, "leads.received") == 5
        ingest(s, NOW + 2 * H, {"name": "庚", "phone": "13800000007", "address": "幸福路12号3幢2单元301室"})
        assert _kpi(s, "leads.received") == 6  # this session sees its own lead
        s.rollback()
        assert _kpi(s, "leads.received") == 5  # rolled back: gone, and nothing of it was kept
