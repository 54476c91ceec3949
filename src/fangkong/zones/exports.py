"""Zones' exports: a round's coverage per grid (`fangkong rounds coverage ROUND --out`) and the persons
not yet sampled (`--missing`, masked unless unmasked; audited by the one writer)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.export import CODE, ID_NUMBER, INT, PHONE, Column, ExportKind, Sensitive
from fangkong.kernel.jurisdictions.models import Unit

COVERAGE_COLUMNS = [
    Column("unit_code", "网格编码", CODE),
    Column("unit_name", "网格名称"),
    Column("targets", "应检人数", INT),
    Column("sampled", "已采样", INT),
    Column("resulted", "已出结果", INT),
    Column("positive", "阳性", INT),
    Column("excluded", "排除", INT),
    Column("missing", "未采样", INT),
]
MISSING_COLUMNS = [
    Column("person_id", "人员编号", INT),
    Column("name", "姓名"),
    Column("id_number", "身份证号", ID_NUMBER),
    Column("phone", "手机号", PHONE),
    Column("address", "地址", width=30),
    Column("unit_code", "网格编码", CODE),
]


def _filters(session: Session, actor: Actor, params: Mapping[str, str]) -> dict[str, Any]:
    text = (params.get("at") or "").strip()
    return {"round_id": int(params.get("round_id") or 0), "at": clock.parse_time(text) if text else None}


def coverage_rows(session: Session, actor: Actor, *, round_id: int, at: dt.datetime | None = None
                  ) -> Iterator[dict[str, Any]]:
    from fangkong.zones.service import rounds

    for r in rounds.coverage(session, actor, round_id=round_id, at=at):
        yield {"unit_code": r.unit_code, "unit_name": r.unit_name, "targets": r.targets, "sampled": r.sampled,
               "resulted": r.resulted, "positive": r.positive, "excluded": r.excluded, "missing": r.missing}


def missing_rows(session: Session, actor: Actor, *, round_id: int, at: dt.datetime | None = None
                 ) -> Iterator[dict[str, Any]]:
    from fangkong.zones.service import rounds

    codes: dict[int, str] = {}
    for target, p in rounds.missing(session, actor, round_id=round_id, at=at):
        if target.unit_id not in codes:
            u = session.get(Unit, target.unit_id)
            codes[target.unit_id] = u.code if u is not None else ""
        yield {"person_id": p.id, "name": p.name, "id_number": Sensitive(p.id_number_masked, p.id_number_enc),
               "phone": Sensitive(p.phone_masked, p.phone_enc), "address": p.address_text,
               "unit_code": codes[target.unit_id]}


COVERAGE = ExportKind("round_coverage", "区域核酸覆盖", COVERAGE_COLUMNS, coverage_rows, ("zone.view", "data.export"),
                      parse_filters=_filters, object_type="testing_round")
MISSING = ExportKind("round_missing", "区域核酸未采样名单", MISSING_COLUMNS, missing_rows,
                     ("zone.view", "data.export"), parse_filters=_filters, object_type="testing_round")
