"""Issuing, revoking and verifying e-passes on a real database: every refusal names its field,
numbers are the region code plus a serial never reused, issuing is idempotent by request id, and a
pass issued here verifies green until it is revoked or expires."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from epass_factories import NOW, application, at_now, make_id, region, sampled  # noqa: F401

from fangkong.checkpoints.epass import keys as keys_service
from fangkong.checkpoints.epass import service
from fangkong.checkpoints.epass import token as tk
from fangkong.kernel.errors import NotFound, PermissionDenied, ValidationFailed
from fangkong.kernel.messages import translate


def _issue(session, system, *rows: dict[str, str]) -> list[service.Issued]:
    apps = [service.Application(i + 2, r) for i, r in enumerate(rows)]
    return service.issue_passes(session, system, apps)


def _fields(issued: service.Issued) -> list[str]:
    return [i.split(":")[0] for i in issued.report.issues]


@pytest.mark.usefixtures("region", "at_now")
def test_a_pass_is_issued_numbered_and_verifies_green(session, system) -> None:
    sampled(session, 1, "2022-04-17 09:00")
    sampled(session, 2, "2022-04-16 11:00")
    [done] = _issue(session, system, application("R1", "苏D·A1234", 1, crew1_name="李娜", crew1_id_number=make_id(2)))
    assert done.report.status == "accepted", done.report.issues
    p = done.epass
    assert p is not None and p.no == "320400000001" and done.report.extra["pass_no"] == p.no
    assert p.origin == "310115" and p.destination == "320411"
    assert p.valid_until - p.valid_from == dt.timedelta(days=7)
    assert [c["role"] for c in p.crew] == ["driver", "crew"] and p.crew[1]["id"] == make_id(2)[:6] + "********" + make_id(2)[-4:]
    checked = service.verify(session, system, text=p.token, plate="苏DA1234", at=p.valid_from)
    assert checked.verdict.valid and checked.verdict.pass_no == p.no
    shown = checked.as_dict()
    assert shown["label"] == "有效" and [c["name"] for c in shown["crew"]] == ["司机1", "李娜"]
    assert "********" in shown["crew"][0]["id"]
    # the token carries the sampling time from testing's records, not from the application
    claims = checked.verdict.claims
    assert claims["crew"][0]["tested_at"] == int(dt.datetime(2022, 4, 17, 1, 0, tzinfo=dt.UTC).timestamp())
    # the private key is a 0600 file in the data directory
    assert stat.S_IMODE(os.stat(keys_service.key_path()).st_mode) == 0o600


@pytest.mark.usefixtures("region", "at_now")
def test_refusals_name_the_field(session, system) -> None:
    sampled(session, 1, "2022-04-17 09:00")
    sampled(session, 3, "2022-04-15 09:00")  # more than 48 h before valid_from
    sampled(session, 4, "2022-04-17 20:00", result="阳性")
    bad_id = make_id(1)[:-1] + ("0" if make_id(1)[-1] != "0" else "1")
    cases = {
        "no_negative": (application("N1", "苏DA0001", 3), ["driver_tested_at"]),
        "positive_only": (application("N2", "苏DA0002", 4), ["driver_tested_at"]),
        "unknown_person": (application("N3", "苏DA0003", 5), ["driver_tested_at"]),
        "bad_id": (application("N4", "苏DA0004", 1, driver_id_number=bad_id), ["driver_id_number"]),
        "crew_bad_id": (application("N5", "苏DA0005", 1, crew1_name="甲", crew1_id_number="123"), ["crew1_id_number"]),
        "trailer": (application("N6", "苏D1234挂", 1), ["plate"]),
        "not_plate": (application("N7", "ABC", 1), ["plate"]),
        "county": (application("N8", "苏DA0008", 1, origin="火星市"), ["origin"]),
        "county_ambiguous": (application("N9", "苏DA0009", 1, destination="鼓楼区"), ["destination"]),
        "until_before": (application("N10", "苏DA0010", 1, valid_until="2022-04-18 09:00"), ["valid_until"]),
        "no_from": (application("N11", "苏DA0011", 1, valid_from=""), ["valid_from"]),
    }
    issued = _issue(session, system, *(app for app, _f in cases.values()))
    for (name, (_app, fields)), got in zip(cases.items(), issued, strict=True):
        assert got.report.status == "rejected", (name, got.report.issues)
        assert set(fields) <= set(_fields(got)), (name, got.report.issues)
    # the words a person reads
    assert "48" in translate(issued[0].report.issues[0].message, "zh_CN")


@pytest.mark.usefixtures("region", "at_now")
def test_overlap_cap_idempotency_and_serials(session, system) -> None:
    sampled(session, 1, "2022-04-17 09:00")
    sampled(session, 2, "2022-04-17 09:30")
    first, capped = _issue(session, system, application("A1", "苏DA1234", 1, valid_until="2022-04-20 10:00"),
                           application("A2", "苏DB1234", 2, valid_until="2022-05-30 10:00"))
    assert first.report.status == "accepted" and capped.report.status == "accepted"
    assert _fields(capped) == ["valid_until"] and capped.epass.valid_until - capped.epass.valid_from == dt.timedelta(days=7)
    # the same plate written another way, overlapping: refused, whether it starts later or ends sooner
    again, later = _issue(session, system, application("A3", "苏 d a1234", 1, valid_from="2022-04-19 08:00"),
                          application("A4", "苏DA1234", 1, valid_from="2022-04-18 10:00", valid_until="2022-04-18 12:00"))
    assert again.report.status == "rejected" and _fields(again) == ["plate"] and first.epass.no in again.report.issues[0]
    assert later.report.status == "rejected"
    # idempotent by request id; other content under a used request id is refused
    repeat, reused = _issue(session, system, application("A1", "苏DA1234", 1, valid_until="2022-04-20 10:00"),
                            application("A1", "苏DC9999", 1))
    assert repeat.report.status == "duplicate" and repeat.report.extra["token"] == first.epass.token
    assert reused.report.status == "rejected" and _fields(reused) == ["request_id"]
    # revoked passes free the plate but never their serial
    service.revoke(session, system, no=first.epass.no, reason="车辆故障")
    [renewed] = _issue(session, system, application("A5", "苏DA1234", 1, valid_until="2022-04-20 10:00"))
    assert renewed.report.status == "accepted" and renewed.epass.no == "320400000003"


@pytest.mark.usefixtures("at_now")
def test_no_region_no_passes(session, system, monkeypatch) -> None:
    from fangkong.settings import reset_settings_cache

    monkeypatch.delenv("FANGKONG_REGION_CODE", raising=False)
    reset_settings_cache()
    with pytest.raises(ValidationFailed) as err:
        _issue(session, system, application("Z1", "苏DA1234", 1))
    assert "FANGKONG_REGION_CODE" in str(err.value)


@pytest.mark.usefixtures("region", "at_now")
def test_revocation_rotation_and_the_signed_list(session, system) -> None:
    sampled(session, 1, "2022-04-17 09:00")
    [done] = _issue(session, system, application("V1", "苏DA1234", 1))
    p = done.epass
    at = p.valid_from + dt.timedelta(hours=1)
    old_kid = p.kid
    keys_service.rotate_key(session, system, issuer="常州市疫情防控指挥部")
    # passes signed before the rotation stay valid: the old public key stays in the ring
    assert service.verify(session, system, text=p.token, at=at).verdict.valid
    ring = keys_service.export_ring(session)
    assert {k["kid"] for k in ring["keys"]} >= {old_kid} and len(ring["keys"]) >= 2
    service.revoke(session, system, no=p.no, reason="驾驶员核酸阳性")
    assert service.verify(session, system, text=p.token, at=at).verdict.reason == "revoked"
    with pytest.raises(ValidationFailed):
        service.revoke(session, system, no=p.no, reason="again")
    with pytest.raises(NotFound):
        service.revoke(session, system, no="320400999999", reason="x")
    crl = service.revocation_list(session, system)
    _iat, numbers = tk.read_revocation_list(crl, tk.load_ring(ring))
    assert p.no in numbers
    # the standalone path (ring + list, no database) agrees
    verdict = tk.verify(p.token, tk.load_ring(ring), at=int(at.timestamp()), revoked=numbers)
    assert verdict.reason == "revoked"
    assert tk.verify(p.token, tk.load_ring(ring), at=int(at.timestamp()) + 8 * 86400).reason == "expired"


@pytest.mark.usefixtures("region", "at_now")
def test_trusting_another_issuer(session, system) -> None:
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    theirs = Ed25519PrivateKey.generate()
    jwk = tk.key_of(theirs, kid="310000-sh", region="310000", issuer="上海市").jwk()
    assert keys_service.add_keys(session, system, json.dumps({"keys": [jwk]})) == ["310000-sh"]
    assert keys_service.add_keys(session, system, json.dumps(jwk)) == []  # already trusted
    claims = {"no": "310000000042", "plate": "沪A12345", "from": "310115", "to": "320411",
              "nbf": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 3600,
              "crew": [{"role": "driver", "name": "王五", "id": "310115********0011", "tested_at": int(NOW.timestamp())}]}
    assert service.verify(session, system, text=tk.sign(claims, theirs, "310000-sh"), at=NOW).verdict.valid
    # their key signing one of our numbers is caught
    ours = tk.sign({**claims, "no": "320400000042"}, theirs, "310000-sh")
    assert service.verify(session, system, text=ours, at=NOW).verdict.reason == "issuer_mismatch"
    from fangkong.kernel.errors import Conflict

    with pytest.raises(Conflict):
        keys_service.add_keys(session, system, json.dumps({**jwk, "x": tk.public_x(Ed25519PrivateKey.generate())}))


@pytest.mark.usefixtures("region", "at_now")
def test_permissions(session) -> None:
    from fangkong.kernel.auth.actor import Actor

    checkpoint = Actor(user_id=99, username="kakou", role="checkpoint", unit_id=None, unit_path="/1/",
                       permissions=frozenset({"epass.verify"}))
    with pytest.raises(PermissionDenied):
        service.issue_passes(session, checkpoint, [])
    with pytest.raises(PermissionDenied):
        service.revoke(session, checkpoint, no="320400000001", reason="x")
    assert service.verify(session, checkpoint, text="junk", at=NOW).verdict.reason == "malformed"
