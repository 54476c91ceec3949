"""Case review (复盘): a case confirmed from a positive result, a household contact confirmed and brought
under control late (a feedback sheet); the review's events and stages agree with their sources (the
case row, the contact's lead), the slow stage is marked, and the API, page and CLI show the same."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from signin import user_headers
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tracing"))
from tracing_factories import NOW, build_world, epidemiologist, positive_result

from fangkong.app import create_app
from fangkong.command.service import review
from fangkong.intake.models import Lead
from fangkong.intake.service import import_outcomes
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.errors import NotFound
from fangkong.kernel.tabular import Row
from fangkong.tracing import service as tracing
from fangkong.tracing.models import Contact

H = dt.timedelta(hours=1)


def _case(session: Session) -> tuple[int, int, Lead, Contact]:
    w = build_world(session)
    with clock.frozen(NOW):
        positive_result(session, w)
        epi = epidemiologist(w.district)
        [(cand, _p)] = tracing.pending_candidates(session, epi)
        case = tracing.confirm_candidate(session, epi, candidate_id=cand.id, classification="asymptomatic")
        tracing.confirm_contacts(session, epi, case_id=case.id,
                                 items=[tracing.ContactItem(kind="household", person_id=w.household)])
    with clock.frozen(NOW + 3 * H):
        tracing.record_milestone(session, epi, case_id=case.id, step="core")
    contact = session.execute(select(Contact).where(Contact.case_id == case.id)).scalar_one()
    lead = session.execute(select(Lead).where(Lead.person_id == w.household)).scalar_one()
    at = lambda h: (NOW + h * H).isoformat()  # noqa: E731
    with clock.frozen(NOW + 40 * H):  # the feedback sheet: verified after 2 h, under control after 30 h
        rep = import_outcomes(session, SYSTEM_ACTOR, rows=[Row(2, {
            "source_ref": lead.source_ref, "channel": lead.channel, "outcome": "started", "managed_at": at(2),
            "controlled_at": at(30), "measure": "centralised_quarantine"})])
        assert rep[0].status == "accepted", rep[0]
    session.flush()
    return case.id, w.district.id, lead, contact


def test_review_agrees_with_its_sources(session: Session) -> None:
    case_id, _d, lead, contact = _case(session)
    case = tracing.get_case(session, SYSTEM_ACTOR, case_id)
    with clock.frozen(NOW + 41 * H):
        r = review.review(session, SYSTEM_ACTOR, case_id)
    stages = {(s["stage"], s["ref"]): s for s in r["stages"]}
    core = stages[("core_investigation", f"case:{case_id}")]
    # by hand: core info 3 h after the case (target 4 h); the contact under control 30 h after confirmation
    assert (core["hours"], core["target_h"], core["slow"]) == (3.0, 4.0, False)
    assert core["hours"] == (case.core_done_at - case.created_at).total_seconds() / 3600
    ctl = stages[("contact_controlled", f"contact:{contact.id}")]
    assert (ctl["hours"], ctl["target_h"], ctl["slow"]) == (30.0, 24.0, True)
    assert ctl["hours"] == (lead.controlled_at - contact.confirmed_at).total_seconds() / 3600
    kinds = [(e["kind"], e["source"]) for e in r["events"]]
    assert kinds.index(("sampled", "tracing")) < kinds.index(("case_created", "tracing")) < \
        kinds.index(("contact_controlled", "intake"))
    assert ("test_sampled", "testing") in kinds
    at = {(e["kind"], e["ref"]): e["at"] for e in r["events"]}
    assert at[("contact_controlled", f"contact:{contact.id}")] == clock.iso_local(lead.controlled_at)
    assert r["detected_in_control"] is False and r["detected_at"] == clock.iso_local(case.sampled_at)
    with pytest.raises(NotFound):
        review.review(session, SYSTEM_ACTOR, case_id + 999)


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_review_api_and_page(client: TestClient, session: Session) -> None:
    case_id, _d, _lead, contact = _case(session)
    chief = user_headers(session, "chief", "command", "R01")
    other = user_headers(session, "other", "district", "R02")
    session.commit()
    with clock.frozen(NOW + 41 * H):
        r = client.get(f"/api/v1/command/reviews/{case_id}", headers=chief)
        assert r.status_code == 200, r.text
        assert r.json() == review.review(session, SYSTEM_ACTOR, case_id)
        assert client.get(f"/api/v1/command/reviews/{case_id}", headers=other).status_code == 404
        page = client.get(f"/command/reviews/{case_id}", headers=chief)
    assert page.status_code == 200 and "密接已管控" in page.text and "偏慢" in page.text
    assert f'data-ref="contact:{contact.id}"' in page.text


def test_reviews_opened_concluded_and_counted(session: Session) -> None:
    """Every case gets a review (the job, once); the reviewer's causes and an action that becomes a
    rectification of the unit at fault; `cases.detected_in_control` on the case's day, by hand 0 of 1."""
    from fangkong.command import service as command_service
    from fangkong.command.jobs import open_reviews
    from fangkong.command.models import CaseReview
    from fangkong.command.service import inspections
    from fangkong.kernel.errors import ValidationFailed
    from fangkong.kernel.tasks.models import Task

    case_id, district_id, _lead, _contact = _case(session)
    epi = tracing_epi(session, district_id)
    with clock.frozen(NOW + 41 * H):
        assert open_reviews(session) == {"opened": 1}
        assert open_reviews(session) == {"opened": 0}  # one review per case
        stored = session.execute(select(CaseReview).where(CaseReview.case_id == case_id)).scalar_one()
        task = session.get(Task, stored.task_id)
        assert (stored.status, stored.detected_in_control, task.kind, task.status) == (
            "open", False, "command_case_review", "open")
        with pytest.raises(ValidationFailed) as bad:
            review.complete_review(session, epi, case_id=case_id, causes=["no_such_cause"])
        assert "no_such_cause" in str(bad.value.fields[0])
        out = review.complete_review(session, epi, case_id=case_id, causes=["measure_late", "contact_missed"],
                                     actions=[{"cause": "measure_late", "unit": "R01", "note": "密接管控提速"}],
                                     note="密接 30 小时才管控")
        r = review.review(session, SYSTEM_ACTOR, case_id)
    assert [c["code"] for c in out["causes"]] == ["measure_late", "contact_missed"]
    assert r["review"] == out and out["status"] == "reviewed" and task.status != "open"
    [action] = out["actions"]
    finding = inspections.view(session, SYSTEM_ACTOR, action["finding_id"])
    # measure_late is a high-severity cause: due 24 h after the review (command.rectify_hours.high)
    assert (finding["kind"], finding["item"], finding["item_name"], finding["severity"], finding["unit_code"]) == (
        "review", "measure_late", "管控措施落实迟缓", "high", "R01")
    assert finding["rectification"]["due_at"] == clock.iso_local(NOW + 41 * H + 24 * H)
    # the indicator: the case's day (registered at NOW), 0 of 1 detected under control
    case = tracing.get_case(session, SYSTEM_ACTOR, case_id)
    day = clock.to_local(case.created_at).date()
    with clock.frozen(NOW + 41 * H):
        t = command_service.indicators(session, SYSTEM_ACTOR, day=day, indicator="cases.detected_in_control")
    root = next(x for x in t.rows if x.level == "city")
    assert (root.value, root.numerator, root.denominator) == (0, 0, 1)


def tracing_epi(session: Session, district_id: int) -> Actor:
    from fangkong.kernel.jurisdictions.models import Unit

    return epidemiologist(session.get(Unit, district_id))
