"""Small builders for the checkpoint tests, through the services (flushed, never committed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from fangkong.checkpoints.service import checkpoints as checkpoints_service
from fangkong.checkpoints.service import records as records_service
from fangkong.checkpoints.service.records import RecordItem
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.people.identity import id_check_digit
from fangkong.kernel.places.models import Place
from fangkong.kernel.tabular import ReportRow

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2022, 4, 20, 12, 0, tzinfo=SHANGHAI)


def valid_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


ID_A = valid_id("32041219850312123")
ID_B = valid_id("32041219900701456")
ID_C = valid_id("32041119760101333")


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def checkpoint(session: Session, ref: str = "K1", *, kind: str = "highway_exit", shifts: str | None = None,
               name: str | None = None, unit_id: int | None = None) -> Place:
    return checkpoints_service.create_checkpoint(session, SYSTEM_ACTOR, name=name or f"卡口{ref}", kind=kind, ref=ref,
                                                 shifts=shifts, unit_id=unit_id)


def record(session: Session, actor: Actor = SYSTEM_ACTOR, **values: str) -> ReportRow:
    [row] = records_service.record_items(session, actor, items=[RecordItem(1, dict(values))])
    return row


def records(session: Session, rows: list[dict[str, str]], actor: Actor = SYSTEM_ACTOR) -> list[ReportRow]:
    return records_service.record_items(session, actor, items=[RecordItem(i, r) for i, r in enumerate(rows, 1)])
