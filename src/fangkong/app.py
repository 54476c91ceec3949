"""The web application (Web 应用): pages for people, JSON under /api/v1 for machines.

`uvicorn fangkong.app:create_app --factory` (what `fangkong serve` runs) builds it on the configured
database; tests pass their own `session_factory`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from fangkong.kernel.web import logredact
from fangkong.kernel.web.errors import install_error_handlers
from fangkong.kernel.web.mode import ModeHeaderMiddleware
from fangkong.kernel.web.security import SecurityHeadersMiddleware
from fangkong.kernel.web.templating import LocaleMiddleware, add_template_dir

log = logging.getLogger("fangkong.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/v1"


def _kernel_routers() -> tuple[list[APIRouter], list[APIRouter]]:
    from fangkong.kernel.web import (
        routes_api,
        routes_audit,
        routes_export,
        routes_home,
        routes_imports,
        routes_jobs,
        routes_persons,
        routes_places,
        routes_tasks,
        routes_units,
    )

    pages = [routes_home.pages, routes_units.pages, routes_persons.pages, routes_tasks.pages,
             routes_places.pages, routes_audit.pages, routes_jobs.pages, routes_export.pages, routes_imports.pages]
    return [routes_api.api, routes_export.api], [routes_home.health, *pages]


def _include_capabilities(app: FastAPI) -> None:
    """`fangkong.<cap>.routes` for each registered capability: `api` under /api/v1, `pages` at the root."""
    from fangkong.registry import CAPABILITIES, EXTRA_ROUTE_MODULES

    names = [f"fangkong.{name}.{part}" for name in CAPABILITIES for part in ("routes", "pages", "labels")]
    # a capability's JSON API and pages live in routes.py; large page sets may sit in pages.py;
    # labels.py names its codes for people (kernel.messages.labels); a part with routes of its own is
    # listed in EXTRA_ROUTE_MODULES
    for module_name in [*names, *EXTRA_ROUTE_MODULES]:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        add_template_dir(Path(module.__file__ or "").resolve().parent / "templates")
        api = getattr(module, "api", None)
        if api is not None:
            app.include_router(api, prefix=API_PREFIX)
        pages = getattr(module, "pages", None)
        if pages is not None:
            app.include_router(pages)
        # a part of a capability with routers of its own (checkpoints/epass)
        for part in getattr(module, "SUB_ROUTERS", ()):
            app.include_router(part.api, prefix=API_PREFIX)
            app.include_router(part.pages)


def _scheduler_lifespan(session_factory: sessionmaker[Session]) -> Any:
    """Run the scheduler thread for as long as the app serves (`fangkong serve`; off with
    `--no-scheduler` or FANGKONG_SCHEDULER=false)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from fangkong.kernel.scheduler.service import SchedulerThread

        thread = SchedulerThread(session_factory)
        thread.start()
        try:
            yield
        finally:
            thread.stop()

    return lifespan


def create_app(*, session_factory: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the app. Without `session_factory`, use the configured database and read its mode, and run
    the scheduled jobs while serving (tests pass their own factory and run jobs themselves)."""
    lifespan = None
    if session_factory is None:
        from fangkong.kernel import db
        from fangkong.kernel.bootstrap import load_mode
        from fangkong.settings import get_settings

        session_factory = db.session_factory()
        with session_factory() as session:
            load_mode(session)
        if get_settings().scheduler:
            lifespan = _scheduler_lifespan(session_factory)

    app = FastAPI(
        title="Fangkong 防控",
        summary="Outbreak prevention and control command platform",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.session_factory = session_factory
    logredact.install()  # after uvicorn configured its handlers: every record is masked before it is written
    install_error_handlers(app)
    app.add_middleware(LocaleMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(ModeHeaderMiddleware)  # outermost: every answer, errors included, names a drill
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    api_routers, page_routers = _kernel_routers()
    for router in api_routers:
        app.include_router(router, prefix=API_PREFIX)
    for router in page_routers:
        app.include_router(router)
    _include_capabilities(app)
    return app
