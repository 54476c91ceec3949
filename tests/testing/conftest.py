"""Fixtures of the testing capability's tests (the database fixtures come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session
from testing_factories import NOW, Tree, build_tree

from fangkong.kernel import clock


@pytest.fixture
def tree(session: Session) -> Tree:
    return build_tree(session)


@pytest.fixture
def at_now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory) -> Iterator:
    from fastapi.testclient import TestClient

    from fangkong.app import create_app

    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c
