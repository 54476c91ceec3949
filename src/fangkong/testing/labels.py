"""Labels of testing's codes (应检尽检的代码名称): results, compliance statuses, tube statuses, the
pseudo-group of persons tested by rule, and the fields of sampling and result files."""

from __future__ import annotations

from fangkong.kernel.messages import _, labels

RESULTS = labels("result", {"negative": _("negative"), "positive": _("positive")})
COMPLIANCE = labels("compliance_status", {"compliant": _("Compliant"), "grace": _("In grace"),
                                          "overdue": _("Overdue"), "not_due": _("Not due")})
TUBE_STATUSES = labels("tube_status", {"open": _("Open"), "closed": _("Closed")})
#: `home_measure`: persons under a home measure, tested on its test days (filled by rule, not a pack group)
KEY_GROUPS = labels("key_group", {"home_measure": _("Tested under a home measure")})
FIELDS = labels("field", {
    "tube_barcode": _("Tube barcode"), "pool_size": _("Pool size"), "collected_at": _("Sampling time"),
    "sampling_point": _("Sampling point"), "sampling_point_id": _("Sampling point"), "result": _("Result"),
    "ct": _("Ct value"), "reported_at": _("Reported at"), "lab": _("Laboratory"), "employer": _("Employer"),
    "employer_id": _("Employer"), "group": _("Key group"), "group_code": _("Key group"),
    "declared": _("Declared headcount"), "hours": _("Opening hours"), "days": _("Days"),
})
RECORDS = labels("record", {"tube": _("tube"), "employer": _("employer"),
                                  "group_member": _("key-group member")})
AUDIT_ACTIONS = labels("audit_action", {
    "testing.citizen_lookup": _("Citizen looked up own tests"), "testing.compliance_exported": _("Compliance exported"),
    "testing.enrolled": _("Enrolled in a key group"), "testing.headcount_declared": _("Headcount declared"),
    "testing.hours_set": _("Sampling point hours set"), "testing.individual_result": _("Individual result received"),
    "testing.membership_ended": _("Key-group membership ended"), "testing.positive_pool": _("Positive pool"),
    "testing.results_received": _("Results received"), "testing.roster_imported": _("Roster imported"),
    "testing.rule_members_synced": _("Persons under home measures listed for testing"),
    "testing.sampled": _("Sample taken"), "testing.samples_imported": _("Samples imported"),
    "testing.tube_closed": _("Tube closed"), "testing.tube_opened": _("Tube opened"),
})
