"""Small builders for intake tests: actors, a jurisdiction tree with a gazetteer, valid ID numbers."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people.identity import id_check_digit

#: permissions intake adds (until roles.py has them, tests build actors directly)
INTAKE_PERMISSIONS = frozenset({
    "lead.view", "lead.import", "lead.verify", "lead.export", "risk_area.manage", "person.split",
    "measure.start", "person.view", "person.edit", "person.unmask", "task.view", "task.work", "task.assign",
    "data.import", "data.export", "unit.view",
})

NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def actor_at(unit: Unit, *, permissions: frozenset[str] = INTAKE_PERMISSIONS, name: str = "worker",
             user_id: int | None = None) -> Actor:
    return Actor(user_id=user_id, username=name, role="grid", unit_id=unit.id, unit_path=unit.path,
                 permissions=permissions)


def make_id(region: str = "320412", born: str = "19700101", seq: str = "123") -> str:
    first = region + born + seq
    return first + id_check_digit(first)


def bad_check(id_number: str) -> str:
    """The same number with a wrong check digit."""
    wrong = "0" if id_number[-1] != "0" else "1"
    return id_number[:-1] + wrong


def random_ids(n: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rnd.randrange(30000))
        out.add(make_id("320412", born.strftime("%Y%m%d"), f"{rnd.randrange(1000):03d}"))
    return sorted(out)


class Tree:
    """root → district → street → community → two grids, with addresses on each grid."""

    def __init__(self, session: Session) -> None:
        s, a = session, SYSTEM_ACTOR
        self.root = jurisdictions_service.root_unit(s)
        self.district = jurisdictions_service.create_unit(s, a, code="320412", name="武进区", level="district",
                                                          parent_code=self.root.code)
        self.street = jurisdictions_service.create_unit(s, a, code="320412001", name="湖塘镇", level="street",
                                                        parent_code="320412")
        self.community = jurisdictions_service.create_unit(s, a, code="320412001001", name="幸福社区",
                                                           level="community", parent_code="320412001")
        self.grid1 = jurisdictions_service.create_unit(s, a, code="G1", name="幸福一网格", level="grid",
                                                       parent_code="320412001001")
        self.grid2 = jurisdictions_service.create_unit(s, a, code="G2", name="幸福二网格", level="grid",
                                                       parent_code="320412001001")
        self.addr1 = jurisdictions_service.add_address(s, a, text="幸福路12号3幢2单元301室", grid_code="G1")
        self.addr1b = jurisdictions_service.add_address(s, a, text="幸福路12号3幢2单元302室", grid_code="G1")
        self.addr2 = jurisdictions_service.add_address(s, a, text="和平路8号1幢1单元101室", grid_code="G2")
