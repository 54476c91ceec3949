"""Testing's retention: a member of a key group (重点人群) keeps their identity while a member (their
tests are chased by name and number); registered with `kernel.retention`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel.retention.registry import register_hold
from fangkong.testing.models import GroupMember


def group_members(session: Session, now: dt.datetime, pack: Any) -> Any:
    return select(GroupMember.person_id).where(GroupMember.active.is_(True))


register_hold("key_groups", group_members)
