"""The jurisdiction tree as an export (属地导出): `fangkong export units`, `code,name,level,parent_code`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel import export
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.export import CODE, Column, ExportKind
from fangkong.kernel.jurisdictions.models import LEVEL_NAMES_ZH

COLUMNS = [
    Column("code", "单位编码"),
    Column("name", "单位名称", width=20),
    Column("level", "级别", CODE, label=LEVEL_NAMES_ZH.get, label_zh="级别名称"),
    Column("parent_code", "上级单位编码"),
    Column("parent_name", "上级单位名称", machine=False, width=20),
]


def unit_rows(session: Session, actor: Actor) -> Iterator[Mapping[str, Any]]:
    """The actor's subtree in tree order (parents first), so a re-import places every parent first."""
    from fangkong.kernel.jurisdictions.service import iter_units_in_order

    names: dict[str, str] = {}
    for unit, parent_code in iter_units_in_order(session, actor):
        names[unit.code] = unit.name
        yield {"code": unit.code, "name": unit.name, "level": unit.level, "parent_code": parent_code,
               "parent_name": names.get(parent_code, "")}


UNITS = export.register(ExportKind("units", "属地单位", COLUMNS, unit_rows, ("unit.view",), object_type="unit"))
