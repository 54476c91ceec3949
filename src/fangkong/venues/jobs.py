"""Scheduled venue work: keeping the co-location index current; scan retention (扫码数据到期删除) runs in
the platform's one retention job (`venues.retention` registers the kind `scans`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog
from fangkong.venues import retention as _retention  # noqa: F401  (registers its retention kinds and holds)


@job("venues.colocation_index", schedule="*/10 * * * *",
     label=N_("Bring the co-location index up to date"))
def colocation_index(session: Session, rebuild: bool = False) -> dict[str, Any]:
    """Copy new scans into the co-location index (run every few minutes; answers never miss scans)."""
    from fangkong.venues.colocation.store import get_index

    return get_index().extend(session, rebuild=bool(rebuild)).as_dict()
