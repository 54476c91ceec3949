"""Labels of checkpoints' codes (卡口): fields of records, trips and arrivals, records, audit actions."""

from __future__ import annotations

from fangkong.kernel.messages import _, labels

FIELDS = labels("field", {
    "record_ref": _("Record number"), "passage_ref": _("Passage number"), "checkpoint": _("Checkpoint"),
    "inspected_at": _("Inspection time"), "direction": _("Direction"), "plate": _("Plate"),
    "vehicle_type": _("Vehicle type"), "epass_no": _("E-pass number"), "epass_token": _("E-pass"),
    "role": _("Role"), "destination": _("Destination"), "receiver": _("Receiver"),
    "health_code": _("Health code"), "tested_at": _("Last sampling"), "decision": _("Decision"),
    "arrived_at": _("Arrived at"), "shifts": _("Shifts"), "shift": _("Shift"), "roster": _("Roster"),
    "handover": _("Handover note"), "trip_id": _("Trip"), "lead_id": _("Lead"),
})
ORIGIN_RISK = labels("origin_risk", {
    "high": _("Origin: high-risk area"), "medium": _("Origin: medium-risk area"),
    "low": _("Origin: low-risk area"), "none": _("Origin: no risk area"),
    "unknown": _("Origin: county unclear, ask again"),
})
RECORDS = labels("record", {"checkpoint_record": _("checkpoint record"), "checkpoint_trip": _("truck trip"),
                            "checkpoint": _("checkpoint")})
AUDIT_ACTIONS = labels("audit_action", {
    "checkpoints.imported": _("Checkpoints imported"), "checkpoints.records": _("Checkpoint records stored"),
    "checkpoints.shift_logged": _("Shift roster or handover saved"), "checkpoints.arrivals": _("Arrivals confirmed"),
    "checkpoints.trip_closed": _("Trip closed (driver staying)"),
    "checkpoints.stranded_tasks": _("Tasks made for stranded vehicles"),
})

from fangkong.checkpoints.epass import labels as _epass_labels  # noqa: E402,F401  (the e-pass part's labels)
