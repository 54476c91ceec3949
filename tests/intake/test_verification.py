"""Verification outcomes (即管 → 即控): each outcome moves the lead and starts the next step; clocks."""

from __future__ import annotations

import datetime as dt

import pytest
from cli_runner import CliRun, run_cli
from intake_factories import NOW, Tree, actor_at, make_id
from sqlalchemy import select

from fangkong.control.models import Measure
from fangkong.intake.errors import LeadNotOpen
from fangkong.intake.models import AssistRequest, Lead
from fangkong.intake.service import LeadItem, ingest_leads, record_verification
from fangkong.kernel import clock
from fangkong.kernel.errors import NotFound, PermissionDenied, ValidationFailed
from fangkong.kernel.places.models import Place
from fangkong.kernel.tasks.models import Task

H = dt.timedelta(hours=1)
ADDR = "幸福路12号3幢2单元301室"


@pytest.fixture
def tree(session):
    return Tree(session)


def _lead(session, tree, channel="bigdata", **values) -> Lead:
    values.setdefault("name", "张三")
    values.setdefault("phone", "13812345678")
    with clock.frozen(NOW):
        res = ingest_leads(session, actor_at(tree.root), channel=channel, items=[LeadItem(1, values)])
    return session.get(Lead, res.rows[0].extra["lead_id"])


def test_found_and_transferred_starts_the_measure_with_test_days(session, tree):
    lead = _lead(session, tree, category="close_contact", address=ADDR, id_number=make_id())
    assert (lead.status, lead.known_at) == ("known", NOW)
    worker = actor_at(tree.grid1)
    # a close contact's centralised quarantine is not served at home
    with pytest.raises(ValidationFailed) as err:
        record_verification(session, worker, lead_id=lead.id, outcome_code="found_home")
    assert [f.field for f in err.value.fields] == ["outcome_code"]
    site = Place(kind="quarantine_site", code="QS0", name="隔离酒店", unit_id=tree.root.id, unit_path=tree.root.path)
    session.add(site)
    session.flush()
    with clock.frozen(NOW + 3 * H):
        record_verification(session, worker, lead_id=lead.id, outcome_code="found_site", site_place_id=site.id,
                            four_checks={"headcount": "3", "identity": True, "location": "home", "control": "site"})
    assert (lead.status, lead.managed_at, lead.controlled_at) == ("controlled", NOW + 3 * H, NOW + 3 * H)
    m = session.get(Measure, lead.measure_id)
    assert (m.category, m.measure_code, m.kind, m.place_kind) == (
        "close_contact", "centralised_quarantine", "centralised_quarantine", "site")
    assert m.planned_end_at == NOW + 3 * H + dt.timedelta(days=10)
    assert m.test_dates == ["2022-04-19", "2022-04-20", "2022-04-21", "2022-04-23", "2022-04-25", "2022-04-28"]
    assert [p["measure"] for p in m.phases] == ["centralised_quarantine", "home_health_monitoring"]
    task = session.get(Task, lead.verification_task_id)
    assert (task.status, task.outcome_code) == ("done", "found_site")
    assert task.outcome["four_checks"] == {"headcount": 3, "identity": True, "location": "home", "control": "site"}
    assert lead.headcount == 3
    with pytest.raises(LeadNotOpen):
        record_verification(session, worker, lead_id=lead.id, outcome_code="false_lead")


def test_found_site_needs_a_site(session, tree):
    lead = _lead(session, tree, category="high_risk_area", address=ADDR)
    with pytest.raises(ValidationFailed):
        record_verification(session, actor_at(tree.grid1), lead_id=lead.id, outcome_code="found_site")
    site = Place(kind="quarantine_site", code="QS1", name="隔离酒店", unit_id=tree.root.id, unit_path=tree.root.path)
    session.add(site)
    session.flush()
    with clock.frozen(NOW + H):
        record_verification(session, actor_at(tree.grid1), task_id=lead.verification_task_id,
                            outcome_code="found_site", site_place_id=site.id)
    m = session.get(Measure, lead.measure_id)
    assert (m.place_kind, m.place_id, lead.status) == ("site", site.id, "controlled")


