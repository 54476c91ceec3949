"""Handlers that touch the database never block the event loop: a route whose endpoint (or any of its
dependencies) takes the request's database session is a plain `def`, which FastAPI runs in a worker
thread. Found from the app itself, so every capability's routes are covered as they are added."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.orm import sessionmaker

from fangkong.app import create_app
from fangkong.kernel.web.deps import DbSession, get_db


def _routes() -> Iterator[APIRoute]:
    app = create_app(session_factory=sessionmaker())
    for rc in iter_route_contexts(app.routes):
        route = getattr(rc, "original_route", rc)
        if isinstance(route, APIRoute):
            yield route


def _blocking(dependant: Any, trail: str) -> Iterator[str]:
    """Async callables in the dependency tree that take the database session directly."""
    takes_db = any(d.call is get_db for d in dependant.dependencies)
    if takes_db and dependant.call is not None and inspect.iscoroutinefunction(dependant.call):
        yield f"{trail}: async {dependant.call.__module__}.{dependant.call.__qualname__} takes the database session"
    for sub in dependant.dependencies:
        yield from _blocking(sub, trail)


def test_no_async_handler_touches_the_database():
    routes = list(_routes())
    assert len(routes) > 50  # the whole app, every capability
    found = [msg for r in routes for msg in _blocking(r.dependant, f"{sorted(r.methods)} {r.path}")]
    assert not found, "make these plain `def` (read a form with kernel.web.deps.FormFields):\n" + "\n".join(found)


def test_the_check_sees_an_async_handler():
    """The check itself: an async endpoint taking DbSession is found."""
    app = FastAPI()

    @app.post("/x")
    async def x(session: DbSession) -> None:  # pragma: no cover - never called
        return None

    @app.post("/y")
    def y(session: DbSession) -> None:  # pragma: no cover - never called
        return None

    found = [msg for rc in iter_route_contexts(app.routes)
             if isinstance(getattr(rc, "original_route", rc), APIRoute)
             for msg in _blocking(rc.original_route.dependant, rc.path)]
    assert len(found) == 1 and "/x" in found[0]
