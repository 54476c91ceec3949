"""Scheduled surveillance work (每日预警研判)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_


@job("surveillance.run", schedule="30 6 * * *", label=N_("Judge yesterday's sentinel counts and open signals"))
def daily_run(session: Session) -> dict[str, Any]:
    """Daily: every series judged up to yesterday (idempotent: unchanged days are skipped)."""
    from fangkong.surveillance import service

    return service.run_detection(session, SYSTEM_ACTOR)


@job("surveillance.antigen_followups", schedule="15 * * * *",
     label=N_("Close positive antigen tests whose PCR result has arrived"))
def antigen_followups(session: Session) -> dict[str, Any]:
    """Hourly: a PCR result sampled after a positive antigen test resolves it (negative ends the control)."""
    from fangkong.surveillance import service

    return service.resolve_antigen_followups(session, SYSTEM_ACTOR)