def test_not_at_address_repushes_to_the_parent_unit(session, tree):
    lead = _lead(session, tree, address=ADDR)
    first_task = lead.verification_task_id
    with clock.frozen(NOW + 2 * H):
        record_verification(session, actor_at(tree.grid1), lead_id=lead.id, outcome_code="not_at_address")
    assert (lead.status, lead.managed_at) == ("locating", None)
    task = session.get(Task, lead.verification_task_id)
    assert task.id != first_task and (task.kind, task.unit_id) == ("locate_person", tree.community.id)
    assert task.due_at == NOW + 2 * H + dt.timedelta(hours=24)
    # the community finds them: the lead moves on from the locate task
    with clock.frozen(NOW + 5 * H):
        record_verification(session, actor_at(tree.community), task_id=task.id, outcome_code="false_lead")
    assert (lead.status, lead.managed_at, lead.closed_at) == ("closed", NOW + 5 * H, NOW + 5 * H)


def test_left_city_sends_an_assist_request(session, tree):
    lead = _lead(session, tree, address=ADDR)
    with pytest.raises(ValidationFailed):
        record_verification(session, actor_at(tree.grid1), lead_id=lead.id, outcome_code="left_city")
    with clock.frozen(NOW + H):
        record_verification(session, actor_at(tree.grid1), lead_id=lead.id, outcome_code="left_city",
                            destination="南京市鼓楼区")
    req = session.execute(select(AssistRequest).where(AssistRequest.lead_id == lead.id)).scalar_one()
    assert (req.direction, req.region, req.status) == ("out", "南京市鼓楼区", "open")
    assert lead.status == "closed" and lead.controlled_at is None


@pytest.mark.parametrize("outcome", ["controlled_elsewhere", "false_lead"])
def test_closing_outcomes(session, tree, outcome):
    lead = _lead(session, tree, address=ADDR)
    with clock.frozen(NOW + H):
        record_verification(session, actor_at(tree.grid1), lead_id=lead.id, outcome_code=outcome)
    assert (lead.status, lead.managed_at, lead.closed_at, lead.measure_id) == ("closed", NOW + H, NOW + H, None)


def test_no_measure_needed_closes_the_lead(session, tree):
    lead = _lead(session, tree, address=ADDR)  # category other
    with clock.frozen(NOW + H):
        record_verification(session, actor_at(tree.grid1), lead_id=lead.id, outcome_code="found_home")
    assert (lead.status, lead.measure_id, lead.rule) == ("closed", None, "categories.other")


def test_a_second_lead_while_a_measure_runs_needs_nothing_new(session, tree):
    first = _lead(session, tree, category="secondary_contact", address=ADDR, id_number=make_id())
    with clock.frozen(NOW + H):
        record_verification(session, actor_at(tree.grid1), lead_id=first.id, outcome_code="found_home")
    second = _lead(session, tree, channel="community", category="colocation", address=ADDR,
                   id_number=make_id())
    assert second.person_id == first.person_id
    assert (second.rule, second.measure_code) == ("measures.in_force", None)
    with clock.frozen(NOW + 2 * H):
        record_verification(session, actor_at(tree.grid1), lead_id=second.id, outcome_code="found_home")
    assert (second.status, second.measure_id) == ("controlled", None)


def test_assist_in_is_answered_by_the_verification(session, tree):
    lead = _lead(session, tree, channel="assist", origin="南京市", address=ADDR)
    with clock.frozen(NOW + H):
        record_verification(session, actor_at(tree.grid1), lead_id=lead.id, outcome_code="false_lead")
    req = session.execute(select(AssistRequest).where(AssistRequest.lead_id == lead.id)).scalar_one()
    assert (req.status, req.answered_at) == ("answered", NOW + H)


