"""Policy packs: the default pack's numbers, validation with field paths, storing, activating, caching,
and `fangkong groups` as scripts read it."""

from __future__ import annotations

import copy
import datetime as dt
import os
from pathlib import Path

import pytest
import yaml
from cli_runner import CliRun, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.roles import MATRIX
from fangkong.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fangkong.kernel.policy import service
from fangkong.kernel.policy.models import PolicyPack
from fangkong.kernel.policy.schema import CATEGORIES, Pack
from fangkong.policy_packs import read_pack_text

DEFAULT_TEXT = read_pack_text()
DEFAULT = yaml.safe_load(DEFAULT_TEXT)


def default_pack() -> Pack:
    return service.parse_pack(DEFAULT_TEXT)


def variant(**changes: object) -> dict:
    data = copy.deepcopy(DEFAULT)
    data.update(changes)
    return data


def fields_of(data: dict) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        service.parse_pack(yaml.safe_dump(data, allow_unicode=True))
    return {f.field: f.message for f in info.value.fields}


def phases(pack: Pack, category: str) -> list[tuple[str, int | None, list[int]]]:
    return [(p.measure, p.days, p.test_days) for p in pack.category(category).phases]


def kind_of(pack: Pack, category: str) -> list[str]:
    return [pack.measure(p.measure).kind for p in pack.category(category).phases]


# -- the default pack (domain.md, "Default policy pack") -------------------------------------------
def test_default_pack_identity() -> None:
    pack = default_pack()
    assert pack.version_tag == "cn-2022-v9@5"
    assert pack.effective_from == dt.date(2022, 6, 28)
    assert "第九版" in pack.source and "苏疫指办发〔2022〕49号" in pack.source
    assert set(CATEGORIES) <= set(pack.categories)


def test_default_pack_measures_by_category() -> None:
    pack = default_pack()
    assert kind_of(pack, "close_contact") == ["centralised_quarantine", "home_health_monitoring"]
    assert [(d, t) for _, d, t in phases(pack, "close_contact")] == [(7, [1, 2, 3, 5, 7]), (3, [3])]
    assert pack.category("close_contact").total_days == 10
    assert kind_of(pack, "secondary_contact") == ["home_quarantine"]
    assert [(d, t) for _, d, t in phases(pack, "secondary_contact")] == [(7, [1, 4, 7])]
    assert phases(pack, "inbound_traveller") == phases(pack, "close_contact")
    assert kind_of(pack, "high_risk_area") == ["centralised_quarantine"]
    assert [(d, t) for _, d, t in phases(pack, "high_risk_area")] == [(7, [1, 2, 3, 5, 7])]
    assert kind_of(pack, "medium_risk_area") == ["home_quarantine"]
    assert [(d, t) for _, d, t in phases(pack, "medium_risk_area")] == [(7, [1, 4, 7])]
    low = pack.category("low_risk_area")
    assert low.total_days == 3 and low.until_negatives is not None
    assert (low.until_negatives.count, low.until_negatives.min_gap_hours, low.until_negatives.within_days) == (2, 24, 3)
    co = pack.category("colocation")
    assert kind_of(pack, "colocation") == ["self_health_monitoring"]
    assert co.until_negatives is not None
    assert (co.until_negatives.count, co.until_negatives.min_gap_hours, co.until_negatives.within_days) == (2, 24, 3)
    pool = pack.category("positive_pool_member")
    assert kind_of(pack, "positive_pool_member") == ["temporary_control"]
    assert pool.total_days is None and pool.until_negatives is not None and pool.until_negatives.count == 1
    assert kind_of(pack, "case_discharge") == ["home_health_monitoring"]
    assert [(d, t) for _, d, t in phases(pack, "case_discharge")] == [(7, [7])]
    assert kind_of(pack, "truck_driver") == ["test_only"]
    for code, cat in pack.categories.items():
        assert cat.source, f"{code} has no source"


def test_close_contact_schedule_counts_from_first_phase() -> None:
    schedule = default_pack().category("close_contact").test_schedule()
    assert [d for d, _ in schedule] == [1, 2, 3, 5, 7, 10]
    assert schedule[-1][1] == "home_health_monitoring"


