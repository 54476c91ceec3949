"""A demo world with something on every page (for the "no untranslated text" test): the demo city and
its starting situation, leads with identity issues, a case with contacts and interview places, a
pending case candidate, venue scans and a flagged venue, and an admin who sees all of it.

Everything goes through the services, as the system, under the frozen clock the caller holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.drill.city import generate_city
from fangkong.drill.scenario import seed_scenario
from fangkong.intake import service as intake_service
from fangkong.intake.models import Lead
from fangkong.intake.service.ingest import LeadItem
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import crypto
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.tasks.models import Task
from fangkong.testing import service as testing_service
from fangkong.testing.service.results import ResultItem
from fangkong.tracing import service as tracing_service
from fangkong.venues.service import codes as codes_service
from fangkong.venues.service import scans as scans_service
from fangkong.venues.service import venues as venues_service
from fangkong.venues.service.scans import ScanItem

NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct-horse-9"
ADMIN = "admin1"
GRID = "grid1"


@dataclass
class ZhWorld:
    case_id: int
    contact_id: int
    lead_with_issues: int
    venue_id: int
    venue_token: str
    tube: str
    person_id: int
    grid_unit_id: int
    task_id: int


def _people(session: Session, n: int) -> list[Person]:
    return list(session.execute(select(Person).where(Person.id_number_enc.is_not(None),
                                                     Person.phone_enc.is_not(None))
                                .order_by(Person.id).limit(n)).scalars())


def build_zh_world(session: Session) -> ZhWorld:
    s = SYSTEM_ACTOR
    generate_city(session, persons=500, seed=7)
    seed_scenario(session, leads=50, seed=7)
    root = session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).scalars().first()
    assert root is not None
    auth_service.create_user(session, s, username=ADMIN, role="admin", unit_code=root.code, password=PASSWORD,
                             display_name="管理员")
    # leads whose identity fields have issues (a wrong check digit, a short phone), stored with the lead
    bad = intake_service.ingest_leads(session, s, channel="community", via="page", filename="排查名单.xlsx", items=[
        LeadItem(1, {"name": "钱问题", "id_number": "320412198503121230", "phone": "12345",
                     "origin": "上海市浦东新区", "address": "湖塘镇花园路9号", "arrival_at": "2022-04-17 10:00",
                     "source_ref": "ZH-1"}, extra={"备注": "社区排查"}),
    ])
    lead_id = int(bad.rows[0].extra["lead_id"])
    people = _people(session, 6)
    subject, covisitor = people[0], people[2]
    grid = session.get(Unit, subject.unit_id)
    assert grid is not None
    auth_service.create_user(session, s, username=GRID, role="grid", unit_code=grid.code, password=PASSWORD,
                             display_name="网格员甲")
    # venue scans: the subject and a co-visitor ten minutes apart, two days ago
    venue = session.execute(select(Place).where(Place.kind == "venue").order_by(Place.id)).scalars().first()
    assert venue is not None
    token = codes_service.issue_code(session, s, place_id=venue.id).token
    t = clock.now() - dt.timedelta(days=2)
    scans_service.record_scans(session, s, source="api", items=[
        ScanItem(1, place_id=venue.id, phone=crypto.decrypt(subject.phone_enc), scanned_at=t.isoformat(),
                 request_id="zh-1"),
        ScanItem(2, place_id=venue.id, phone=crypto.decrypt(covisitor.phone_enc),
                 scanned_at=(t + dt.timedelta(minutes=10)).isoformat(), request_id="zh-2")])
    venues_service.flag_venue(session, s, place_id=venue.id, reason="未落实扫码查验")
    # a single-tube positive → a case candidate, confirmed as a case; a second one left pending
    point = session.execute(select(Place).where(Place.kind == "sampling_point").order_by(Place.id)).scalars().first()
    assert point is not None
    for n, person in enumerate((subject, people[3]), start=1):
        barcode = f"ZH{n:06d}"
        testing_service.open_tube(session, s, barcode=barcode, pool_size=1, sampling_point_id=point.id)
        testing_service.add_sample(session, s, barcode=barcode, person=crypto.decrypt(person.id_number_enc),
                                   collected_at=clock.now() - dt.timedelta(hours=8))
        testing_service.ingest_results(session, s, items=[ResultItem(1, {
            "tube_barcode": barcode, "result": "阳性", "ct": "28", "lab": "市检测中心",
            "reported_at": clock.iso_local(clock.now() - dt.timedelta(hours=1))})])
    # an open tube with one sample, for the tube page
    testing_service.open_tube(session, s, barcode="ZHOPEN01", pool_size=10, sampling_point_id=point.id)
    testing_service.add_sample(session, s, barcode="ZHOPEN01", person=crypto.decrypt(people[4].id_number_enc))
    candidates = tracing_service.pending_candidates(session, s)
    cand = next(c for c, p in candidates if p.id == subject.id)
    case = tracing_service.confirm_candidate(session, s, candidate_id=cand.id, classification="asymptomatic")
    inv = tracing_service.investigation_of(session, s, case.id)
    items = [tracing_service.ContactItem(kind="household", person_id=p.person_id) for p in inv.household[:1]]
    items += [tracing_service.ContactItem(kind="colocation", person_id=h.person_id, venue_id=h.venue_id)
              for h in (inv.hits or [])[:1]]
    items.append(tracing_service.ContactItem(kind="named", name="孙接触", phone="13900001111",
                                             relation="同事", last_contact_at=clock.now() - dt.timedelta(days=1)))
    reports = tracing_service.confirm_contacts(session, s, case_id=case.id, items=items)
    tracing_service.add_place(session, s, case_id=case.id, name="花园菜市场", address="湖塘镇花园路8号",
                              visited_from=clock.now() - dt.timedelta(days=2, hours=1),
                              visited_until=clock.now() - dt.timedelta(days=2))
    tracing_service.record_milestone(session, s, case_id=case.id, step="core")
    task = session.execute(select(Task.id).where(Task.status == "open").order_by(Task.id)).scalars().first()
    session.flush()
    assert session.get(Lead, lead_id) is not None and task is not None
    assert reports[0].contact_id is not None, reports
    return ZhWorld(case_id=case.id, contact_id=reports[0].contact_id, lead_with_issues=lead_id,
                   venue_id=venue.id, venue_token=token, tube="ZHOPEN01", person_id=subject.id,
                   grid_unit_id=grid.id, task_id=task)
