"""Labels of the kernel's codes (代码的名称): field names, unit levels, place kinds, task statuses,
what a record is called. People never read a raw code: pages, errors and the command line show these
(`kernel.messages.label_of`, the Jinja filters `label` and `field`). Capabilities add their own sets the
same way, in their own modules.
"""

from __future__ import annotations

from fangkong.kernel.messages import _, labels, named_labels
from fangkong.kernel.places.models import KINDS

#: field names in errors and import reports (`id_number: check digit should be 7` → 身份证号：校验位应为 7)
FIELDS = labels("field", {
    "name": _("Full name"), "id_number": _("ID number"), "phone": _("Phone"), "address": _("Current address"),
    "code": _("Code"), "level": _("Level"), "parent_code": _("Parent unit code"), "grid_code": _("Grid code"),
    "unit": _("Unit"), "unit_id": _("Unit"), "unit_code": _("Unit code"), "person": _("Person"),
    "person_id": _("Person"), "status": _("Status"), "kind": _("Kind"), "title": _("Title"),
    "due_at": _("Due"), "assignee_id": _("Assignee"), "outcome_code": _("Outcome"), "cursor": _("Page"),
    "after_id": _("Page"), "before": _("Page"), "limit": _("Number of rows"), "file": _("File"), "day": _("Day"),
    "username": _("Username"), "password": _("Password"), "role": _("Role"), "label": _("Label"),
    "is_active": _("Active"), "display_name": _("Display name"), "yaml": _("Policy pack file"),
    "pack": _("Policy pack"), "capacity": _("Capacity"), "ref": _("Reference"), "category": _("Category"),
    "field": _("Field"), "place_id": _("Place"), "source": _("Source"), "note": _("Note"), "reason": _("Reason"),
    "request": _("Request"), "body": _("Request"), "detail": _("Detail"), "q": _("Search"),
})

#: levels of the jurisdiction tree
UNIT_LEVELS = labels("unit_level", {
    "city": _("City"), "district": _("District / county"), "street": _("Street / town"),
    "community": _("Community / village"), "grid": _("Grid"),
})

#: statuses of a task
TASK_STATUSES = labels("task_status", {"open": _("Open"), "done": _("Done"), "cancelled": _("Cancelled")})

#: the modes a database runs in
MODES = labels("mode", {"production": _("production"), "test": _("test"), "demo": _("demo"),
                        "drill": _("drill")})

#: kinds of place (kernel.places; Chinese names in its models)
PLACE_KINDS = named_labels("place_kind", {
    code: (zh, {"employer": "Employer", "venue": "Venue", "checkpoint": "Checkpoint", "sampling_point": "Sampling point",
                "sentinel": "Sentinel", "quarantine_site": "Quarantine site"}.get(code, code)) for code, zh in KINDS.items()})
