"""A small city of sentinel sites for the surveillance tests: two districts, a fever clinic, a pharmacy
and a school in the first, a fever clinic in the second, counts from 1 March 2022."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.auth.roles import MATRIX
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.surveillance import service

NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
START = dt.date(2022, 3, 1)
OUTBREAK = dt.date(2022, 4, 12)


@dataclass
class City:
    city: Unit
    district: Unit
    other: Unit
    suffix: str


def build_city(session: Session, suffix: str = "") -> City:
    s = SYSTEM_ACTOR
    city = jurisdictions_service.create_unit(session, s, code=f"SVC{suffix}", name="监测区", level="district",
                                             parent_code=None)
    district = jurisdictions_service.create_unit(session, s, code=f"SVD{suffix}", name="东街道", level="street",
                                                 parent_code=city.code)
    other = jurisdictions_service.create_unit(session, s, code=f"SVO{suffix}", name="西街道", level="street",
                                              parent_code=city.code)
    for ref, name, kind, unit in ((f"FC{suffix}", "东区发热门诊", "fever_clinic", district),
                                  (f"PH{suffix}", "东区药店", "pharmacy", district),
                                  (f"SC{suffix}", "东区小学", "school", district),
                                  (f"FW{suffix}", "西区发热门诊", "fever_clinic", other)):
        service.register_site(session, s, ref=ref, name=name, kind=kind, unit_code=unit.code, active_from=START)
    session.flush()
    return City(city, district, other, suffix)


def daily_counts(suffix: str = "", *, until: dt.date = dt.date(2022, 4, 17), skip: tuple[dt.date, ...] = (),
                 seed: int = 1) -> list[dict[str, object]]:
    """Counts of every site and indicator; the east fever clinic's fever visits jump from 12 April."""
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    day = START
    while day <= until:
        fever = rng.randint(8, 14) + (25 if day >= OUTBREAK else 0)
        if day not in skip:
            out.append({"site_ref": f"FC{suffix}", "date": day.isoformat(), "indicator": "fever_visits", "count": fever})
        out.append({"site_ref": f"FC{suffix}", "date": day.isoformat(), "indicator": "ili_visits", "count": 4})
        out.append({"site_ref": f"FW{suffix}", "date": day.isoformat(), "indicator": "fever_visits",
                    "count": rng.randint(8, 14)})
        out.append({"site_ref": f"FW{suffix}", "date": day.isoformat(), "indicator": "ili_visits", "count": 4})
        for ind in ("drug_antipyretic", "drug_cough", "drug_antiviral", "drug_antibiotic"):
            out.append({"site_ref": f"PH{suffix}", "date": day.isoformat(), "indicator": ind, "count": 3})
        if day.weekday() < 5:
            out.append({"site_ref": f"SC{suffix}", "date": day.isoformat(), "indicator": "absent_ill", "count": 1})
        day += dt.timedelta(days=1)
    return out


def epidemiologist(unit: Unit, name: str = "epi") -> Actor:
    return Actor(user_id=None, username=name, role="epidemiologist", unit_id=unit.id, unit_path=unit.path,
                 permissions=frozenset(MATRIX["epidemiologist"]))


def reporter(unit: Unit, name: str = "staff") -> Actor:
    return Actor(user_id=None, username=name, role="enterprise", unit_id=unit.id, unit_path=unit.path,
                 permissions=frozenset(MATRIX["enterprise"]))
