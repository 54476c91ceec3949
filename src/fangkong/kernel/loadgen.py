"""A bounded load generator and crash harness (压测与故障注入) for "nothing acknowledged is lost".

Clients post calls (any JSON write of the API) concurrently over HTTP, each with its own
`Idempotency-Key`, and retry what was not acknowledged — a dropped connection, a refused connection
while the server restarts, a 5xx, a 429 — with the same key, so a retry can never write twice. A call is
*acknowledged* when it got a 2xx: from then on it must be in the database exactly once.

`crash_run` runs such a load while faults strike at seeded random moments of its progress (SIGKILL of the
server and a restart, a cut of the server's database connections …), so a test or `fangkong bench` can
check afterwards that every acknowledged call is stored once and whole.

It only ever talks to the loopback interface (`require_loopback`) and is bounded in clients, calls and
attempts: a tool to prove our own server, never to load someone else's.
"""

from __future__ import annotations

import ipaddress
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

MAX_CLIENTS = 64
MAX_CALLS = 200_000
#: attempts per call before a client gives up (each waits up to BACKOFF_MAX_S): several restarts' worth
MAX_ATTEMPTS = 400
BACKOFF_MAX_S = 0.5
#: statuses worth a retry with the same key: the server or its database was not there
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class NotLoopback(ValueError):
    """The load generator refuses any target that is not this machine's loopback interface."""


def require_loopback(base_url: str) -> None:
    """Refuse a base URL whose host is not loopback (every address it resolves to must be 127/8 or ::1)."""
    parts = urlsplit(base_url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise NotLoopback(f"not an http(s) URL: {base_url!r}")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)}
    except OSError as exc:
        raise NotLoopback(f"cannot resolve {host!r}: {exc}") from None
    outside = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%", 1)[0]).is_loopback)
    if not addresses or outside:
        raise NotLoopback(f"{host!r} is not a loopback address ({', '.join(outside) or 'none'}): "
                          "the load generator only targets this machine")


@dataclass
class Call:
    """One API write: `kind` names it in figures; `key` is its Idempotency-Key (also on every retry)."""

    kind: str
    path: str
    body: dict[str, Any]
    key: str


@dataclass
class Outcome:
    call: Call
    status: int | None = None
    answer: Any = None
    attempts: int = 0
    #: what went wrong on the attempts before the last (connection errors, retried statuses)
    troubles: Counter[str] = field(default_factory=Counter)

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class LoadResult:
    outcomes: list[Outcome]
    faults: list[str] = field(default_factory=list)

    @property
    def acknowledged(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.acknowledged]

    def figures(self) -> dict[str, Any]:
        """Requests sent (calls and HTTP attempts), acknowledged, retried, and by kind."""
        troubles: Counter[str] = Counter()
        for o in self.outcomes:
            troubles.update(o.troubles)
        return {
            "requests": len(self.outcomes),
            "attempts": sum(o.attempts for o in self.outcomes),
            "acknowledged": len(self.acknowledged),
            "retried": sum(1 for o in self.outcomes if o.attempts > 1),
            "refused": sum(1 for o in self.outcomes if o.status is not None and not o.acknowledged),
            "unanswered": sum(1 for o in self.outcomes if o.status is None),
            "by_kind": dict(sorted(Counter(o.call.kind for o in self.acknowledged).items())),
            "troubles": dict(sorted(troubles.items())),
            "faults": len(self.faults),
        }