def test_default_key_groups_and_tiers() -> None:
    pack = default_pack()
    by_freq: dict[int, set[str]] = {}
    for g in pack.key_groups:
        by_freq.setdefault(g.frequency_days, set()).add(g.code)
        assert g.source and g.test_type == "pcr"
    assert by_freq[1] == {"inbound_contact_staff", "quarantine_site_staff", "fever_clinic_emergency_staff",
                          "sampling_testing_staff", "port_imported_goods_staff", "cold_chain_warehouse_staff"}
    assert by_freq[2] == {"truck_driver", "imported_cold_chain_fruit_handler", "international_mail_express_staff"}
    assert by_freq[3] == {"inpatient_carer", "public_transport_taxi_driver", "courier_delivery_rider",
                          "pharmacy_staff", "supermarket_market_staff", "hotel_staff", "entertainment_venue_staff"}
    assert by_freq[7] == {"construction_site_worker", "sanitation_worker", "care_home_staff", "prison_staff",
                          "school_staff", "labour_intensive_factory_worker"}
    assert set(by_freq) == {1, 2, 3, 7}
    assert {g.tier for g in pack.key_groups if g.frequency_days == 7} == {4}
    assert pack.group("hotel_staff").name_zh == "宾馆酒店从业人员"


def test_default_numbers() -> None:
    pack = default_pack()
    assert {k: pack.pool_size(k) for k in ("low", "medium", "high", "fever_clinic", "contacts")} == {
        "low": 10, "medium": 5, "high": 1, "fever_clinic": 1, "contacts": 1}
    assert pack.turnaround("fever_clinic") == dt.timedelta(hours=6)
    assert pack.turnaround("inpatient") == dt.timedelta(hours=12)
    assert pack.turnaround("routine") == dt.timedelta(hours=24)
    assert pack.turnaround("positive_report") == dt.timedelta(hours=12)
    assert pack.sla("arrival_report") == dt.timedelta(hours=12)
    assert pack.sla("lead_verify") == dt.timedelta(hours=24)
    assert pack.sla("missed_test_grace") == dt.timedelta(hours=12)
    assert pack.sla("investigation_core") == dt.timedelta(hours=4)
    assert pack.sla("investigation_report") == dt.timedelta(hours=24)
    assert pack.sla("task_escalation_repeat") == dt.timedelta(hours=24)
    assert pack.daily_clearance_cutoff == "24:00" and pack.clearance_cutoff == dt.timedelta(hours=24)
    assert (pack.venues.retention_days, pack.venues.colocation_window_min) == (28, 30)
    assert (pack.quarantine_sites.rooms_per_10k, pack.quarantine_sites.temperature_checks_per_day) == (20, 2)
    assert (pack.epass.driver_negative_hours, pack.epass.book_ahead_hours) == (48, 24)
    assert (pack.retention.scan_days, pack.retention.access_log_months) == (28, 6)
    high, medium, low = (pack.risk_level(x) for x in ("high", "medium", "low"))
    assert (high.category, medium.category, low.category) == ("high_risk_area", "medium_risk_area", "low_risk_area")
    assert {high.stay_window_days, medium.stay_window_days, low.stay_window_days} == {7}
    assert high.downgrade is not None and high.downgrade.to == "medium"
    assert high.downgrade.days_without_new_case == 7 and high.downgrade.negative_round_required
    assert medium.downgrade is not None and medium.downgrade.to == "low"
    assert (medium.downgrade.days_without_new_case, medium.downgrade.days_after_downgrade_from_high) == (7, 3)
    assert low.downgrade is None


def test_unknown_names_raise_key_error() -> None:
    pack = default_pack()
    for call in (lambda: pack.sla("nope"), lambda: pack.category("nope"), lambda: pack.group("nope"),
                 lambda: pack.measure("nope")):
        with pytest.raises(KeyError):
            call()


