"""From the command line (in this process, CliRunner; one real `python -m fangkong` smoke), on a database of
its own: applications issued from a file with a per-row
report (idempotent), the ring exported, and the pass green in the standalone verifier with only that
ring — then grey once revoked (with the signed list), expired or edited."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cp_cli import BACKENDS, cli_database
from cp_cli import run as _run
from epass_factories import application, make_id, sampled

from fangkong.checkpoints.epass import token as tk
from fangkong.checkpoints.epass.bench import _standalone as _standalone_module
from fangkong.kernel import clock

ROOT = Path(__file__).resolve().parents[2]
STANDALONE = _standalone_module()
NOW = "2022-04-18T08:00:00+08:00"


def _fangkong(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point, once: `python -m fangkong` in a process of its own."""
    env = {**os.environ, "LANG": "C.UTF-8",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "fangkong", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def _verifier(*args: str) -> subprocess.CompletedProcess[str]:
    """`verifier/fk_epass_verify.py ARGS`, loaded from its file and run in this process (it imports no
    fangkong; test_epass_verifier.py runs it isolated, `python -I`, with only cryptography)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = STANDALONE.main(list(args))
    return subprocess.CompletedProcess(["fk_epass_verify.py", *args], code, out.getvalue(), err.getvalue())


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("backend", BACKENDS)
def test_issue_from_a_file_then_verify_standalone(backend: str, tmp_path: Path, monkeypatch) -> None:
    with cli_database(backend, tmp_path, monkeypatch, "epasscli") as factory, clock.frozen(clock.parse_time(NOW)):
        with factory() as session:
            sampled(session, 1, "2022-04-17 09:00")
            sampled(session, 2, "2022-04-17 09:30")
            session.commit()
        apps = [application("F1", "苏DA1234", 1, crew1_name="李娜", crew1_id_number=make_id(2)),
                application("F2", "苏D1234挂", 1), application("F3", "苏DC0003", 7)]
        src = tmp_path / "apps.csv"
        with src.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(apps[0]))
            w.writeheader()
            for a in apps:
                w.writerow({k: a.get(k, "") for k in apps[0]})
        done = _run("epass", "issue", str(src), "--report", str(tmp_path / "rep.csv"))
        assert done.returncode == 0, done.output
        rows = _rows(tmp_path / "rep.csv")
        assert list(rows[0])[:7] == ["row", "status", "person_id", "issues", "request_id", "pass_no", "token"]
        assert [(r["row"], r["status"]) for r in rows] == [("2", "accepted"), ("3", "rejected"), ("4", "rejected")]
        assert rows[1]["issues"].startswith("plate:") and rows[2]["issues"].startswith("driver_tested_at:")
        no, token = rows[0]["pass_no"], rows[0]["token"]
        assert no == "320400000001" and len(token) <= 1000
        again = _run("epass", "issue", str(src), "--report", str(tmp_path / "rep2.csv"))
        assert [r["status"] for r in _rows(tmp_path / "rep2.csv")] == ["duplicate", "rejected", "rejected"]
        assert _rows(tmp_path / "rep2.csv")[0]["token"] == token
        assert again.returncode == 0
        # the exported ring alone makes the standalone verifier say green
        assert _run("epass", "keys", "export", "--out", str(tmp_path / "ring.json")).returncode == 0
        ring = str(tmp_path / "ring.json")
        ok = _verifier(token, "--keys", ring, "--at", "2022-04-18T12:00:00", "--plate", "苏DA1234")
        assert ok.returncode == 0 and ok.stdout.startswith("valid\t\t320400000001\t"), ok.stdout + ok.stderr
        # the real entry point, in a process of its own, with the ring alone (no database): the same verdict
        if backend == "sqlite":  # the entry point does not depend on the backend: once is enough
            smoke = _fangkong("epass", "verify", token, "--keys", ring, "--at", "2022-04-18T12:00:00", "--plate", "苏DA1234")
            assert smoke.returncode == 0 and smoke.stdout.startswith("valid\t\t320400000001\t"), smoke.stdout + smoke.stderr
        assert _verifier(token, "--keys", ring, "--at", "2022-04-26T12:00:00").stdout.startswith("invalid\texpired")
        edited = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
        assert _verifier(edited, "--keys", ring, "--at", "2022-04-18T12:00:00").stdout.split("\t")[0] == "invalid"
        h, p, s = token.split(".")  # the plate edited in the claims, the signature kept
        claims = json.loads(tk.b64url_decode(p))
        forged = f"{h}.{tk.b64url_encode(tk.compact_json(dict(claims, plate='苏DA9999')))}.{s}"
        grey = _verifier(forged, "--keys", ring, "--at", "2022-04-18T12:00:00", "--json")
        assert json.loads(grey.stdout)["reason"] == "bad_signature" and json.loads(grey.stdout)["label"] == "签名无效"
        # revoked, and the signed list carries it
        assert _run("epass", "revoke", no, "--reason", "驾驶员阳性").returncode == 0
        assert _run("epass", "crl", "--out", str(tmp_path / "crl.jws")).returncode == 0
        grey = _verifier(token, "--keys", ring, "--revocations", str(tmp_path / "crl.jws"), "--at", "2022-04-18T12:00:00")
        assert grey.stdout.startswith("invalid\trevoked\t320400000001"), grey.stdout + grey.stderr
        # the platform's own verify (database) agrees
        assert _run("epass", "verify", token, "--at", "2022-04-18T12:00:00").stdout.startswith("invalid\trevoked")
        # rotation keeps the old public key: the pass still verifies (as revoked)
        rotated = _run("epass", "keys", "rotate", "--issuer", "常州市疫情防控指挥部", "--json")
        assert rotated.returncode == 0 and '"region": "320400"' in rotated.stdout
        assert _run("epass", "verify", token, "--at", "2022-04-18T12:00:00").stdout.startswith("invalid\trevoked")
