"""Labels of tracing's codes (流调溯源的代码名称) for messages and the command line; the pages have the
same names in `templates/tracing/_labels.html`."""

from __future__ import annotations

from fangkong.kernel.messages import _, labels

CLASSIFICATIONS = labels("classification", {"confirmed": _("Confirmed"), "asymptomatic": _("Asymptomatic")})
DETECTION_CHANNELS = labels("detection_channel", {
    "key_group_screening": _("Key-group screening"), "pool": _("Pooled testing"), "sentinel": _("Sentinel"),
    "checkpoint": _("Checkpoint"), "tracing": _("Tracing"), "self_test": _("Self-test"),
})
CASE_STATUSES = labels("case_status", {"open": _("Investigating"), "core_done": _("Core information done"),
                                       "reported": _("Report done")})
CONTACT_KINDS = labels("contact_kind", {
    "household": _("Household"), "workplace": _("Workplace"), "colocation": _("Co-location"),
    "named": _("Named in interview"), "secondary": _("Secondary contact"),
})
STEPS = labels("step", {"core": _("Core information"), "report": _("Investigation report")})
FIELDS = labels("field", {
    "classification": _("Classification"), "detection_channel": _("Detection channel"),
    "sampled_at": _("Sampling time"), "onset_at": _("Onset"), "result_at": _("Result time"),
    "isolated_at": _("Isolated at"), "step": _("Step"), "items": _("Contacts"), "item": _("Contact"),
    "via_contact_id": _("Close contact"), "source_case_id": _("Source case"), "target_case_id": _("Infected case"),
    "visited_from": _("Visited from"), "visited_until": _("Visited until"), "last_contact_at": _("Last contact"),
    "relation": _("Relation"), "case_id": _("Case"), "contact": _("Contact"),
})
RECORDS = labels("record", {"case": _("case"), "contact": _("contact"), "casecandidate": _("case candidate")})
AUDIT_ACTIONS = labels("audit_action", {
    "tracing.case_created": _("Case registered"), "tracing.cases_linked": _("Cases linked"),
    "tracing.contacts_confirmed": _("Contacts confirmed"), "tracing.place_added": _("Interview place added"),
    "tracing.core_done": _("Core information done"), "tracing.report_done": _("Report done"),
})
