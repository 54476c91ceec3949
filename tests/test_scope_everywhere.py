"""Every list in the API is scoped (属地): workers of two neighbouring grids never see the same record.

A route that forgot `scope.visible` shows both workers the same rows and fails here. The routes are
found from the app itself, so every capability's lists are covered as they are added.
"""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fangkong.app import create_app
from fangkong.drill.city import generate_city
from fangkong.drill.scenario import seed_scenario
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.testing import service as testing_service

NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=dt.UTC)

#: lists of reference data that are the same for every unit by design
GLOBAL_LISTS = {
    "/api/v1/risk-areas",  # risk areas are declared for regions elsewhere, not owned by a grid
}


def _ids(body: object) -> set[str]:
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list):
        return set()
    keys = ("id", "member_id", "lead_id", "task_id", "case_id", "person_id")
    out = set()
    for item in items:
        if isinstance(item, dict):
            key = next((k for k in keys if item.get(k) is not None), None)
            if key:
                out.add(f"{key}={item[key]}")
    return out


def test_neighbouring_grid_workers_never_share_a_row(session, session_factory):
    with clock.frozen(NOW):
        generate_city(session, persons=800, seed=11)
        seed_scenario(session, leads=120, seed=11)
        # the two grids with most leads, under one community where possible
        busiest = session.execute(
            select(Unit).join(Lead, Lead.unit_id == Unit.id).where(Unit.level == "grid")
            .group_by(Unit.id).order_by(func.count(Lead.id).desc()).limit(2)).scalars().all()
        assert len(busiest) == 2
        # key-group members on both grids, so the compliance lists have rows too
        group = policy_service.active_pack(session).key_groups[0].code
        for grid in busiest:
            for pid in session.execute(select(Person.id).where(Person.unit_id == grid.id).limit(5)).scalars():
                testing_service.enrol(session, SYSTEM_ACTOR, person_id=pid, group_code=group)
        tokens = []
        for n, grid in enumerate(busiest):
            auth_service.create_user(session, SYSTEM_ACTOR, username=f"scope{n}", role="grid",
                                     unit_code=grid.code, password="correct-horse-9")
            session.flush()
            tokens.append(auth_service.create_token(session, SYSTEM_ACTOR, username=f"scope{n}")[1])
        session.flush()
        app = create_app(session_factory=session_factory)
        # the OpenAPI document lists every API route of every capability
        lists = sorted(path for path, ops in app.openapi()["paths"].items()
                       if "get" in ops and path.startswith("/api/v1/") and "{" not in path)
        seen_rows = 0
        with TestClient(app, raise_server_exceptions=False) as client:
            for path in lists:
                answers = [client.get(path, headers={"Authorization": f"Bearer {t}"}) for t in tokens]
                assert all(a.status_code < 500 for a in answers), (path, [a.status_code for a in answers])
                if path in GLOBAL_LISTS or not all(a.status_code == 200 for a in answers):
                    continue  # needs parameters or a permission a grid worker lacks
                a, b = (_ids(x.json()) for x in answers)
                assert not a & b, f"{path}: both grids see {sorted(a & b)[:5]}"
                seen_rows += len(a) + len(b)
    assert len(lists) >= 10
    assert seen_rows > 0, "no list returned rows: the test would prove nothing"
