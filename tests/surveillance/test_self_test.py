"""The citizen's own antigen self-test page (抗原自测上报, /self-test) through the app, with no sign-in: the
resident proves who they are with their ID number and the phone registered with it. A positive becomes a
`sentinel` lead (category `antigen_positive`) with temporary control and a PCR task; the same post twice
stores it once; a wrong phone is refused without saying which number was wrong; a file that is not a
photo is refused naming the field; a negative makes no lead."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sentinel_factories import NOW, build_city
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.models import Person
from fangkong.kernel.tasks.models import Task
from fangkong.settings import get_settings
from fangkong.surveillance import kinds
from fangkong.surveillance.models import AntigenResult

ID = "110101199003077571"
PHONE = "13900139000"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
NONE_MATCHES = "没有与该身份证号和手机号相符的记录"


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def resident(session: Session) -> int:
    c = build_city(session, "st")
    person = people_service.register_person(session, SYSTEM_ACTOR, name="钱七", id_number=ID, phone=PHONE,
                                            unit_id=c.district.id)
    session.flush()
    return person.id


def _count(session: Session, model: type) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_positive_self_test_is_a_lead_with_a_pcr_task_once(client: TestClient, session: Session,
                                                          resident: int) -> None:
    form = client.get("/self-test")
    assert form.status_code == 200 and "抗原自测上报" in form.text and "csrf_token" not in form.text
    data = {"id_number": ID, "phone": PHONE, "tested_at": "2022-04-18T07:45", "result": "positive"}
    first = client.post("/self-test", data=data, files={"photo": ("cassette.jpg", JPEG, "image/jpeg")})
    assert first.status_code == 200, first.text
    assert "居家" in first.text and "核酸" in first.text  # what happens next, in Chinese
    row = session.execute(select(AntigenResult)).scalar_one()
    assert (row.source_kind, row.result, row.status, row.via, row.person_id) == (
        "self", "positive", "awaiting_pcr", "page", resident)
    assert row.photo and row.photo.startswith("antigen-") and row.measure_id
    lead = session.execute(select(Lead)).scalar_one()
    assert (lead.channel, lead.category) == ("sentinel", "antigen_positive")
    task = session.get(Task, row.pcr_task_id)
    assert task is not None and (task.kind, task.subject_id) == (kinds.PCR_CONFIRM, resident)
    # the resident is the actor of what they reported, not the system
    actors = set(session.execute(select(AuditEvent.actor_name).where(
        AuditEvent.action == "sentinel.antigen_recorded")).scalars())
    assert actors == {"citizen"}

    again = client.post("/self-test", data=data)  # a double tap: stored once
    assert again.status_code == 200 and "已上报过" in again.text
    assert (_count(session, AntigenResult), _count(session, Lead)) == (1, 1)


def test_wrong_phone_or_id_is_refused_alike(client: TestClient, session: Session, resident: int) -> None:
    data = {"id_number": ID, "phone": "13700137000", "tested_at": "2022-04-18T07:45", "result": "positive"}
    wrong_phone = client.post("/self-test", data=data)
    wrong_id = client.post("/self-test", data={**data, "id_number": "110101199003071234", "phone": PHONE})
    assert wrong_phone.status_code == wrong_id.status_code == 404
    assert NONE_MATCHES in wrong_phone.text and NONE_MATCHES in wrong_id.text
    assert _count(session, AntigenResult) == 0


def test_bad_photo_is_refused_naming_the_field(client: TestClient, session: Session, resident: int) -> None:
    data = {"id_number": ID, "phone": PHONE, "tested_at": "2022-04-18T07:45", "result": "negative"}
    bad = client.post("/self-test", data=data, files={"photo": ("x.jpg", b"GIF89a", "image/jpeg")})
    assert bad.status_code == 422 and "照片" in bad.text
    photos = get_settings().data_dir / "antigen-photos"
    before = sorted(photos.iterdir()) if photos.exists() else []
    future = client.post("/self-test", data={**data, "tested_at": "2022-04-19T07:45"},
                         files={"photo": ("cassette.jpg", JPEG, "image/jpeg")})
    assert future.status_code == 422 and "检测时间" in future.text
    assert _count(session, AntigenResult) == 0
    # a refused form keeps no photo of the resident's cassette
    assert (sorted(photos.iterdir()) if photos.exists() else []) == before


def test_negative_is_stored_without_a_lead(client: TestClient, session: Session, resident: int) -> None:
    data = {"id_number": ID, "phone": PHONE, "tested_at": "2022-04-18T08:00", "result": "negative"}
    ok = client.post("/self-test", data=data)
    assert ok.status_code == 200 and "感谢" in ok.text
    row = session.execute(select(AntigenResult)).scalar_one()
    assert (row.source_kind, row.result, row.status) == ("self", "negative", "negative")
    assert _count(session, Lead) == 0
    # filed under the resident's own unit (its daily series), not the root
    assert row.unit_id == session.get(Person, resident).unit_id
