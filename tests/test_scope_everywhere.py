"""Every list and page is scoped (属地), for every role — generated from the app itself.

The world (`tests/scope_world.py`, shared with the authorization matrix) is the demo city
(`drill.city` + `drill.scenario`) plus a probe branch whose units carry rows
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

import functools
import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from scope_world import (
    EXPORT_QUERY,
    NOW,
    PLACEMENT,
    RELATIONS,
    World,
    foreign_json_ids,
    foreign_links,
    foreign_of,
    response_text,
    row_token,
    shared_world,
    subtree_keys,
    unit_token,
)
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth.roles import ROLES


@pytest.fixture
def world(engine: Engine, shares_scope_world: None) -> World:
    """The scope world, shared with the authorization matrix (tests/scope_world.py `shared_world`)."""
    return shared_world(engine)


# --- routes that list nothing of their own, with the reason ---------------------------------------------
NOT_A_LIST: dict[str, str] = {
    "/api/v1/openapi.json": "the API's description", "/api/v1/docs": "the API's documentation",
    "/docs/oauth2-redirect": "part of the API documentation", "/healthz": "a health check",
    "/api/v1/me": "who the caller is", "/login": "the sign-in form", "/": "the home page: counts and links",
    "/leads/new": "a form", "/command/findings/new": "a form", "/leads/import": "a form", "/report": "a public form", "/tip": "a public form",
    "/my-test": "a citizen's own results, by the citizen's own numbers",
    "/help-me": "a sealed household's own help form (a public form)",
    "/self-test": "a citizen's own antigen self-test form (a public form)",
    "/pharmacy-register": "a pharmacy's registration form (a purchase is entered, none is listed)",
    "/epasses/verify": "the e-pass verify form (a verdict needs a scanned token)",
    "/v": "the e-pass verify form a pass's QR link opens",
    "/command/screen": "the big screen's frame: its numbers come from the panels API, checked as lists",
    "/surveillance/rt": "R_t from daily case counts, no names: the cases come from tracing's scoped list "
                        "(tests/surveillance/test_demo_and_rt.py checks another unit sees none)",
}
#: lists that are the same for everyone by design
GLOBAL: dict[str, str] = {
    "/api/v1/risk-areas": "risk areas are declared for regions elsewhere, not owned by a unit",
    "/risk-areas": "risk areas are declared for regions elsewhere, not owned by a unit",
    "/api/v1/risk-areas/derived-low": "the low-risk rest of counties with declared areas: regions, not a unit's",
    "/jobs": "the platform's scheduled jobs, not a unit's",
    "/public/exposure": "the public exposure list: published findings, the same for everyone",
    "/public/exposure.json": "the public exposure list: published findings, the same for everyone",
    "/api/v1/epass-keys": "the e-pass key ring: public keys of the region and trusted issuers, the same for everyone",
    "/notice-templates": "the platform's notice templates, not a unit's",
    "/notice-templates/release_notice": "one notice template of the platform, not a unit's",
    "/drill/runs": "drill runs are directories of the platform's data directory, not a unit's rows",
}
#: (route, where the user sits) → why that list is empty there by design
EMPTY_BY_DESIGN: dict[tuple[str, str], str] = {
    ("/api/v1/units", "G"): "a grid has no child units",
    ("/units", "G"): "a grid has no child units to browse",
    ("/api/v1/command/geometry", "G"): "a grid has no child units to outline on the map",
    # a step is due only once its test days have negative samples, and the world takes no samples (the
    # answer is still searched for the foreign units' ids; due_steps reads through the scope helper)
    **{("/api/v1/releases/due", at): "no measure in the world has the samples a step needs"
       for at in ("R", "D", "S", "C", "G")},
    # the machine columns of trucks' trips and stranded vehicles are plates, numbers and times: nothing names
    # the unit (the people's layout, the pages and /api/v1/trips show the checkpoint's name and prove scoping)
    **{(path, at): "machine columns hold no name" for path in ("/api/v1/exports/trips", "/api/v1/exports/stranded",
                                                                   "/api/v1/exports/data_loop")
       for at in ("R", "D", "S", "C", "G")},
}
#: detail routes everyone may open who holds the link
PUBLIC_DETAIL: dict[str, str] = {"/v/{token}": "a venue's QR code opens the public check-in page",
                                 "/drill/runs/{run_id}": "a drill run is files of the platform, not a unit's row",
                                 "/drill/runs/{run_id}/aar.xlsx": "a drill run's report file, not a unit's row",
                                 "/c/{link}": "a person's signed SMS link opens their own check-in page (name masked)",
                                 "/help-me/{token}": "a resident's own help request, by the token of its link"}
#: one row's routes whose own row is hidden from the world's users by design (the sibling's and the
#: parent's must still be 404)
OWN_HIDDEN: dict[str, str] = {"/api/v1/inspection-plans/{plan_id}":
                              "an unannounced plan (四不两直) is seen by its team only, not by its unit"}
#: query strings that make a list show everything it can (a tab, a period)
QUERY: dict[str, str] = {"/venues": "tab=all", "/api/v1/turnaround": "days=30", "/turnaround": "days=30",
                         "/api/v1/reports/clearance": "day=2022-04-18",
                         "/api/v1/reports/reconciliation": "day=2022-04-18",
                         # test day 1 is the day after the measure's day 0 (the world's measures start today)
                         "/due-tests": "on=2022-04-19", "/api/v1/due-tests": "on=2022-04-19",
                         # nobody is releasable on the world's first day: its close contacts' day N is 10 days on
                         "/releases": "days=14",
                         # the newest events are this test's own requests: look at the imports
                         "/audit": "action=import.%2A", "/api/v1/audit": "action=import.%2A"}
#: a route that is a query of one subject: the subject is its parameter
SUBJECT_QUERY: dict[str, str] = {
    "/api/v1/colocation": "since=2022-04-10T00:00:00%2B08:00&until=2022-04-18T17:00:00%2B08:00&person_id={person_id}",
}
#: path parameters that name a kind of list, not a row: the route is a list for each value
def _enumerated() -> dict[str, list[str]]:
    from fangkong.command.service.panels import PANELS
    from fangkong.kernel import export

    return {"kind": sorted(export.REGISTRY), "fmt": ["xlsx"], "panel": list(PANELS), "notice_kind": ["release_notice"]}



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


@pytest.mark.slow
@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_route_shows_this_role_its_own_rows_only(world: World, role: str) -> None:
    at = PLACEMENT.get(role, "C")
    own, sibling, parent = RELATIONS[at]
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    foreign_tokens, foreign_ids = foreign_of(world, at)
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
                    body = response_text(r)
                    leaked = sorted(tok for tok in foreign_tokens if tok in body)
                    leaked += foreign_links(body, foreign_ids)
                    if in_api and r.headers.get("content-type", "").startswith("application/json"):
                        leaked += foreign_json_ids(r.json(), foreign_ids)
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
                if answers["own"].status_code >= 400 and not (path in OWN_HIDDEN and answers["own"].status_code == 404):
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
