"""Every list and page is scoped (属地), for every role — generated from the app itself.

The world is the demo city (`drill.city` + `drill.scenario`) plus a probe branch whose units carry rows
of every kind, written through each capability's own services: persons, leads and their tasks, a
measure, employers, venues with codes and scans, sampling points, tubes and results, key-group members
and headcounts, a case with a contact, users and their audited actions, an import job. Each row's
names carry a token of its unit (`QzGQx` …), each unit's name a unit token (`UzGUx` …).

For every role of `kernel/auth/roles.py` a user sits at a unit U of the branch. Relative to U there
are rows in U's own subtree, in a sibling subtree and at U's parent unit. Every GET route of the app
(the API's, from OpenAPI, and the pages) is called as that user:

- a list (no path parameter) must show own rows and no sibling or parent row — no foreign token in
  the body and, on pages, no link to a foreign row. A list that shows nothing of its own side
  proves nothing and fails: feed the world until it shows something, or say in EMPTY_BY_DESIGN /
  NOT_A_LIST why it cannot;
- a route with path parameters is called with the own row's and the foreign rows' ids: the own row
  answers (unless the role lacks the permission: 403), the foreign rows are 404. A parameter the
  world has no value for fails, so a new route needs data here before it can pass.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
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
from fangkong.testing import service as testing_service
from fangkong.testing.service.results import ResultItem
from fangkong.tracing import service as tracing_service
from fangkong.venues.service import codes as codes_service
from fangkong.venues.service import scans as scans_service
from fangkong.venues.service.scans import ScanItem

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


# --- routes that list nothing of their own, with the reason ---------------------------------------------
NOT_A_LIST: dict[str, str] = {
    "/api/v1/openapi.json": "the API's description", "/api/v1/docs": "the API's documentation",
    "/docs/oauth2-redirect": "part of the API documentation", "/healthz": "a health check",
    "/api/v1/me": "who the caller is", "/login": "the sign-in form", "/": "the home page: counts and links",
    "/leads/new": "a form", "/leads/import": "a form", "/report": "a public form", "/tip": "a public form",
    "/my-test": "a citizen's own results, by the citizen's own numbers",
}
#: lists that are the same for everyone by design
GLOBAL: dict[str, str] = {
    "/api/v1/risk-areas": "risk areas are declared for regions elsewhere, not owned by a unit",
    "/risk-areas": "risk areas are declared for regions elsewhere, not owned by a unit",
    "/api/v1/risk-areas/derived-low": "the low-risk rest of counties with declared areas: regions, not a unit's",
    "/jobs": "the platform's scheduled jobs, not a unit's",
}
#: (route, where the user sits) → why that list is empty there by design
EMPTY_BY_DESIGN: dict[tuple[str, str], str] = {
    ("/api/v1/units", "G"): "a grid has no child units",
    ("/units", "G"): "a grid has no child units to browse",
}
#: detail routes everyone may open who holds the link
PUBLIC_DETAIL: dict[str, str] = {"/v/{token}": "a venue's QR code opens the public check-in page"}
#: query strings that make a list show everything it can (a tab, a period)
QUERY: dict[str, str] = {"/venues": "tab=all", "/api/v1/turnaround": "days=30", "/turnaround": "days=30",
                         "/api/v1/reports/clearance": "day=2022-04-18",
                         "/api/v1/reports/reconciliation": "day=2022-04-18",
                         # the newest events are this test's own requests: look at the imports
                         "/audit": "action=import.%2A", "/api/v1/audit": "action=import.%2A"}
#: a route that is a query of one subject: the subject is its parameter
SUBJECT_QUERY: dict[str, str] = {
    "/api/v1/colocation": "since=2022-04-10T00:00:00%2B08:00&until=2022-04-18T17:00:00%2B08:00&person_id={person_id}",
}
#: path parameters that name a kind of list, not a row: the route is a list for each value
def _enumerated() -> dict[str, list[str]]:
    from fangkong.kernel import export

    return {"kind": sorted(export.REGISTRY), "fmt": ["xlsx"]}


#: query strings of the export lists (the same filters as the pages they export)
EXPORT_QUERY: dict[str, str] = {"clearance": "day=2022-04-18", "reconciliation": "day=2022-04-18",
                                "venues": "tab=all"}

#: links on pages to rows of each kind: URL prefix → the world's id kind
LINKS = {"persons": "person_id", "leads": "lead_id", "cases": "case_id", "units": "unit_id", "venues": "venue_id",
         "imports": "job_id", "tasks": "task_id"}


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


def _valid_id(n: int) -> str:
    first = f"32041219800101{n:03d}"
    return first + id_check_digit(first)


def _phone(n: int) -> str:
    return f"1370000{n:04d}"


def _feed(session: Session, factory: sessionmaker[Session], key: str, unit: Unit, n: int) -> Fed:
    """Rows of every kind at `unit`, named with its token, through each capability's services."""
    s, t, fed = SYSTEM_ACTOR, row_token(key), Fed()
    fed.add("unit_id", unit.id)
    fed.add("code", unit.code)
    # persons: one to verify (a measure follows), one left open (its task stays in the inbox)
    p1 = people_service.register_person(session, s, name=f"张{t}", id_number=_valid_id(n), phone=_phone(n),
                                        unit_id=unit.id)
    p2 = people_service.register_person(session, s, name=f"李{t}", id_number=_valid_id(n + 1), phone=_phone(n + 1),
                                        unit_id=unit.id)
    fed.add("person_id", p1.id)
    fed.add("person_id", p2.id, main=False)
    result = intake_service.ingest_leads(session, s, channel="bigdata", items=[
        intake_service.LeadItem(i + 1, {"name": p.name or "", "id_number": _valid_id(n + i), "phone": _phone(n + i),
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
    # places: an employer of a key group, a venue, a sampling point
    employer = places_service.create_place(session, s, kind="employer", name=f"{t}快递站", code=f"EMP{t}",
                                           category="courier_delivery_rider", unit_id=unit.id)
    venue = places_service.create_place(session, s, kind="venue", name=f"{t}菜市场", ref=f"VSC{n}",
                                        category="market", capacity=500, unit_id=unit.id)
    point = places_service.create_place(session, s, kind="sampling_point", name=f"{t}采样点", code=f"SMPSC{n}",
                                        unit_id=unit.id)
    fed.add("venue_id", venue.id)
    # testing: a member of a key group with a declared headcount; a negative and a positive single tube
    testing_service.enrol(session, s, person_id=p1.id, group_code="courier_delivery_rider", employer_id=employer.id)
    testing_service.declare_headcount(session, s, employer_id=employer.id, group_code="courier_delivery_rider",
                                      declared=5)
    for i, result_word in enumerate(("阴性", "阳性")):  # p1 negative, p2 positive
        barcode = f"SC{n}-{i}"
        testing_service.open_tube(session, s, barcode=barcode, pool_size=1, sampling_point_id=point.id)
        testing_service.add_sample(session, s, barcode=barcode, person=_valid_id(n + i),
                                   collected_at=NOW - dt.timedelta(hours=8))
        testing_service.ingest_results(session, s, items=[ResultItem(1, {
            "tube_barcode": barcode, "result": result_word, "lab": f"{t}检测所",
            "reported_at": (NOW - dt.timedelta(hours=1)).isoformat()})])
        fed.add("barcode", barcode, main=i == 0)
    # venues: the current code, and the two persons' scans
    code = codes_service.issue_code(session, s, place_id=venue.id)
    fed.add("token", code.token)
    scans_service.record_scans(session, s, source="api", items=[
        ScanItem(i + 1, place_id=venue.id, phone=_phone(n + i), scanned_at=(NOW - dt.timedelta(days=1, hours=i)
                                                                             ).isoformat(),
                 request_id=f"scope-{key}-{i}") for i in range(2)])
    # tracing: the positive person is a case; the other person a named contact
    candidates = [c for c, p in tracing_service.pending_candidates(session, s) if p.id == p2.id]
    case = tracing_service.confirm_candidate(session, s, candidate_id=candidates[0].id, classification="asymptomatic")
    reports = tracing_service.confirm_contacts(session, s, case_id=case.id, items=[
        tracing_service.ContactItem(kind="named", name=p1.name, phone=_phone(n), relation="同事",
                                    last_contact_at=NOW - dt.timedelta(days=1))])
    fed.add("case_id", case.id)
    fed.add("contact_id", reports[0].contact_id)
    # a user of the unit: their own audited actions, and an import job of theirs
    username = f"u{t}"
    auth_service.create_user(session, s, username=username, role="checkpoint", unit_code=unit.code,
                             password=PASSWORD)
    session.flush()
    user = auth_service.actor_for(session, username)
    people_service.get_person(session, user, p1.id)  # audited as person.view
    text = f"姓名,身份证号,手机号\n王{t},{_valid_id(n + 2)},{_phone(n + 2)}\n"
    job = imports_service.submit(session, user, kind=intake_imports.LEADS, filename=f"{t}.csv",
                                 stream=io.BytesIO(text.encode()), options={"channel": "checkpoint"})
    session.commit()
    imports_service.run(job.id, factory)
    fed.add("job_id", job.id)
    return fed


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
    return units, fed


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    clock.configure("test")
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
                yield World(units, fed, tokens, client)
    finally:
        trans.rollback()
        conn.close()


# --- the routes ------------------------------------------------------------------------------------------

@functools.cache
def _get_routes() -> list[tuple[str, bool]]:
    """Every GET route of the app: (path, in the API)."""
    app = create_app(session_factory=sessionmaker())
    out = []
    for rc in iter_route_contexts(app.routes):
        route = getattr(rc, "original_route", rc)
        if isinstance(route, APIRoute) and "GET" in route.methods:
            out.append((rc.path, rc.path.startswith("/api/")))
    return sorted(set(out))


def _text(response: Any) -> str:
    """What a person or a program receives: the body, and the cells of a spreadsheet."""
    if response.headers.get("content-type", "").startswith("application/vnd.openxmlformats"):
        with zipfile.ZipFile(io.BytesIO(response.content)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    return response.text


def _foreign_links(body: str, foreign: dict[str, set[Any]]) -> list[str]:
    found = []
    for prefix, value in re.findall(r'href="/(persons|leads|cases|units|venues|imports|tasks)/([^/"?#]+)', body):
        kind = LINKS[prefix]
        if value.isdigit() and int(value) in foreign.get(kind, set()):
            found.append(f"/{prefix}/{value}")
    return found


def _foreign_json_ids(data: Any, foreign: dict[str, set[Any]]) -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k in ("person_id", "lead_id", "case_id", "task_id") and v in foreign.get(k, set()):
                found.append(f"{k}={v}")
            found += _foreign_json_ids(v, foreign)
    elif isinstance(data, list):
        for v in data:
            found += _foreign_json_ids(v, foreign)
    return found


def _expanded(route: str) -> list[tuple[str, str]]:
    """The route as concrete (path, query) pairs: one per value of each enumerated parameter (an export
    kind), else the route itself with its list query."""
    values = _enumerated()
    names = [n for n in re.findall(r"{(\w+)}", route) if n in values]
    if not names:
        return [(route, QUERY.get(route, ""))]
    out = [(route, "")]
    for name in names:
        out = [(path.replace("{" + name + "}", v), query) for path, query in out for v in values[name]]
    expanded = []
    for path, _query in out:
        kind = next((v for v in values["kind"] if f"/{v}" in path), "")
        query = EXPORT_QUERY.get(kind, "")
        if path.startswith("/api/"):
            query = "&".join(q for q in ("format=xlsx", query) if q)
        expanded.append((path, query))
    return expanded


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_route_shows_this_role_its_own_rows_only(world: World, role: str) -> None:
    at = PLACEMENT.get(role, "C")
    own, sibling, parent = RELATIONS[at]
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    foreign_tokens = {row_token(sibling), row_token(parent)} | {unit_token(k) for k in subtree_keys(sibling)}
    # the sibling subtree is every fed unit under the sibling's branch (the sibling grid's ancestors
    # below the common parent carry unit tokens too)
    branch = {"G": set(), "C": {"C3"}, "S": {"S4", "C4"}, "D": {"D5", "S5", "C5"}}[at]
    foreign_tokens |= {unit_token(k) for k in branch}
    foreign_ids: dict[str, set[Any]] = {}
    for k in (sibling, parent):
        for kind, ids in world.fed[k].ids.items():
            foreign_ids.setdefault(kind, set()).update(ids)
    # pages show the user's own unit in their header; an API answer or a file naming it lists it
    own_tokens = {row_token(own)} | {unit_token(k) for k in subtree_keys(at) - {at}}
    api_own_tokens = own_tokens | {unit_token(at)}
    problems: list[str] = []
    lists_with_rows = 0
    with clock.frozen(NOW):
        for route, in_api in _get_routes():
            for path, query in _expanded(route):
                params = re.findall(r"{(\w+)}", path)
                if not params and path not in SUBJECT_QUERY:
                    if path in NOT_A_LIST:
                        continue
                    r = world.client.get(path + ("?" + query if query else ""), headers=headers)
                    if r.status_code in (401, 403):
                        continue  # the role may not see this list at all
                    if r.status_code != 200:
                        problems.append(f"{path}: {r.status_code} {r.text[:200]}")
                        continue
                    body = _text(r)
                    leaked = sorted(tok for tok in foreign_tokens if tok in body)
                    leaked += _foreign_links(body, foreign_ids)
                    if in_api and r.headers.get("content-type", "").startswith("application/json"):
                        leaked += _foreign_json_ids(r.json(), foreign_ids)
                    if leaked:
                        problems.append(f"{path}: shows rows of another unit: {leaked[:6]}")
                    if path in GLOBAL:
                        continue
                    is_page = r.headers.get("content-type", "").startswith("text/html")
                    if any(tok in body for tok in (own_tokens if is_page else api_own_tokens)):
                        lists_with_rows += 1
                    elif (path, at) not in EMPTY_BY_DESIGN:
                        problems.append(f"{path}: nothing of its own to show, so it proves nothing (feed the world)")
                    continue
                # one row's route: the own row answers, the sibling's and the parent's are 404
                if path in PUBLIC_DETAIL:
                    continue
                answers = {}
                for relation, key in (("own", own), ("sibling", sibling), ("parent", parent)):
                    values = world.fed[key].values
                    missing = [p for p in params if p not in values]
                    if path in SUBJECT_QUERY:
                        missing += [p for p in re.findall(r"{(\w+)}", SUBJECT_QUERY[path]) if p not in values]
                    if missing:
                        problems.append(f"{path}: the world has no {missing} to call it with (feed it)")
                        break
                    url = path.format(**values)
                    if path in SUBJECT_QUERY:
                        url += "?" + SUBJECT_QUERY[path].format(**values)
                    answers[relation] = world.client.get(url, headers=headers, follow_redirects=False)
                    if relation == "own" and answers["own"].status_code in (401, 403):
                        break
                if len(answers) < 3:
                    continue
                if answers["own"].status_code >= 400:
                    problems.append(f"{path}: own row answers {answers['own'].status_code} "
                                    f"{answers['own'].text[:160]}")
                for relation in ("sibling", "parent"):
                    if answers[relation].status_code != 404:
                        problems.append(f"{path}: the {relation}'s row answers {answers[relation].status_code}, not 404")
    # every role sees some list (a laboratory only its results' turnaround; admins some 28)
    assert lists_with_rows >= 1, "no list answered with rows: the test would prove nothing"
    assert not problems, f"{role} at {at}:\n" + "\n".join(problems)


def test_every_route_of_the_app_is_exercised() -> None:
    """A route the test cannot call (a new parameter) fails above; here, that the app's routes were found."""
    routes = _get_routes()
    assert len([p for p, api in routes if api]) >= 15 and len([p for p, api in routes if not api]) >= 20
