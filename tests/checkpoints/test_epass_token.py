"""The e-pass token (pure): every reason with a real forgery, the verdict order, plates, size, and
hypothesis properties (a signed pass verifies; any change to it never verifies as the same pass)."""

from __future__ import annotations

import json

import epass_vectors as v
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.checkpoints.epass import token as tk


@pytest.mark.parametrize("name", sorted(v.FORGERIES))
def test_each_forgery_gets_its_reason(name: str) -> None:
    text, reason = v.FORGERIES[name]
    verdict = tk.verify(text, v.ring(), at=v.AT, revoked=v.REVOKED)
    assert verdict.reason == (reason or None), (name, verdict)
    assert verdict.verdict == ("valid" if not reason else "invalid")


def test_every_reason_has_a_forgery_except_plate_checked_below() -> None:
    covered = {reason for _t, reason in v.FORGERIES.values() if reason}
    assert covered == set(tk.REASONS) - {"plate_mismatch"}


def test_plate_mismatch_last_and_plates_compare_normalised() -> None:
    text = v.good()
    for seen in ("苏DA1234", "苏 D·A1234", "苏ｄａ１２３４", " 苏d a 1 2 3 4 "):
        assert tk.verify(text, v.ring(), at=v.AT, plate=seen).valid, seen
    assert tk.verify(text, v.ring(), at=v.AT, plate="苏DA1235").reason == "plate_mismatch"
    # an expired pass with the wrong plate is `expired`: the first failing reason wins
    old = v.good(nbf=v.AT - 9 * v.DAY, exp=v.AT - v.DAY)
    assert tk.verify(old, v.ring(), at=v.AT, plate="苏E0000").reason == "expired"


def test_validity_window_is_half_open() -> None:
    text = v.good(nbf=v.AT, exp=v.AT + 10)
    assert tk.verify(text, v.ring(), at=v.AT - 1).reason == "not_yet_valid"
    assert tk.verify(text, v.ring(), at=v.AT).valid
    assert tk.verify(text, v.ring(), at=v.AT + 9).valid
    assert tk.verify(text, v.ring(), at=v.AT + 10).reason == "expired"


def test_order_bad_signature_before_bad_claims_and_revoked_before_time() -> None:
    # a stranger signs broken claims under our kid: the signature is judged first
    broken = v.forged({"alg": "EdDSA", "kid": v.KID, "typ": "fk-epass"}, b"[]", key=v.STRANGER)
    assert tk.verify(broken, v.ring(), at=v.AT).reason == "bad_signature"
    # revoked and expired: revoked
    text = v.good(no="320400000009", nbf=v.AT - 9 * v.DAY, exp=v.AT - v.DAY)
    assert tk.verify(text, v.ring(), at=v.AT, revoked=v.REVOKED).reason == "revoked"
    # another issuer's number, revoked: issuer_mismatch comes first
    other = v.forged({"alg": "EdDSA", "kid": v.OTHER_KID, "typ": "fk-epass"}, v.claims(no="320400000009"),
                     key=v.OTHER_KEY)
    assert tk.verify(other, v.ring(), at=v.AT, revoked=v.REVOKED).reason == "issuer_mismatch"


def test_claims_as_specified() -> None:
    def reason(**over: object) -> str | None:
        return tk.verify(v.good(**over), v.ring(), at=v.AT).reason

    assert reason(no="32040000001") == "bad_claims"
    assert reason(nbf=str(v.AT)) == "bad_claims"
    assert reason(nbf=True) == "bad_claims"
    assert reason(**{"from": "3101"}) == "bad_claims"
    assert reason(crew=[]) == "bad_claims"
    crew = v.claims()["crew"]
    assert reason(crew=[crew[1]]) == "bad_claims"  # no driver
    assert reason(crew=[crew[0], {**crew[0]}]) == "bad_claims"  # two drivers
    assert reason(crew=[{**crew[0], "id": "320402198001011234"}]) == "bad_claims"  # an unmasked ID
    assert reason(crew=[*crew, crew[1], crew[1]]) == "bad_claims"  # four persons
    assert reason(plate=None) == "bad_claims"
    # optional claims may be absent; unknown claims are ignored
    assert reason(cargo=None, receiver=None, iat=None) is None
    assert reason(extra={"anything": 1}) is None


def test_three_persons_fit_in_1000_characters_and_a_version_25_qr() -> None:
    import segno

    from fangkong.checkpoints.epass.service import LIMITS

    crew = [{"role": r, "name": "欧" * LIMITS["name"], "id": "320402********123X", "tested_at": v.AT}
            for r in ("driver", "crew", "crew")]
    text = v.good(crew=crew, cargo="生" * LIMITS["cargo"], receiver="常" * LIMITS["receiver"], plate="苏DA12345")
    assert tk.verify(text, v.ring(), at=v.AT).valid
    url = "https://fangkong.changzhou.gov.cn/v#" + text
    assert len(url) <= 1000
    assert segno.make(url, error="m", boost_error=False).version <= 25


