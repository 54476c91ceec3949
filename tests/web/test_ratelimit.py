"""Sign-in and the public citizen forms are limited per client address; other clients are unaffected."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from signin import sign_in

from fangkong.app import create_app
from fangkong.kernel.web.ratelimit import RateLimited, RateLimiter
from fangkong.settings import get_settings


def test_public_form_answers_429_after_its_budget(session_factory) -> None:
    budget = get_settings().public_rate_per_minute
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as client:
        codes = [client.post("/my-test", data={"id_number": "x", "phone": "y"}).status_code
                 for _ in range(budget + 1)]
        assert 429 not in codes[:budget] and codes[-1] == 429
        limited = client.post("/my-test", data={"id_number": "x", "phone": "y"})
        assert int(limited.headers["Retry-After"]) >= 1
        # a page that is not limited still answers, and sign-in has its own budget
        assert client.get("/login").status_code == 200
        assert sign_in(client, "nobody", "wrong-password").status_code != 429


def test_limiter_counts_per_client_and_forgets_after_a_minute(monkeypatch) -> None:
    import fangkong.kernel.web.ratelimit as rl

    now = [1000.0]
    monkeypatch.setattr(rl.time, "monotonic", lambda: now[0])
    limiter = RateLimiter()
    for _ in range(3):
        limiter.hit("public", "10.0.0.1", 3)
    with pytest.raises(RateLimited):
        limiter.hit("public", "10.0.0.1", 3)
    limiter.hit("public", "10.0.0.2", 3)  # another client has its own budget
    now[0] += 61
    limiter.hit("public", "10.0.0.1", 3)  # the window has passed
