"""Key rotation (密钥轮换) and SM mode: a new key, every encrypted column moved to it in batches that
survive a crash, both keys readable meanwhile, and nothing encrypted that rotation does not know of."""

from __future__ import annotations

import ast
import base64
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary, select

from fangkong import registry as capability_registry
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.db import Base
from fangkong.kernel.keys import service as keys_service
from fangkong.kernel.keys.models import KeyRotation
from fangkong.kernel.keys.registry import ENCRYPTED
from fangkong.kernel.people import crypto
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.models import Person
from fangkong.settings import reset_settings_cache

SRC = Path(__file__).resolve().parents[2] / "src" / "fangkong"
#: modules that may call the crypto module's keyed functions, and why rotation need not re-key what
#: they compute; a new caller fails `test_every_caller_of_the_key_is_known` until it is classified here
KNOWN_CALLERS = {
    "kernel/people/service.py": "person columns (registered)",
    "kernel/people/resolution.py": "lookups only",
    "kernel/backup/service.py": "seals the ring itself",
    "kernel/keys/service.py": "rotation",
    "kernel/keys/cli.py": "rotation",
    "kernel/keys/bench.py": "the rotation benchmark",
    "kernel/export.py": "decrypts for unmasked exports",
    "kernel/bench.py": "resets the cache",
    "kernel/bootstrap.py": "creates the key file",
    "intake/bench.py": "the intake benchmark: blind indexes for its SQL baseline join",
    "intake/service/ingest.py": "lead columns (registered) and the content digest (signing key)",
    "intake/service/resolution.py": "lookups only",
    "intake/service/persons.py": "compares ID indexes recomputed under the current key (split)",
    "intake/retention.py": "an empty raw row for anonymised leads (lead.payload_enc, registered)",
    "intake/pages.py": "public form tokens: two hours, verified under every searched key",
    "testing/service/sampling.py": "lookups only",
    "testing/service/pools.py": "decrypts",
    "tracing/service/contacts.py": "decrypts; named-contact digests (signing key, registered)",
    "venues/service/scans.py": "scan idempotency digests (signing key, registered)",
    "venues/routes.py": "a self-scan cookie: decrypts under any key of the ring",
    "venues/codes.py": "venue-code signatures (signing key: printed codes survive rotations)",
    "drill/scenario.py": "decrypts",
    "drill/city.py": "person columns (registered), encrypted and indexed in batches",
    "drill/bench_sim.py": "forgets the cached keys around a bench's own data directory (no use of a key)",
    "command/bench.py": "forgets the cached keys when it reopens a kept bench city (no use of a key)",
    "control/service/notices.py": "notice QR signatures (signing key: printed notices survive rotations)",
    "control/links.py": "check-in SMS link signatures (signing key: sent links survive rotations)",
    "zones/service/zones.py": "decrypts (the leftover residents handed to intake as leads)",
    "checkpoints/service/trips.py": "decrypts (the crew of a driver-staying trip handed to intake as leads)",
}
ID_B = "110101199003074514"


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    """The test key as a key file (rotation writes the ring there), in a scratch data directory."""
    monkeypatch.delenv("FANGKONG_SECRET_KEY", raising=False)
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    reset_settings_cache()
    crypto.reset_keys()
    path = tmp_path / "secret.key"
    path.write_text(base64.b64encode(b"k" * 32).decode() + "\n")  # the suite's FANGKONG_SECRET_KEY
    yield path
    reset_settings_cache()
    crypto.reset_keys()


def _persons(session, system, n: int = 7) -> list[int]:
    ids = []
    for i in range(n):
        seq = f"{100 + i}"
        first = f"32041219800101{seq}"[:17]
        from fangkong.kernel.people.identity import id_check_digit

        p = people_service.register_person(session, system, name=f"测试{i}", id_number=first + id_check_digit(first),
                                           phone=f"1381234{5600 + i}")
        ids.append(p.id)
    session.commit()
    return ids


def _plain(session, ids):
    rows = session.execute(select(Person.id, Person.id_number_enc, Person.phone_enc).where(Person.id.in_(ids))
                           .order_by(Person.id)).all()
    return {r.id: (crypto.decrypt(r.id_number_enc), crypto.decrypt(r.phone_enc)) for r in rows}


