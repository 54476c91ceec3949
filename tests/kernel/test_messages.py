"""Stable message codes: English text for machines, the catalog's text for people, no pattern matching."""

from __future__ import annotations

import pickle

import pytest

from fangkong.kernel import i18n
from fangkong.kernel.errors import NotFound, PermissionDenied
from fangkong.kernel.messages import REGISTRY, FieldIssue, Message, message, translate
from fangkong.kernel.web.errors import error_body


def test_a_message_is_its_english_text_and_keeps_code_and_params():
    m = Message("permission_required", REGISTRY["permission_required"], {"permission": "case.view"})
    assert m == "permission required: case.view"
    assert (m.code, dict(m.params)) == ("permission_required", {"permission": "case.view"})
    assert translate(m, "zh_CN") == "需要权限：case.view"
    assert translate(m, "en") == "permission required: case.view"
    again = pickle.loads(pickle.dumps(m))
    assert again.code == "permission_required" and again == m
    assert Message.from_json(m.as_json()) == m


def test_a_code_cannot_be_registered_with_two_templates():
    message("test.once", "once %(n)s")
    message("test.once", "once %(n)s")
    with pytest.raises(ValueError):
        message("test.once", "twice %(n)s")


def test_field_issues_read_as_field_colon_message():
    item = FieldIssue("phone", "bad")
    assert item == "phone: bad" and item.field == "phone"
    assert FieldIssue.parse("id_number: check digit should be 7").field == "id_number"
    assert FieldIssue.parse("free text: with colon").field == ""


def test_errors_carry_a_stable_reason_in_the_api_body():
    body = error_body("forbidden", PermissionDenied("case.view").message)["error"]
    assert body["reason"] == "permission_required" and body["params"] == {"permission": "case.view"}
    assert error_body("not_found", NotFound().message)["error"]["reason"] == "not_found"
    assert "reason" not in error_body("invalid", "plain text")["error"]


def test_cli_speaks_chinese_unless_lang_asks_for_english(monkeypatch):
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for value, expected in (("C.UTF-8", "zh_CN"), ("C", "zh_CN"), ("POSIX", "zh_CN"),
                            ("en_US.UTF-8", "en"), ("zh_CN.UTF-8", "zh_CN")):
        monkeypatch.setenv("LANG", value)
        assert i18n.cli_locale() == expected, value


# --- issue #10: every message through its code, labels instead of codes ----------------------------

def test_a_permission_reads_as_its_code_in_the_api_and_as_its_description_for_people():
    exc = PermissionDenied("case.view")
    assert str(exc.message) == "permission required: case.view"  # the API's message stays stable
    assert error_body("forbidden", exc.message)["error"]["params"] == {"permission": "case.view"}
    assert translate(exc.message, "zh_CN") == "需要权限：查看病例和流调"


def test_a_missing_record_is_named_in_the_readers_language():
    from fangkong.kernel.errors import record_not_found

    m = record_not_found("unit", 7)
    assert m == "unit 7 not found" and m.code == "record.not_found"
    assert translate(m, "zh_CN") == "单位 7 不存在"


def test_stored_issues_keep_their_code_and_read_back_translated():
    import fangkong.kernel.labels  # noqa: F401  (field labels)
    from fangkong.kernel.messages import issue_loaded, issue_stored
    from fangkong.kernel.people.identity import check_id_number

    wrong = "320412198503121230"
    found = FieldIssue("id_number", check_id_number(wrong).issues[0])  # type: ignore[union-attr]
    stored = issue_stored(found)
    assert stored["field"] == "id_number" and stored["code"] == "id_number.check_digit"
    assert stored["text"] == str(found.message)
    back = issue_loaded(pickle.loads(pickle.dumps(stored)))
    assert back == found and translate(back, "zh_CN").startswith("证件号：校验位应为")
    # a lead stored before codes existed: its plain text is read as it is, never pattern-matched
    old = issue_loaded("phone: should be 11 digits (got 5)")
    assert old.field == "phone" and translate(old.message, "zh_CN") == "should be 11 digits (got 5)"


def test_field_labels_name_known_paths_and_leave_file_locators_alone():
    import fangkong.kernel.labels  # noqa: F401
    from fangkong.kernel.messages import field_label

    assert field_label("id_number", "zh_CN") == "证件号"
    assert field_label("unit_id", "en") == "Unit"
    assert field_label("key_groups.0.frequency_days", "zh_CN") == "key_groups.0.frequency_days"


def test_terms_lists_and_joined_issues_are_shown_the_readers_way():
    from fangkong.kernel.messages import Joined, Term, labels

    labels("test", {"a": "Apple"})
    once = message("test.list", "one of %(choices)s")
    m = once(choices=[Term("a", kind="test"), Term("b", {"zh_CN": "乙", "en": "Bee"})])
    assert m == "one of a, b"  # codes in the English text
    assert translate(m, "en") == "one of Apple, Bee"
    assert Joined(["x", "y"]) == "x; y" and translate(Joined(["x", "y"]), "zh_CN") == "x；y"


def test_the_rule_that_fired_is_named_by_the_pack():
    from fangkong.kernel.policy.labels import rule_label
    from fangkong.kernel.policy.service import parse_pack
    from fangkong.policy_packs import read_pack_text

    pack = parse_pack(read_pack_text("default.yaml"))
    assert translate(rule_label(pack, "risk_areas.high"), "zh_CN") == "“高风险区”旅居规则"
    assert translate(rule_label(pack, "tracing.lookback_days"), "zh_CN") == "密接追溯天数规则"
    assert translate(rule_label(pack, "sla_hours.lead_verify"), "zh_CN") == "“线索核查”时限"
    assert "risk_areas" not in translate(rule_label(pack, "risk_areas.high"), "en")
