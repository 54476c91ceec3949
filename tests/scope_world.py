"""The probe world of the scope tests (属地测试世界): the demo city plus a branch whose units carry rows
of every kind, and one user per role placed in it, each with a bearer token.

Shared by tests/test_scope_everywhere.py (every GET list and row) and tests/test_authorization_matrix.py
(every operation, every method): each module builds its own world (`build_world`) inside one outer
transaction that is rolled back at the end, so what one module's requests change never reaches the other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.checkpoints.epass import service as epass_service
from fangkong.checkpoints.service import checkpoints as checkpoints_service
from fangkong.checkpoints.service import records as checkpoint_records
from fangkong.control import links as checkin_links
from fangkong.control import service as control_service
from fangkong.control.models import Measure
from fangkong.drill.city import generate_city
from fangkong.drill.scenario import seed_scenario
from fangkong.intake import imports as intake_imports
from fangkong.intake import service as intake_service
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.auth.roles import ROLES
from fangkong.kernel.imports import service as imports_service
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import id_check_digit
from fangkong.kernel.places import service as places_service
from fangkong.kernel.tasks.models import Task
from fangkong.settings import reset_settings_cache
from fangkong.surveillance import service as surveillance_service
from fangkong.surveillance.models import Signal
from fangkong.testing import service as testing_service
from fangkong.testing.service.results import ResultItem
from fangkong.tracing import service as tracing_service
from fangkong.venues import service as venues_service
from fangkong.venues.service import codes as codes_service
from fangkong.venues.service import scans as scans_service
from fangkong.venues.service.scans import ScanItem
from fangkong.zones import service as zones_service

NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct-horse-9"

# --- the probe branch -----------------------------------------------------------------------------------
#: key → (parent key, level); "R" is the root unit
TREE: dict[str, tuple[str, str]] = {
    "D": ("R", "district"), "S": ("D", "street"), "C": ("S", "community"), "G": ("C", "grid"), "G2": ("C", "grid"),
    "C3": ("S", "community"), "G3": ("C3", "grid"),
    "S4": ("D", "street"), "C4": ("S4", "community"), "G4": ("C4", "grid"),
    "D5": ("R", "district"), "S5": ("D5", "street"), "C5": ("S5", "community"), "G5": ("C5", "grid"),
}
#: units that get rows of every kind: the own grid, the siblings of each placement, the parents
FED = ("G", "G2", "G3", "G4", "G5", "C", "S", "D", "R")
#: where a user sits → (own rows, sibling rows, parent rows)
RELATIONS: dict[str, tuple[str, str, str]] = {"G": ("G", "G2", "C"), "C": ("G", "G3", "S"), "S": ("G", "G4", "D"),
                                              "D": ("G", "G5", "R")}
#: a role's user sits at its own level of the administrative chain; city-wide roles at a district, so
#: that they too have a sibling and a parent; every other role at a community
PLACEMENT: dict[str, str] = {"grid": "G", "community": "C", "street": "S", "district": "D", "command": "D",
                             "admin": "D"}


def row_token(key: str) -> str:
    return f"Qz{key}Qx"


def unit_token(key: str) -> str:
    return f"Uz{key}Ux"


def subtree_keys(key: str) -> set[str]:
    out = {key}
    changed = True
    while changed:
        changed = False
        for k, (parent, _level) in TREE.items():
            if parent in out and k not in out:
                out.add(k)
                changed = True
    return out


@dataclass
class Fed:
    """What one unit of the branch holds (ids for detail routes and links)."""

    values: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, set[Any]] = field(default_factory=dict)

    def add(self, kind: str, value: Any, *, main: bool = True) -> None:
        self.ids.setdefault(kind, set()).add(value)
        if main:
            self.values.setdefault(kind, value)


@dataclass
class World:
    units: dict[str, Unit]
    fed: dict[str, Fed]
    tokens: dict[str, str]  # role → bearer token
    client: TestClient
    conn: Connection  # the world's connection: a test may wrap requests in a savepoint and roll them back


def valid_id(n: int) -> str:
    first = f"32041219800101{n:03d}"
    return first + id_check_digit(first)


def phone_number(n: int) -> str:
    return f"1370000{n:04d}"


def _feed(session: Session, factory: sessionmaker[Session], key: str, unit: Unit, n: int) -> Fed:
    """Rows of every kind at `unit`, named with its token, through each capability's services."""
    s, t, fed = SYSTEM_ACTOR, row_token(key), Fed()
    fed.add("unit_id", unit.id)
    fed.add("code", unit.code)
    # persons: one to verify (a measure follows), one left open (its task stays in the inbox)
    p1 = people_service.register_person(session, s, name=f"张{t}", id_number=valid_id(n), phone=phone_number(n),
                                        unit_id=unit.id)
    p2 = people_service.register_person(session, s, name=f"李{t}", id_number=valid_id(n + 1), phone=phone_number(n + 1),
                                        unit_id=unit.id)
    fed.add("person_id", p1.id)
    fed.add("person_id", p2.id, main=False)
    fed.add("phone", phone_number(n))
    fed.add("phone", phone_number(n + 1), main=False)
    fed.add("id_number", valid_id(n))
    result = intake_service.ingest_leads(session, s, channel="bigdata", items=[
        intake_service.LeadItem(i + 1, {"name": p.name or "", "id_number": valid_id(n + i), "phone": phone_number(n + i),
                                        "origin": "苏州市昆山市", "source_ref": f"scope-{key}-{i}"})
        for i, p in enumerate((p1, p2))])
    lead1, lead2 = (r.extra["lead_id"] for r in result.rows)
    intake_service.record_verification(session, s, lead_id=lead1, outcome_code="found_home",
                                       four_checks={"headcount": 1, "identity": True})
    fed.add("lead_id", lead2)
    fed.add("lead_id", lead1, main=False)
    task_id = session.execute(select(Task.id).where(Task.subject_type == "lead", Task.subject_id == lead2)
                              ).scalar_one()
    fed.add("task_id", task_id)
    # control: the verified person's measure (started by the verification, else here) and its phone link
    measure = session.execute(select(Measure).where(Measure.person_id == p1.id)).scalars().first()
    if measure is None:
        measure = control_service.start_measure(session, s, person_id=p1.id, category="close_contact",
                                                rule="categories.close_contact", started_at=NOW - dt.timedelta(days=1))
    fed.add("measure_id", measure.id)
    fed.add("link", checkin_links.make_token(measure.id))
    # places: an employer of a key group, a venue, a sampling point
    employer = places_service.create_place(session, s, kind="employer", name=f"{t}快递站", code=f"EMP{t}",
                                           category="courier_delivery_rider", unit_id=unit.id)
    venue = places_service.create_place(session, s, kind="venue", name=f"{t}菜市场", ref=f"VSC{n}",
                                        category="market", capacity=500, unit_id=unit.id)
    point = places_service.create_place(session, s, kind="sampling_point", name=f"{t}采样点", code=f"SMPSC{n}",
                                        unit_id=unit.id)
    fed.add("venue_id", venue.id)
    fed.add("employer_id", employer.id)
    fed.add("place_id", point.id)
    # testing: a member of a key group with a declared headcount; a negative and a positive single tube
    testing_service.enrol(session, s, person_id=p1.id, group_code="courier_delivery_rider", employer_id=employer.id)
    testing_service.declare_headcount(session, s, employer_id=employer.id, group_code="courier_delivery_rider",
                                      declared=5)
    for i, result_word in enumerate(("阴性", "阳性")):  # p1 negative, p2 positive
        barcode = f"SC{n}-{i}"
        testing_service.open_tube(session, s, barcode=barcode, pool_size=1, sampling_point_id=point.id)
        testing_service.add_sample(session, s, barcode=barcode, person=valid_id(n + i),
                                   collected_at=NOW - dt.timedelta(hours=8))
        testing_service.ingest_results(session, s, items=[ResultItem(1, {
            "tube_barcode": barcode, "result": result_word, "lab": f"{t}检测所",
            "reported_at": (NOW - dt.timedelta(hours=1)).isoformat()})])
        fed.add("barcode", barcode, main=False)
    # checkpoints: a truck e-pass whose driver is p1 (negative 8 h ago), issued at the unit
    issuer = dataclasses.replace(s, unit_id=unit.id, unit_path=unit.path)
    [issued] = epass_service.issue_passes(session, issuer, [epass_service.Application(1, {
        "request_id": f"scope-{key}", "plate": f"苏D{n:05d}", "origin": "310115", "destination": "320411",
        "valid_from": NOW.isoformat(), "driver_name": f"张{t}", "driver_id_number": valid_id(n)})])
    assert issued.epass is not None, issued.report.issues
    fed.add("no", issued.epass.no)
    # an open tube at the sampling point, still taking samples
    testing_service.open_tube(session, s, barcode=f"SCO{n}", pool_size=5, sampling_point_id=point.id)
    fed.add("barcode", f"SCO{n}")
    # venues: the current code, and the two persons' scans
    code = codes_service.issue_code(session, s, place_id=venue.id)
    fed.add("token", code.token)
    scans_service.record_scans(session, s, source="api", items=[
        ScanItem(i + 1, place_id=venue.id, phone=phone_number(n + i), scanned_at=(NOW - dt.timedelta(days=1, hours=i)
                                                                             ).isoformat(),
                 request_id=f"scope-{key}-{i}") for i in range(2)])
    # tracing: the positive person is a case; the other person a named contact
    candidates = [c for c, p in tracing_service.pending_candidates(session, s) if p.id == p2.id]
    case = tracing_service.confirm_candidate(session, s, candidate_id=candidates[0].id, classification="asymptomatic")
    reports = tracing_service.confirm_contacts(session, s, case_id=case.id, items=[
        tracing_service.ContactItem(kind="named", name=p1.name, phone=phone_number(n), relation="同事",
                                    last_contact_at=NOW - dt.timedelta(days=1))])
    fed.add("case_id", case.id)
    fed.add("candidate_id", candidates[0].id)
    fed.add("contact_id", reports[0].contact_id)
    # control: a quarantine site with a room, and a close contact's planned measure awaiting a room
    from fangkong.control.sites.service import sites as sites_service

    # (its name without the unit's token: sites are city-wide, every lead page lists their names)
    qsite = sites_service.register_site(session, s, name=f"隔离酒店{n}", ref=f"QS{t}", unit_id=unit.id,
                                        contacts=f"{t}站长")
    room = sites_service.add_room(session, s, site_id=qsite.place_id, building="A", floor=1, number=str(n))
    p3 = people_service.register_person(session, s, name=f"赵{t}", id_number=valid_id(n + 3),
                                        phone=phone_number(n + 3), unit_id=unit.id)
    waiting = control_service.start_measure(session, s, person_id=p3.id, category="close_contact",
                                            rule="categories.close_contact", planned=True)
    fed.add("site_id", qsite.place_id)
    fed.add("room_id", room.id)
    fed.add("measure_id", waiting.id)
    # an inspector's finding on the venue (still open)
    fed.add("flag_id", venues_service.flag_venue(session, s, place_id=venue.id, reason=f"{t}未扫码").id)
    # an order (指令) to the unit from the root (the root's own: to a demo-city district outside the tree)
    from fangkong.command.service import orders as orders_service

    to = unit.code if unit.parent_id is not None else session.execute(
        select(Unit.code).where(Unit.level == "district", ~Unit.code.like("SCOPE%")).order_by(Unit.id).limit(1)
    ).scalar_one()
    fed.add("order_id", orders_service.issue_order(session, s, title=f"{t}指令", to=[to]).id)
    # a finding of an inspection at the unit, its rectification closed with evidence (awaiting verification)
    from fangkong.command.service import inspections as inspections_service

    finding, rect = inspections_service.record_finding(session, s, kind="onsite", unit_code=unit.code,
                                                       item="register_missing", severity="low", note=f"{t}台账",
                                                       photo_files=[inspections_service.Evidence(
                                                           f"{t}.png", b"\x89PNG\r\n\x1a\n" + t.encode())])
    inspections_service.close(session, s, rect_id=rect.id, evidence=inspections_service.Evidence(
        f"{t}.jpg", b"scope"), note=f"{t}已整改")
    fed.add("finding_id", finding.id)
    fed.add("n", 1)  # the finding's first photo
    from fangkong.command.service import geometry as geometry_service
    from fangkong.command.service import plans as plans_service

    geometry_service.store_outline(session, s, unit=unit, shape={"type": "Polygon", "coordinates": [
        [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]})

    fed.add("plan_id", plans_service.create_plan(session, s, title=f"{t}暗访", level="district", under=None, size=1,
                                                 team=[]).id)
    fed.add("rect_id", rect.id)
    # checkpoints: a checkpoint of the unit and a truck's trip through it
    checkpoints_service.create_checkpoint(session, s, name=f"{t}卡口", kind="road", ref=f"CPSC{n}", unit_id=unit.id)
    cp_rows = checkpoint_records.record_items(session, s, items=[checkpoint_records.RecordItem(1, {
        "record_ref": f"scope-cp-{key}", "checkpoint": f"CPSC{n}", "direction": "in", "plate": f"苏D{n:05d}",
        "inspected_at": (NOW - dt.timedelta(hours=2)).isoformat(), "vehicle_type": "truck",
        "epass_no": f"3204000{n:05d}"})])
    fed.add("trip_id", cp_rows[0].extra["trip_id"])
    checkpoints_service.create_checkpoint(session, s, name=f"{t}服务区", kind="service_area", ref=f"SASC{n}",
                                          unit_id=unit.id)
    checkpoint_records.record_items(session, s, items=[checkpoint_records.RecordItem(i, {
        "record_ref": f"scope-sa-{key}-{i}", "checkpoint": f"SASC{n}", "direction": "seen", "plate": f"苏E{n:05d}",
        "inspected_at": (NOW - dt.timedelta(hours=h)).isoformat()}) for i, h in enumerate((10, 3), 1)])
    # a user of the unit: their own audited actions, and an import job of theirs
    username = f"u{t}"
    auth_service.create_user(session, s, username=username, role="checkpoint", unit_code=unit.code,
                             password=PASSWORD)
    session.flush()
    user = auth_service.actor_for(session, username)
    people_service.get_person(session, user, p1.id)  # audited as person.view
    text = f"姓名,身份证号,手机号\n王{t},{valid_id(n + 2)},{phone_number(n + 2)}\n"
    job = imports_service.submit(session, user, kind=intake_imports.LEADS, filename=f"{t}.csv",
                                 stream=io.BytesIO(text.encode()), options={"channel": "checkpoint"})
    session.commit()
    imports_service.run(job.id, factory)
    fed.add("job_id", job.id)
    # zones: a low-risk zone owned by the unit (addresses on grids whose common ancestor it is), a round
    grids = ZONE_GRIDS.get(key, (key,))
    texts = [f"{t}路{n}号{i + 1}栋101室" for i in range(len(grids))]
    for text, grid_key in zip(texts, grids, strict=True):
        grid = unit if grid_key == key else session.execute(select(Unit).where(Unit.code == f"SCOPE{grid_key}")
                                                              ).scalar_one()
        jurisdictions_service.add_address(session, s, text=text, grid_code=grid.code)
    zone = zones_service.draw_zone(session, s, level="low", reason=f"{t}病例", addresses=texts).zone
    assert zone.unit_id == unit.id
    fed.add("zone_id", zone.id)
    fed.add("round_id", zones_service.start_round(session, s, zone_id=zone.id).id)
    from fangkong.zones.service import help as zones_help

    fed.add("help_id", zones_help.request_help(session, s, person_id=p1.id, kind="supplies", detail=f"{t}米").id)
    session.commit()
    return fed


#: the grids whose addresses make a zone owned by a unit above the grids
ZONE_GRIDS: dict[str, tuple[str, ...]] = {"C": ("G", "G2"), "S": ("G", "G3"), "D": ("G", "G4"), "R": ("G", "G5")}


def _build(session: Session, factory: sessionmaker[Session]) -> tuple[dict[str, Unit], dict[str, Fed]]:
    generate_city(session, persons=300, seed=7)
    seed_scenario(session, leads=40, seed=7)
    units = {"R": jurisdictions_service.root_unit(session)}
    level_zh = {"district": "区", "street": "街道", "community": "社区", "grid": "网格"}
    for key, (parent, level) in TREE.items():
        units[key] = jurisdictions_service.create_unit(
            session, SYSTEM_ACTOR, code=f"SCOPE{key}", name=f"{level_zh[level]}{unit_token(key)}", level=level,
            parent_code=units[parent].code)
    session.commit()
    fed = {key: _feed(session, factory, key, units[key], 100 + 10 * i) for i, key in enumerate(FED)}
    _surveillance(session, units, fed)
    return units, fed


def _surveillance(session: Session, units: dict[str, Unit], fed: dict[str, Fed]) -> None:
    """A fever clinic at every fed unit whose counts jump on the last day, judged once: each unit gets
    its site's signal (and unit-level ones above it)."""
    start = NOW.date() - dt.timedelta(days=12)
    for key in fed:
        ref = f"SEN{row_token(key)}"
        surveillance_service.register_site(session, SYSTEM_ACTOR, ref=ref, name=f"{row_token(key)}发热门诊",
                                           kind="fever_clinic", unit_code=units[key].code, active_from=start)
        surveillance_service.record_counts(session, SYSTEM_ACTOR, [
            {"site_ref": ref, "date": (start + dt.timedelta(days=d)).isoformat(), "indicator": "fever_visits",
             "count": 50 if d == 11 else 5 + d % 2} for d in range(12)], source="api")
    surveillance_service.run_detection(session, SYSTEM_ACTOR, until=start + dt.timedelta(days=11))
    for key in fed:
        signal = session.execute(select(Signal).where(Signal.unit_id == units[key].id, Signal.level == "site")
                                 ).scalar_one()
        fed[key].add("signal_id", signal.id)
    session.commit()


@contextlib.contextmanager
def build_world(engine: Engine) -> Iterator[World]:
    """The world on its own connection, in one transaction rolled back at the end (a module fixture)."""
    clock.configure("test")
    region = os.environ.get("FANGKONG_REGION_CODE")
    os.environ["FANGKONG_REGION_CODE"] = "320400"  # e-passes are numbered in the region
    reset_settings_cache()
    conn = engine.connect()
    trans = conn.begin()
    factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        with clock.frozen(NOW):
            with factory() as session:
                units, fed = _build(session, factory)
                tokens = {}
                for role in ROLES:
                    unit = units[PLACEMENT.get(role, "C")]
                    auth_service.create_user(session, SYSTEM_ACTOR, username=f"role_{role}", role=role,
                                             unit_code=unit.code, password=PASSWORD)
                    session.flush()
                    tokens[role] = auth_service.create_token(session, SYSTEM_ACTOR, username=f"role_{role}")[1]
                session.commit()
            with TestClient(create_app(session_factory=factory), raise_server_exceptions=False) as client:
                yield World(units, fed, tokens, client, conn)
    finally:
        trans.rollback()
        conn.close()
        if region is None:
            os.environ.pop("FANGKONG_REGION_CODE", None)
        else:
            os.environ["FANGKONG_REGION_CODE"] = region
        reset_settings_cache()


#: worlds kept open between tests, by engine: the authorization matrix and the scope tests read the same
#: world (neither writes to it: each request runs in a savepoint rolled back after it), so a process
#: builds it once per backend for both modules, not once per module
_SHARED: dict[int, tuple[contextlib.ExitStack, World]] = {}


def shared_world(engine: Engine) -> World:
    """`build_world(engine)`, built on first use and kept open for the next tests that ask for it; the
    conftest closes it (`close_shared_worlds`) before a test that does not, and before the databases go."""
    if id(engine) not in _SHARED:
        stack = contextlib.ExitStack()
        world = stack.enter_context(build_world(engine))
        _SHARED[id(engine)] = (stack, world)
    world = _SHARED[id(engine)][1]
    # each test starts with the public forms' rate limits unspent, as with a world of its own: the
    # roles' crawls of /public/… add up on one app otherwise (429 after a few roles)
    from fangkong.kernel.web.ratelimit import RateLimiter

    world.client.app.state.rate_limiter = RateLimiter()
    return world


def close_shared_worlds() -> None:
    """Roll back and close every world `shared_world` keeps open (a SQLite world's open transaction holds
    the database's write lock: no other test may run beside it)."""
    while _SHARED:
        _key, (stack, _world) = _SHARED.popitem()
        stack.close()


#: query strings of the export lists (the same filters as the pages they export)
EXPORT_QUERY: dict[str, str] = {"clearance": "day=2022-04-18", "reconciliation": "day=2022-04-18",
                                "venues": "tab=all"}


# --- what a response shows ---------------------------------------------------------------------------------

#: links on pages to rows of each kind: URL prefix → the world's id kind
LINKS = {"persons": "person_id", "leads": "lead_id", "cases": "case_id", "units": "unit_id", "venues": "venue_id",
         "imports": "job_id", "tasks": "task_id"}


def foreign_of(world: World, at: str) -> tuple[set[str], dict[str, set[Any]]]:
    """What a user sitting at `at` must never see: the tokens of the sibling's and the parent's rows and
    of the sibling branch's units, and those rows' ids by kind."""
    _own, sibling, parent = RELATIONS[at]
    tokens = {row_token(sibling), row_token(parent)} | {unit_token(k) for k in subtree_keys(sibling)}
    # the sibling subtree is every fed unit under the sibling's branch (the sibling grid's ancestors
    # below the common parent carry unit tokens too)
    branch = {"G": set(), "C": {"C3"}, "S": {"S4", "C4"}, "D": {"D5", "S5", "C5"}}[at]
    tokens |= {unit_token(k) for k in branch}
    ids: dict[str, set[Any]] = {}
    for k in (sibling, parent):
        for kind, values in world.fed[k].ids.items():
            ids.setdefault(kind, set()).update(values)
    return tokens, ids


def response_text(response: Any) -> str:
    """What a person or a program receives: the body, and the cells of a spreadsheet."""
    if response.headers.get("content-type", "").startswith("application/vnd.openxmlformats"):
        with zipfile.ZipFile(io.BytesIO(response.content)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    return response.text


def foreign_links(body: str, foreign: dict[str, set[Any]]) -> list[str]:
    found = []
    for prefix, value in re.findall(r'href="/(persons|leads|cases|units|venues|imports|tasks)/([^/"?#]+)', body):
        kind = LINKS[prefix]
        if value.isdigit() and int(value) in foreign.get(kind, set()):
            found.append(f"/{prefix}/{value}")
    return found


def foreign_json_ids(data: Any, foreign: dict[str, set[Any]]) -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            kind = "person_id" if k == "person" else k  # an error's params name a person as "person"
            if kind in ("person_id", "lead_id", "case_id", "task_id") and isinstance(v, int) \
                    and v in foreign.get(kind, set()):
                found.append(f"{k}={v}")
            found += foreign_json_ids(v, foreign)
    elif isinstance(data, list):
        for v in data:
            found += foreign_json_ids(v, foreign)
    return found
