"""A small tree for the command-centre tests: city → district D1 (street S1: grids G1, G2) and D2."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fangkong.intake.models import Lead
from fangkong.intake.service import LeadItem, ingest_leads, record_verification
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.auth.roles import MATRIX
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit

TZ = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2022, 4, 18)
NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=TZ)
CUTOFF = dt.datetime(2022, 4, 19, 0, 0, tzinfo=TZ)
H = dt.timedelta(hours=1)
ADDR1 = "幸福路12号3幢2单元301室"
ADDR2 = "和平路8号1幢1单元101室"


def actor(unit: Unit, role: str = "command", name: str = "chief") -> Actor:
    return Actor(user_id=None, username=name, role=role, unit_id=unit.id, unit_path=unit.path,
                 permissions=frozenset(MATRIX[role]))


@dataclass
class Tree:
    root: Unit
    d1: Unit
    s1: Unit
    g1: Unit
    g2: Unit
    d2: Unit


def build_tree(session: Session) -> Tree:
    s = SYSTEM_ACTOR
    root = jurisdictions_service.root_unit(session)

    def unit(code: str, name: str, level: str, parent: Unit) -> Unit:
        return jurisdictions_service.create_unit(session, s, code=code, name=name, level=level, parent_code=parent.code)

    d1 = unit("D1", "甲区", "district", root)
    s1 = unit("S1", "甲街道", "street", d1)
    g1 = unit("G1", "一网格", "grid", s1)
    g2 = unit("G2", "二网格", "grid", s1)
    d2 = unit("D2", "乙区", "district", root)
    jurisdictions_service.add_address(session, s, text=ADDR1, grid_code="G1")
    jurisdictions_service.add_address(session, s, text=ADDR2, grid_code="G2")
    return Tree(root, d1, s1, g1, g2, d2)


def ingest(session: Session, at: dt.datetime, *values: dict[str, str], channel: str = "bigdata") -> list[Lead]:
    with clock.frozen(at):
        res = ingest_leads(session, actor(jurisdictions_service.root_unit(session)), channel=channel,
                           items=[LeadItem(i + 1, v) for i, v in enumerate(values)])
    return [session.get(Lead, r.extra["lead_id"]) for r in res.rows]


def verify(session: Session, unit: Unit, lead: Lead, outcome: str, at: dt.datetime) -> None:
    with clock.frozen(at):
        record_verification(session, actor(unit, "grid", "grid worker"), lead_id=lead.id, outcome_code=outcome)


def leads_of_the_day(session: Session, tree: Tree) -> list[Lead]:
    """L0 the day before at G1 (never verified); L1–L4 at G1 and L5 at G2 on day D at 09:00; L1 verified
    at 10:00, L2 at 12:00, L3 at 02:00 the next day (after the cut-off); L4 and L5 never."""
    (l0,) = ingest(session, NOW - 24 * H, {"name": "前一天", "phone": "13700000000", "address": ADDR1})
    l1, l2, l3, l4, l5 = ingest(session, NOW, *[{"name": n, "phone": p, "address": a} for n, p, a in [
        ("甲", "13800000001", ADDR1), ("乙", "13800000002", ADDR1), ("丙", "13800000003", ADDR1),
        ("丁", "13800000004", ADDR1), ("戊", "13800000005", ADDR2)]])
    verify(session, tree.g1, l1, "false_lead", NOW + H)
    verify(session, tree.g1, l2, "false_lead", NOW + 3 * H)
    verify(session, tree.g1, l3, "false_lead", NOW + 17 * H)
    return [l0, l1, l2, l3, l4, l5]
