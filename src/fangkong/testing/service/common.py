"""Shared pieces of the testing use cases: policy lookups, due times, last negatives, chunking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.messages import _, message
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import Pack
from fangkong.testing import rules
from fangkong.testing.models import RULE_GROUP, GroupMember, Tube, TubeSample

UNKNOWN_GROUP = message("group.unknown", _("unknown key group"))
UNKNOWN_GROUP_CODE = message("group.unknown_code", _("unknown key group %(code)s; `fangkong groups` lists them"))

CHUNK = 500
#: pooling setting used when a sampler does not choose (低风险区 10合1)
DEFAULT_POOL_SETTING = "low"
DEFAULT_POOL_SIZE = 10


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def pack(session: Session) -> Pack:
    return policy_service.active_pack(session)


def group_frequencies(p: Pack) -> dict[str, int]:
    return {g.code: g.frequency_days for g in p.key_groups}


def group_names(p: Pack) -> dict[str, str]:
    """Chinese names of key groups: the pack's, and the bundled packs' for a group the pack no longer
    lists (members enrolled under the 9th edition keep a name after the 新十条 is activated)."""
    names = {g.code: g.name_zh for bundled in policy_service.bundled_packs() for g in bundled.key_groups}
    return names | {g.code: g.name_zh for g in p.key_groups}


def check_group(p: Pack, code: str, field: str = "group", *, allow_rule: bool = False) -> str:
    """A key group code of the active pack (and the rule group `home_measure` when `allow_rule`: it is
    filled by rule only); ValidationFailed otherwise."""
    code = (code or "").strip()
    if (allow_rule and code == RULE_GROUP) or code in group_frequencies(p):
        return code
    raise ValidationFailed(UNKNOWN_GROUP(), [FieldError(field, UNKNOWN_GROUP_CODE(code=repr(code)))])


def default_pool_size(p: Pack) -> int:
    try:
        return p.pool_size(DEFAULT_POOL_SETTING)
    except KeyError:
        return DEFAULT_POOL_SIZE


def grace(p: Pack) -> dt.timedelta:
    try:
        return p.sla("missed_test_grace")
    except KeyError:
        return dt.timedelta(hours=12)


def retest_within(p: Pack) -> tuple[dt.timedelta, str]:
    """How soon a positive pool's member must be retested, and the rule that says so: the pack's
    `sla_hours.positive_pool_retest` when it has one, else `turnaround_hours.positive_report`."""
    try:
        return p.sla("positive_pool_retest"), "sla_hours.positive_pool_retest"
    except KeyError:
        pass
    try:
        return p.turnaround("positive_report"), "turnaround_hours.positive_report"
    except KeyError:
        return dt.timedelta(hours=12), "default.12h"


def due_of(member: GroupMember | Any, frequencies: dict[str, int]) -> tuple[int | None, dt.datetime | None]:
    """(frequency_days, next_due_at) of a member from its stored basis (a row or an ORM object)."""
    return due_from(group_code=member.group_code, test_dates=member.test_dates,
                    last_negative_at=member.last_negative_at, enrolled_at=member.enrolled_at,
                    frequency_days=member.frequency_days, frequencies=frequencies)


def due_from(*, group_code: str, test_dates: Sequence[str] | None, last_negative_at: dt.datetime | None,
             enrolled_at: dt.datetime, frequency_days: int | None,
             frequencies: dict[str, int]) -> tuple[int | None, dt.datetime | None]:
    """`due_of` from the basis's fields (the bulk path calls it per member row, without an object)."""
    if group_code == RULE_GROUP:
        return None, rules.next_test_day_due(test_dates=test_dates or [], last_negative_at=last_negative_at,
                                             tz=clock.tz())
    freq = frequencies.get(group_code, frequency_days)
    if freq is None:
        return None, None
    return freq, rules.next_due(last_negative_at=last_negative_at, enrolled_at=enrolled_at, frequency_days=freq)


def last_negatives(session: Session, person_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """Sampling time of each person's last valid negative (a tube that stands negative)."""
    ids = sorted(set(person_ids))
    out: dict[int, dt.datetime] = {}
    for chunk in chunks(ids):
        stmt = (select(TubeSample.person_id, func.max(TubeSample.collected_at))
                .join(Tube, Tube.id == TubeSample.tube_id)
                .where(TubeSample.person_id.in_(chunk), Tube.result == "negative")
                .group_by(TubeSample.person_id))
        for pid, at in session.execute(stmt):
            if at is not None:
                out[pid] = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return out
