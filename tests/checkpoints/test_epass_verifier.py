"""The standalone verifier (`verifier/fk_epass_verify.py`, Python + cryptography only) and
`fangkong epass verify --keys` (no database): the same verdicts as the platform, with only the
exported ring and a signed revocation list; a forged or edited list stops them (exit 1)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import epass_vectors as v
import pytest

from fangkong.checkpoints.epass import token as tk

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "verifier" / "fk_epass_verify.py"
TOKEN_MODULE = ROOT / "src" / "fangkong" / "checkpoints" / "epass" / "token.py"
AT = "2022-04-18T08:00:00+08:00"


def _core(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text[text.index("# ---- CORE BEGIN"):text.index("# ---- CORE END ----")]


def test_the_verifier_carries_the_platforms_core_verbatim() -> None:
    assert _core(VERIFIER) == _core(TOKEN_MODULE), (
        "copy the section between the CORE markers of token.py into verifier/fk_epass_verify.py")


def _files(tmp_path: Path, revoked: list[str]) -> tuple[Path, Path]:
    ring = tmp_path / "ring.json"
    ring.write_text(json.dumps(v.jwks()), encoding="utf-8")
    crl = tmp_path / "crl.jws"
    crl.write_text(tk.sign_revocation_list(revoked, v.OUR_KEY, v.KID, iat=v.AT) + "\n", encoding="utf-8")
    return ring, crl


def _standalone(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # only the standard library and cryptography on the path: no fangkong
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1"}
    return subprocess.run([sys.executable, "-I", str(VERIFIER), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LANG": "C.UTF-8", "FANGKONG_DATA_DIR": str(cwd / "no-such-dir"),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "fangkong", "epass", "verify", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_standalone_gives_every_forgery_its_reason_from_a_file(tmp_path: Path) -> None:
    ring, crl = _files(tmp_path, sorted(v.REVOKED))
    names = sorted(v.FORGERIES)
    src = tmp_path / "in.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "token"])
        for name in names:
            w.writerow([name, v.FORGERIES[name][0]])
    for run, out in ((_standalone, tmp_path / "out_standalone.csv"), (_cli, tmp_path / "out_cli.csv")):
        done = run("--in", str(src), "--out", str(out), "--keys", str(ring), "--revocations", str(crl), "--at", AT,
                   cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        with out.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert list(rows[0]) == ["name", "token", "verdict", "reason", "pass_no", "valid_until"]
        got = {r["name"]: r["reason"] for r in rows}
        assert got == {n: v.FORGERIES[n][1] for n in names}, run.__name__
        valid = next(r for r in rows if r["name"] == "valid")
        assert valid["verdict"] == "valid" and valid["pass_no"] == "320400000001"
        assert valid["valid_until"] == "2022-04-24T08:00:00+08:00"
    assert (tmp_path / "out_standalone.csv").read_bytes() == (tmp_path / "out_cli.csv").read_bytes()
    assert not (tmp_path / "no-such-dir").exists()  # `--keys`: no database, not even a data directory


def test_standalone_one_token_plate_and_json(tmp_path: Path) -> None:
    ring, crl = _files(tmp_path, [])
    ok = _standalone(v.good(), "--keys", str(ring), "--revocations", str(crl), "--at", AT, "--plate", "苏D·A1234",
                     cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.split("\t")[:3] == ["valid", "", "320400000001"] and "有效" in ok.stdout
    wrong = _standalone(v.good(), "--keys", str(ring), "--at", AT, "--plate", "苏DA9999", "--json", cwd=tmp_path)
    shown = json.loads(wrong.stdout)
    assert shown["reason"] == "plate_mismatch" and shown["label"] == "车牌不符"
    assert _standalone("--keys", str(ring), cwd=tmp_path).returncode == 2


@pytest.mark.parametrize("how", ["edited", "stranger", "truncated", "other_issuer"])
def test_a_list_failing_verification_stops_both(tmp_path: Path, how: str) -> None:
    ring, crl = _files(tmp_path, ["320400000009"])
    text = crl.read_text().strip()
    h, _p, s = text.split(".")
    if how == "edited":  # the revoked number taken out, signature kept
        crl.write_text(f"{h}.{v._b64(v._json({'iat': v.AT, 'revoked': []}))}.{s}")
    elif how == "stranger":
        crl.write_text(v.forged({"alg": "EdDSA", "kid": v.KID, "typ": "fk-epass-crl"}, {"iat": v.AT, "revoked": []}))
    elif how == "truncated":
        crl.write_text(text[: len(text) // 2])
    else:  # Shanghai's key revoking (or un-revoking) Changzhou's passes
        crl.write_text(v.forged({"alg": "EdDSA", "kid": v.OTHER_KID, "typ": "fk-epass-crl"},
                                {"iat": v.AT, "revoked": ["320400000001"]}, key=v.OTHER_KEY))
    for run in (_standalone, _cli):
        done = run(v.good(no="320400000009"), "--keys", str(ring), "--revocations", str(crl), "--at", AT, cwd=tmp_path)
        assert done.returncode == 1, (run.__name__, done.stdout, done.stderr)
        assert "valid" not in done.stdout


def test_a_broken_ring_stops_both(tmp_path: Path) -> None:
    ring = tmp_path / "ring.json"
    ring.write_text('{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "k"}]}')
    for run in (_standalone, _cli):
        assert run(v.good(), "--keys", str(ring), "--at", AT, cwd=tmp_path).returncode == 1
