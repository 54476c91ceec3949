"""No personal data or secrets in the server's logs (日志脱敏): searches put ID and phone numbers into
GET query strings, tokens travel in headers; the access log and error log of a real `fangkong serve`
never show them whole."""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from hypothesis import given
from hypothesis import strategies as st
from signin import sign_in
from web_world import csrf_of, valid_id

from fangkong.kernel.web import logredact
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
    assert redact("q=%2B86+138+1234+5678 HTTP/1.1") == "q=+86+138****5678 HTTP/1.1"  # typed in groups
    assert redact("q=138-1234-5678") == "q=138****5678"
    assert redact("q=320483+19700101+1234&x=1") == "q=320483********1234&x=1"
    assert redact("q=320483%2019700101%20123X") == "q=320483********123X"
    for kept in ('127.0.0.1:45440 - "GET /x HTTP/1.1" 200 OK', "day=2022-04-18 10:00 cursor=12",
                 "2022-04-18 09:00:00", "day=20220418", "cursor=123456", "/persons/1234567"):
        assert redact(kept) == kept


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["q=", " ", "/", "电话"]))
def test_no_mobile_number_survives(phone, before):
    assert phone not in redact(before + phone + " HTTP/1.1")


def test_any_logger_through_any_handler_is_masked():
    """A child of `fangkong` with a handler of its own that knows nothing of the filter (and Python's
    last-resort handler, which has no filters) still writes masked records: they are masked when made."""
    logredact.install()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = logging.getLogger("fangkong.imports.test_redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("row of %s failed", f"{ID},{PHONE}")
        try:
            raise ValueError(f"duplicate id_number {ID}")
        except ValueError:
            logger.exception("import of %(phone)s crashed", {"phone": PHONE})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = out.getvalue()
    assert "320483********1234" in text and "duplicate id_number" in text  # masked, not dropped
    assert ID not in text and PHONE not in text, text


#: what the log grep looks for: an 18-character GB 11643 number, a mobile number (not inside longer digits)
ID_PATTERN = re.compile(r"(?<![0-9])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[0-9Xx](?![0-9A-Za-z])")
MOBILE_PATTERN = re.compile(r"(?<![0-9])1[3-9]\d{9}(?![0-9])")
PASSWORD = "log-scenario-pw-77"
#: the scenario's people (fictitious, well-formed: region 320412, the check digit computed)
PEOPLE = [("陈小峰", valid_id("32041219780215331"), "13912345601"),
          ("林雪", valid_id("32041219920830204"), "15012345602"),
          ("黄大伟", valid_id("32041219650101517"), "18612345603")]
LEADS = [("周强", valid_id("32041219880512618"), "13712345604"), ("吴敏", valid_id("32041220010910422"), "17712345605")]


def _serve(tmp_path: Path) -> tuple[dict[str, str], subprocess.Popen, str, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", FANGKONG_SCHEDULER="false")
    run = lambda *a, **kw: subprocess.run([str(FANGKONG), *a], env=env, capture_output=True, text=True,  # noqa: E731
                                          timeout=120, **kw)
    assert run("init").returncode == 0
    added = run("users", "add", "logbot", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "server.log"
    with log.open("w") as out:  # stdout (uvicorn's access log) and stderr (its error log, the app's log)
        server = subprocess.Popen([str(FANGKONG), "serve", "--port", str(port)], env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
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
    return env, server, base, log


def _scenario(env: dict[str, str], base: str) -> list[str]:
    """Everything an operator does with personal data, over HTTP; returns the secrets it used."""
    secrets = [PASSWORD]
    with httpx.Client(base_url=base, timeout=60) as web:
        assert sign_in(web, "logbot", PASSWORD).status_code == 303
        secrets.append(web.cookies["fk_session"])
        page = {"X-CSRF-Token": csrf_of(web.get("/").text)}
        token = subprocess.run([str(FANGKONG), "token", "create", "logbot", "--label", "log scenario"], env=env,
                               capture_output=True, text=True, timeout=120).stdout.strip().splitlines()[-1].strip()
        assert token.startswith("fk_")
        secrets.append(token)
        api = {"Authorization": f"Bearer {token}"}
        ids = []
        for name, id_number, phone in PEOPLE:
            r = web.post("/api/v1/persons", headers=api, json={"name": name, "id_number": id_number,
                                                                "phone": phone, "address_text": "花园路1号"})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        for name, id_number, phone in PEOPLE:  # searches by ID and phone, in the API and on the page
            for q in (id_number, phone, f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}", f"{name}{phone}",
                      f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}", f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"):
                assert web.get("/api/v1/persons", params={"q": q}, headers=api).status_code == 200
                assert web.get("/persons", params={"q": q}).status_code == 200
        lead = {"channel": "community", "items": [{"name": n, "id_number": i, "phone": p, "address": "花园路3号",
                                                   "source_ref": f"log-{i}"} for n, i, p in LEADS]}
        assert web.post("/api/v1/leads", headers=api, json=lead).status_code == 200
        csv = "name,id_number,phone,address\n" + "".join(f"{n}{k},{i},{p},花园路5号\n" for k, (n, i, p)
                                                         in enumerate(PEOPLE + LEADS))
        upload = web.post("/leads/import", headers=page, data={"channel": "community"},
                          files={"file": ("leads.csv", csv.encode(), "text/csv")}, follow_redirects=False)
        assert upload.status_code == 303, upload.text
        for _attempt in range(600):  # the import runs in a worker thread after the answer
            report = web.get(upload.headers["location"] + "/report.csv")
            if report.status_code == 200:
                break
            time.sleep(0.2)
        assert report.status_code == 200 and ",accepted," in report.text, report.text
        for field in ("id_number", "phone"):
            r = web.post(f"/api/v1/persons/{ids[0]}/unmask", headers=api, json={"field": field})
            assert r.status_code == 200 and r.json()["value"] in (PEOPLE[0][1], PEOPLE[0][2])
            assert web.post(f"/persons/{ids[1]}/unmask", headers=page, params={"field": field}).status_code == 200
        exported = web.get("/api/v1/exports/leads", params={"unmasked": "true"}, headers=api)
        assert exported.status_code == 200 and LEADS[0][2] in exported.text
        assert web.get("/export/leads.csv").status_code == 200
        # failing requests that carry the numbers: an ID where an id belongs, a repeat, a bad token
        assert web.get(f"/api/v1/persons/{PEOPLE[0][1]}", headers=api).status_code == 422
        assert web.post("/api/v1/persons", headers=api, json={"name": "重复", "id_number": PEOPLE[0][1]}).status_code == 409
        assert web.get(f"/persons/{PEOPLE[1][2]}").status_code in (404, 422)
        assert httpx.get(base + "/api/v1/persons", params={"q": PEOPLE[2][1], "token": token},  # no cookie
                         headers={"Authorization": f"Bearer {token[:-2]}xx"}, timeout=60).status_code == 401
        assert web.post("/api/v1/persons", headers=api, json={"name": "x", "phone": PEOPLE[2][2] + "9"}).status_code == 422
    return secrets


def test_a_full_scenario_leaves_no_personal_data_or_secret_in_the_logs(tmp_path):
    """Sign in, register, search, import, unmask, export, a token, failing requests — then every line
    the real server wrote (access log, error log, app log) is grepped for ID and mobile numbers, the
    token, the session cookie and the password."""
    env, server, base, log = _serve(tmp_path)
    try:
        secrets = _scenario(env, base)
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert "POST /api/v1/persons" in text and "GET /api/v1/persons?q=" in text  # the access log was written
    assert "POST /leads/import" in text and "/unmask" in text
    numbers = [n for _name, i, p in PEOPLE + LEADS for n in (i, p)]
    leaks = []
    for n, line in enumerate(text.splitlines(), 1):
        found = ID_PATTERN.findall(line) + MOBILE_PATTERN.findall(line)
        joined = re.sub(r"[ +\-]|%20|%2[Dd]", "", line)  # a number typed in groups, as the log wrote it
        found += [x for x in numbers if x in joined and x not in found]
        found += [s[:12] + "…" for s in secrets if s in line]
        if found:
            leaks.append(f"line {n}: {found} in {line[:200]!r}")
    assert not leaks, "\n".join(leaks[:20])
