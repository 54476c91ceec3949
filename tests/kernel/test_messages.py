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