# -- validation with field paths -------------------------------------------------------------------
def test_phase_days_must_be_positive() -> None:
    data = variant()
    data["categories"]["close_contact"]["phases"][0]["days"] = 0
    assert "categories.close_contact.phases.0.days" in fields_of(data)


def test_phase_must_name_a_measure() -> None:
    data = variant()
    data["categories"]["secondary_contact"]["phases"][0]["measure"] = "house_arrest"
    assert "unknown measure" in fields_of(data)["categories.secondary_contact.phases.0.measure"]


def test_test_day_outside_phase() -> None:
    data = variant()
    data["categories"]["close_contact"]["phases"][1]["test_days"] = [3, 4]
    assert list(fields_of(data)) == ["categories.close_contact.phases.1.test_days.1"]


def test_duplicate_group_code_and_bad_frequency() -> None:
    data = variant()
    data["key_groups"][3]["code"] = data["key_groups"][0]["code"]
    assert "key_groups.3.code" in fields_of(data)
    data = variant()
    data["key_groups"][2]["frequency_days"] = 0
    assert "key_groups.2.frequency_days" in fields_of(data)


def test_unknown_field_missing_category_and_bad_cutoff() -> None:
    data = variant(daily_clearance_cutoff="25:00")
    data["measures"]["home_quarantine"]["colour"] = "red"
    del data["categories"]["colocation"]
    fields = fields_of(data)
    assert "measures.home_quarantine.colour" in fields
    assert "daily_clearance_cutoff" in fields
    data = variant()
    del data["categories"]["colocation"]
    assert "categories.colocation" in fields_of(data)


def test_risk_level_category_must_exist() -> None:
    data = variant()
    data["risk_areas"]["medium"]["category"] = "nowhere"
    assert "risk_areas.medium.category" in fields_of(data)


def test_yaml_errors_are_reported() -> None:
    with pytest.raises(ValidationFailed) as info:
        service.parse_pack("code: [unclosed\n")
    assert info.value.fields[0].field == "yaml" and "line" in info.value.fields[0].message
    with pytest.raises(ValidationFailed):
        service.parse_pack("- just a list\n")


def test_numeric_version_is_text() -> None:
    text = DEFAULT_TEXT.replace('version: "5"', "version: 6")
    assert service.parse_pack(text).version_tag == "cn-2022-v9@6"


@settings(deadline=None)  # parsing a whole pack: no wall-clock limit on a loaded machine
@given(days=st.integers(1, 30), tests=st.lists(st.integers(-2, 35), max_size=6, unique=True))
def test_test_days_valid_exactly_when_inside_phase(days: int, tests: list[int]) -> None:
    data = variant()
    data["categories"]["secondary_contact"]["phases"] = [
        {"measure": "home_quarantine", "days": days, "test_days": sorted(tests)}]
    inside = all(1 <= t <= days for t in tests)
    try:
        service.parse_pack(yaml.safe_dump(data, allow_unicode=True))
    except ValidationFailed as exc:
        assert not inside
        assert all(f.field.startswith("categories.secondary_contact.phases.0.test_days") for f in exc.fields)
    else:
        assert inside


# -- stored packs ----------------------------------------------------------------------------------
def pack_v(version: str, **edits: object) -> str:
    data = variant(version=version, **edits)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def audit_actions(session, object_id: int) -> list[str]:
    return list(session.execute(select(AuditEvent.action).where(
        AuditEvent.object_type == "policy_pack", AuditEvent.object_id == str(object_id)
    ).order_by(AuditEvent.id)).scalars())


def test_initialised_database_has_the_default_pack_active(session) -> None:
    assert service.active_version(session) == "cn-2022-v9@5"
    assert service.active_pack(session).version_tag == "cn-2022-v9@5"


def test_ensure_default_pack_is_idempotent(session, system) -> None:
    before = session.execute(select(func.count()).select_from(PolicyPack)).scalar_one()
    row = service.ensure_default_pack(session)
    again = service.ensure_default_pack(session)
    assert row.id == again.id and row.is_active
    assert session.execute(select(func.count()).select_from(PolicyPack)).scalar_one() == before
    # another active pack stays active
    other = service.store_pack(session, system, pack_v("20"))
    service.activate_pack(session, system, code="cn-2022-v9", version="20")
    assert service.ensure_default_pack(session).id == other.id
    assert service.active_version(session) == "cn-2022-v9@20"


