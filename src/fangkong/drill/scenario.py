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

#: risk areas the demo declares: (county, places inside it or "" for the whole county, level)
AREAS: list[tuple[str, str, str]] = [
    ("上海市浦东新区", "", "high"),
    ("苏州市昆山市", "", "medium"),
    ("苏州市吴中区", "木渎镇", "medium"),  # the rest of 吴中区 is low-risk (derived)
]
#: (origin, the level it meets or None, category or None when the origin decides)
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


#: employer category (drill catalog) → key group of the default pack (应检尽检)
EMPLOYER_GROUPS: dict[str, str] = {
    "fever_clinic": "fever_clinic_emergency_staff", "testing_lab": "sampling_testing_staff",
    "quarantine_staff": "quarantine_site_staff", "port": "port_imported_goods_staff",
    "cold_chain_warehouse": "cold_chain_warehouse_staff", "imported_goods": "imported_cold_chain_fruit_handler",
    "international_mail": "international_mail_express_staff", "logistics": "truck_driver",
    "courier": "courier_delivery_rider", "public_transport": "public_transport_taxi_driver",
    "pharmacy": "pharmacy_staff", "supermarket": "supermarket_market_staff", "market": "supermarket_market_staff",
    "hotel": "hotel_staff", "entertainment": "entertainment_venue_staff",
    "construction_site": "construction_site_worker", "sanitation": "sanitation_worker", "care_home": "care_home_staff",
    "prison": "prison_staff", "school": "school_staff", "factory": "labour_intensive_factory_worker",
}
#: the demo enrols at most this many members: it illustrates the loop, it is not a load test
MAX_MEMBERS = 1500
#: the demo's leads arrive over this many hours before now
RECEIPT_HOURS = 14
#: a verified lead is verified up to this many hours after its receipt
VERIFY_HOURS = 10


@dataclass
class ScenarioStats:
    risk_areas: int = 0
    leads: dict[str, int] = field(default_factory=dict)
    verified: int = 0
    members: int = 0
    samples: int = 0
    positive_pools: int = 0


