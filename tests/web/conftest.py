"""Fixtures for the web tests: the app on the test's transaction, a small world, a signed-in browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from web_world import World, build_world, token_for

from fangkong.app import create_app


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a 5xx must show up as a status the test can assert on
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def world(session: Session) -> World:
    w = build_world(session)
    # flushed, not committed: the app's sessions share the test's connection and see the rows inside its
    # transaction (a commit would end the savepoint that keeps the test isolated on SQLite)
    session.flush()
    return w


@pytest.fixture
def worker_token(session: Session, world: World) -> str:
    token = token_for(session, world.worker_username)
    session.flush()
    return token