# --- the ring and the algorithms ----------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["aes", "sm"])
def test_each_algorithm_round_trips_and_names_its_key(alg):
    ring = crypto.KeyRing((crypto.Key(1, "aes", b"a" * 32, "retiring"), crypto.Key(2, alg, b"b" * 32)), 2, 1)
    crypto._cache.update(ring=ring, stamp=("test",), checked=float("inf"))
    try:
        blob = crypto.encrypt("320412197001011232")
        assert crypto.key_id_of(blob) == 2 and crypto.decrypt(blob) == "320412197001011232"
        tampered = blob[:3] + bytes([blob[3] ^ 1]) + blob[4:]
        with pytest.raises(Exception):  # noqa: B017  (InvalidTag: the nonce is authenticated)
            crypto.decrypt(tampered)
        old = crypto.encrypt("13812345678", key_id=1)
        assert crypto.decrypt(old) == "13812345678"  # the retiring key still reads
        # blind indexes: the current key's first, the retiring key's too, and they differ
        both = crypto.blind_indexes("13812345678", "phone")
        assert len(both) == 2 and both[0] != both[1] and all(len(b) == 64 for b in both)
        assert both[0] == crypto.blind_index("13812345678", "phone")
    finally:
        crypto.reset_keys()


@pytest.mark.parametrize("alg", ["aes", "sm"])
def test_batch_encryption_and_indexes_equal_the_single_ones(alg):
    """`encrypt_many` and `blind_index_many` (bulk loaders) seal under the current key with a fresh
    nonce each, and index exactly as `blind_index` does."""
    ring = crypto.KeyRing((crypto.Key(1, "aes", b"a" * 32, "retiring"), crypto.Key(2, alg, b"b" * 32)), 2, 1)
    crypto._cache.update(ring=ring, stamp=("test",), checked=float("inf"))
    try:
        values = ["320412197001011232", "13812345678", "13812345678", ""]
        blobs = crypto.encrypt_many(values)
        assert [crypto.decrypt(b) for b in blobs] == values
        assert {crypto.key_id_of(b) for b in blobs} == {2}
        assert blobs[1] != blobs[2] and len({b[3:15] for b in blobs}) == len(blobs)  # one nonce each
        assert crypto.blind_index_many(values, "phone") == [crypto.blind_index(v, "phone") for v in values]
        assert crypto.encrypt_many([]) == [] and crypto.blind_index_many([], "id_number") == []
    finally:
        crypto.reset_keys()


def test_sm_mode_uses_sm3_and_sm4_not_sha256():
    """SM keys give other indexes and sub-keys than AES keys of the same material (HMAC-SM3, HKDF-SM3)."""
    aes, sm = crypto.Key(1, "aes", b"c" * 32), crypto.Key(1, "sm", b"c" * 32)
    assert crypto._index_with(aes, "x", "phone") != crypto._index_with(sm, "x", "phone")
    from cryptography.hazmat.primitives import hashes, hmac
    sub = crypto._derive_with(b"c" * 32, "sm", b"blind-index:phone")
    mac = hmac.HMAC(sub, hashes.SM3())
    mac.update(b"x")
    assert crypto._index_with(sm, "x", "phone") == mac.finalize().hex()


def test_original_key_file_and_version_1_ciphertexts_still_read(key_file):
    ring = crypto.ring()
    assert ring.legacy and ring.current == 1 and ring.current_key.alg == "aes"
    # a ciphertext of the format before key rings: version 1, no key id
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    nonce = b"n" * 12
    old = b"\x01" + nonce + AESGCM(crypto._derive_with(b"k" * 32, "aes", b"field-encryption")).encrypt(
        nonce, b"13812345678", None)
    assert crypto.decrypt(old) == "13812345678"
    assert ring.dumps().strip() == key_file.read_bytes().strip()  # written back unchanged


