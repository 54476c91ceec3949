"""Intake errors; each carries its HTTP status (the kernel's handler maps them)."""

from __future__ import annotations

from fangkong.kernel.errors import Conflict
from fangkong.kernel.messages import _, message

INVALID_RISK_AREA = message("risk_area.invalid", _("invalid risk area"))
INVALID_VERIFICATION = message("verification.invalid", _("invalid verification"))


class LeadNotOpen(Conflict):
    """The lead is not waiting for a verification (already verified or closed): 409."""
