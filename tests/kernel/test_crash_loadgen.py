"""The load generator is a tool to prove our own server: loopback only, and bounded."""

from __future__ import annotations

import pytest

from fangkong.kernel.loadgen import MAX_CALLS, MAX_CLIENTS, Call, Load, NotLoopback, require_loopback


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://127.8.9.10", "http://localhost:1",
                                 "http://[::1]:8080"])
def test_loopback_targets_are_accepted(url):
    require_loopback(url)


@pytest.mark.parametrize("url", ["http://10.1.2.3:8000", "http://192.168.0.1", "http://[2001:db8::1]/",
                                 "http://8.8.8.8", "ftp://127.0.0.1", "127.0.0.1:8000", "http://no-such-host.invalid"])
def test_other_targets_are_refused(url):
    with pytest.raises(NotLoopback):
        require_loopback(url)


def test_the_load_is_bounded():
    call = Call("leads", "/api/v1/leads", {}, "k")
    with pytest.raises(NotLoopback):
        Load("http://10.0.0.1:8000", "t", [call])
    with pytest.raises(ValueError):
        Load("http://127.0.0.1:8000", "t", [call], clients=MAX_CLIENTS + 1)
    with pytest.raises(ValueError):
        Load("http://127.0.0.1:8000", "t", [call] * (MAX_CALLS + 1))


@pytest.mark.heavy
def test_fangkong_bench_load_runs_the_api_under_concurrent_clients(tmp_path):
    """`fangkong bench load` end to end at a tiny size: a served scratch database, every call acknowledged."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "FANGKONG_DATA_DIR": str(tmp_path), "LANG": "C.UTF-8", "TMPDIR": str(tmp_path)}
    env.pop("FANGKONG_DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-m", "fangkong", "bench", "load", "calls=16", "clients=4", "persons=30",
                          "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout)["figures"]
    assert figures["requests"] == figures["acknowledged"] == 16, figures
    assert figures["audit_verified"] is True
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("fangkong-bench")]