# --- rotation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["aes", "sm"])
def test_rotation_re_encrypts_in_batches_and_resumes_after_a_crash(session, system, key_file, alg):
    ids = _persons(session, system)
    before = _plain(session, ids)
    rotation = keys_service.start_rotation(session, system, algorithm=alg)
    session.commit()
    assert (rotation.from_key, rotation.to_key, rotation.algorithm) == (1, 2, alg)
    ring = crypto.ring()
    assert ring.current == 2 and ring.key(1).state == "retiring" and "fangkong-keyring-1" in key_file.read_text()

    # during the rotation: old rows are found by their old index, new ones are written under the new key
    assert people_service.find_by_id_number(session, _plain(session, ids[:1])[ids[0]][0]).id == ids[0]
    fresh = people_service.register_person(session, system, name="新人", id_number=ID_B, phone="13900000001")
    assert crypto.key_id_of(fresh.id_number_enc) == 2
    session.commit()

    # the process dies after the first batch: the second batch's work is lost, its cursor too
    calls = {"n": 0}

    def dying_commit():
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")
        session.commit()

    with pytest.raises(RuntimeError):
        keys_service.drive(session, system, commit=dying_commit, batch=3)
    session.rollback()
    half = session.execute(select(KeyRotation).where(KeyRotation.id == rotation.id)).scalar_one()
    assert half.status == "running" and half.counts["person"]["rows"] == 3

    # a process that had not reread the key file yet writes under the old key, behind the cursor
    straggler = session.get(Person, ids[0])
    straggler.phone_enc = crypto.encrypt(before[ids[0]][1], key_id=1)
    straggler.phone_bidx = crypto.blind_index(before[ids[0]][1], "phone", key_id=1)
    session.commit()

    # resumed: every row ends on the new key, readable, indexed under it; the old key retires
    done = keys_service.drive(session, system, commit=session.commit, batch=3)
    assert done is not None and done.status == "finished"
    session.expire_all()  # the batches write with UPDATE statements, past the ORM
    assert _plain(session, ids) == before
    for p in session.execute(select(Person).where(Person.id.in_([*ids, fresh.id]))).scalars():
        assert crypto.key_id_of(p.id_number_enc) == 2 and crypto.key_id_of(p.phone_enc) == 2
        assert p.id_number_bidx == crypto.blind_index(crypto.decrypt(p.id_number_enc), "id_number", key_id=2)
    assert crypto.ring().key(1).state == "retired" and crypto.ring().searched == (crypto.ring().key(2),)
    assert people_service.find_by_id_number(session, before[ids[0]][0]).id == ids[0]
    assert [p.id for p in people_service.find_by_phone(session, before[ids[0]][1])] == [ids[0]]
    assert done.counts["stragglers"] == 1
    assert keys_service.remaining_on_old_keys(session)["person"] == 0
    actions = [a for (a,) in session.execute(select(AuditEvent.action).where(
        AuditEvent.object_type == "key_rotation", AuditEvent.object_id == str(rotation.id)))]
    assert actions[0] == "keys.rotation_started" and actions[-1] == "keys.rotation_finished"
    assert "keys.rotation_progress" not in actions or actions.index("keys.rotation_progress") > 0


def test_every_channel_finds_persons_stored_under_the_retiring_key(session, system, key_file):
    """Mid-rotation, batched matching (intake's leads, the registry's resolution of scans, samples …)
    and the citizen's own query find persons whose indexes are still the old key's: nobody is doubled."""
    from fangkong.intake.service import LeadItem, ingest_leads
    from fangkong.kernel.people.resolution import PersonKeys, resolve_person
    from fangkong.testing.service.sampling import citizen_status

    [pid] = _persons(session, system, 1)
    id_number, phone = _plain(session, [pid])[pid]
    keys_service.start_rotation(session, system, algorithm="sm")
    session.commit()
    assert session.get(Person, pid).phone_bidx not in crypto.blind_indexes(phone, "phone")[:1]  # still old
    by_id = ingest_leads(session, system, channel="community",
                         items=[LeadItem(1, {"name": "测试0", "id_number": id_number, "source_ref": "ROT-1"})])
    assert by_id.rows[0].person_id == pid
    by_phone = ingest_leads(session, system, channel="telecom",
                            items=[LeadItem(1, {"name": "测试0", "phone": phone, "source_ref": "ROT-2"})])
    assert by_phone.rows[0].person_id == pid
    assert resolve_person(session, system, PersonKeys(name="测试0", phone=phone), source="scan").person_id == pid
    assert [p.id for p in people_service.search_persons(session, system, q=phone)] == [pid]
    assert citizen_status(session, id_number=id_number, phone=phone) is not None


