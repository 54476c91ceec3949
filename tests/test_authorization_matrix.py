"""The authorization matrix (授权矩阵): every role × every operation × own / sibling / parent record.

Operations are every method of every route of the app — API operations and pages, GET, POST, PUT,
PATCH, DELETE — read from the permission table (`kernel/web/permissions.py`, rendered into
docs/permissions.md), with the export routes expanded to one operation per export kind. The world is
the scope tests' (`tests/scope_world.py`): each role's user sits at a unit of a probe branch whose own
subtree, sibling subtree and parent unit all carry rows of every kind.

For each role and operation the expected answer comes from the table and `kernel/auth/roles.py`:

- the role lacks the permission → 403, whatever record is named;
- it holds it → the own record's answer is neither 401, 403, 404 nor a 5xx (2xx, a redirect, or a
  4xx about the request itself: 400, 409, 422, 429 — the point is authorization, not the business
  outcome), and a sibling's or the parent's record is 404;
- no answer to an allowed role (a list, an export, a report, an error) holds any of the foreign rows'
  names, ids or links — also where the request types a foreign person's ID or phone number
  (registering a person, a lead, a sample: the existence oracles of issue #11).

Bodies are minimal: `{}` or an empty form, or the smallest valid body where validation would otherwise
answer before the record is looked up (`BODIES`). Every request runs in a savepoint rolled back after
it, so a completed task or a rotated code does not change what the next request sees.

A route without an entry in the permission table fails `test_every_route_has_an_entry_in_the_table`;
a route whose parameters the world cannot fill fails the matrix.

Matrix size: 13 roles × 328 operations × 3 relations = 12,792 cells. Operations that name a record in
their path are asked about all three relations; the others (lists, forms, creations) have no foreign
record to name, so their three relations are one request (`test_the_complete_matrix`, run with
`pytest -m heavy`, sends them all). The default run sends every operation once per role — a refused
role with the own record, an allowed role with the own record and one foreign record, the sibling's
and the parent's in turn, so both foreign relations of every scoped operation are covered across the
roles. Unmasked exports are checked for every role holding person.unmask and every export kind.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
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
    shared_world,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from fangkong.app import create_app
from fangkong.kernel import clock, export
from fangkong.kernel.auth.roles import MATRIX, PERMISSIONS, ROLES
from fangkong.kernel.web import permissions
from fangkong.kernel.web.permissions import EXPORT_KIND, PERMISSION, PUBLIC, SELF, Operation

ROOT = Path(__file__).resolve().parents[1]
RELATION_NAMES = ("own", "sibling", "parent")
#: path parameters that are not a jurisdiction's row: the same value for every relation
GLOBAL_VALUES: dict[str, str] = {"group": "courier_delivery_rider", "fmt": "xlsx", "panel": "kpis",
                                 "notice_kind": "release_notice", "run_id": "matrix-run"}
#: answers about the request itself, not about who asks
REQUEST_ERRORS = {400, 409, 410, 413, 415, 422, 429}
#: routes whose own answer may be something else, and why
OWN_ANSWERS: dict[tuple[str, str], tuple[set[int], str]] = {
    ("POST", "/login"): ({403}, "no sign-in form's CSRF pair: the login CSRF check refuses"),
    ("POST", "/report"): ({403}, "a public form with its own CSRF pair, which an empty form lacks"),
    ("POST", "/tip"): ({403}, "a public form with its own CSRF pair, which an empty form lacks"),
    ("POST", "/my-test"): ({404}, "no results for the (empty) numbers typed: the citizen's page says so"),
    ("POST", "/help-me"): ({404}, "no zone resident for the (empty) numbers typed: the resident's page says so"),
    ("POST", "/self-test"): ({404}, "no person for the (empty) numbers typed: the citizen's page says so"),
    ("GET", "/help-me/{token}"): ({404}, "no help request has the world's placeholder token"),
    # an order's own record is one to the unit itself: a role sitting above that unit sees it but is no
    # target of it, and only a target acknowledges, completes or relays (issue #16: 403)
    ("POST", "/api/v1/orders/{order_id}/ack"): ({403}, "the caller's unit is not the order's target"),
    ("POST", "/api/v1/orders/{order_id}/complete"): ({403}, "the caller's unit is not the order's target"),
    ("POST", "/api/v1/orders/{order_id}/relay"): ({403}, "the caller's unit is not the order's target"),
    ("POST", "/orders/{order_id}/ack"): ({403}, "the caller's unit is not the order's target"),
    ("POST", "/orders/{order_id}/complete"): ({403}, "the caller's unit is not the order's target"),
    ("POST", "/orders/{order_id}/relay"): ({403}, "the caller's unit is not the order's target"),
    # 四不两直: a plan is seen by its team only, whoever sits above the planning unit
    ("GET", "/api/v1/inspection-plans/{plan_id}"): ({404}, "an unannounced plan is seen by its team only"),
}
#: the world's import job belongs to another user of the unit and is a lead import: following it needs
#: the permission to import leads (`kernel.imports.service.get_job`)
SELF_NEEDS: dict[str, tuple[str, ...]] = {"/imports/{job_id}": ("lead.import",),
                                          "/imports/{job_id}/status": ("lead.import",),
                                          "/imports/{job_id}/report.csv": ("lead.import",)}

#: smallest bodies that get past validation to the record (JSON for the API, a form for pages). A
#: callable gets the own record's values and the sibling's (a body names the caller's own rows, or
#: types a foreign person's number; the path names the record under test)
CONTACT = {"kind": "named", "name": "王五", "phone": "13700009998", "relation": "同事",
           "last_contact_at": "2022-04-17 10:00"}
BODIES: dict[tuple[str, str], Any] = {
    # the oracles (issue #11): the caller types a foreign person's number; the answer must not say who
    ("POST", "/api/v1/persons"): lambda own, foreign: {"name": "王小明", "id_number": foreign["id_number"]},
    ("POST", "/api/v1/leads"): lambda own, foreign: {"channel": "community", "items": [
        {"name": "某人", "id_number": foreign["id_number"], "phone": foreign["phone"], "source_ref": "matrix"}]},
    ("POST", "/api/v1/persons/{person_id}/unmask"): {"field": "phone"},
    ("POST", "/api/v1/rounds/{round_id}/exclusions"): lambda own, foreign: {"person_id": own["person_id"],
                                                                            "reason": "hospitalised"},
    ("POST", "/rounds/{round_id}/exclude"): lambda own, foreign: {"person_id": str(own["person_id"]),
                                                                  "reason": "hospitalised"},
    ("POST", "/api/v1/tasks/{task_id}/complete"): {"outcome_code": "found_home"},
    ("POST", "/api/v1/orders"): lambda own, foreign: {"title": "matrix", "to": [own["code"]]},
    ("POST", "/api/v1/orders/{order_id}/relay"): lambda own, foreign: {"to": [own["code"]]},
    ("POST", "/api/v1/rectifications/{rect_id}/verify"): {"accept": False},
    ("POST", "/api/v1/command/reviews/{case_id}"): {"causes": ["other"]},
    ("POST", "/api/v1/leads/{lead_id}/verification"): {"outcome_code": "found_home"},
    ("PATCH", "/api/v1/risk-areas/{area_id}"): {"source": "matrix"},
    ("POST", "/api/v1/tubes/{barcode}/samples"): lambda own, foreign: {"person": foreign["phone"]},
    ("POST", "/api/v1/samples"): lambda own, foreign: {"items": [
        {"tube_barcode": own["barcode"], "phone": foreign["phone"], "collected_at": "2022-04-18 08:00"}]},
    ("POST", "/api/v1/scans"): lambda own, foreign: {"items": [
        {"venue_code": own["token"], "phone": foreign["phone"], "scanned_at": "2022-04-18 08:00",
         "request_id": "matrix"}]},
    ("POST", "/api/v1/cases"): lambda own, foreign: {"classification": "confirmed", "detection_channel": "sentinel",
                                                     "name": "某人", "id_number": foreign["id_number"],
                                                     "sampled_at": "2022-04-17 10:00"},
    ("PUT", "/api/v1/employers/{employer_id}/headcounts/{group}"): {"declared": 3},
    ("PUT", "/api/v1/sampling-points/{place_id}/hours"): {"opens": "08:00", "closes": "18:00"},
    ("POST", "/api/v1/venues/{venue_id}/flags"): {"reason": "matrix"},
    ("POST", "/api/v1/cases/{case_id}/contacts"): {"items": [CONTACT]},
    ("POST", "/api/v1/cases/{case_id}/links"): lambda own, foreign: {"source_case_id": own["case_id"]},
    ("POST", "/api/v1/cases/{case_id}/milestones"): {"step": "core"},
    ("POST", "/tasks/{task_id}/complete"): {"outcome_code": "found_home"},
    ("POST", "/venues/{venue_id}/flag"): {"reason": "matrix"},
    ("POST", "/venues/{venue_id}/rotate"): {"confirm": "yes"},
    ("POST", "/cases/{case_id}/contacts"): CONTACT,
    ("POST", "/cases/{case_id}/links"): lambda own, foreign: {"source_case_id": str(own["case_id"])},
    ("POST", "/cases/{case_id}/milestones"): {"step": "core"},
    ("POST", "/cases/candidates/{candidate_id}/confirm"): {"classification": "asymptomatic"},
    ("POST", "/api/v1/signals/{signal_id}/review"): {"action": "investigate"},
    ("POST", "/signals/{signal_id}/review"): {"action": "investigate"},
    ("POST", "/signals/{signal_id}/result"): {"result": "no_cases"},
    ("POST", "/api/v1/surveillance/detect"): {"method": "ears-c1", "items": [{"t": 1, "count": 1}]},
    ("POST", "/api/v1/sentinel-counts"): {"items": [{"site_ref": "none", "date": "2022-04-17",
                                                     "indicator": "fever_visits", "count": 1}]},
    ("POST", "/api/v1/antigen-results"): {"items": [{"source_ref": "m1", "source": "self",
                                                     "tested_at": "2022-04-17 10:00", "result": "阴性"}]},
    ("POST", "/api/v1/pharmacy-purchases"): {"items": [{"source_ref": "m1", "pharmacy_ref": "none",
                                                        "purchased_at": "2022-04-17 10:00", "phone": "13800138000",
                                                        "drug_class": "退热", "quantity": 1}]},
    ("POST", "/api/v1/quarantine-sites/{site_id}/rooms"): {"building": "Z", "floor": 1, "number": "M1"},
    ("POST", "/quarantine-sites/{site_id}/assign"): lambda own, foreign: {"measure_id": str(own["measure_id"])},
    ("POST", "/quarantine-sites/{site_id}/arrive"): lambda own, foreign: {"measure_id": str(own["measure_id"])},
    ("POST", "/quarantine-sites/{site_id}/transfer"): lambda own, foreign: {"measure_id": str(own["measure_id"]),
                                                                             "to_hospital": "市第三人民医院"},
}


#: query parameters a route needs before it looks at the record
QUERIES: dict[tuple[str, str], str] = {("POST", "/persons/{person_id}/unmask"): "field=phone"}


def _world_values(world: World) -> dict[str, Any]:
    from fangkong.intake.models import RiskArea

    with sessionmaker(bind=world.conn, join_transaction_mode="create_savepoint")() as session:
        area_id = session.execute(select(RiskArea.id).order_by(RiskArea.id).limit(1)).scalar_one()
    return {**GLOBAL_VALUES, "area_id": area_id}


@pytest.fixture
def world(engine: Engine, shares_scope_world: None) -> World:
    """The scope world, shared with the scope tests (tests/scope_world.py `shared_world`), and a drill run's
    files (runs are directories in the data directory, not rows of a unit)."""
    import sys

    from fangkong.settings import get_settings

    # a drill run's files (runs are directories in the data directory, not rows of a unit)
    drill = str(Path(__file__).resolve().parent / "drill")
    if drill not in sys.path:
        sys.path.insert(0, drill)
    from drill_run_files import make_run

    make_run(get_settings().data_dir / "drills", "matrix-run")
    return shared_world(engine)


@functools.cache
def _table() -> permissions.Table:
    return permissions.build(create_app(session_factory=sessionmaker()))


def _cells() -> list[tuple[Operation, str, tuple[str, ...]]]:
    """Every operation as called: (operation, concrete path template, the permissions it needs here) —
    an export route once per export kind."""
    out = []
    for op in _table().operations:
        if op.access == EXPORT_KIND:
            for name in sorted(export.REGISTRY):
                path = op.path.replace("{kind}", name)
                out.append((op, path, tuple(export.REGISTRY[name].permissions)))
        elif op.access == PERMISSION:
            out.append((op, op.path, op.permissions))
        else:
            out.append((op, op.path, SELF_NEEDS.get(op.path, ())))
    return out


ROW_FREE = {"kind", *GLOBAL_VALUES, "area_id"}


def _row_params(path: str) -> list[str]:
    return [p for p in re.findall(r"{(\w+)}", path) if p not in ROW_FREE]


def _call(world: World, role: str, op: Operation, path: str, values: dict[str, Any], own: dict[str, Any],
          foreign: dict[str, Any]) -> Any:
    """One request as `role`, rolled back afterwards."""
    url = path.format(**values) + ("?" + QUERIES[op.method, op.path] if (op.method, op.path) in QUERIES else "")
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    body = BODIES.get((op.method, op.path), {})
    body = body(own, foreign) if callable(body) else body
    kwargs: dict[str, Any] = {}
    if op.method in ("POST", "PUT", "PATCH", "DELETE"):
        kwargs = {"json": body} if op.api else {"data": body}
    nested = world.conn.begin_nested()
    try:
        return world.client.request(op.method, url, headers=headers, follow_redirects=False, **kwargs)
    finally:
        nested.rollback()


def _run(world: World, role: str, *, complete: bool) -> tuple[list[str], int]:
    at = PLACEMENT.get(role, "C")
    relations = dict(zip(RELATION_NAMES, RELATIONS[at], strict=True))
    foreign_tokens, foreign_ids = foreign_of(world, at)
    fixed = _world_values(world)
    held = MATRIX[role]
    problems: list[str] = []
    calls = 0
    shift = sorted(ROLES).index(role)
    with clock.frozen(NOW):
        for i, (op, path, needs) in enumerate(_cells()):
            params = _row_params(path)
            allowed = set(needs) <= held
            scoped = bool(params) and op.access != PUBLIC
            relations_here = RELATION_NAMES if scoped else ("own",)
            if not complete:
                # the default run: a refused role once; an allowed one with its own record and one foreign
                # record, the sibling's and the parent's in turn (both are covered across roles)
                relations_here = ("own", RELATION_NAMES[1 + (i + shift) % 2]) if scoped and allowed else ("own",)
            for relation in relations_here:
                values = {**fixed, **world.fed[relations[relation]].values}
                missing = [p for p in params if p not in values]
                if missing:
                    problems.append(f"{op.method} {path}: the world has no {missing} (feed it in scope_world)")
                    break
                r = _call(world, role, op, path, values, world.fed[relations["own"]].values,
                          world.fed[relations["sibling"]].values)
                calls += 1
                where = f"{op.method} {path} [{relation}]"
                if r.status_code >= 500:
                    problems.append(f"{where}: {r.status_code}")
                elif not allowed:
                    # a route that checks the record before the permission (one's own import job) may
                    # answer a foreign record 404: it reveals no more than 403
                    refused = {403, 404} if op.access == SELF and relation != "own" else {403}
                    if r.status_code not in refused:
                        problems.append(f"{where}: {r.status_code}, not 403 without {needs}")
                elif relation != "own":
                    if r.status_code != 404:
                        problems.append(f"{where}: {r.status_code}, not 404 for a foreign record")
                else:
                    extra, _why = OWN_ANSWERS.get((op.method, op.path), (set(), ""))
                    if r.status_code in (401, 403, 404) and r.status_code not in extra:
                        problems.append(f"{where}: {r.status_code} for the role's own record {r.text[:160]}")
                    elif r.status_code < 500:  # an error may reveal as much as an answer (a 409 naming someone)
                        body = response_text(r)
                        leaked = sorted(t for t in foreign_tokens if t in body) + foreign_links(body, foreign_ids)
                        if r.headers.get("content-type", "").startswith("application/json"):
                            leaked += foreign_json_ids(r.json(), foreign_ids)
                        if leaked:
                            problems.append(f"{where}: shows rows of another unit: {leaked[:6]} {body[:600]}")
    return problems, calls


@pytest.mark.slow
@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_operation_answers_each_role_as_the_table_says(world: World, role: str) -> None:
    problems, calls = _run(world, role, complete=False)
    assert calls >= len(_cells())
    assert not problems, f"{role} at {PLACEMENT.get(role, 'C')}:\n" + "\n".join(problems)


@pytest.mark.heavy
@pytest.mark.parametrize("role", sorted(ROLES))
def test_the_complete_matrix(world: World, role: str) -> None:
    """Every cell: also the refused roles' requests naming a foreign record (403, like their own).
    A heavier variant: runs with `pytest -m heavy` (the suite's conftest skips it otherwise)."""
    problems, _calls = _run(world, role, complete=True)
    assert not problems, f"{role} at {PLACEMENT.get(role, 'C')}:\n" + "\n".join(problems)


@pytest.mark.slow  # with the other users of the module's world: it is built once per worker
def test_unmasked_exports_obey_the_same_scope(world: World) -> None:
    """Full numbers (`unmasked=true`, person.unmask) widen the columns, never the rows: every export kind,
    as every role allowed to unmask it, holds no foreign row and no foreign phone number in full."""
    shown_own = 0
    with clock.frozen(NOW):
        for role in sorted(r for r in ROLES if "person.unmask" in MATRIX[r]):
            at = PLACEMENT.get(role, "C")
            own, _sibling, _parent = RELATIONS[at]
            foreign_tokens, foreign_ids = foreign_of(world, at)
            foreign_phones = foreign_ids.get("phone", set())
            for name in sorted(export.REGISTRY):
                if not set(export.REGISTRY[name].permissions) <= MATRIX[role]:
                    continue
                query = {"format": "csv", "unmasked": "true", **dict(
                    q.split("=") for q in EXPORT_QUERY.get(name, "").split("&") if q)}
                r = world.client.get(f"/api/v1/exports/{name}", params=query,
                                     headers={"Authorization": f"Bearer {world.tokens[role]}"})
                assert r.status_code == 200, (role, name, r.status_code, r.text[:200])
                leaked = [t for t in foreign_tokens | foreign_phones if t in r.text]
                assert not leaked, f"{role}: unmasked export {name} shows foreign rows: {leaked[:6]}"
                shown_own += any(p in r.text for p in world.fed[own].ids["phone"])
    assert shown_own, "no unmasked export showed an own full number: the test would prove nothing"


def test_every_route_has_an_entry_in_the_table() -> None:
    table = _table()
    assert not table.unlisted, ("routes that name no permission and have no entry in kernel/web/permissions.py "
                                f"EXPLICIT: {table.unlisted}")
    assert not table.stale, f"EXPLICIT entries whose route is gone: {table.stale}"
    assert not table.contradicting, f"EXPLICIT entries for routes that name a permission: {table.contradicting}"
    unknown = sorted({p for op in table.operations for p in op.permissions} - set(PERMISSIONS))
    assert not unknown, f"routes require permissions kernel/auth/roles.py does not know: {unknown}"
    assert len(table.operations) >= 100


def test_a_new_route_is_read_from_its_dependencies_or_fails_as_unlisted() -> None:
    """The table's two answers for a route it has not seen: the permission its `requires` names, or
    `unlisted` (which fails the test above) when it names none."""
    from fastapi import Depends

    from fangkong.kernel.auth.deps import CurrentActor, requires

    app = create_app(session_factory=sessionmaker())

    @app.get("/probe/plain")
    def plain(actor: CurrentActor) -> None: ...

    @app.delete("/probe/{case_id}", dependencies=[Depends(requires("case.manage"))])
    def guarded(case_id: int, actor: Any = Depends(requires("risk_area.manage"))) -> None: ...

    table = permissions.build(app)
    assert ("GET", "/probe/plain") in table.unlisted
    [op] = [o for o in table.operations if o.path == "/probe/{case_id}"]
    assert (op.method, op.permissions) == ("DELETE", ("case.manage", "risk_area.manage"))


def test_docs_permissions_md_is_up_to_date() -> None:
    """docs/permissions.md is what `fangkong docs permissions` renders now."""
    expected = permissions.render_markdown(create_app(session_factory=sessionmaker()))
    committed = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert committed == expected, "docs/permissions.md is stale: run `fangkong docs permissions --out docs/permissions.md`"


def test_the_matrix_size_in_the_docstring_is_current() -> None:
    cells = len(ROLES) * len(_cells()) * len(RELATION_NAMES)
    assert f"{len(ROLES)} roles × {len(_cells())} operations × 3 relations = {cells:,} cells" in (__doc__ or "")
