"""The two phone pages for sentinel staff through the app with a signed-in session: a pharmacy's
real-name registration (药店实名登记) and an antigen result (抗原检测结果, with the cassette's photo).
A post without the CSRF token is refused; a bad row is shown with its errors in Chinese and nothing is
stored; the same form posted twice stores it once."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sentinel_factories import NOW, build_city
from signin import sign_in
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.surveillance.models import AntigenResult, PharmacyPurchase

PASSWORD = "correct-horse-9"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def _form(client: TestClient, path: str) -> dict[str, str]:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return {k: re.search(rf'name="{k}" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            for k in ("csrf_token", "source_ref")}


def test_pharmacy_page_csrf_chinese_errors_idempotent(client: TestClient, session: Session) -> None:
    c = build_city(session, "pp")
    auth_service.create_user(session, SYSTEM_ACTOR, username="ph-staff", role="enterprise",
                             unit_code=c.district.code, password=PASSWORD)
    session.flush()
    assert sign_in(client, "ph-staff", PASSWORD).status_code == 303
    hidden = _form(client, "/pharmacy-register")
    buy = {"pharmacy_ref": "PHpp", "name": "张三", "id_number": "", "phone": "13800138000", "address": "",
           "drug_name": "布洛芬", "drug_class": "antipyretic", "quantity": "2", "temperature": "37.9",
           "symptoms": "发热", "purchased_at": "2022-04-18T08:30", "source_ref": hidden["source_ref"]}
    refused = client.post("/pharmacy-register", data=buy, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token

    bad = client.post("/pharmacy-register", data={**buy, "quantity": "0", "phone": "", "purchased_at": "明天",
                                                  "csrf_token": hidden["csrf_token"]}, follow_redirects=False)
    assert bad.status_code == 422
    assert "数量" in bad.text and "购药时间" in bad.text and "身份证号" in bad.text
    assert 'value="布洛芬"' in bad.text  # what was typed stays in the form
    assert session.execute(select(func.count()).select_from(PharmacyPurchase)).scalar_one() == 0

    for expected in ("accepted", "duplicate"):  # the same form twice (a double tap, a resubmission)
        ok = client.post("/pharmacy-register", data={**buy, "csrf_token": hidden["csrf_token"]},
                         follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"].endswith(f"saved={expected}")
    assert session.execute(select(func.count()).select_from(PharmacyPurchase)).scalar_one() == 1
    lead = session.execute(select(Lead)).scalar_one()
    assert (lead.channel, lead.category, lead.source_ref) == ("sentinel", "pharmacy_purchase", hidden["source_ref"])
    assert "已登记" in client.get("/pharmacy-register?site=PHpp&saved=accepted").text


def test_antigen_page_with_photo(client: TestClient, session: Session) -> None:
    c = build_city(session, "ap")
    auth_service.create_user(session, SYSTEM_ACTOR, username="ag-staff", role="enterprise",
                             unit_code=c.district.code, password=PASSWORD)
    session.flush()
    assert sign_in(client, "ag-staff", PASSWORD).status_code == 303
    hidden = _form(client, "/antigen-report")
    data = {"source": "self", "result": "positive", "tested_at": "2022-04-18T07:45", "name": "赵六",
            "phone": "13600136000", **hidden}
    not_photo = client.post("/antigen-report", data=data, files={"photo": ("x.jpg", b"GIF89a", "image/jpeg")},
                            follow_redirects=False)
    assert not_photo.status_code == 422 and "照片" in not_photo.text
    no_result = client.post("/antigen-report", data={**data, "result": ""}, follow_redirects=False)
    assert no_result.status_code == 422 and "结果" in no_result.text
    for expected in ("accepted", "duplicate"):
        ok = client.post("/antigen-report", data=data, files={"photo": ("cassette.jpg", JPEG, "image/jpeg")},
                         follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"].endswith(f"saved={expected}"), ok.text
    row = session.execute(select(AntigenResult)).scalar_one()
    assert (row.source_kind, row.result, row.status, row.via) == ("self", "positive", "awaiting_pcr", "page")
    assert row.photo and row.photo.startswith("antigen-") and row.pcr_task_id
