"""A starting situation for the demo city (演示态势): risk areas and a day of key-person leads.

Without it a fresh demo has empty inboxes and nothing to clear. Leads arrive through intake's own
ingestion, exactly as files and the API deliver them, so every lead is resolved, decided and given a
verification task by the real services; a share is then verified so the clocks and the daily
clearance have something to show. Deterministic for a seed (the clock is the platform's).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import DomainError
from fangkong.kernel.people import crypto
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place

#: (origin, risk level or None, category or None when the origin decides)
ORIGINS: list[tuple[str, str | None, str | None]] = [
    ("上海市浦东新区", "high", None),
    ("苏州市昆山市", "medium", None),
    ("苏州市吴中区", "low", None),
    ("南京市玄武区", None, None),
    ("境外(新加坡)", None, "inbound_traveller"),
    ("本市", None, "close_contact"),
    ("本市", None, "secondary_contact"),
]
#: channel → weight
CHANNELS: dict[str, int] = {"bigdata": 40, "telecom": 20, "community": 20, "self": 10, "employer": 5, "tip": 5}
TRANSPORT = ["自驾", "高铁", "长途客车", "飞机", "货车"]
NEW_NAMES = ["林晓东", "周敏", "陳偉", "赵 磊", "孙丽华", "钱建国", "吴芳", "郑浩"]


@dataclass
class ScenarioStats:
    risk_areas: int = 0
    leads: dict[str, int] = field(default_factory=dict)
    verified: int = 0


def seed_scenario(session: Session, *, leads: int, seed: int, verified_share: float = 0.4) -> ScenarioStats:
    """Risk areas and `leads` leads across the external channels; `verified_share` of the accepted
    ones verified as found at home (measure started)."""
    from fangkong.intake import service as intake_service
    from fangkong.intake.models import Lead
    from fangkong.intake.service.ingest import LeadItem

    rng = random.Random(seed)
    now = clock.now()
    stats = ScenarioStats()
    for origin, level, _category in ORIGINS:
        if level:
            intake_service.add_risk_area(session, SYSTEM_ACTOR, region_name=origin, level=level,
                                         start_at=now - dt.timedelta(days=5), source="演示数据")
            stats.risk_areas += 1
    max_id = session.execute(select(func.max(Person.id))).scalar() or 0
    if max_id == 0 or leads <= 0:
        return stats
    by_channel: dict[str, list[LeadItem]] = {c: [] for c in CHANNELS}
    for n in range(1, leads + 1):
        channel = rng.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
        origin, _level, category = rng.choice(ORIGINS)
        values = {"origin": origin, "transport": rng.choice(TRANSPORT), "reason": "探亲" if n % 3 else "返岗",
                  "arrival_at": clock.iso_local(now - dt.timedelta(hours=rng.randint(2, 60))),
                  "source_ref": f"DEMO-{channel}-{n:05d}"}
        if category:
            values["category"] = category
        person = session.get(Person, rng.randint(1, max_id)) if rng.random() < 0.8 else None
        if person is not None:  # someone already in the registry, reported by ID or only by phone
            values["name"] = person.name or ""
            values["address"] = person.address_text or ""
            if person.id_number_enc and rng.random() < 0.7:
                values["id_number"] = crypto.decrypt(person.id_number_enc)
            if person.phone_enc:
                values["phone"] = crypto.decrypt(person.phone_enc)
        else:  # a newcomer staying at a known address
            host = session.get(Person, rng.randint(1, max_id))
            values["name"] = rng.choice(NEW_NAMES)
            values["phone"] = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
            values["address"] = (host.address_text if host else "") or ""
        by_channel[channel].append(LeadItem(number=n, values=values))
    accepted: list[int] = []
    for channel, items in by_channel.items():
        if not items:
            continue
        result = intake_service.ingest_leads(session, SYSTEM_ACTOR, channel=channel, items=items,
                                             via="demo", filename="demo-scenario")
        stats.leads[channel] = sum(1 for r in result.rows if r.status == "accepted")
        accepted += [int(r.extra["lead_id"]) for r in result.rows if r.status == "accepted" and r.extra.get("lead_id")]
    site = session.execute(select(Place.id).where(Place.kind == "quarantine_site").order_by(Place.id)).scalar()
    for lead_id in accepted:
        if rng.random() < verified_share:
            lead = session.get(Lead, lead_id)
            to_site = lead is not None and lead.measure_code == "centralised_quarantine" and site is not None
            try:
                intake_service.record_verification(
                    session, SYSTEM_ACTOR, lead_id=lead_id, outcome_code="found_site" if to_site else "found_home",
                    site_place_id=site if to_site else None,
                    four_checks={"reached": True, "identity": True, "location": "隔离点" if to_site else "家中",
                                 "control": "集中隔离" if to_site else "居家"},
                    note="演示数据")
                stats.verified += 1
            except DomainError:  # e.g. a lead closed by its decision: no verification task to record
                continue
    return stats
