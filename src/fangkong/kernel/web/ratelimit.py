"""Per-client rate limits for what anyone can reach without an account (限流): sign-in and the public
citizen forms. A sliding one-minute window per (limit, client address), kept on the app instance.

Written here rather than taken from a library: the need is two counters in one process (uvicorn
with one worker, as `fangkong serve` runs it); behind several workers, put the limit in the reverse
proxy as well (docs/operations.md).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from threading import Lock
from typing import Any

from fastapi import Depends, Request

from fangkong.kernel.errors import DomainError

WINDOW_S = 60.0


class RateLimited(DomainError):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many requests: try again in a minute", status=429, code="rate_limited")
        self.retry_after = retry_after


class RateLimiter:
    """Hits per (name, client) in the last minute."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = Lock()

    def hit(self, name: str, client: str, per_minute: int) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._hits) > 50_000:  # forget clients that went quiet
                self._hits = {k: q for k, q in self._hits.items() if q and now - q[-1] < WINDOW_S}
            q = self._hits.setdefault((name, client), deque())
            while q and now - q[0] >= WINDOW_S:
                q.popleft()
            if len(q) >= per_minute:
                raise RateLimited(retry_after=max(1, int(WINDOW_S - (now - q[0])) + 1))
            q.append(now)


def rate_limit(name: str, per_minute: int) -> Any:
    """A route dependency: at most `per_minute` requests a minute from one client address."""

    def check(request: Request) -> None:
        limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
        if limiter is None:
            limiter = request.app.state.rate_limiter = RateLimiter()
        client = request.client.host if request.client else "?"
        limiter.hit(name, client, per_minute)

    dep: Callable[[Request], None] = check
    return Depends(dep)


def login_limit() -> Any:
    from fangkong.settings import get_settings

    return rate_limit("login", get_settings().login_rate_per_minute)


def public_limit() -> Any:
    from fangkong.settings import get_settings

    return rate_limit("public", get_settings().public_rate_per_minute)
