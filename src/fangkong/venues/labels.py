"""Labels of venues' codes (场所码的代码名称): the fields of venue and scan rows and what a record is
called; venue categories are labelled beside their codes in `fields.py`."""

from __future__ import annotations

from fangkong.kernel.messages import _, labels

FIELDS = labels("field", {
    "venue": _("Venue"), "venue_ref": _("Venue reference"), "venue_code": _("Venue code"),
    "scanned_at": _("Scan time"), "temperature": _("Temperature"), "mask_ok": _("Mask"),
    "request_id": _("Request number"), "window_min": _("Time window"), "since": _("From"), "until": _("Until"),
    "queries": _("Queries"), "Idempotency-Key": _("Request number"), "scan": _("Scan"),
})
RECORDS = labels("record", {"venue": _("venue"), "venueflag": _("inspection flag"),
                                  "scan": _("scan record")})
AUDIT_ACTIONS = labels("audit_action", {
    "colocation.query": _("Co-location queried"), "venues.code_issued": _("Venue code issued"),
    "venues.code_rotated": _("Venue code replaced"), "venues.coverage": _("Scan coverage viewed"),
    "venues.flag_cleared": _("Inspection flag cleared"), "venues.flagged": _("Venue flagged"),
    "venues.imported": _("Venues imported"), "venues.retention": _("Expired scans deleted"),
    "venues.scans_imported": _("Scans imported"), "venues.scans_recorded": _("Scans recorded"),
})
