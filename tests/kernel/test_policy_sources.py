"""Sources are true: every number of every bundled pack names its source and what kind of source it is;
values that are city or province practice say so; the 9th edition's own numbers are where they belong."""

from __future__ import annotations

import copy

import pytest
import yaml
from cli_runner import CliRun, run_cli

from fangkong.kernel.errors import ValidationFailed
from fangkong.kernel.policy import service
from fangkong.kernel.policy.schema import REQUIRED_CATEGORIES, numbers_with_sources
from fangkong.policy_packs import BUNDLED_PACKS, read_pack_text

PACKS = {name: service.parse_pack(read_pack_text(name)) for name in BUNDLED_PACKS}
DEFAULT = PACKS["default.yaml"]
#: words that name a national document or law
NATIONAL = ("第九版", "二十条", "新十条", "诊疗方案", "技术规范", "管理规范", "国务院", "法 第", "法第")


@pytest.mark.parametrize("name", BUNDLED_PACKS)
def test_every_number_names_its_source_and_kind(name: str) -> None:
    rows = numbers_with_sources(PACKS[name])
    assert len(rows) > 60
    missing = [path for path, _v, source, kind in rows if not source.strip() or kind == "unspecified"]
    assert not missing, f"{name}: numbers without a source or source kind: {missing}"
    for path, _value, source, kind in rows:
        if kind == "city_practice":
            assert "practice" in source, f"{name} {path}: a practice value must say so: {source!r}"
        elif kind == "province":
            assert "江苏" in source or "苏疫" in source, f"{name} {path}: {source!r}"
        elif kind == "national":
            assert any(w in source for w in NATIONAL), f"{name} {path}: names no national document: {source!r}"
            assert "city practice" not in source.split(";")[0], f"{name} {path}: {source!r}"
    for code, measure in PACKS[name].measures.items():
        assert measure.source and measure.source_kind != "unspecified", f"{name} measures.{code}"


@pytest.mark.parametrize("name", BUNDLED_PACKS)
def test_practice_values_are_labelled_practice(name: str) -> None:
    """The issue's list: pool sizes by risk level, result turnaround targets, test-frequency tiers."""
    pack = PACKS[name]
    assert {k: v.source_kind for k, v in pack.pooling.items()} == {k: "city_practice" for k in pack.pooling}
    assert {v.source_kind for v in pack.turnaround_hours.values()} == {"city_practice"}
    national_groups = {"inbound_contact_staff", "port_imported_goods_staff"}
    for g in pack.key_groups:
        expected = "national" if g.code in national_groups else "city_practice"
        assert g.source_kind == expected, f"{name} key_groups.{g.code}: {g.source_kind}"
    for key in ("arrival_report", "lead_verify", "missed_test_grace", "task_escalation_repeat"):
        assert pack.sla_hours[key].source_kind == "city_practice"
    assert pack.field_sources["daily_clearance_cutoff"].source_kind == "city_practice"
    assert pack.epass.source_of("validity_days")[1] == "city_practice"
    assert pack.venues.source_of("colocation_window_min")[1] == "platform"


def test_the_ninth_edition_tests_inbound_contacts_daily() -> None:
    group = DEFAULT.group("inbound_contact_staff")
    assert group.name_zh == "与入境人员、物品、环境直接接触的人员"
    assert (group.frequency_days, group.tier, group.test_type) == (1, 1, "pcr")
    assert group.source_kind == "national" and "第九版" in group.source and "每天1次" in group.source


def test_the_ninth_editions_numbers() -> None:
    """联防联控机制综发〔2022〕71号 (2022-06-28), as the default pack encodes it, each with its source."""
    assert "联防联控机制综发〔2022〕71号" in DEFAULT.source and DEFAULT.version_tag == "cn-2022-v9@5"

    def plan(code: str) -> list[tuple[str, int | None, list[int]]]:
        return [(p.measure, p.days, p.test_days) for p in DEFAULT.category(code).phases]

    assert plan("close_contact") == [("centralised_quarantine", 7, [1, 2, 3, 5, 7]),
                                     ("home_health_monitoring", 3, [3])]
    assert plan("inbound_traveller") == plan("close_contact")
    assert plan("secondary_contact") == [("home_quarantine", 7, [1, 4, 7])]
    assert plan("high_risk_area") == [("centralised_quarantine", 7, [1, 2, 3, 5, 7])]
    assert plan("medium_risk_area") == [("home_quarantine", 7, [1, 4, 7])]
    for code in ("close_contact", "inbound_traveller", "secondary_contact", "high_risk_area", "medium_risk_area",
                 "low_risk_area"):
        cat = DEFAULT.category(code)
        assert cat.source_kind == "national" and "第九版" in cat.source, code
    assert "第1、2、3、5、7天" in DEFAULT.category("close_contact").source
    assert "第1、4、7天" in DEFAULT.category("secondary_contact").source
    assert DEFAULT.category("colocation").source_kind == "province"  # 时空伴随: Jiangsu practice
    assert DEFAULT.tracing.source_kind == "national" and DEFAULT.tracing.lookback_days == 4
    # access logs: the Cybersecurity Law, not the PIPL
    src, kind = DEFAULT.retention.source_of("access_log_months")
    assert kind == "national" and "网络安全法" in src and "第21条" in src
    assert DEFAULT.retention.source_of("scan_days")[1] == "platform"


