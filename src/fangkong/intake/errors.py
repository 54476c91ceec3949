"""Intake errors; each carries its HTTP status (the kernel's handler maps them)."""

from __future__ import annotations

from fangkong.kernel.errors import Conflict


class LeadNotOpen(Conflict):
    """The lead is not waiting for a verification (already verified or closed): 409."""
