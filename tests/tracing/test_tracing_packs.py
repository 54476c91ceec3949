"""Tracing under a pack without secondary contacts (二十条, 2022-11-11: 不再判定密接的密接): a secondary
contact is refused with a clear message and nothing is recorded; close contacts get the pack's 5+3."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from test_tracing_api import _login, _user
from tracing_factories import NOW, build_world, epidemiologist, grant, phone, positive_result, standard_scans

from fangkong.app import create_app
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.messages import translate
from fangkong.kernel.policy import service as policy_service
from fangkong.tracing import service
from fangkong.tracing.models import Contact


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _case_with_household_contact(session: Session) -> tuple[object, int, int]:
    w = build_world(session)
    standard_scans(session, w)
    positive_result(session, w)
    epi = epidemiologist(w.district)
    [(cand, _person)] = service.pending_candidates(session, epi)
    case = service.confirm_candidate(session, epi, candidate_id=cand.id, classification="asymptomatic")
    [close] = service.confirm_contacts(session, epi, case_id=case.id, items=[
        service.ContactItem(kind="household", person_id=w.household)])
    assert close.status == "accepted"
    return w, case.id, close.contact_id


def test_secondary_contact_is_refused_under_the_twenty_measures(session: Session) -> None:
    policy_service.activate_pack(session, SYSTEM_ACTOR, code="cn-2022-ershitiao", version="1")
    w, case_id, close_id = _case_with_household_contact(session)
    epi = epidemiologist(w.district)
    close_lead = session.execute(select(Lead).where(Lead.person_id == w.household)).scalar_one()
    assert close_lead.pack_version == "cn-2022-ershitiao@1"
    assert close_lead.decision["total_days"] == 8  # 5 days centralised + 3 days at home
    before = session.execute(select(func.count()).select_from(Lead)).scalar_one()
    [sec] = service.confirm_contacts(session, epi, case_id=case_id, items=[
        service.ContactItem(kind="secondary", via_contact_id=close_id, name="王同事", phone=phone(88))])
    assert sec.status == "rejected" and sec.contact_id is None and sec.lead_id is None
    [issue] = sec.issues
    assert issue.field == "kind" and issue.message.code == "contact.category_not_in_pack"
    zh = translate(issue.message, "zh_CN")
    assert "不再判定" in zh and "密接的密接" in zh and "二十条" in zh
    assert "Secondary contact" in str(issue)
    assert session.execute(select(func.count()).select_from(Lead)).scalar_one() == before
    assert session.execute(select(func.count()).select_from(Contact).where(Contact.tier == "secondary")
                           ).scalar_one() == 0
    # under the 9th edition the same contact is taken
    policy_service.activate_pack(session, SYSTEM_ACTOR, code="cn-2022-v9", version="5")
    [again] = service.confirm_contacts(session, epi, case_id=case_id, items=[
        service.ContactItem(kind="secondary", via_contact_id=close_id, name="王同事", phone=phone(88))])
    assert again.status == "accepted" and again.category == "secondary_contact"


def test_contact_page_offers_no_secondary_contacts_under_the_twenty_measures(
        session: Session, session_factory: sessionmaker[Session]) -> None:
    w, case_id, close_id = _case_with_household_contact(session)
    grant(session, "epidemiologist")
    _user(session, "epi1", "epidemiologist", w.district.code)
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as client:
        csrf = _login(client, "epi1")
        page = client.get(f"/cases/{case_id}/contacts/{close_id}")
        assert page.status_code == 200 and f"/contacts/{close_id}/secondary" in page.text
        assert 'data-testid="no-secondary"' not in page.text
        policy_service.activate_pack(session, SYSTEM_ACTOR, code="cn-2022-ershitiao", version="1")
        session.flush()
        page = client.get(f"/cases/{case_id}/contacts/{close_id}")
        assert page.status_code == 200 and 'data-testid="no-secondary"' in page.text
        assert f"/contacts/{close_id}/secondary" not in page.text  # no form to confirm one
        r = client.post(f"/cases/{case_id}/contacts/{close_id}/secondary",
                        data={"name": "王同事", "phone": phone(88), "csrf_token": csrf})
        assert r.status_code == 422 and "不再判定" in r.text