def test_a_second_rotate_resumes_the_unfinished_one(session, system, key_file):
    first = keys_service.start_rotation(session, system)
    again = keys_service.start_rotation(session, system, algorithm="sm")
    assert again.id == first.id and crypto.ring().current == 2 and len(crypto.ring().keys) == 2


def test_rotation_refuses_a_key_from_the_environment(session, system):
    from fangkong.kernel.errors import Conflict

    with pytest.raises(Conflict):
        keys_service.start_rotation(session, system)


# --- coverage: nothing encrypted escapes rotation -------------------------------------------------------

def test_every_encrypted_column_is_registered_for_rotation():
    """A binary column holds ciphertext, a `*_bidx` column a blind index: each must be registered
    (`kernel.keys.registry.register_encrypted`) with rotation, or this test fails."""
    capability_registry.import_all_models()
    missing = []
    for table in Base.metadata.sorted_tables:
        entry = ENCRYPTED.get(table.name)
        known = set() if entry is None else {*entry.encrypted, *(i.column for i in entry.indexes), *entry.digests}
        for col in table.columns:
            if (isinstance(col.type, LargeBinary) or col.name.endswith(("_bidx", "_enc"))) and col.name not in known:
                missing.append(f"{table.name}.{col.name}")
        if entry is not None:
            for idx in entry.indexes:
                assert idx.source in entry.encrypted, f"{table.name}.{idx.column}: its source is not encrypted"
            assert all(c in table.columns for c in known), f"{table.name}: a registered column does not exist"
    assert missing == [], f"encrypted columns that key rotation does not know: {missing}"


def test_every_caller_of_the_key_is_known():
    callers = set()
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel == "kernel/people/crypto.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "crypto"
                    and not node.attr[0].isupper()):
                callers.add(rel)
    assert callers - set(KNOWN_CALLERS) == set(), "classify the new callers in KNOWN_CALLERS"


# --- as an operator runs it: rotate, switch to SM, back up and restore with several keys -----------------

def test_sealed_key_files_of_both_formats_open_as_rings():
    """A backup's key: format 2 seals the whole ring (several keys during or after a rotation); format 1
    (before key rings) sealed one raw key and still opens, with the fingerprint its manifest recorded."""
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from fangkong.kernel.backup import service as backup_service

    passphrase = "correct horse battery staple"
    ring = crypto.KeyRing((crypto.Key(1, "aes", b"a" * 32, "retired"), crypto.Key(2, "sm", b"b" * 32)), 2, 1)
    sealed = backup_service.seal_key(ring, passphrase)
    assert sealed["format"] == "fangkong-key-2" and base64.b64encode(b"b" * 32).decode() not in str(sealed)
    opened = backup_service.open_key(sealed, passphrase)
    assert opened == ring and opened.fingerprint() == sealed["fingerprint"] != ring.keys[0].fingerprint()
    salt, nonce = os.urandom(16), os.urandom(12)
    v1 = {"format": "fangkong-key-1", "salt": base64.b64encode(salt).decode(),
          "nonce": base64.b64encode(nonce).decode(),
          "ciphertext": base64.b64encode(AESGCM(backup_service._kdf(salt).derive(passphrase.encode())).encrypt(
              nonce, b"k" * 32, b"fangkong-key")).decode()}
    legacy = backup_service.open_key(v1, passphrase)
    assert legacy.keys == (crypto.Key(1, "aes", b"k" * 32),) and legacy.current == legacy.signing == 1
    assert legacy.fingerprint() == backup_service.key_fingerprint(b"k" * 32)  # what old manifests hold
    assert legacy.dumps() == base64.b64encode(b"k" * 32) + b"\n"  # restored as the original key file