def test_store_activate_and_audit(session, system) -> None:
    row = service.store_pack(session, system, pack_v("20", name="第九版 修订"))
    assert not row.is_active and row.version_tag == "cn-2022-v9@20"
    assert service.store_pack(session, system, pack_v("20", name="第九版 修订")).id == row.id  # same text: no-op
    service.activate_pack(session, system, code="cn-2022-v9", version="20")
    active = session.execute(select(PolicyPack).where(PolicyPack.is_active.is_(True))).scalars().all()
    assert [r.id for r in active] == [row.id]
    assert audit_actions(session, row.id) == ["policy.stored", "policy.activated"]
    assert service.active_pack(session).name == "第九版 修订"
    # the old version still explains old decisions
    assert service.get_pack(session, "cn-2022-v9@5").name != "第九版 修订"
    service.activate_pack(session, system, code="cn-2022-v9", version="5")
    assert service.active_version(session) == "cn-2022-v9@5"
    assert {r.version_tag for r in service.list_packs(session)} >= {"cn-2022-v9@5", "cn-2022-v9@20"}


def test_same_version_other_content_conflicts(session, system) -> None:
    service.store_pack(session, system, pack_v("20"))
    with pytest.raises(Conflict):
        service.store_pack(session, system, pack_v("20", name="something else"))
    with pytest.raises(Conflict):
        service.store_pack(session, system, DEFAULT_TEXT.replace("name: 新冠", "name: 改 新冠"))


def test_store_needs_policy_manage_and_activate_needs_a_stored_pack(session, system) -> None:
    grid = Actor(user_id=None, username="g", role="grid", unit_id=None, unit_path="/1/",
                 permissions=frozenset(MATRIX["grid"]))
    with pytest.raises(PermissionDenied):
        service.store_pack(session, grid, pack_v("20"))
    with pytest.raises(NotFound):
        service.activate_pack(session, system, code="cn-2022-v9", version="99")
    with pytest.raises(NotFound):
        service.get_pack(session, "cn-2022-v9@99")


def test_active_pack_is_parsed_once(session, system) -> None:
    first = service.active_pack(session)
    assert service.active_pack(session) is first
    service.store_pack(session, system, pack_v("7"))
    service.activate_pack(session, system, code="cn-2022-v9", version="7")
    seventh = service.active_pack(session)
    assert seventh.version_tag == "cn-2022-v9@7" and service.active_pack(session) is seventh
    service.activate_pack(session, system, code="cn-2022-v9", version="5")
    assert service.active_pack(session) is first


# -- the command line ------------------------------------------------------------------------------
def _cli(args: list[str], data_dir: Path, **extra_env: str) -> CliRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_DATABASE")}
    env.update(FANGKONG_DATA_DIR=str(data_dir), **extra_env)
    return run_cli(*args, env=env)


def test_groups_command_prints_tsv_when_piped(tmp_path: Path) -> None:
    assert _cli(["init"], tmp_path).returncode == 0
    result = _cli(["groups"], tmp_path, LANG="zh_CN.UTF-8")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "code\tname\tfrequency_days"
    rows = [line.split("\t") for line in lines[1:]]
    expected = [[g.code, g.name_zh, str(g.frequency_days)] for g in default_pack().key_groups]
    assert rows == expected
    english = _cli(["groups"], tmp_path, LANG="en_US.UTF-8").stdout.splitlines()
    assert english[1].split("\t")[1] == default_pack().key_groups[0].name_en
    bad = tmp_path / "bad.yaml"
    data = variant(version="20")
    data["key_groups"][0]["frequency_days"] = 0
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    failed = _cli(["policy", "load", str(bad)], tmp_path)
    assert failed.returncode == 1 and "key_groups.0.frequency_days" in failed.stderr