def seed_scenario(session: Session, *, leads: int, seed: int, verified_share: float = 0.5) -> ScenarioStats:
    """Risk areas and `leads` leads across the external channels, received over the last
    `RECEIPT_HOURS` hours; `verified_share` of the accepted ones visited up to `VERIFY_HOURS` after
    receipt and, where that time has come, verified as found at home or sent to a site (measure
    started)."""
    from fangkong.intake import service as intake_service
    from fangkong.intake.service.ingest import LeadItem
    from fangkong.kernel.policy import service as policy_service

    rng = random.Random(seed)
    now = clock.now()
    stats = ScenarioStats()
    pack = policy_service.active_pack(session)
    # only what the active pack defines: no medium areas or secondary contacts under the 二十条
    origins = [(o, lv if lv and pack.has_level(lv) else None, c if c and pack.has_category(c) else None)
               for o, lv, c in ORIGINS]
    for county, places, level in AREAS:
        if not pack.has_level(level):
            continue
        intake_service.add_risk_area(session, SYSTEM_ACTOR, region_name=county, place=places or None, level=level,
                                     start_at=now - dt.timedelta(days=5), source="演示数据")
        stats.risk_areas += 1
    max_id = session.execute(select(func.max(Person.id))).scalar() or 0
    if max_id == 0 or leads <= 0:
        return stats
    # leads arrive over the last half day, in hourly batches per channel (as pushes do), and a share is
    # verified some hours after its receipt: the clocks and the daily clearance show real hours, and the
    # leads whose verification would fall after now are still waiting
    by_batch: dict[tuple[dt.datetime, str], list[LeadItem]] = {}
    for n in range(1, leads + 1):
        channel = rng.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
        origin, _level, category = rng.choice(origins)
        received = now - dt.timedelta(hours=rng.randint(0, RECEIPT_HOURS - 1), minutes=20)
        values = {"origin": origin, "transport": rng.choice(TRANSPORT), "reason": "探亲" if n % 3 else "返岗",
                  "arrival_at": clock.iso_local(received - dt.timedelta(hours=rng.randint(1, 48))),
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
        by_batch.setdefault((received, channel), []).append(LeadItem(number=n, values=values))
    accepted: list[tuple[int, dt.datetime]] = []
    for (received, channel), items in sorted(by_batch.items(), key=lambda kv: (kv[0][0], list(CHANNELS).index(
            kv[0][1]))):
        with clock.frozen(received):
            result = intake_service.ingest_leads(session, SYSTEM_ACTOR, channel=channel, items=items,
                                                 via="demo", filename="demo-scenario")
        stats.leads[channel] = stats.leads.get(channel, 0) + sum(1 for r in result.rows if r.status == "accepted")
        accepted += [(int(r.extra["lead_id"]), received) for r in result.rows
                     if r.status == "accepted" and r.extra.get("lead_id")]
    site = session.execute(select(Place.id).where(Place.kind == "quarantine_site").order_by(Place.id)).scalar()
    visits = [(received + dt.timedelta(minutes=rng.randint(20, VERIFY_HOURS * 60)), lead_id)
              for lead_id, received in accepted if rng.random() < verified_share]
    for at, lead_id in sorted(visits):
        if at > now:
            continue  # the grid worker has not been yet
        lead = intake_service.get_lead(session, SYSTEM_ACTOR, lead_id)
        to_site = lead.measure_code == "centralised_quarantine" and site is not None
        try:
            with clock.frozen(at):
                intake_service.record_verification(
                    session, SYSTEM_ACTOR, lead_id=lead_id, outcome_code="found_site" if to_site else "found_home",
                    site_place_id=site if to_site else None,
                    four_checks={"headcount": 1 + lead_id % 4, "identity": True,
                                 "location": "隔离点" if to_site else "家中",
                                 "control": "集中隔离" if to_site else "居家"},
                    note="演示数据")
            stats.verified += 1
        except DomainError:  # e.g. a lead closed by its decision: no verification task to record
            continue
    _key_groups(session, rng, stats)
    return stats


def _key_groups(session: Session, rng: random.Random, stats: ScenarioStats) -> None:
    """Employees of key-group employers on their group's list (some employers declare more than they
    enrol: coverage gaps), most of them sampled yesterday in 10-in-1 pools with negative results, and
    one positive pool — which puts its ten persons under temporary control with retest tasks."""
    from fangkong.kernel.policy import service as policy_service
    from fangkong.testing import service as testing_service
    from fangkong.testing.service import single_tube
    from fangkong.testing.service.results import ResultItem
    from fangkong.testing.service.sampling import SampleItem

    now = clock.now()
    pack = policy_service.active_pack(session)
    groups = {g.code for g in pack.key_groups}
    employers = session.execute(select(Place).where(Place.kind == "employer",
                                                    Place.category.in_(list(EMPLOYER_GROUPS)))
                                .order_by(Place.id)).scalars().all()
    point = session.execute(select(Place.code).where(Place.kind == "sampling_point").order_by(Place.id)).scalar()
    members: list[tuple[Person, str]] = []
    for employer in employers:
        group = EMPLOYER_GROUPS[employer.category or ""]
        if group not in groups:  # a group the active pack does not test (新十条: fewer groups)
            continue
        staff = session.execute(select(Person).where(Person.employer_id == employer.id).order_by(Person.id)
                                .limit(max(0, MAX_MEMBERS - len(members)))).scalars().all()
        if staff:
            # the employer's roster, as its file arrives (`fangkong import roster`): one bulk enrolment
            # and one audit entry per employer
            testing_service.enrol_roster(session, SYSTEM_ACTOR, items=[
                testing_service.RosterItem(n + 1, p.name, crypto.decrypt(p.id_number_enc) if p.id_number_enc else None,
                                           crypto.decrypt(p.phone_enc) if p.phone_enc else None)
                for n, p in enumerate(staff)], group_code=group, employer_ref=employer.code, via="demo",
                filename="demo-scenario")
            members += [(person, group) for person in staff]
            gap = rng.choice([0, 0, 1, 3])  # some employers have people not yet on the list (应纳尽纳)
            testing_service.declare_headcount(session, SYSTEM_ACTOR, employer_id=employer.id, group_code=group,
                                              declared=len(staff) + gap)
        if len(members) >= MAX_MEMBERS:
            break
    stats.members = len(members)
    if not members or point is None:
        return
    sampled = [(p, g) for p, g in members if rng.random() < 0.8 and (p.id_number_enc or p.phone_enc)]
    # persons the pack keeps out of pooled tubes (under a measure, close contacts …) get one of their own
    limits = single_tube.limits(session, pack, [p.id for p, _g in sampled])
    items: list[SampleItem] = []
    tubes: list[str] = []
    singles: list[str] = []
    pooled = 0
    for n, (person, _group) in enumerate(sampled):
        limit = limits.get(person.id)
        if limit is not None and limit.size < 10:
            singles.append(f"DEMOS{len(singles) + 1:05d}")
            barcode, size = singles[-1], "1"
        else:
            if pooled % 10 == 0:
                tubes.append(f"DEMO{len(tubes) + 1:06d}")
            pooled += 1
            barcode, size = tubes[-1], "10"
        ident = ({"id_number": crypto.decrypt(person.id_number_enc)} if person.id_number_enc
                 else {"phone": crypto.decrypt(person.phone_enc)})
        items.append(SampleItem(n + 1, {"tube_barcode": barcode, "pool_size": size, "name": person.name or "",
                                        "collected_at": clock.iso_local(now - dt.timedelta(hours=20)),
                                        "sampling_point": point, **ident}))
    rows = testing_service.ingest_samples(session, SYSTEM_ACTOR, items=items, via="demo", filename="demo-scenario")
    stats.samples = sum(1 for r in rows if r.status == "accepted")
    if not tubes:
        return
    positive = rng.randrange(len(tubes))
    results = [ResultItem(i + 1, {"tube_barcode": code, "result": "阳性" if i == positive else "阴性",
                                  "lab": "演示检测实验室", "reported_at": clock.iso_local(now - dt.timedelta(hours=8))})
               for i, code in enumerate(tubes + singles)]
    testing_service.ingest_results(session, SYSTEM_ACTOR, items=results, via="demo", filename="demo-scenario")
    stats.positive_pools = 1
