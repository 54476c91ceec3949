"""Nothing a client can send yields a 5xx (issue #11): every GET route of the API and the pages, called
with the values that used to crash — extreme days, Unicode digits in cursors and ids — answers 4xx or
2xx. The routes and their query parameters come from the app itself, so new routes are covered."""

from __future__ import annotations

import re

import pytest
from web_world import add_user, build_world, login, token_for

from fangkong.app import create_app

#: query values per parameter-name pattern; each route is called once per value of each of its params
PROBES = {
    r"(^|_)(day|date|since|until|from|to|at|before|after)$": ["0001-01-01", "9999-12-31", "0001-01-01T00:00",
                                                              "9999-12-31T23:59:59+14:00"],
    r"cursor|before|page": ["¹", "١٢", "９", "-1", "99999999999999999999"],
    r"limit": ["¹", "0", "-5", "10000000"],
}
PATH_VALUES = ["¹", "١", "0", "2147483648", "99999999999999999999"]


def _routes(app):
    doc = app.openapi()
    for path, ops in doc["paths"].items():
        if "get" in ops:
            params = [p["name"] for p in ops["get"].get("parameters", []) if p.get("in") == "query"]
            yield path, params
    for route in app.routes:  # pages are not in the OpenAPI document
        methods = getattr(route, "methods", set()) or set()
        path = getattr(route, "path", "")
        if "GET" in methods and not path.startswith(("/api/", "/static")) and getattr(route, "dependant", None):
            params = [p.name for p in route.dependant.query_params]
            yield path, params


@pytest.fixture
def app_and_auth(session, session_factory):
    w = build_world(session)
    admin = add_user(session, "probe_admin", "admin", w.district)
    token = token_for(session, admin)
    return create_app(session_factory=session_factory), admin, token


def test_no_route_answers_5xx_to_extreme_values(app_and_auth):
    from fastapi.testclient import TestClient

    app, admin, token = app_and_auth
    failures = []
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, admin)
        for path, params in sorted(set((p, tuple(q)) for p, q in _routes(app))):
            concrete = [path]
            if "{" in path:
                concrete = [re.sub(r"\{[^}]+\}", v, path) for v in PATH_VALUES]
            for url in concrete:
                calls = [{}]
                for name in params:
                    for pattern, values in PROBES.items():
                        if re.search(pattern, name):
                            calls += [{name: v} for v in values]
                for query in calls:
                    headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
                    answer = client.get(url, params=query, headers=headers)
                    if answer.status_code >= 500:
                        failures.append(f"{answer.status_code} GET {url} {query}")
    assert not failures, "\n".join(failures[:60])
