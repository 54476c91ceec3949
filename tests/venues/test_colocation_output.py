"""Co-location output built column-wise equals the pair-by-pair path: rows (API/CLI), the CSV the export
writer makes, the batch CSV; API pages walk the engine's order with a cursor; the index job's bulk read
(ADBC on a SQLite file, COPY BINARY on PostgreSQL) gives the session's rows, and segments merged through
memory maps answer like one."""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from own_database import own_database
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from venues_factories import NOW, user, venue

from fangkong.app import create_app
from fangkong.kernel import clock, db, export
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.people import service as people_service
from fangkong.venues.colocation import fastcsv, store
from fangkong.venues.colocation import service as colocation_service
from fangkong.venues.colocation.service import CaseQuery
from fangkong.venues.colocation.store import ColocationIndex
from fangkong.venues.exports import COLOCATION
from fangkong.venues.models import Scan
from fangkong.venues.service import scans as scans_service
from fangkong.venues.service.scans import ScanItem

BASE = NOW - dt.timedelta(hours=6)
#: names a CSV must quote or neutralise: a comma, a quote, a formula start, a minus, plain Chinese
NAMES = ("老王饭店, 二楼", 'say "hi"', "=SUM(A1)", "-5 号摊", "花园菜市场")


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


def phone(i: int) -> str:
    return f"137{i:08d}"


def city(session: Session, system, seed: int, n: int = 300, persons: int = 20) -> list[int]:
    """Scans at second precision at five venues with awkward names, through the real recording path."""
    rng = random.Random(seed)
    places = [venue(session, name, ref=f"{'=' if i == 2 else ''}O{seed}-{i}", category=cat).id
              for i, (name, cat) in enumerate(zip(NAMES, ("mall", "market", "bank", "convenience_store", "mall"),
                                                  strict=True))]
    items = [ScanItem(k + 1, place_id=rng.choice(places), phone=phone(rng.randrange(persons)),
                      scanned_at=(BASE + dt.timedelta(seconds=rng.randrange(0, 5 * 3600))).isoformat(),
                      request_id=f"o{seed}-{k}") for k in range(n)]
    assert {r.status for r in scans_service.record_scans(session, system, items=items, source="api")} == {"accepted"}
    return places


def pid(session: Session, i: int) -> int:
    return people_service.find_by_phone(session, phone(i))[0].id


def old_csv(session: Session, system, path: Path, pairs) -> bytes:
    """The pair-by-pair path: `Pair.row()` through `export.write`."""
    export.write(session, system, COLOCATION, out=path, rows=[p.row() for p in pairs])
    return path.read_bytes()


@pytest.mark.parametrize("window", [None, 30, 7])
def test_rows_and_csv_equal_the_pair_by_pair_path(session, system, tmp_path: Path, window) -> None:
    city(session, system, 1)
    ColocationIndex(tmp_path / "ix").extend(session)
    since, until = BASE, NOW
    seen = 0
    for i in range(0, 20, 3):
        pairs = colocation_service.colocated(session, system, person_id=pid(session, i), since=since, until=until,
                                             window_min=window, index_dir=tmp_path / "ix")
        assert pairs.rows() == [p.row() for p in pairs]
        assert pairs.rows(3, 7) == [p.row() for p in pairs][3:7]
        export.write_csv_lines(session, system, COLOCATION, out=tmp_path / "new.csv", lines=pairs.csv_chunks(chunk=7),
                               rows=len(pairs))
        assert (tmp_path / "new.csv").read_bytes() == old_csv(session, system, tmp_path / "old.csv", pairs)
        seen += len(pairs)
    assert seen > 50  # the cases had pairs to write
    # a batch: the cases' CSV lines in order equal the cases' CSVs one after another
    queries = [CaseQuery(pid(session, i), BASE + dt.timedelta(minutes=20 * i), NOW) for i in range(8)]
    sets = colocation_service.colocated_batch(session, system, queries=queries, window_min=window,
                                              index_dir=tmp_path / "ix")
    want = b"".join(old_csv(session, system, tmp_path / "old.csv", p).split(b"\r\n", 1)[1] for p in sets)
    assert b"".join(colocation_service.csv_lines(sets, chunk=11)) == want


