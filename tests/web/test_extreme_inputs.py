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


FORM_VALUES = ["¹", "١٢", "９", "99999999999999999999", "0001-01-01"]


def _form_routes(app):
    """Every page route that takes a form (POST outside /api/): its path and its form fields."""
    from fastapi.routing import APIRoute, iter_route_contexts

    def body_fields(dependant):
        yield from dependant.body_params
        for sub in dependant.dependencies:
            yield from body_fields(sub)

    for rc in iter_route_contexts(app.routes):
        route, path = rc.original_route, rc.path or ""
        if isinstance(route, APIRoute) and "POST" in route.methods and not path.startswith("/api/"):
            fields = sorted({p.alias or p.name for p in body_fields(route.dependant)} - {"csrf_token"})
            if fields:
                yield path, fields


def test_no_form_answers_5xx_to_unicode_digits(app_and_auth):
    """Every form field of every page, filled with values that look like numbers to `str.isdigit` but
    not to `int` (`¹`), other scripts' digits, huge numbers and extreme dates: 4xx or a redirect, never
    a 5xx. Path ids are 1 and a huge number, so handlers that parse a field before looking up the
    record are reached."""
    from fastapi.testclient import TestClient

    app, admin, _token = app_and_auth
    failures, posted = [], 0
    with TestClient(app, raise_server_exceptions=False) as client:
        csrf = login(client, admin)
        for path, fields in sorted(_form_routes(app)):
            if path in ("/login", "/logout"):
                continue
            urls = [path] if "{" not in path else [re.sub(r"\{[^}]+\}", v, path) for v in ("1", "2147483648")]
            for url in urls:
                for value in FORM_VALUES:
                    answer = client.post(url, data={**dict.fromkeys(fields, value), "csrf_token": csrf},
                                         headers={"X-CSRF-Token": csrf}, follow_redirects=False)
                    posted += 1
                    if answer.status_code >= 500:
                        failures.append(f"{answer.status_code} POST {url} {value!r}")
    assert posted > 50, posted
    assert not failures, "\n".join(failures[:60])
