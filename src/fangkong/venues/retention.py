"""Venue scans' retention (扫码数据到期删除): deleted after the pack's days (28 by default), through the
one retention job (`kernel.retention`); a person with a kept scan keeps their identity."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.retention.registry import register_hold, register_kind
from fangkong.venues.models import Scan


def purge_scans(session: Session, cutoff: dt.datetime, now: dt.datetime) -> int:
    from fangkong.venues.service import venues as venues_service

    return venues_service.purge_expired_scans(session, SYSTEM_ACTOR).deleted


def persons_with_scans(session: Session, now: dt.datetime, pack: Any) -> Any:
    return select(Scan.person_id)


register_kind("scans", days=lambda p: min(p.venues.retention_days, p.retention.scan_days), purge=purge_scans,
              action="delete")
register_hold("scans", persons_with_scans)
