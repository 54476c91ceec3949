"""Tracing's retention: a case's person (病例) keeps their identity (registered with `kernel.retention`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel.retention.registry import register_hold
from fangkong.tracing.models import Case


def case_persons(session: Session, now: dt.datetime, pack: Any) -> Any:
    return select(Case.person_id)


register_hold("cases", case_persons)