class Load:
    """Post `calls` with `clients` concurrent clients; `done` counts finished calls (for progress and
    for faults that wait for a point in the load)."""

    def __init__(self, base_url: str, token: str, calls: Sequence[Call], *, clients: int = 8,
                 max_attempts: int = MAX_ATTEMPTS, timeout_s: float = 60.0,
                 on_done: Callable[[Outcome], None] | None = None) -> None:
        require_loopback(base_url)
        if not 1 <= clients <= MAX_CLIENTS:
            raise ValueError(f"clients must be 1..{MAX_CLIENTS}")
        if len(calls) > MAX_CALLS:
            raise ValueError(f"at most {MAX_CALLS} calls")
        self.base_url, self.token, self.clients = base_url, token, clients
        self.max_attempts, self.timeout_s, self.on_done = max_attempts, timeout_s, on_done
        self.outcomes = [Outcome(c) for c in calls]
        self._todo: queue.Queue[Outcome] = queue.Queue()
        for o in self.outcomes:
            self._todo.put(o)
        self._lock = threading.Lock()
        self.done = 0
        self.attempts = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._client, name=f"load-{i}", daemon=True)
                         for i in range(self.clients)]
        for t in self._threads:
            t.start()

    def join(self) -> None:
        for t in self._threads:
            t.join()

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def run(self) -> list[Outcome]:
        self.start()
        self.join()
        return self.outcomes

    def _client(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout_s) as client:
            while True:
                try:
                    outcome = self._todo.get_nowait()
                except queue.Empty:
                    return
                self._post(client, outcome)
                with self._lock:
                    self.done += 1
                if self.on_done is not None:
                    self.on_done(outcome)

    def _post(self, client: httpx.Client, o: Outcome) -> None:
        for attempt in range(self.max_attempts):
            o.attempts += 1
            with self._lock:
                self.attempts += 1
            try:
                answer = client.post(o.call.path, json=o.call.body, headers={"Idempotency-Key": o.call.key})
            except httpx.HTTPError as exc:  # refused while the server restarts, dropped when it died
                o.troubles[type(exc).__name__] += 1
            else:
                if answer.status_code not in RETRY_STATUSES:
                    o.status = answer.status_code
                    try:
                        o.answer = answer.json()
                    except ValueError:
                        o.answer = answer.text
                    return
                o.troubles[f"http_{answer.status_code}"] += 1
            time.sleep(min(BACKOFF_MAX_S, 0.02 * (2 ** min(attempt, 5))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`fangkong serve` as a child process on a loopback port (no scheduler: the load is the only writer
    besides what it triggers), which can be killed with SIGKILL and started again on the same data."""

    def __init__(self, env: Mapping[str, str], *, port: int | None = None, log: Path | None = None,
                 workers: int = 1) -> None:
        self.env = dict(env)
        self.workers = workers
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, *, wait_s: float = 180.0) -> None:
        out: TextIO | int = subprocess.DEVNULL
        if self.log is not None:
            out = self.log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fangkong", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--no-scheduler", *(["--workers", str(self.workers)] if self.workers > 1 else [])],
            env=self.env, stdout=out, stderr=subprocess.STDOUT)
        if not isinstance(out, int):
            out.close()
        self.starts += 1
        self._wait_ready(wait_s)

    def _wait_ready(self, wait_s: float) -> None:
        assert self.process is not None
        tries = int(wait_s / 0.05)
        for _ in range(tries):
            if self.process.poll() is not None:
                raise RuntimeError(f"fangkong serve exited with {self.process.returncode}{self._log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"fangkong serve did not answer /healthz{self._log_tail()}")

    def _log_tail(self) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return ":\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no rollback — what a power cut does to the process."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def crash_and_restart(self, meanwhile: Callable[[], None] | None = None) -> None:
        """SIGKILL, then start again; `meanwhile()` (e.g. `fangkong audit verify` on what the crash left)
        runs from the moment of the kill, alongside the restart."""
        self.kill()
        check = threading.Thread(target=meanwhile) if meanwhile is not None else None
        if check is not None:
            check.start()
        try:
            self.start()
        finally:
            if check is not None:
                check.join()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def serving(env: Mapping[str, str], *, log: Path | None = None) -> Iterator[Server]:
    server = Server(env, log=log)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def crash_run(load: Load, faults: Sequence[tuple[str, Callable[[], None]]], *, seed: int,
              jitter_s: float = 0.05) -> LoadResult:
    """Run `load` while each fault (name, action) strikes once, in order, when a seeded random share of
    the calls is done (plus a random few milliseconds, so it lands inside a request). The clients keep
    retrying through the faults; returns when every call is answered or given up."""
    rnd = random.Random(seed)
    total = len(load.outcomes)
    # one point in each of len(faults) equal stretches of the first 90% of the load: faults never pile up
    span = max(1, int(total * 0.9)) / max(1, len(faults))
    points = [rnd.randint(int(i * span) + 1, max(int(i * span) + 1, int((i + 1) * span))) for i in range(len(faults))]
    struck: list[str] = []
    load.start()
    for (name, action), point in zip(faults, points, strict=True):
        while load.done < point and load.running:
            time.sleep(0.005)
        time.sleep(rnd.uniform(0, jitter_s))
        action()
        struck.append(f"{name}@{load.done}/{total}")
    load.join()
    return LoadResult(load.outcomes, struck)


def run_with_progress(load: Load, *, title: str, faults: Sequence[tuple[str, Callable[[], None]]] = (),
                      seed: int = 1) -> LoadResult:
    """The CLI's view of a load: a Rich progress bar of answered calls (and the faults as they strike)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from fangkong.kernel.cli_support import err_console

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=False) as progress:
        task = progress.add_task(title, total=len(load.outcomes))
        previous = load.on_done

        def advance(o: Outcome) -> None:
            progress.advance(task)
            if previous is not None:
                previous(o)

        load.on_done = advance
        noted = [(name, _noting(progress, name, action)) for name, action in faults]
        return crash_run(load, noted, seed=seed)


def _noting(progress: Any, name: str, action: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        progress.console.log(f"fault: {name}")
        action()

    return run