def test_scope_and_permissions(session, tree):
    lead = _lead(session, tree, address=ADDR)
    with pytest.raises(NotFound):  # a neighbouring grid does not see it
        record_verification(session, actor_at(tree.grid2), lead_id=lead.id, outcome_code="false_lead")
    with pytest.raises(PermissionDenied):
        record_verification(session, actor_at(tree.grid1, permissions=frozenset({"lead.view"})), lead_id=lead.id,
                            outcome_code="false_lead")
    with pytest.raises(ValidationFailed):
        record_verification(session, actor_at(tree.grid1), lead_id=lead.id, outcome_code="gone_fishing")
    with pytest.raises(ValidationFailed):
        record_verification(session, actor_at(tree.grid1), lead_id=lead.id, outcome_code="false_lead",
                            four_checks={"mood": "good"})


# -- 四个查清: 人数、人头、位置、管控情况 ----------------------------------------------------------------
def test_the_four_checks_are_headcount_identity_location_control():
    from fangkong.intake import kinds

    assert list(kinds.FOUR_CHECKS) == ["headcount", "identity", "location", "control"]
    assert [zh[:2] for zh, _en in kinds.FOUR_CHECKS.values()] == ["人数", "人头", "位置", "管控"]


def test_headcount_is_a_number_recorded_on_the_lead(session, tree):
    lead = _lead(session, tree, address=ADDR)
    worker = actor_at(tree.grid1)
    for bad in ("三", "-1", "12.5", "99999", True):
        with pytest.raises(ValidationFailed) as err:
            record_verification(session, worker, lead_id=lead.id, outcome_code="found_home",
                                four_checks={"headcount": bad})
        assert [f.field for f in err.value.fields] == ["four_checks.headcount"], bad
        assert err.value.fields[0].reason == "verification.headcount"
    with pytest.raises(ValidationFailed) as err:  # the old "reached" is not one of the four
        record_verification(session, worker, lead_id=lead.id, outcome_code="found_home",
                            four_checks={"reached": True})
    assert err.value.fields[0].reason == "verification.unknown_checks"
    with pytest.raises(ValidationFailed):
        record_verification(session, worker, lead_id=lead.id, outcome_code="found_home",
                            four_checks={"identity": "maybe"})
    assert lead.headcount is None and lead.status == "known"
    with clock.frozen(NOW + H):
        record_verification(session, worker, lead_id=lead.id, outcome_code="found_home",
                            four_checks={"headcount": "４", "identity": "yes", "location": " 家中 ",
                                         "control": "居家"})
    assert lead.headcount == 4  # full-width digits are digits
    task = session.get(Task, lead.verification_task_id)
    assert task.outcome["four_checks"] == {"headcount": 4, "identity": True, "location": "家中", "control": "居家"}


def test_headcount_zero_and_outcomes_without_checks_still_work(session, tree):
    nobody = _lead(session, tree, address=ADDR, phone="13812340000")
    record_verification(session, actor_at(tree.grid1), lead_id=nobody.id, outcome_code="not_at_address",
                        four_checks={"headcount": 0})
    assert (nobody.headcount, nobody.status) == (0, "locating")
    plain = _lead(session, tree, address=ADDR, phone="13812340001")
    record_verification(session, actor_at(tree.grid1), lead_id=plain.id, outcome_code="false_lead")
    assert (plain.headcount, plain.status) == (None, "closed")


def test_leads_verify_command_takes_the_four_checks(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8",
               FANGKONG_NOW="2022-04-18T09:00:00+08:00")

    def run(*args: str) -> CliRun:
        return run_cli(*args, env=env)

    assert run("init", "--mode", "test").returncode == 0
    leads = tmp_path / "leads.csv"
    leads.write_text("姓名,手机号,类别\n张三,13812345678,其他\n", encoding="utf-8")
    imported = run("import", "leads", str(leads), "--channel", "community", "--json")
    assert imported.returncode == 0, imported.stderr
    done = run("leads", "verify", "1", "--outcome", "found_home", "--headcount", "3", "--identity", "yes",
               "--location", "家中", "--control", "居家", "--json")
    assert done.returncode == 0, done.stderr
    import json

    assert json.loads(done.stdout)["headcount"] == 3
    out = tmp_path / "leads-out.csv"
    assert run("export", "leads", "--out", str(out)).returncode == 0
    header, row = out.read_text(encoding="utf-8-sig").splitlines()[:2]
    assert dict(zip(header.split(","), row.split(","), strict=True))["headcount"] == "3"
