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
RECORDS = labels("record", {"venue": _("venue"), "venueflag": _("inspection flag")})
