"""`fangkong bench keys`: rotate the field-encryption key over a registry of N persons in a scratch database.

Options: persons=N (default 100,000) batch=B (default 500) database=URL (an empty scratch PostgreSQL
database; default a SQLite file in a temporary directory). Figures: seconds and rows per second for a
rotation AES → SM and back SM → AES, and the floor — decrypting and re-encrypting the same values and
recomputing their blind indexes in memory, without the database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import BenchResult, benchmark, scratch_database


@benchmark("keys", quick={"persons": 300, "batch": 100})
def bench_keys(*, persons: int = 100_000, batch: int = 500, database: str | None = None) -> BenchResult:
    """Key rotation over 100,000 persons (both algorithms), against the in-memory floor."""
    from sqlalchemy import insert, select
    from sqlalchemy.orm import Session

    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.jurisdictions import service as jurisdictions_service
    from fangkong.kernel.keys import service as keys_service
    from fangkong.kernel.people import crypto
    from fangkong.kernel.people.identity import check_id_number, check_phone, id_check_digit
    from fangkong.kernel.people.models import Person
    from fangkong.kernel.people.service import identity_columns
    from fangkong.registry import import_all_models
    from fangkong.settings import reset_settings_cache

    import_all_models()
    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-keys-"))
    os.environ.pop("FANGKONG_SECRET_KEY", None)
    os.environ["FANGKONG_DATA_DIR"] = str(tmp)
    reset_settings_cache()
    crypto.ensure_key_file(tmp / "secret.key")
    engine = scratch_database(database, tmp)
    os.environ.pop("FANGKONG_SECRET_KEY", None)  # scratch_database sets one; rotation needs the file
    reset_settings_cache()
    crypto.reset_keys()
    figures: dict[str, Any] = {"persons": persons, "batch": batch, "backend": engine.dialect.name}
    with Session(engine) as session:
        root = jurisdictions_service.root_unit(session)
        now = time.time()
        import datetime as dt

        stamp = dt.datetime.fromtimestamp(now, dt.UTC)
        rows = []
        for n in range(persons):
            born = dt.date(1940, 1, 1) + dt.timedelta(days=n % 29000)  # unique up to 29 million
            first = "320412" + born.strftime("%Y%m%d") + f"{(n // 29000) % 1000:03d}"
            cols = identity_columns(id_check=check_id_number(first + id_check_digit(first)),
                                    phone_check=check_phone(f"138{n:08d}"))
            rows.append({**cols, "unit_id": root.id, "unit_path": root.path, "name": f"人{n}",
                         "created_at": stamp, "updated_at": stamp, "source": "bench"})
            if len(rows) == 5000:
                session.execute(insert(Person), rows)
                rows = []
        if rows:
            session.execute(insert(Person), rows)
        session.commit()
        sample = [bytes(b) for b in session.execute(select(Person.phone_enc).limit(min(persons, 20_000))).scalars()]
    t0 = time.perf_counter()
    for blob in sample:  # the floor: the cryptography alone, per value (two columns per person)
        value = crypto.decrypt(blob)
        crypto.encrypt(value)
        crypto.blind_index(value, "phone")
    figures["floor_rows_per_s"] = round(len(sample) / 2 / max(time.perf_counter() - t0, 1e-9))
    for label, alg in (("aes_to_sm", "sm"), ("sm_to_aes", "aes")):
        with Session(engine) as session:
            keys_service.start_rotation(session, SYSTEM_ACTOR, algorithm=alg)
            session.commit()
            t0 = time.perf_counter()
            done = keys_service.drive(session, SYSTEM_ACTOR, commit=session.commit, batch=batch)
            seconds = time.perf_counter() - t0
            assert done is not None and done.status == "finished"
        figures[f"{label}_s"] = round(seconds, 2)
        figures[f"{label}_rows_per_s"] = round(persons / max(seconds, 1e-9))
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    return BenchResult("keys", figures, [
        "rows are persons (two ciphertexts and two blind indexes each); floor = the same cryptography "
        "in memory, without reading or writing the database"])