def test_uncertain_numbers_say_so() -> None:
    """Numbers whose wording could not be checked against the published text are marked, not invented."""
    flagged = [path for name in BUNDLED_PACKS for path, _v, source, _k in numbers_with_sources(PACKS[name])
               if "verify" in source]
    assert flagged  # there are such numbers, and they say so
    ershi = PACKS["ershitiao.yaml"]
    assert "verify" in ershi.category("close_contact").source  # the 1、2、3、5 / 1、3 test days


def test_later_packs_name_their_documents() -> None:
    ershi, xin = PACKS["ershitiao.yaml"], PACKS["xinshitiao.yaml"]
    assert "关于进一步优化新冠肺炎疫情防控措施 科学精准做好防控工作的通知" in ershi.source
    assert "2022-11-11" in ershi.source and str(ershi.effective_from) == "2022-11-11"
    assert "关于进一步优化落实新冠肺炎疫情防控措施的通知" in xin.source
    assert "2022-12-07" in xin.source and str(xin.effective_from) == "2022-12-07"
    assert "5天集中隔离+3天居家隔离" in ershi.category("close_contact").source
    assert "不再判定密接的密接" in read_pack_text("ershitiao.yaml")
    assert "第5天核酸检测阴性后解除隔离" in xin.category("close_contact").source
    assert "不按行政区域开展全员核酸检测" in xin.testing.source
    assert "楼栋、单元、楼层、住户" in xin.risk_level("high").source


# -- the schema accepts what the later rules leave out, and checks what is there -------------------
def _parse(data: dict) -> object:
    return service.parse_pack(yaml.safe_dump(data, allow_unicode=True))


def _fields(data: dict) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        _parse(data)
    return {f.field: f.message for f in info.value.fields}


def test_a_pack_without_secondary_contacts_or_medium_level_is_valid() -> None:
    data = copy.deepcopy(yaml.safe_load(read_pack_text()))
    del data["categories"]["secondary_contact"]
    del data["categories"]["medium_risk_area"]
    del data["risk_areas"]["medium"]
    data["risk_areas"]["high"]["downgrade"] = {"to": "low", "days_without_new_case": 5}
    pack = _parse(data)
    assert pack.levels == ("high", "low") and not pack.has_category("secondary_contact")  # type: ignore[attr-defined]
    # a downgrade to a level the pack lacks, a pool setting it lacks, a source of no field: errors
    data["risk_areas"]["high"]["downgrade"] = {"to": "medium", "days_without_new_case": 5}
    data["categories"]["close_contact"]["pool"] = "nowhere"
    data["epass"]["field_sources"] = {"colour": {"source": "x", "source_kind": "platform"}}
    fields = _fields(data)
    assert {"risk_areas.high.downgrade.to", "categories.close_contact.pool", "epass.field_sources.colour"} <= set(fields)
    # the categories the platform's own code files leads under stay required
    for code in REQUIRED_CATEGORIES:
        broken = copy.deepcopy(yaml.safe_load(read_pack_text()))
        del broken["categories"][code]
        assert f"categories.{code}" in _fields(broken)


def test_a_source_kind_is_one_of_the_known() -> None:
    data = copy.deepcopy(yaml.safe_load(read_pack_text()))
    data["pooling"]["low"]["source_kind"] = "rumour"
    assert "pooling.low.source_kind" in _fields(data)


def test_init_stores_the_later_packs_without_activating_them(session) -> None:
    tags = {r.version_tag: r.is_active for r in service.list_packs(session)}
    assert tags["cn-2022-v9@5"] is True
    assert tags["cn-2022-ershitiao@1"] is False and tags["cn-2022-xinshitiao@1"] is False
    assert service.get_pack(session, "cn-2022-xinshitiao@1").levels == ("high",)


def test_policy_show_lists_sources_and_levels(tmp_path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_DATABASE")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="zh_CN.UTF-8")

    def run(*args: str) -> CliRun:
        return run_cli(*args, env=env)

    assert run("init").returncode == 0
    shown = run("policy", "show", "--sources", "--version", "cn-2022-ershitiao@1")
    assert shown.returncode == 0, shown.stderr
    lines = [line.split("\t") for line in shown.stdout.splitlines()]
    assert lines[0] == ["number", "value", "source_kind", "source"]
    by_path = {row[0]: row for row in lines[1:]}
    assert by_path["categories.close_contact.phases.0.days"][1:3] == ["5", "national"]
    assert by_path["pooling.low.size"][2] == "city_practice"
    assert all(row[3] and row[2] != "unspecified" for row in lines[1:])
    listed = run("policy", "list")
    assert "cn-2022-ershitiao" in listed.stdout and "cn-2022-xinshitiao" in listed.stdout
    assert run("policy", "activate", "cn-2022-xinshitiao", "1").returncode == 0
    active = run("policy", "show")
    assert active.returncode == 0 and "cn-2022-xinshitiao@1" in active.stdout
    levels = active.stdout.split("level\tname\tstay_window_days\tcategory\n", 1)[1].split("\n\n", 1)[0]
    assert [line.split("\t")[0] for line in levels.strip().splitlines()] == ["high"]
