"""How the drill reaches the platform (传输): `http`, a real uvicorn server on a free localhost port
in a thread of this process, called with httpx over the socket; or `inprocess`, the same app and
route functions through Starlette's TestClient (no socket). Both count the calls they make."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Literal

import httpx
from sqlalchemy.orm import Session, sessionmaker

TransportName = Literal["http", "inprocess"]
TRANSPORTS: tuple[str, ...] = ("http", "inprocess")


class Platform:
    """A client of the platform's public API; `calls` counts the requests made."""

    def __init__(self, factory: sessionmaker[Session], transport: TransportName) -> None:
        from fangkong.app import create_app

        self.transport = transport
        self.calls = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        app = create_app(session_factory=factory)
        if transport == "http":
            import uvicorn

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
            self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                         lifespan="off", access_log=False))
            self._thread = threading.Thread(target=self._server.run, name="drill-platform", daemon=True)
            self._thread.start()
            deadline = time.monotonic() + 120
            while not self._server.started:
                if time.monotonic() > deadline or not self._thread.is_alive():
                    raise RuntimeError("the drill's platform server did not start")
                time.sleep(0.02)
            self.client: Any = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
        elif transport == "inprocess":
            import warnings

            with warnings.catch_warnings():  # Starlette would rather see httpx2; httpx serves here
                warnings.simplefilter("ignore")
                from fastapi.testclient import TestClient

            self.client = TestClient(app, base_url="http://drill.local")
        else:
            raise ValueError(f"unknown transport {transport!r}")

    def request(self, method: str, path: str, *, token: str, json: Any = None, params: dict[str, Any] | None = None,
                key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        if key:
            headers["Idempotency-Key"] = key
        self.calls += 1
        answer = self.client.request(method, "/api/v1" + path, json=json, params=params, headers=headers)
        if answer.status_code >= 400:
            raise PlatformError(method, path, answer.status_code, answer.text[:2000])
        return answer

    def close(self) -> None:
        self.client.close()
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(timeout=30)


class PlatformError(Exception):
    """The platform refused a drill's call (a bug of the drill's senders, or the platform's)."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: {status} {body}")
        self.status = status
