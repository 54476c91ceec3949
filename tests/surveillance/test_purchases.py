"""Pharmacy real-name registrations (药店实名登记) on a real database (SQLite, and PostgreSQL when
FANGKONG_TEST_DATABASE_URL is set): a watched class becomes a lead on intake's `sentinel` channel with
the registration's source_ref, the pharmacy's daily counts are its registrations (0 for a watched class
without one), bad rows are rejected naming the field, re-posting changes nothing; the API and the
command line end to end."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sentinel_factories import NOW, build_city, reporter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from surveillance_cli import cli_database, run

from fangkong.app import create_app
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.surveillance import service
from fangkong.surveillance.models import PharmacyPurchase, SentinelCount, SentinelCountChange
from fangkong.surveillance.service.purchases import drug_class_of

VALID_ID = "110101199003077571"
DAY = dt.date(2022, 4, 17)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _buy(ref: str, site: str, **kw: object) -> dict[str, object]:
    return {"source_ref": ref, "pharmacy_ref": site, "purchased_at": "2022-04-17 10:30", "name": "张三",
            "id_number": VALID_ID, "phone": "13800138000", "address": "东街道1号", "drug_name": "布洛芬",
            "drug_class": "退热", "quantity": "2", "temperature": "37.8", "symptoms": "发热", **kw}


def _counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(SentinelCount.indicator, SentinelCount.count)).all()
    return {i: c for i, c in rows}


def test_registrations_become_leads_and_counts(session: Session) -> None:
    c = build_city(session, "p")
    staff = reporter(c.district)
    first = service.record_purchases(session, staff, [
        _buy("R1", "PHp"),
        _buy("R2", "PHp", drug_class="antipyretic", id_number="", name="李四"),
        _buy("R3", "PHp", drug_class="止咳", id_number="110101199003077578"),
        _buy("R4", "PHp", drug_class="其他"),
    ], source="api")
    assert [r.status for r in first] == ["accepted"] * 4
    assert any(i.field == "id_number" for i in first[2].issues)  # an invalid ID number is an issue only
    leads = session.execute(select(Lead).order_by(Lead.source_ref)).scalars().all()
    assert [(x.channel, x.category, x.source_ref) for x in leads] == [
        ("sentinel", "pharmacy_purchase", "R1"), ("sentinel", "pharmacy_purchase", "R2"),
        ("sentinel", "pharmacy_purchase", "R3")]  # 其他 is not a watched class
    assert first[0].extra["lead_id"] and first[0].person_id
    assert _counts(session) == {"drug_antipyretic": 2, "drug_cough": 1, "drug_antiviral": 0, "drug_antibiotic": 0}

    again = service.record_purchases(session, staff, [_buy("R1", "PHp"), _buy("R5", "PHp", drug_class="抗病毒")],
                                     source="api")
    assert [r.status for r in again] == ["duplicate", "accepted"]
    assert session.execute(select(func.count()).select_from(Lead)).scalar_one() == 4
    assert _counts(session)["drug_antiviral"] == 1
    change = session.execute(select(SentinelCountChange)).scalar_one()
    assert (change.old_count, change.new_count) == (0, 1)
    assert [p.source_ref for p in service.purchases_of_day(session, SYSTEM_ACTOR, first_site(session), DAY)] \
        == ["R1", "R2", "R3", "R4", "R5"]


def first_site(session: Session) -> int:
    return session.execute(select(PharmacyPurchase.site_id)).scalars().first()  # type: ignore[return-value]


@pytest.mark.parametrize(("change", "field"), [
    ({"pharmacy_ref": "NOPE"}, "pharmacy_ref"),
    ({"pharmacy_ref": "FCq"}, "pharmacy_ref"),  # a fever clinic, not a pharmacy
    ({"pharmacy_ref": "FWq"}, "pharmacy_ref"),  # outside the reporter's jurisdiction
    ({"drug_class": "维生素"}, "drug_class"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "-1"}, "quantity"),
    ({"quantity": "1.5"}, "quantity"),
    ({"purchased_at": "yesterday"}, "purchased_at"),
    ({"purchased_at": "2022-04-19 08:00"}, "purchased_at"),
    ({"purchased_at": ""}, "purchased_at"),
    ({"id_number": "", "phone": "", "address": ""}, "id_number"),
    ({"source_ref": ""}, "source_ref"),
    ({"temperature": "hot"}, "temperature"),
])
def test_bad_rows_name_the_field(session: Session, change: dict[str, str], field: str) -> None:
    c = build_city(session, "q")
    [rep] = service.record_purchases(session, reporter(c.district), [_buy("B1", "PHq", **change)], source="api")
    assert rep.status == "rejected" and [i.field for i in rep.issues] == [field]
    assert session.execute(select(func.count()).select_from(PharmacyPurchase)).scalar_one() == 0
    assert session.execute(select(func.count()).select_from(Lead)).scalar_one() == 0


@given(st.lists(st.sampled_from(["退热", "止咳", "抗病毒", "抗生素", "其他"]), min_size=1, max_size=8))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_counts_are_the_registrations_and_reposting_changes_nothing(session: Session, classes: list[str]) -> None:
    suffix = f"h{session.execute(select(func.count()).select_from(PharmacyPurchase)).scalar_one()}x{len(classes)}"
    suffix += str(abs(hash(tuple(classes))) % 100000)
    build_city(session, suffix)
    items = [_buy(f"{suffix}-{i}", f"PH{suffix}", drug_class=k) for i, k in enumerate(classes)]
    service.record_purchases(session, SYSTEM_ACTOR, items, source="api")
    site = session.execute(select(PharmacyPurchase.site_id).where(
        PharmacyPurchase.source_ref == items[0]["source_ref"])).scalar_one()
    stored = service.site_counts(session, SYSTEM_ACTOR, site, since=DAY)
    expected = {f"drug_{drug_class_of(k)}": classes.count(k) for k in ("退热", "止咳", "抗病毒", "抗生素")}
    # a day with only 其他 (not watched) registrations gives no counts; otherwise every watched class
    assert {i: v for (_d, i), v in stored.items()} == (expected if any(k != "其他" for k in classes) else {})
    again = service.record_purchases(session, SYSTEM_ACTOR, items, source="api")
    assert {r.status for r in again} == {"duplicate"}
    assert service.site_counts(session, SYSTEM_ACTOR, site, since=DAY) == stored


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_purchases_over_http(client: TestClient, session: Session) -> None:
    c = build_city(session, "y")
    auth_service.create_user(session, SYSTEM_ACTOR, username="ph-staff", role="enterprise", unit_code=c.district.code,
                             password="correct-horse-9")
    session.flush()
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username="ph-staff")
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"items": [_buy("H1", "PHy"), _buy("H2", "PHy", quantity=0)]}
    assert client.post("/api/v1/pharmacy-purchases", json=body).status_code == 401
    r = client.post("/api/v1/pharmacy-purchases", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["counts"] == {"accepted": 1, "rejected": 1}
    assert r.json()["items"][1]["issues"] == ["quantity: not a whole number of at least 1: '0'"]
    r = client.post("/api/v1/pharmacy-purchases", json={"items": [_buy("H1", "PHy")]}, headers=headers)
    assert r.json()["counts"] == {"duplicate": 1}
    assert client.post("/api/v1/pharmacy-purchases", json={"items": []}, headers=headers).status_code == 422


def test_command_line_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with cli_database(tmp_path, monkeypatch, now="2022-04-18T09:00:00+08:00"):
        _command_line_end_to_end(tmp_path)


def _command_line_end_to_end(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text("哨点编号,哨点名称,哨点类别,启用日期\nPH,仁和药店,药店,2022-03-01\nFC,一院发热门诊,发热门诊,2022-03-01\n",
                     encoding="utf-8")
    assert run("import", "sentinels", str(sites)).returncode == 0
    file = tmp_path / "buy.csv"
    file.write_text(
        "登记编号,药店编号,购药时间,姓名,身份证号,手机号,住址,药品名称,药品类别,数量,体温,症状\n"
        f"P1,PH,2022-04-17 10:00,张三,{VALID_ID},13800138000,东街道1号,布洛芬,退热,1,37.9,发热\n"
        "P2,PH,2022-04-17 11:00,李四,110101199003077578,,,连花清瘟,抗病毒,2,,\n"
        "P3,FC,2022-04-17 11:00,王五,,13900139000,,阿莫西林,抗生素,1,,\n"
        "P4,PH,2022-04-20 11:00,赵六,,13900139001,,阿莫西林,抗生素,1,,\n"
        "P5,PH,2022-04-17 12:00,,,,,止咳糖浆,止咳,1,,\n", encoding="utf-8")
    r = run("import", "purchases", str(file), "--report", str(tmp_path / "r.csv"))
    assert r.returncode == 0 and "5 rows: 2 accepted, 3 rejected" in r.stderr, r.stderr
    with (tmp_path / "r.csv").open(encoding="utf-8-sig") as fh:
        report = list(csv.DictReader(fh))
    assert report[1]["issues"].startswith("id_number:") and report[1]["lead_id"]
    assert report[2]["issues"] == "pharmacy_ref: FC is a fever_clinic, not a pharmacy"
    assert report[3]["issues"].startswith("purchased_at:") and report[4]["issues"].startswith("id_number:")
    assert "5 rows: 2 duplicate, 3 rejected" in run("import", "purchases", str(file)).stderr
