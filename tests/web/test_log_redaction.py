"""No personal data or secrets in the server's logs (日志脱敏): searches put ID and phone numbers into
GET query strings, tokens travel in headers; the access log and error log of a real `fangkong serve`
never show them whole."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from hypothesis import given
from hypothesis import strategies as st

from fangkong.kernel.web.logredact import redact

FANGKONG = Path(sys.executable).with_name("fangkong")
ID = "320483197001011234"
PHONE = "13812345678"


def test_redact_masks_ids_phones_and_tokens_but_not_dates():
    assert redact(f"GET /persons?q={ID} HTTP/1.1") == "GET /persons?q=320483********1234 HTTP/1.1"
    assert redact(f"q={PHONE}&x=1") == "q=138****5678&x=1"
    assert redact("q=%2B8613812345678") == "q=+86138****5678"
    assert redact("id=32048319700101123X") == "id=320483********123X"
    assert redact("old=320483700101123") == "old=320483******123"
    assert redact("Bearer fk_dR9z2v9QgpUSDk_eL5Bgl5j3R-kNlqXVvE_r00r3TG0") == "Bearer fk_[redacted]"
    for kept in ("2022-04-18 09:00:00", "day=20220418", "cursor=123456", "/persons/1234567"):
        assert redact(kept) == kept


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["q=", " ", "/", "电话"]))
def test_no_mobile_number_survives(phone, before):
    assert phone not in redact(before + phone + " HTTP/1.1")


def test_a_served_platform_logs_no_id_phone_or_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", FANGKONG_SCHEDULER="false")
    run = lambda *a, **kw: subprocess.run([str(FANGKONG), *a], env=env, capture_output=True, text=True,  # noqa: E731
                                          timeout=120, **kw)
    assert run("init").returncode == 0
    assert run("users", "add", "logbot", "--role", "admin", "--password-stdin", input="long-enough-pw\n").returncode == 0
    token = run("token", "create", "logbot").stdout.strip().splitlines()[-1].strip()
    assert token.startswith("fk_")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(FANGKONG), "serve", "--port", str(port)], env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            for _attempt in range(900):  # up to ~3 minutes: a loaded machine starts slowly
                try:
                    httpx.get(base + "/healthz", timeout=2)
                    break
                except httpx.HTTPError:
                    assert server.poll() is None, log.read_text()  # the server died: say why
                    time.sleep(0.2)
            else:
                raise AssertionError("the server did not answer: " + log.read_text())
            auth = {"Authorization": f"Bearer {token}"}
            for q in (ID, PHONE, "+86 138 1234 5678", f"张三{PHONE}"):
                httpx.get(base + "/api/v1/persons", params={"q": q}, headers=auth, timeout=30)
                httpx.get(base + "/persons", params={"q": q}, timeout=30)
            httpx.get(base + f"/api/v1/persons?q={ID}&token={token}", timeout=30)
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log.read_text()
    assert "GET /api/v1/persons?q=" in text  # the access log was written
    for secret in (ID, PHONE, token, "1381234"):
        assert secret not in text, secret
