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

#: column names of the command line's tables (on a terminal; TSV and JSON keep the names)
COLUMNS = labels("field", {
    "id": _("No."), "input": _("Input"), "value": _("Value"), "valid": _("Valid"), "converted": _("Converted"),
    "issues": _("Issues"), "birth_date": _("Birth date"), "sex": _("Sex"), "region": _("Region"),
    "frequency_days": _("Every (days)"), "escalation_level": _("Escalation level"), "escalated_to": _("Escalated to"),
    "created_at": _("Created"), "activated_at": _("Activated"), "at": _("Time"), "actor": _("User"),
    "action": _("Action"), "object_type": _("Object"), "object_id": _("Object No."), "ip": _("IP address"),
    "version": _("Version"), "loaded_at": _("Loaded"), "revoked_at": _("Revoked"), "last_used_at": _("Last used"),
    "prefix": _("Prefix"), "description": _("Description"), "text": _("Text"), "key": _("Key"),
    "problem": _("Problem"), "figure": _("Figure"), "ratio": _("Ratio"), "expected": _("Expected"),
    "list": _("List"), "measures": _("Measures"), "channels": _("Channels"), "leads": _("Leads"),
    "scans": _("Scans"), "open_flags": _("Open flags"), "test_days": _("Test days"), "tier": _("Tier"),
    "lead_status": _("Lead status"), "report_due_at": _("Report due"), "contact_id": _("Contact"),
    "venue_id": _("Venue"), "address_id": _("Address"), "grid_name": _("Grid"), "enrolled": _("Enrolled"),
    "gap": _("Gap"), "measure": _("Measure"), "assist": _("Assist requests"), "controlled_at": _("Controlled"),
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

#: audit actions of the kernel (capabilities label theirs); the audit page shows these, not the codes
AUDIT_ACTIONS = labels("audit_action", {
    "auth.login": _("Signed in"), "auth.login_failed": _("Sign-in failed"), "auth.logout": _("Signed out"),
    "address.added": _("Address added"), "address.imported": _("Addresses imported"),
    "people.keys_learned": _("Identity numbers learned from a channel"),
    "people.registered": _("Persons registered from a channel"), "person.registered": _("Person registered"),
    "person.created": _("Person registered"), "person.search": _("Persons searched"),
    "person.unmask": _("Full number viewed"), "person.view": _("Person viewed"),
    "place.created": _("Place registered"), "policy.activated": _("Policy pack activated"),
    "policy.stored": _("Policy pack stored"), "task.assigned": _("Task assigned"),
    "task.cancelled": _("Task cancelled"), "task.completed": _("Task completed"),
    "token.created": _("API token created"), "token.revoked": _("API token revoked"),
    "unit.created": _("Unit created"), "unit.exported": _("Units exported"), "unit.imported": _("Units imported"),
    "user.created": _("User created"), "user.updated": _("User changed"),
    "auth.*": _("Sign-in and sign-out (all)"), "person.*": _("Persons (all)"), "task.*": _("Tasks (all)"),
})

#: accounts that are not people: the system itself, a visitor not signed in, the public forms
SPECIAL_ACTORS = labels("actor", {
    "system": _("System"), "anonymous": _("Not signed in"), "public:self": _("Public (self-report)"),
    "public:tip": _("Public (tip-off)"), "public": _("Public"),
})

#: yes / no in the command line's tables (TSV keeps `yes` / `no`)
YES_NO = labels("yes_no", {"yes": _("yes"), "no": _("no")})

#: key rotation and retention (kernel.keys, kernel.retention)
labels("audit_action", {
    "keys.rotation_started": _("Key rotation started"), "keys.rotation_progress": _("Key rotation progressed"),
    "keys.rotation_finished": _("Key rotation finished"),
    "retention.run": _("Data past its retention deleted or anonymised"),
})
