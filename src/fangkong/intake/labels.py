"""Labels of intake's codes (重点人员排查的代码名称): channels, lead statuses, match rules, risk levels and
the lead fields, so pages, errors and reports name them in the reader's language."""

from __future__ import annotations

from fangkong.kernel.messages import _, labels

CHANNELS = labels("channel", {
    "bigdata": _("Big-data push"), "employer": _("Employer report"), "community": _("Community search"),
    "telecom": _("Telecom operator"), "checkpoint": _("Checkpoint"), "tip": _("Tip-off"),
    "self": _("Self-report"), "assist": _("Assist request"), "tracing": _("Tracing"),
    "colocation": _("Co-location"), "testing": _("Testing"), "zone": _("Risk zone"),
    "sentinel": _("Sentinel surveillance"), "control": _("Measures taken over"),
})
STATUSES = labels("lead_status", {
    "known": _("Known, to verify"), "locating": _("Locating"), "managed": _("Verified"),
    "controlled": _("Controlled"), "closed": _("Closed"),
})
MATCH_RULES = labels("match_rule", {
    "id_number": _("the same valid ID number"),
    "phone_name": _("the same phone number and name"),
    "phone": _("the same phone number"),
    "name_address": _("the same name and address on the same grid"),
    "fuzzy_name": _("a similar name with a matching birth date, phone or address"),
    "new_person": _("nobody matched: a new person was registered"),
    "split": _("moved here when a wrong merge was split"),
})
LEVELS = labels("risk_level", {"high": _("High risk"), "medium": _("Medium risk"), "low": _("Low risk")})
FIELDS = labels("field", {
    "name": _("Full name"), "id_number": _("ID number"), "phone": _("Phone"), "origin": _("Coming from"),
    "arrival_at": _("Arrival time"), "address": _("Current address"), "transport": _("Transport"),
    "category": _("Category"), "source_ref": _("Sender's reference"),
    "channel": _("Channel"), "lead_id": _("Lead"), "lead_ids": _("Leads"), "task_id": _("Task"),
    "site_place_id": _("Quarantine site"), "destination": _("Destination"), "four_checks": _("Four checks"),
    "region_name": _("Region"), "region_code": _("Region code"), "start_at": _("Start"), "end_at": _("End"),
    "form": _("Form"), "risk_level": _("Risk level"), "unit_code": _("Unit code"),
})
RECORDS = labels("record", {"lead": _("lead"), "riskarea": _("risk area"), "assistrequest": _("assist request"),
                                  "lead_batch": _("batch of leads"), "risk_area": _("risk area")})

AUDIT_ACTIONS = labels("audit_action", {
    "intake.lead_verified": _("Lead verified"), "intake.leads_exported": _("Leads exported"),
    "intake.leads_received": _("Leads received"), "intake.risk_area_added": _("Risk area declared"),
    "intake.risk_area_changed": _("Risk area changed"), "intake.risk_areas_imported": _("Risk areas imported"),
    "person.split": _("Wrongly merged person split"),
})
