"""Single tubes where policy says so (单管单采): close contacts, persons who stayed in a high-risk area,
persons under a measure and fever-clinic tubes are never mixed into a multi-person tube — on the
sampler's page, over the API and in sample files — and the refusal names the person."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select
from test_testing_routes import _login, _user, grants  # noqa: F401 (fixture)
from testing_factories import actor_at, make_id, person, phone

from fangkong.control import service as control_service
from fangkong.intake import service as intake_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import ValidationFailed
from fangkong.kernel.messages import translate
from fangkong.kernel.places import service as places_service
from fangkong.kernel.policy import service as policy_service
from fangkong.policy_packs import read_pack_text
from fangkong.testing import rules, service
from fangkong.testing.models import Tube, TubeSample
from fangkong.testing.service import single_tube

PACK = policy_service.parse_pack(read_pack_text())


# -- the pure rule ---------------------------------------------------------------------------------
def test_tube_limit_from_the_pack() -> None:
    close = rules.tube_limit(PACK, measures=[("close_contact", "centralised_quarantine")])
    assert close is not None and (close.size, close.setting, close.category) == (1, "contacts", "close_contact")
    assert close.rule == "pooling.contacts"
    lead = rules.tube_limit(PACK, lead_categories=["high_risk_area"])  # not verified yet: the lead says it
    assert lead is not None and (lead.size, lead.setting) == (1, "high")
    monitored = rules.tube_limit(PACK, measures=[("case_discharge", "home_health_monitoring")])
    assert monitored is not None and (monitored.size, monitored.setting) == (1, "under_measure")
    pool = rules.tube_limit(PACK, measures=[("positive_pool_member", "temporary_control")])
    assert pool is not None and pool.setting == "under_measure"
    # co-location (self health monitoring), a 3-day test schedule, an open lead of 其他人员: any tube
    assert rules.tube_limit(PACK, measures=[("colocation", "self_health_monitoring")]) is None
    assert rules.tube_limit(PACK, measures=[("low_risk_area", "test_only")]) is None
    assert rules.tube_limit(PACK, lead_categories=["other", "low_risk_area"]) is None
    # a category the pack lacks asks for nothing by itself; its running measure still does
    assert rules.tube_limit(PACK, lead_categories=["no_such_category"]) is None
    gone = rules.tube_limit(PACK, measures=[("no_such_category", "home_quarantine")])
    assert gone is not None and gone.setting == "under_measure"


def test_the_sizes_are_the_packs() -> None:
    data = yaml.safe_load(read_pack_text())
    data["pooling"]["contacts"]["size"] = 5
    del data["pooling"]["under_measure"]
    edited = policy_service.parse_pack(yaml.safe_dump(data, allow_unicode=True))
    five = rules.tube_limit(edited, measures=[("close_contact", "centralised_quarantine")])
    assert five is not None and (five.size, five.setting) == (5, "contacts")
    assert rules.tube_limit(edited, measures=[("case_discharge", "home_health_monitoring")]) is None


# -- at sampling -----------------------------------------------------------------------------------
def _under_measure(session, tree, seq: int, category: str = "case_discharge") -> int:
    pid = person(session, seq, tree.grid_a, name=f"管控{seq}")
    control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category=category, rule=f"categories.{category}")
    return pid


def test_person_under_a_measure_is_refused_from_a_pool_and_named(session, tree, at_now) -> None:
    sampler = actor_at(tree.grid_a)
    pid = _under_measure(session, tree, 11)
    service.open_tube(session, sampler, barcode="P-10", pool_size=10)
    service.add_sample(session, sampler, barcode="P-10", person=make_id(12))  # an ordinary person: fine
    with pytest.raises(service.SampleRefused) as refused:
        service.add_sample(session, sampler, barcode="P-10", person=make_id(11))
    err = refused.value
    assert err.kind == "single_tube" and err.reason == "sample.single_tube"
    text = translate(err.fields[0].message, "zh_CN")
    assert "管控11" in text and make_id(11)[:6] + "********" + make_id(11)[-4:] in text
    assert "单管单采" in text and "居家健康监测" in text and "10 人混管" in text
    assert make_id(11) not in text  # named, never with the full ID number
    assert "管控11" in str(err.fields[0].message) and "single tube" in str(err.fields[0].message)
    tube = session.execute(select(Tube).where(Tube.barcode == "P-10")).scalar_one()
    in_tube = session.execute(select(TubeSample.person_id).where(TubeSample.tube_id == tube.id)).scalars().all()
    assert pid not in in_tube and len(in_tube) == 1  # nothing stored for the refused person
    # in a single tube they are sampled
    service.open_tube(session, sampler, barcode="S-1", pool_size=1)
    _tube, sample = service.add_sample(session, sampler, barcode="S-1", person=make_id(11))
    assert sample.person_id == pid


def test_close_contact_not_yet_verified_is_refused(session, tree, at_now) -> None:
    sampler = actor_at(tree.grid_a)
    person(session, 21, tree.grid_a, name="密接甲")
    result = intake_service.ingest_leads(session, SYSTEM_ACTOR, channel="tracing", category="close_contact",
                                         items=[intake_service.LeadItem(1, {"name": "密接甲", "id_number": make_id(21)})])
    assert result.rows[0].status == "accepted"
    service.open_tube(session, sampler, barcode="P-5", pool_size=5)
    with pytest.raises(service.SampleRefused) as refused:
        service.add_sample(session, sampler, barcode="P-5", person=phone(21), name="密接甲")
    assert "密切接触者" in translate(refused.value.fields[0].message, "zh_CN")
    assert "Close contact" in str(refused.value.fields[0].message)


def test_a_pack_without_the_setting_does_not_refuse(session, tree, system, at_now) -> None:
    data = yaml.safe_load(read_pack_text())
    data["version"] = "single-tube-off"
    del data["pooling"]["under_measure"]
    row = policy_service.store_pack(session, system, yaml.safe_dump(data, allow_unicode=True))
    policy_service.activate_pack(session, system, code=row.code, version=row.version)
    _under_measure(session, tree, 31)
    service.open_tube(session, actor_at(tree.grid_a), barcode="P-31", pool_size=10)
    service.add_sample(session, actor_at(tree.grid_a), barcode="P-31", person=make_id(31))


def test_sample_file_rejects_the_row_naming_the_person(session, tree, at_now) -> None:
    _under_measure(session, tree, 41, category="close_contact")
    person(session, 42, tree.grid_a)
    items = [service.SampleItem(1, {"tube_barcode": "F-1", "pool_size": "10", "id_number": make_id(42),
                                    "collected_at": "2022-04-18 08:00", "sampling_point": tree.point.code}),
             service.SampleItem(2, {"tube_barcode": "F-1", "pool_size": "10", "id_number": make_id(41),
                                    "collected_at": "2022-04-18 08:01", "sampling_point": tree.point.code}),
             service.SampleItem(3, {"tube_barcode": "F-2", "pool_size": "1", "id_number": make_id(41),
                                    "collected_at": "2022-04-18 08:02", "sampling_point": tree.point.code})]
    rows = service.ingest_samples(session, actor_at(tree.grid_a), items=items)
    assert [r.status for r in rows] == ["accepted", "rejected", "accepted"]
    [issue] = rows[1].issues
    assert issue.startswith("person: 管控41(") and "single tube" in issue
    assert "须单管单采" in translate(issue.message, "zh_CN") and "密切接触者" in translate(issue.message, "zh_CN")


def test_fever_clinic_tubes_are_single(session, tree, at_now) -> None:
    sampler = actor_at(tree.grid_a)
    clinic = places_service.create_place(session, SYSTEM_ACTOR, kind="sampling_point", name="人民医院发热门诊",
                                         code="FEVER1", category=single_tube.FEVER_CLINIC, unit_id=tree.grid_a.id)
    with pytest.raises(ValidationFailed) as err:
        service.open_tube(session, sampler, barcode="FC-10", pool_size=10, sampling_point_id=clinic.id)
    assert [f.field for f in err.value.fields] == ["pool_size"]
    assert "发热门诊" in translate(err.value.fields[0].message, "zh_CN")
    tube, _ = service.open_tube(session, sampler, barcode="FC-1", sampling_point_id=clinic.id)
    assert tube.pool_size == 1  # a fever clinic's default
    rows = service.ingest_samples(session, sampler, items=[
        service.SampleItem(1, {"tube_barcode": "FC-F", "pool_size": "10", "id_number": make_id(51),
                               "collected_at": "2022-04-18 08:00", "sampling_point": "FEVER1"})])
    assert rows[0].status == "rejected" and rows[0].issues[0].startswith("pool_size:")


def test_api_and_page_refuse_and_name_the_person(client, session, tree, grants, at_now) -> None:  # noqa: F811
    headers = _user(session, "sampler51", "sampler", tree.grid_a)
    _under_measure(session, tree, 61)
    assert client.post("/api/v1/tubes", json={"tube_barcode": "API-1", "pool_size": 10},
                       headers=headers).status_code == 200
    r = client.post("/api/v1/tubes/API-1/samples", json={"person": make_id(61)}, headers=headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["reason"] == "sample.single_tube" and "管控61" in error["message"]
    assert error["params"]["size"] == 10 or error["params"]["size"] == "10"
    csrf = _login(client, "sampler51")
    r = client.post("/sampling/tubes", data={"barcode": "PG-1", "mode": "pooled", "pool_size": "10",
                                             "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.post("/sampling/tubes/PG-1/samples", data={"person": make_id(61), "csrf_token": csrf})
    assert page.status_code == 422
    assert "管控61" in page.text and "须单管单采" in page.text and 'data-testid="open-single-tube"' in page.text