def test_region_prefix() -> None:
    assert tk.region_prefix("320400") == "3204"
    assert tk.region_prefix("320000") == "32"
    assert tk.region_prefix("320412") == "320412"
    assert tk.region_prefix("110100") == "1101"


def test_revocation_lists_signed_forged_and_edited() -> None:
    ring = v.ring()
    crl = tk.sign_revocation_list(["320400000009", "320400000003"], v.OUR_KEY, v.KID, iat=v.AT)
    assert tk.read_revocation_list(crl, ring) == (v.AT, frozenset({"320400000009", "320400000003"}))
    h, p, s = crl.split(".")
    shorter = v._b64(v._json({"iat": v.AT, "revoked": ["320400000003"]}))
    bad = {
        "edited": f"{h}.{shorter}.{s}",
        "stranger": v.forged({"alg": "EdDSA", "kid": v.KID, "typ": "fk-epass-crl"},
                             {"iat": v.AT, "revoked": []}, key=v.STRANGER),
        "as_a_pass": v.good(),
        "alg_none": f"{v._b64(v._json({'alg': 'none', 'kid': v.KID, 'typ': 'fk-epass-crl'}))}.{p}.",
        "other_issuer": v.forged({"alg": "EdDSA", "kid": v.OTHER_KID, "typ": "fk-epass-crl"},
                                 {"iat": v.AT, "revoked": ["320400000001"]}, key=v.OTHER_KEY),
        "not_numbers": v.forged({"alg": "EdDSA", "kid": v.KID, "typ": "fk-epass-crl"},
                                {"iat": v.AT, "revoked": [320400000001]}, key=v.OUR_KEY),
    }
    for name, text in bad.items():
        with pytest.raises(tk.BadRevocationList):
            tk.read_revocation_list(text, ring)
            pytest.fail(name)


def test_rings_refuse_what_is_not_a_public_ed25519_key() -> None:
    good_jwk = v.jwks()["keys"][0]
    assert set(tk.load_ring(json.dumps(v.jwks()))) == {v.KID, v.OTHER_KID}
    for broken in ({**good_jwk, "kty": "RSA"}, {**good_jwk, "x": "AAAA"}, {**good_jwk, "d": "x"},
                   {**good_jwk, "fk_region": "3204"}, {k: x for k, x in good_jwk.items() if k != "kid"}):
        with pytest.raises(tk.BadKeys):
            tk.load_ring({"keys": [broken]})
    with pytest.raises(tk.BadKeys):
        tk.load_ring({"keys": [good_jwk, {**good_jwk, "x": v.jwks()["keys"][1]["x"]}]})


names = st.text(alphabet=st.characters(categories=("Lo",)), min_size=1, max_size=8)
ids = st.from_regex(r"[1-6][0-9]{5}\*{8}[0-9]{3}[0-9X]", fullmatch=True)
persons = st.builds(lambda n, i, t: {"name": n, "id": i, "tested_at": t}, names, ids,
                    st.integers(v.AT - 3 * v.DAY, v.AT))


@given(st.lists(persons, min_size=1, max_size=3), st.integers(0, 999_999), st.integers(1, 30 * v.DAY),
       st.integers(-10 * v.DAY, 10 * v.DAY))
def test_signed_passes_verify_exactly_in_their_window(crew: list[dict], serial: int, length: int, shift: int) -> None:
    crew = [{"role": "driver" if i == 0 else "crew", **p} for i, p in enumerate(crew)]
    nbf = v.AT + shift
    text = v.good(no=f"320400{serial:06d}", nbf=nbf, exp=nbf + length, crew=crew)
    verdict = tk.verify(text, v.ring(), at=v.AT)
    expected = None if nbf <= v.AT < nbf + length else ("not_yet_valid" if nbf > v.AT else "expired")
    assert verdict.reason == expected
    assert len(text) <= 1000


@given(st.data())
def test_any_single_character_change_never_verifies(data: st.DataObject) -> None:
    text = v.good()
    i = data.draw(st.integers(0, len(text) - 1))
    c = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ "))
    changed = text[:i] + c + text[i + 1:]
    verdict = tk.verify(changed, v.ring(), at=v.AT)
    # the last character's low bits may be unused by base64 (canonical decoding refuses them)
    if changed != text:
        assert not verdict.valid, (i, c)


@given(st.text(max_size=300))
def test_any_text_gets_a_verdict_never_an_exception(text: str) -> None:
    verdict = tk.verify(text, v.ring(), at=v.AT)
    assert verdict.reason in tk.REASONS


@given(st.text(alphabet=" ·\u3000abcdefghjkABCDEFGH0123456789苏沪京ＡＢ１２", max_size=12))
def test_plate_normalisation_is_idempotent_and_ignores_spaces(plate: str) -> None:
    once = tk.normalise_plate(plate)
    assert tk.normalise_plate(once) == once
    assert " " not in once and "·" not in once and once == once.upper()
