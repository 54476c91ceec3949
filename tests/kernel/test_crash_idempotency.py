"""Idempotency keys (幂等键) on the API writes a crash test retries: leads, samples (batch and one person
into a tube — the same key mechanism for both paths) and lab results. A repeat with the same key gets the
first answer and writes nothing; the same key for another request is refused; without a key the
endpoints keep their natural duplicate detection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.idempotency import IdempotentRequest, purge_expired
from fangkong.kernel.people.identity import id_check_digit
from fangkong.testing.models import Tube, TubeResult, TubeSample

NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _id(seq: int) -> str:
    first = f"32041219800101{seq:03d}"
    return first + id_check_digit(first)


@pytest.fixture
def api(session: Session, session_factory: sessionmaker[Session]) -> Iterator[tuple[TestClient, dict]]:
    auth_service.create_user(session, SYSTEM_ACTOR, username="idem-admin", role="admin", password="correct-horse-9")
    session.flush()
    token = auth_service.create_token(session, SYSTEM_ACTOR, username="idem-admin")[1]
    session.flush()
    with clock.frozen(NOW), TestClient(create_app(session_factory=session_factory),
                                       raise_server_exceptions=False) as c:
        yield c, {"Authorization": f"Bearer {token}"}


def _count(session: Session, model: type, *where: object) -> int:
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_a_repeated_sample_batch_gets_the_first_answer_and_writes_nothing(api, session):
    client, auth = api
    body = {"items": [{"tube_barcode": "IDEM-1", "pool_size": 10, "id_number": _id(1),
                       "collected_at": "2022-04-18 08:00"}]}
    first = client.post("/api/v1/samples", json=body, headers={**auth, "Idempotency-Key": "k-samples-1"})
    assert first.status_code == 200, first.text
    assert first.json()["counts"] == {"accepted": 1}
    again = client.post("/api/v1/samples", json=body, headers={**auth, "Idempotency-Key": "k-samples-1"})
    assert again.status_code == 200 and again.json() == first.json()  # the first answer, not "duplicate"
    tube = session.execute(select(Tube).where(Tube.barcode == "IDEM-1")).scalar_one()
    assert _count(session, TubeSample, TubeSample.tube_id == tube.id) == 1
    # without a key the natural key still holds: the person is already in the tube
    plain = client.post("/api/v1/samples", json=body, headers=auth)
    assert plain.json()["counts"] == {"duplicate": 1}
    # the same key for another request is a client error, never a silent replay
    other = {"items": [{**body["items"][0], "id_number": _id(2)}]}
    reused = client.post("/api/v1/samples", json=other, headers={**auth, "Idempotency-Key": "k-samples-1"})
    assert reused.status_code == 422
    assert reused.json()["error"]["fields"][0]["reason"] == "idempotency.key_reused"
    assert _count(session, TubeSample, TubeSample.tube_id == tube.id) == 1

    # the single-person path shares the mechanism: a retry is the first answer, not a refusal
    one = client.post("/api/v1/tubes/IDEM-1/samples", json={"person": _id(3)},
                      headers={**auth, "Idempotency-Key": "k-one-3"})
    assert one.status_code == 200, one.text
    retry = client.post("/api/v1/tubes/IDEM-1/samples", json={"person": _id(3)},
                        headers={**auth, "Idempotency-Key": "k-one-3"})
    assert retry.status_code == 200 and retry.json() == one.json()
    # without the key the repeat is refused: the person is already in the tube
    assert client.post("/api/v1/tubes/IDEM-1/samples", json={"person": _id(3)}, headers=auth).status_code == 422
    assert _count(session, TubeSample, TubeSample.tube_id == tube.id) == 2
    # a key belongs to one operation: the batch path's key cannot replay on the single path
    crossed = client.post("/api/v1/tubes/IDEM-1/samples", json={"person": _id(4)},
                          headers={**auth, "Idempotency-Key": "k-samples-1"})
    assert crossed.status_code == 422


def test_a_repeated_result_and_lead_get_the_first_answer(api, session):
    client, auth = api
    client.post("/api/v1/samples", json={"items": [{"tube_barcode": "IDEM-2", "pool_size": 1, "id_number": _id(5),
                                                    "collected_at": "2022-04-18 08:00"}]}, headers=auth)
    result = {"tube_barcode": "IDEM-2", "result": "阴性", "lab": "常州检测", "reported_at": "2022-04-18 08:30"}
    first = client.post("/api/v1/results", json=result, headers={**auth, "Idempotency-Key": "k-result"})
    assert first.status_code == 200 and first.json()["counts"] == {"accepted": 1}, first.text
    again = client.post("/api/v1/results", json=result, headers={**auth, "Idempotency-Key": "k-result"})
    assert again.json() == first.json()
    tube = session.execute(select(Tube).where(Tube.barcode == "IDEM-2")).scalar_one()
    assert _count(session, TubeResult, TubeResult.tube_id == tube.id) == 1

    lead = {"channel": "community", "name": "幂等测试", "id_number": _id(6), "source_ref": "IDEM-LEAD-1"}
    first = client.post("/api/v1/leads", json=lead, headers={**auth, "Idempotency-Key": "k-lead"})
    assert first.status_code == 200 and first.json()["counts"] == {"accepted": 1}, first.text
    again = client.post("/api/v1/leads", json=lead, headers={**auth, "Idempotency-Key": "k-lead"})
    assert again.json() == first.json()
    assert _count(session, Lead, Lead.source_ref == "IDEM-LEAD-1") == 1
    assert client.post("/api/v1/leads", json=lead, headers={**auth, "Idempotency-Key": "two words"}).status_code == 422


def test_keys_are_forgotten_after_their_retention(api, session):
    client, auth = api
    lead = {"channel": "community", "name": "幂等过期", "id_number": _id(7), "source_ref": "IDEM-LEAD-2"}
    assert client.post("/api/v1/leads", json=lead, headers={**auth, "Idempotency-Key": "k-old"}).status_code == 200
    assert _count(session, IdempotentRequest, IdempotentRequest.idempotency_key == "k-old") == 1
    with clock.frozen(NOW + dt.timedelta(hours=71)):
        assert purge_expired(session) == 0
    with clock.frozen(NOW + dt.timedelta(hours=73)):
        assert purge_expired(session) == 1
