"""A small demo city on a database of a test's own, served by uvicorn on a free loopback port, for tests
that drive the platform over real HTTP with real commits (concurrent clients, CLI imports beside them)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from own_database import initialised_database
from sqlalchemy import select

from fangkong.app import create_app
from fangkong.drill.city import generate_city
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.places.models import Place


@contextmanager
def served_city(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, name: str, persons: int,
                seed: int) -> Iterator[dict[str, Any]]:
    """A fresh database of `backend`, a city of `persons`, an admin API token (user `<name>bot`), the app
    on uvicorn. Yields base, token, venues (codes), factory, env (for `fangkong` subprocesses) and tmp."""
    with initialised_database(backend, tmp_path, monkeypatch, name) as (url, factory):
        with factory() as session:
            generate_city(session, persons=persons, seed=seed)
            auth_service.create_user(session, SYSTEM_ACTOR, username=f"{name}bot", role="admin",
                                     password="correct-horse-9")
            session.flush()
            token = auth_service.create_token(session, SYSTEM_ACTOR, username=f"{name}bot")[1]
            venues = list(session.execute(select(Place.code).where(Place.kind == "venue")).scalars())
            session.commit()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        server = uvicorn.Server(uvicorn.Config(create_app(session_factory=factory), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            for _attempt in range(6000):  # up to ~2 minutes: a loaded machine starts slowly
                if server.started:
                    break
                assert thread.is_alive(), "uvicorn stopped while starting"
                time.sleep(0.02)
            else:
                raise AssertionError("uvicorn did not start")
            yield {"base": f"http://127.0.0.1:{port}", "token": token, "venues": venues, "factory": factory,
                   "env": {**os.environ, "FANGKONG_DATA_DIR": str(tmp_path), "FANGKONG_DATABASE_URL": url,
                           "LANG": "en_US.UTF-8"}, "tmp": tmp_path}
        finally:
            server.should_exit = True
            thread.join(timeout=30)