def test_the_csv_cells_as_python_writes_them() -> None:
    rng = np.random.default_rng(3)
    secs = np.concatenate([rng.integers(0, 4_102_444_800, 2000), [0, 946684799, 951782400, 1647792000]])
    assert fastcsv.iso_local(secs).tolist() == [clock.iso_local(dt.datetime.fromtimestamp(int(s), dt.UTC))
                                                for s in secs]
    gaps = np.round(rng.integers(-100_000, 100_000, 3000) / 60.0, 2)
    field = fastcsv.gap_field(gaps)
    assert [bytes(r[r != 0]).decode() for r in field] == [repr(float(g)) for g in gaps]
    ids = np.concatenate([rng.integers(0, 10**12, 500), [0, 9, 10, 99, 100]])
    assert [bytes(r[r != 0]).decode() for r in fastcsv.int_field(ids)] == [str(i) for i in ids]
    with pytest.raises(ValueError):
        fastcsv.int_field(np.array([-1]))


# ------------------------------------------------------------------------------------------ the API


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_api_pages_walk_the_whole_answer_with_a_cursor(client: TestClient, session: Session, system, tmp_path,
                                                       monkeypatch) -> None:
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    from fangkong.settings import reset_settings_cache

    reset_settings_cache()
    try:
        city(session, system, 2, n=400, persons=12)
        user(session, "o_epi_city", "epidemiologist", jurisdictions_service.root_unit(session))
        _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username="o_epi_city")
        session.flush()
        headers = {"Authorization": f"Bearer {token}"}
        subject = pid(session, 0)
        params = {"person_id": subject, "since": BASE.isoformat(), "until": NOW.isoformat()}
        full = colocation_service.colocated(session, system, person_id=subject, since=BASE, until=NOW).rows()
        assert len(full) > 40
        got: list[list[object]] = []
        cursor, pages = "", 0
        while True:
            r = client.get("/api/v1/colocation", params={**params, "limit": 17, **({"cursor": cursor} if cursor else {})},
                           headers=headers)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["count"] == len(full) and len(body["pairs"]) <= 17
            got.extend([p[c] for c in colocation_service.PAIR_COLUMNS] for p in body["pairs"])
            pages += 1
            if body["next_cursor"] is None:
                break
            cursor = body["next_cursor"]
        assert got == full  # in the engine's order: no duplicate, no gap
        assert pages == -(-len(full) // 17)
        for bad in ("x1", "-1", "１"):
            r = client.get("/api/v1/colocation", params={**params, "cursor": bad}, headers=headers)
            assert r.status_code == 422
            assert r.json()["error"]["reason"] == "cursor.invalid"
        past = client.get("/api/v1/colocation", params={**params, "cursor": "999999"}, headers=headers).json()
        assert past["pairs"] == [] and past["next_cursor"] is None
    finally:
        reset_settings_cache()


# ---------------------------------------------------------------------------------- the index job


def test_segments_built_in_pieces_and_merged_through_memory_maps_answer_alike(session, system, tmp_path,
                                                                               monkeypatch) -> None:
    city(session, system, 3, n=500)
    whole = ColocationIndex(tmp_path / "whole")
    whole.extend(session)
    monkeypatch.setattr(store, "READ_CHUNK", 37)
    monkeypatch.setattr(store, "SEGMENT_ROWS", 60)
    monkeypatch.setattr(store, "MERGE_RATIO", 1)  # merge often: every new segment as large as the last
    pieces = ColocationIndex(tmp_path / "pieces")
    result = pieces.extend(session)
    assert result.added == 500
    assert sum(s["rows"] for s in pieces.manifest["segments"]) == 500
    # read in 14 pieces, 7 segments sorted in memory (74 rows: two pieces), merged on disk as they came
    assert len(pieces.manifest["segments"]) >= 2
    assert pieces.manifest["counter"] - len(pieces.manifest["segments"]) >= 4
    assert np.array_equal(np.concatenate([s.keys for s in whole.segments]),
                          np.sort(np.concatenate([s.keys for s in pieces.segments])))
    for i in range(0, 20, 4):
        a = colocation_service.colocated(session, system, person_id=pid(session, i), since=BASE, until=NOW,
                                         index_dir=tmp_path / "whole")
        b = colocation_service.colocated(session, system, person_id=pid(session, i), since=BASE, until=NOW,
                                         index_dir=tmp_path / "pieces")
        assert a.rows() == b.rows()


def test_bulk_read_gives_the_sessions_rows(session, system) -> None:
    """The test's session holds its scans uncommitted: the bulk read sees that its own connection's view
    differs and reads through the session's cursor — the rows `read_rows` gives."""
    city(session, system, 4, n=120)
    top = session.execute(text("SELECT max(id) FROM scan")).scalar()
    want = np.concatenate(list(store.read_rows(session, after_id=0, upto_id=top)))
    got = np.concatenate(list(store.bulk_rows(session, after_id=0, upto_id=top, chunk=50)))
    assert got.shape == (session.query(Scan).count(), 4)
    assert np.array_equal(got, want)


BULK_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


@pytest.mark.parametrize("backend", BULK_BACKENDS)
def test_adbc_reads_committed_scans(tmp_path: Path, backend: str, monkeypatch) -> None:
    """The bulk path proper: committed scans read through ADBC equal the session cursor's rows."""
    rng = np.random.default_rng(5)
    rows = [{"v": int(v), "p": int(p), "at": dt.datetime(2022, 4, int(d), int(h), int(m), int(sec)),
             "rec": dt.datetime(2022, 4, 30)}
            for v, p, d, h, m, sec in zip(rng.integers(1, 50, 700), rng.integers(1, 900, 700), rng.integers(1, 29, 700),
                                          rng.integers(0, 24, 700), rng.integers(0, 60, 700), rng.integers(0, 60, 700),
                                          strict=True)]
    with own_database(backend, tmp_path, "bulk") as url:
        engine = db.make_engine(url)
        key = "INTEGER PRIMARY KEY AUTOINCREMENT" if backend == "sqlite" else "BIGSERIAL PRIMARY KEY"
        if backend == "sqlite":  # as SQLAlchemy stores a DateTime there
            rows = [{**r, "at": r["at"].isoformat(sep=" ", timespec="microseconds"),
                     "rec": r["rec"].isoformat(sep=" ", timespec="microseconds")} for r in rows]
        with engine.begin() as conn:  # the scan table alone (its foreign keys need tables of no use here)
            conn.exec_driver_sql(f"CREATE TABLE scan (id {key}, place_id INTEGER NOT NULL, person_id INTEGER NOT NULL, "
                                 "scanned_at TIMESTAMP NOT NULL, recorded_at TIMESTAMP NOT NULL, "
                                 "source VARCHAR(8) NOT NULL)")
            conn.execute(text("INSERT INTO scan (place_id, person_id, scanned_at, recorded_at, source) "
                              "VALUES (:v, :p, :at, :rec, 'api')"), rows)
        with Session(engine) as s:
            want = np.concatenate(list(store.read_rows(s, after_id=10, upto_id=650)))
            assert want.shape == (640, 4)

            def no_cursor(*args, **kwargs):
                raise AssertionError("read through the session's cursor, not ADBC")

            with monkeypatch.context() as m:
                m.setattr(store, "read_rows", no_cursor)
                got = np.concatenate(list(store.bulk_rows(s, after_id=10, upto_id=650, chunk=64)))
            assert np.array_equal(got, want)
            # a view other than the committed one gets no ADBC answer
            uri = str(tmp_path / "bulk.db") if backend == "sqlite" else None
            if uri is not None:
                assert store._adbc_chunks("sqlite", uri, 10, 650, 100, (639, 650)) is None
                fast = store._adbc_chunks("sqlite", uri, 10, 650, 100, (640, 650))
                assert fast is not None and np.array_equal(np.concatenate(list(fast)), want)
        engine.dispose()
