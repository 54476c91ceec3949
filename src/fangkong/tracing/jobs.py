"""Scheduled tracing work: the secondary contacts' release review (密接的密接解除研判)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog
from fangkong.tracing import retention as _retention  # noqa: F401  (registers its retention kinds and holds)


@job("tracing.secondary_release", schedule="7 * * * *",
     label=N_("Release secondary contacts whose close contact tested negative"))
def secondary_release(session: Session) -> dict[str, Any]:
    """Release secondary contacts whose close contact's first tests were negative at the end of their
    measure; hold the others in force (hourly under `fangkong serve`; it must run at least daily)."""
    from fangkong.tracing.service.followup import review_secondary_contacts

    return review_secondary_contacts(session, SYSTEM_ACTOR).as_dict()
