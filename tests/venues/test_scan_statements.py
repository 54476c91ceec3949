"""The two hot scan paths issue a small, constant number of SQL statements (issue #18): the public
scan page one venue lookup and one policy read per post, a batch upload a fixed count whatever its size.
Counted with SQLAlchemy's `before_cursor_execute` listener, not timed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker
from venues_factories import ID_A, NOW, token_of, units, user, venue

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.venues.models import Scan


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


class Statements:
    """SQL statements the connection sends while the block runs (savepoint bookkeeping left out)."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.sql: list[str] = []

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if "SAVEPOINT" not in statement.upper():
            self.sql.append(statement)

    def __enter__(self) -> Statements:
        event.listen(self.connection, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.connection, "before_cursor_execute", self._seen)


def _post(client: TestClient, token: str, data: dict[str, str]) -> None:
    r = client.post(f"/v/{token}", data=data)
    assert r.status_code == 200 and 'data-testid="scan-done"' in r.text, r.text


def test_scan_page_post_is_a_small_constant(client: TestClient, session: Session, connection) -> None:
    place = venue(session, "老王面馆")
    token = token_of(session, place)
    session.flush()
    first = {"request_id": "r0", "phone": "138-1234-5678", "id_number": ID_A, "remember": "1"}
    with Statements(connection) as new_person:
        _post(client, token, first)
    counts = []
    for i in range(1, 4):
        with Statements(connection) as st:
            _post(client, token, {"request_id": f"r{i}", "use_saved": "1"} if i == 3
                  else {"request_id": f"r{i}", "phone": "13812345678", "id_number": ID_A})
        counts.append(st.sql)
    # a known visitor: one venue lookup (by token), one policy read (the pack's version; the parsed pack
    # is cached per version), the person by both blind indexes, the insert (which also finds a repeated
    # request id: ON CONFLICT DO NOTHING), the control status the page warns with — the same five
    # statements each time (PostgreSQL adds the scan table's insert lock, which keeps the co-location
    # index's watermark honest)
    lock = int(connection.dialect.name == "postgresql")
    assert [len(sql) for sql in counts] == [5 + lock] * 3, counts[0]
    for sql in counts:
        assert sum("FROM venue_code" in s for s in sql) == 1
        assert sum("FROM policy_pack" in s for s in sql) == 1
        assert sum("FROM person" in s for s in sql) == 1
        assert sum(s.startswith("INSERT INTO scan ") for s in sql) == 1
        assert not any("FROM scan" in s for s in sql)  # no lookup of the request id before the insert
        if lock:  # the watermark rule of colocation/store.py: ROW EXCLUSIVE before any scan id is drawn
            insert_at = next(i for i, s in enumerate(sql) if s.startswith("INSERT INTO scan "))
            assert sql[insert_at - 1] == "LOCK TABLE scan IN ROW EXCLUSIVE MODE"
        assert not any("FROM unit" in s or "FROM user" in s or "session" in s.lower() for s in sql)
    # a first visit also registers the person (and audits that): still bounded
    assert len(new_person.sql) <= 14, new_person.sql
    # a reload of a recorded form: a duplicate, nothing stored again, the first scan's time shown
    stored = session.scalar(select(func.count()).select_from(Scan))
    with Statements(connection) as again:
        r = client.post(f"/v/{token}", data={"request_id": "r1", "phone": "13812345678", "id_number": ID_A})
    assert r.status_code == 200 and 'data-testid="scan-done"' in r.text, r.text
    assert session.scalar(select(func.count()).select_from(Scan)) == stored == 4
    assert len(again.sql) <= 6 + lock, again.sql


def _bearer(session: Session, username: str) -> dict[str, str]:
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def test_batch_upload_statements_do_not_grow_with_the_batch(client: TestClient, session: Session,
                                                             connection) -> None:
    a, _ = units(session)
    place = venue(session, ref="API-1", unit=a)
    token_of(session, place)
    user(session, "v_bulk", "enterprise", a)
    headers = _bearer(session, "v_bulk")

    def batch(n: int, tag: str) -> dict[str, object]:
        return {"items": [{"venue_ref": "API-1", "phone": f"139{i:08d}", "scanned_at": "2022-04-18 09:00",
                           "request_id": f"{tag}-{i}"} for i in range(n)]}

    sizes = {}
    for n, tag in ((5, "a"), (200, "b")):
        client.post("/api/v1/scans", json=batch(n, "warm" + tag), headers=headers)  # persons registered
        body = batch(n, "warm" + tag)
        for item in body["items"]:
            item["request_id"] = tag + item["request_id"]
        with Statements(connection) as st:
            r = client.post("/api/v1/scans", json=body, headers=headers)
        assert r.status_code == 200 and r.json()["counts"] == {"accepted": n}, r.text
        sizes[n] = st.sql
    # per batch, not per item: the caller's token (four: token, user, unit, permissions), the policy
    # pack, the venues, the persons, one insert (which also finds stored request ids), the control
    # statuses, the audit chain's last entry and one audit entry, the persons the answer may name —
    # whatever the batch's size (PostgreSQL adds the scan table's insert lock and the audit chain's lock)
    pg = 2 * int(connection.dialect.name == "postgresql")
    assert len(sizes[5]) == len(sizes[200]) <= 12 + pg, (sizes[5], sizes[200])
    assert not any("FROM scan" in s for s in sizes[200])
    assert sum(s.startswith("INSERT INTO scan") for s in sizes[200]) == 1
    assert sum(s.startswith("INSERT INTO audit_event") for s in sizes[200]) == 1
    entry = session.execute(select(AuditEvent).where(AuditEvent.action == "venues.scans_recorded")
                            .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert entry.detail["accepted"] == 200
    assert entry.detail["request_ids"] == [f"bwarmb-{i}" for i in range(200)]  # the batch's items, by id
