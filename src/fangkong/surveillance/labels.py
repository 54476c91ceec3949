"""Labels of surveillance's codes (监测预警的代码名称): sentinel kinds, indicators, signal statuses,
outcomes, review actions, fields of the count file."""

from __future__ import annotations

from fangkong.kernel.messages import _, labels

SENTINEL_KINDS = labels("sentinel_kind", {"fever_clinic": _("Fever clinic"), "clinic": _("Primary clinic"),
                                          "pharmacy": _("Pharmacy"), "school": _("School")})
INDICATORS = labels("indicator", {
    "fever_visits": _("Fever visits"), "ili_visits": _("Influenza-like illness visits"),
    "absent_ill": _("Absent through illness"), "drug_antipyretic": _("Antipyretics sold"),
    "drug_cough": _("Cough medicines sold"), "drug_antiviral": _("Antivirals sold"),
    "drug_antibiotic": _("Antibiotics sold"), "antigen_positive": _("Positive antigen tests")})
SIGNAL_STATUSES = labels("signal_status", {"open": _("Awaiting review"), "investigating": _("Under investigation"),
                                           "escalated": _("Escalated"), "closed": _("Closed")})
OUTCOMES = labels("signal_outcome", {"dismissed": _("Dismissed"), "investigate": _("Investigate"),
                                     "escalated": _("Escalated"), "cases_found": _("Cases found (to tracing)"),
                                     "no_cases": _("No cases found")})
LEVELS = labels("series_level", {"site": _("Sentinel site"), "unit": _("Jurisdiction")})
FIELDS = labels("field", {"site_ref": _("Site reference"), "indicator": _("Indicator"), "count": _("Count"),
                          "t": _("Period"), "series": _("Series"), "active_from": _("Reporting from"),
                          "kind": _("Kind"), "pharmacy_ref": _("Pharmacy"), "purchased_at": _("Time of purchase"),
                          "drug_class": _("Drug class"), "quantity": _("Quantity"),
                          "photo": _("Photo of the cassette")})
# (`source_ref`, `result`, `source`, `temperature` and `tested_at` are labelled by other capabilities)
DRUG_CLASSES = labels("drug_class", {"antipyretic": _("Antipyretic (退热)"), "cough": _("Cough (止咳)"),
                                     "antiviral": _("Antiviral (抗病毒)"), "antibiotic": _("Antibiotic (抗生素)"),
                                     "other": _("Other")})
ANTIGEN_SOURCES = labels("antigen_source", {"self": _("Self-test"), "pharmacy": _("Pharmacy"),
                                            "clinic": _("Clinic"), "employer": _("Employer")})
ANTIGEN_RESULTS = labels("antigen_result", {"positive": _("Positive"), "negative": _("Negative")})
