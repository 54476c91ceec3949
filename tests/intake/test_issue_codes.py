"""A lead keeps its issues by code (issue #10): the report and the API read `field: message` in English as
before, the lead page reads them in Chinese through their codes — with no pattern over English text."""

from __future__ import annotations

from intake_factories import NOW, Tree, actor_at, bad_check, make_id

from fangkong.intake import service as intake_service
from fangkong.intake.models import Lead
from fangkong.intake.pages import labelled_payload
from fangkong.intake.schemas import LeadOut
from fangkong.intake.service.ingest import LeadItem
from fangkong.kernel import clock
from fangkong.kernel.messages import issue_loaded, translate


def test_lead_issues_are_stored_by_code_and_read_in_both_languages(session) -> None:
    tree = Tree(session)
    wrong = bad_check(make_id())
    with clock.frozen(NOW):
        result = intake_service.ingest_leads(session, actor_at(tree.root), channel="community", items=[
            LeadItem(1, {"name": "钱问题", "id_number": wrong, "phone": "12345", "arrival_at": "昨天"})])
    row = result.rows[0]
    assert "phone: should be 11 digits (got 5)" in row.issues  # the report's English, unchanged
    lead = session.get(Lead, row.extra["lead_id"])
    stored = {i["code"]: i for i in lead.issues}
    assert {"id_number.check_digit", "phone.length", "time.invalid"} <= set(stored)
    assert stored["phone.length"]["params"] == {"length": 5} and stored["phone.length"]["field"] == "phone"
    # the API keeps `field: message` strings
    assert "phone: should be 11 digits (got 5)" in LeadOut.of(lead).issues
    shown = [translate(issue_loaded(i), "zh_CN") for i in lead.issues]
    assert "手机号：应为 11 位（实际 5 位）" in shown
    assert any(s.startswith("抵达时间：不是日期或时间") for s in shown)


def test_raw_payload_keys_and_coded_values_are_labelled() -> None:
    import fangkong.tracing.labels  # noqa: F401  (contact kinds: the app imports every capability's labels)

    rows = [("id_number", "320412********1234"), ("kind", "household"), ("form", "self"), ("备注", "社区排查"),
            ("category", "close_contact")]
    shown = labelled_payload(rows, "zh_CN", lambda code: {"close_contact": "密切接触者"}.get(code or "", code or ""))
    assert shown == [("证件号", "320412********1234"), ("类型", "同住人员"), ("表单", "自觉报备"),
                     ("备注", "社区排查"), ("类别", "密切接触者")]