@pytest.mark.slow
def test_rotate_to_sm_then_restore_old_and_new_backups(tmp_path):
    """`fangkong keys rotate --algorithm sm` on a demo city; a backup from before the rotation (its key
    file in the original one-key format) and one from after (a ring of two keys) both restore readable."""
    import json
    import os

    from test_backup import PASSPHRASE, _env, _run

    from fangkong.kernel import db

    def _people(url: str, key_dir: Path) -> list[tuple[int, str | None]]:
        """Every person's phone, decrypted with the key ring of `key_dir` (read here, not cached)."""
        engine = db.make_engine(url)
        crypto._cache.update(ring=crypto.parse_ring((key_dir / "secret.key").read_bytes()), stamp=("test",),
                             checked=float("inf"))
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(Person.id, Person.phone_enc).order_by(Person.id)).all()
            return [(i, crypto.decrypt(p) if p else None) for i, p in rows]
        finally:
            crypto.reset_keys()
            engine.dispose()

    src = f"sqlite:///{tmp_path / 'a' / 'fangkong.db'}"
    env = _env(tmp_path / "a", src)
    assert _run(env, "init").returncode == 0
    assert _run(env, "demo", "--persons", "30", "--leads", "6").returncode == 0
    before = _people(src, tmp_path / "a")
    old = json.loads(_run(env, "backup", "--out", str(tmp_path / "b1"), "--passphrase-stdin", "--json",
                          stdin=PASSPHRASE + "\n").stdout)
    # the sealed key of a backup made before key rings: format 1, the raw 32-byte key
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from fangkong.kernel.backup.service import _kdf, key_fingerprint
    raw = base64.b64decode((tmp_path / "a" / "secret.key").read_text())
    salt, nonce = os.urandom(16), os.urandom(12)
    v1 = {"format": "fangkong-key-1", "salt": base64.b64encode(salt).decode(),
          "nonce": base64.b64encode(nonce).decode(), "fingerprint": key_fingerprint(raw),
          "ciphertext": base64.b64encode(AESGCM(_kdf(salt).derive(PASSPHRASE.encode())).encrypt(
              nonce, raw, b"fangkong-key")).decode()}
    Path(old["key_file"]).write_text(json.dumps(v1))

    rotated = _run(env, "keys", "rotate", "--algorithm", "sm", "--batch", "25", "--json")
    assert rotated.returncode == 0, rotated.stderr
    answer = json.loads(rotated.stdout)
    assert answer["algorithm"] == "sm" and answer["counts"]["person"]["changed"] >= 30
    assert answer["counts"]["lead"]["rows"] >= 6
    status = json.loads(_run(env, "keys", "status", "--check", "--json").stdout)
    assert [(k["id"], k["algorithm"], k["state"]) for k in status["keys"]] == [(1, "aes", "retired"),
                                                                               (2, "sm", "current")]
    assert status["rotation"] is None and sum(status["remaining"].values()) == 0
    new = json.loads(_run(env, "backup", "--out", str(tmp_path / "b2"), "--passphrase-stdin", "--json",
                          stdin=PASSPHRASE + "\n").stdout)

    for n, report in (("c1", old), ("c2", new)):
        target = _env(tmp_path / n, f"sqlite:///{tmp_path / n / 'fangkong.db'}")
        done = _run(target, "restore", report["directory"], "--key", report["key_file"], "--passphrase-stdin",
                    "--json", stdin=PASSPHRASE + "\n")
        assert done.returncode == 0 and json.loads(done.stdout)["ok"], done.stdout + done.stderr
        assert _people(f"sqlite:///{tmp_path / n / 'fangkong.db'}", tmp_path / n) == before


def test_an_sm_deployment_starts_with_an_sm_key(tmp_path, monkeypatch):
    """`FANGKONG_CRYPTO=sm` before `fangkong init`: the first key is SM (SM4-GCM, HMAC-SM3), kept 0600."""
    monkeypatch.delenv("FANGKONG_SECRET_KEY", raising=False)
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FANGKONG_CRYPTO", "sm")
    reset_settings_cache()
    crypto.reset_keys()
    try:
        assert crypto.ensure_key_file() and not crypto.ensure_key_file()
        assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"
        ring = crypto.ring()
        assert [(k.id, k.alg) for k in ring.keys] == [(1, "sm")]
        blob = crypto.encrypt("13812345678")
        assert crypto.key_id_of(blob) == 1 and crypto.decrypt(blob) == "13812345678"
        assert crypto.blind_index("13812345678", "phone") == crypto._index_with(ring.keys[0], "13812345678", "phone")
    finally:
        monkeypatch.undo()
        reset_settings_cache()
        crypto.reset_keys()
