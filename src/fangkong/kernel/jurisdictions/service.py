"""Jurisdiction tree (属地树) and address gazetteer (地址库): use cases.

Units form a tree city → district → street/town → community/village → grid; each unit stores its
materialised path ("/1/4/17/") so "in my jurisdiction" is one index range (`scope.subtree`).
Addresses belong to a grid; `match_address(es)` places free-text addresses on grids, reporting what
it cannot place instead of guessing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session, aliased

from fangkong.kernel import scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import (
    REQUIRED,
    REQUIRED_TOO_LONG,
    TOO_LONG,
    UNKNOWN_UNIT,
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
)
from fangkong.kernel.jurisdictions.address import EMPTY_ADDRESS as ADDRESS_EMPTY_TEXT
from fangkong.kernel.jurisdictions.address import AddressParts, normalise_address
from fangkong.kernel.jurisdictions.models import LEVELS, Address, Unit
from fangkong.kernel.messages import FieldIssue, Message, Term, _, message
from fangkong.kernel.tabular import ReportLog, ReportRow, Row, checkpoint, read_table, summarise

#: words a file may use for a level (English codes and the usual Chinese names)
LEVEL_WORDS: dict[str, str] = {
    **{lv: lv for lv in LEVELS},
    "市": "city", "地级市": "city", "城市": "city",
    "区": "district", "县": "district", "区县": "district", "县区": "district", "县级市": "district",
    "区/县": "district", "旗": "district",
    "街道": "street", "镇": "street", "乡": "street", "街道/镇": "street", "乡镇": "street", "镇街": "street",
    "社区": "community", "村": "community", "社区/村": "community", "村居": "community", "居委会": "community",
    "村委会": "community",
    "网格": "grid",
}

INVALID_UNIT = message("unit.invalid", _("invalid unit"))
INVALID_ADDRESS = message("address.invalid", _("invalid address"))
UNKNOWN_GRID = message("unit.unknown_grid", _("unknown grid"))
NOT_GRID = message("unit.not_grid", _("not a grid"))
NO_ROOT = message("unit.no_root", _("no root unit: run `fangkong init`"))
UNIT_EXISTS = message("unit.exists", _("unit code %(code)s already exists"))
UNKNOWN_LEVEL = message("unit.unknown_level", _("unknown level %(level)s; use one of %(levels)s"))
LEVEL_UNDER = message("unit.level_under", _("a %(level)s cannot sit under a %(parent_level)s (%(parent)s)"))
NOT_A_LEVEL = message("unit.not_a_level", _("%(level)s is not a level; use %(levels)s or 市/区县/街道/社区/网格"))
OWN_PARENT = message("unit.own_parent", _("a unit cannot be its own parent"))
CODE_IN_USE = message("unit.code_in_use", _("%(code)s is already in use"))
CODE_REPEATED = message("unit.code_repeated", _("%(code)s appears in row %(row)s with other values"))
PARENT_REJECTED = message("unit.parent_rejected", _("%(parent)s was rejected (row %(row)s)"))
PARENT_CYCLE = message("unit.parent_cycle", _("%(parent)s cannot be placed (cycle?)"))
ALREADY_NAMED = message("unit.already_named", _("%(code)s is already named %(name)s"))
ALREADY_LEVEL = message("unit.already_level", _("%(code)s is already a %(level)s"))
ALREADY_UNDER = message("unit.already_under", _("%(code)s is already under %(parent)s"))
NO_PARENT = message("unit.no_parent", _("(none)"))
ADDRESS_EMPTY = message("address.empty", _("empty"))
ADDRESS_TOO_LONG = message("address.too_long", _("too long"))
NOT_A_GRID = message("unit.not_a_grid", _("%(code)s is a %(level)s, not a grid"))
ADDRESS_ELSEWHERE = message("address.on_other_grid", _("address already on another grid (%(key)s)"))
ADDRESS_ON_GRID = message("address.already_on_grid", _("already on grid %(code)s"))
# why an address could not be placed (AddressMatch.reason)
ROOM_BY_BUILDING = message("address.placed_by_building", _("room not in gazetteer; placed by building"))
BUILDING_SPLIT = message("address.building_spans_grids", _("building spans several grids"))
NOT_IN_GAZETTEER = message("address.not_in_gazetteer", _("address not in gazetteer"))


def _level(code: str) -> Term:
    return Term(code, kind="unit_level")


#: IN-lists are sent in chunks of this size (SQLite's variable limit, PostgreSQL plan size)
CHUNK = 500


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def parse_level(value: str) -> str | None:
    """`grid`, `网格`, `街道` … → a code in LEVELS; None when not recognised."""
    v = "".join(value.split()).casefold()
    return LEVEL_WORDS.get(v)


# ---------------------------------------------------------------------------------------------- units

def root_unit(session: Session) -> Unit:
    """The root of the tree (created by `fangkong init`); data with no better home belongs here."""
    root = session.execute(
        select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)
    ).scalar_one_or_none()
    if root is None:
        raise NotFound(NO_ROOT())
    return root


def get_unit_by_code(session: Session, code: str) -> Unit | None:
    """Unscoped lookup by code (imports resolve references with it; check visibility yourself)."""
    return session.execute(select(Unit).where(Unit.code == code.strip())).scalar_one_or_none()


def get_unit(session: Session, actor: Actor, unit_id: int) -> Unit:
    """A unit in the actor's subtree; NotFound otherwise (`scope.visible_unit`, kept under this name)."""
    return scope.visible_unit(session, actor, unit_id)


def children(session: Session, actor: Actor, unit_id: int) -> list[Unit]:
    """Direct children of a visible unit, by code."""
    unit = scope.visible_unit(session, actor, unit_id)
    return list(session.execute(select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code)).scalars())


def path_ids(path: str) -> list[int]:
    """"/1/4/17/" → [1, 4, 17]."""
    return [int(p) for p in path.strip("/").split("/") if p]


def ancestors(session: Session, unit: Unit) -> list[Unit]:
    """The unit's ancestors, root first, excluding the unit itself (read from its path)."""
    ids = path_ids(unit.path)[:-1]
    if not ids:
        return []
    rows = {u.id: u for u in session.execute(select(Unit).where(Unit.id.in_(ids))).scalars()}
    return [rows[i] for i in ids if i in rows]


def subtree_ids(session: Session | None, unit: Unit | str) -> Select[Any]:
    """`SELECT id FROM unit` for the unit (or path) and its subtree: use inside `IN (…)`.

    `session` is unused (kept for the agreed signature); the select runs in the caller's query.
    """
    path = unit if isinstance(unit, str) else unit.path
    return select(Unit.id).where(scope.under(Unit.path, path))


def subtree_units(session: Session, unit: Unit, *, max_depth: int | None = None) -> list[Unit]:
    """The unit and everything below it (to `max_depth` levels below), in tree order."""
    stmt = scope.within(select(Unit), unit, Unit)
    if max_depth is not None:
        stmt = stmt.where(Unit.depth <= unit.depth + max_depth)
    return list(session.execute(stmt.order_by(Unit.path)).scalars())


def _check_child(parent: Unit, level: str) -> FieldError | None:
    if level not in LEVELS:
        return FieldError("level", UNKNOWN_LEVEL(level=repr(level), levels=[_level(lv) for lv in LEVELS]))
    if parent.level in LEVELS and LEVELS.index(level) <= LEVELS.index(parent.level):
        return FieldError("level", LEVEL_UNDER(level=_level(level), parent_level=_level(parent.level),
                                               parent=parent.code))
    return None


def create_unit(session: Session, actor: Actor, *, code: str, name: str, level: str,
                parent_code: str | None) -> Unit:
    """Add a unit under `parent_code` (the root when None). Needs `unit.manage`."""
    actor.require("unit.manage")
    code, name = code.strip(), name.strip()
    level = parse_level(level) or level
    errors: list[FieldError] = []
    if not code or len(code) > 32:
        errors.append(FieldError("code", REQUIRED_TOO_LONG(max=32)))
    if not name or len(name) > 100:
        errors.append(FieldError("name", REQUIRED_TOO_LONG(max=100)))
    parent = root_unit(session) if not parent_code else get_unit_by_code(session, parent_code)
    if parent is None or not scope.sees(actor, parent):
        errors.append(FieldError("parent_code", UNKNOWN_UNIT(code=parent_code)))
    elif (err := _check_child(parent, level)) is not None:
        errors.append(err)
    if errors:
        raise ValidationFailed(INVALID_UNIT(), errors)
    assert parent is not None
    if get_unit_by_code(session, code) is not None:
        raise Conflict(UNIT_EXISTS(code=code))
    unit = Unit(code=code, name=name, level=level, parent_id=parent.id, path="", depth=parent.depth + 1)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path}{unit.id}/"
    audit.record(session, actor, "unit.created", object_type="unit", object_id=unit.id,
                 code=code, level=level, parent=parent.code)
    session.flush()
    return unit


# ------------------------------------------------------------------------------------------ gazetteer

@dataclass
class AddressMatch:
    """Where a free-text address lies (地址匹配): the gazetteer row and its grid, or why not."""

    text: str
    address: Address | None
    unit: Unit | None
    reason: Message | None
    key: str = ""


_ADDRESS_FIELDS = ("text", "key", "building_key", "road", "house_no", "building", "entrance", "room", "unit_id",
                   "unit_path")
_ADDRESS_LIMITS = {"road": 100, "house_no": 20, "building": 20, "entrance": 20, "room": 20}


def _address_row(text: str, grid: Unit, parts: AddressParts | None = None) -> Address:
    parts = parts or normalise_address(text)
    if not parts.key:
        raise ValidationFailed(INVALID_ADDRESS(), [FieldError("address", ADDRESS_EMPTY())])
    too_long = [f for f, n in _ADDRESS_LIMITS.items() if len(getattr(parts, f) or "") > n]
    if len(parts.key) > 255 or len(text) > 255 or too_long:
        raise ValidationFailed(INVALID_ADDRESS(), [FieldError("address", ADDRESS_TOO_LONG())])
    return Address(text=text.strip(), key=parts.key, building_key=parts.building_key, road=parts.road,
                   house_no=parts.house_no, building=parts.building, entrance=parts.entrance,
                   room=parts.room, unit_id=grid.id, unit_path=grid.path)


def _grid(session: Session, actor: Actor, grid_code: str) -> Unit:
    grid = scope.visible_unit_or_none(session, actor, code=grid_code)
    if grid is None:
        raise ValidationFailed(UNKNOWN_GRID(), [FieldError("grid_code", UNKNOWN_UNIT(code=grid_code))])
    if grid.level != "grid":
        raise ValidationFailed(NOT_GRID(), [FieldError("grid_code", NOT_A_GRID(code=grid_code,
                                                                                level=_level(grid.level)))])
    return grid


def add_address(session: Session, actor: Actor, *, text: str, grid_code: str) -> Address:
    """Register an address on a grid. The same address on the same grid returns the stored row;
    on another grid it is a Conflict (one address, one grid)."""
    actor.require("unit.manage")
    address, created = _add_address(session, actor, text=text, grid_code=grid_code)
    if created:
        audit.record(session, actor, "address.added", object_type="address", object_id=address.id,
                     grid=grid_code)
    return address


def _add_address(session: Session, actor: Actor, *, text: str, grid_code: str,
                 grids: dict[str, Unit] | None = None) -> tuple[Address, bool]:
    if grids is not None and grid_code in grids:
        grid = grids[grid_code]
    else:
        grid = _grid(session, actor, grid_code)
        if grids is not None:
            grids[grid_code] = grid
    row = _address_row(text, grid)
    existing = session.execute(select(Address).where(Address.key == row.key)).scalar_one_or_none()
    if existing is not None:
        if existing.unit_id == grid.id:
            return existing, False
        raise Conflict(ADDRESS_ELSEWHERE(key=existing.key))
    session.add(row)
    session.flush()
    return row, True


def match_address(session: Session, text: str) -> AddressMatch:
    """Place one address: exact key → its grid; else its building on one grid; else a reason."""
    return match_addresses(session, [text])[0]


def match_addresses(session: Session, texts: list[str]) -> list[AddressMatch]:
    """Place many addresses with a few queries (chunks of IN-lists), results in input order."""
    parts = [normalise_address(t or "") for t in texts]
    keys = sorted({p.key for p in parts if p.key})
    by_key: dict[str, Address] = {}
    for chunk in _chunks(keys):
        for a in session.execute(select(Address).where(Address.key.in_(chunk))).scalars():
            by_key[a.key] = a
    missing = sorted({p.building_key for p in parts if p.key not in by_key and p.building_key})
    grids_of_building: dict[str, set[int]] = defaultdict(set)
    for chunk in _chunks(missing):
        stmt = select(Address.building_key, Address.unit_id).where(Address.building_key.in_(chunk)).distinct()
        for bkey, unit_id in session.execute(stmt):
            grids_of_building[bkey].add(unit_id)
    unit_ids = sorted({a.unit_id for a in by_key.values()}
                      | {next(iter(s)) for s in grids_of_building.values() if len(s) == 1})
    units: dict[int, Unit] = {}
    for chunk in _chunks(unit_ids):
        units.update({u.id: u for u in session.execute(select(Unit).where(Unit.id.in_(chunk))).scalars()})
    out: list[AddressMatch] = []
    for text, p in zip(texts, parts, strict=True):
        if p.key in by_key:
            a = by_key[p.key]
            out.append(AddressMatch(text, a, units.get(a.unit_id), None, p.key))
            continue
        grids = grids_of_building.get(p.building_key or "", set())
        if len(grids) == 1:
            out.append(AddressMatch(text, None, units.get(next(iter(grids))),
                                    ROOM_BY_BUILDING(), p.key))
        elif len(grids) > 1:
            out.append(AddressMatch(text, None, None, BUILDING_SPLIT(), p.key))
        elif not p.key:
            out.append(AddressMatch(text, None, None, ADDRESS_EMPTY_TEXT(), p.key))
        else:
            out.append(AddressMatch(text, None, None, NOT_IN_GAZETTEER(), p.key))
    return out


def iter_units_in_order(session: Session, actor: Actor) -> Iterable[tuple[Unit, str]]:
    """Units in the actor's subtree in tree order (parents first), each with its parent's code."""
    parent = aliased(Unit)
    stmt = scope.visible(select(Unit, parent.code).outerjoin(parent, parent.id == Unit.parent_id), actor, Unit)
    stmt = stmt.order_by(Unit.path).execution_options(yield_per=2000)
    for unit, parent_code in session.execute(stmt):
        yield unit, parent_code or ""


# ------------------------------------------------------------------------------------- files in / out

UNIT_COLUMNS: dict[str, list[str]] = {
    "code": ["编码", "代码", "单位编码", "单位代码", "区划代码", "网格编码", "unit_code"],
    "name": ["名称", "单位名称", "网格名称"],
    "level": ["层级", "级别", "类型"],
    "parent_code": ["上级编码", "上级代码", "上级单位编码", "上级单位代码", "parent"],
}
ADDRESS_COLUMNS: dict[str, list[str]] = {
    "address": ["地址", "详细地址", "门牌地址", "住址"],
    "grid_code": ["网格编码", "网格代码", "所属网格", "网格", "grid"],
}

Progress = Callable[[int], None] | None


@dataclass
class _UnitIn:
    row: ReportRow
    code: str
    name: str
    level: str
    parent_code: str


def import_units(session: Session, actor: Actor, path: Path, *, progress: Progress = None) -> list[ReportRow]:
    """Import units (code, name, level, parent_code) from CSV/XLSX; one report line per row.

    A parent may come later in the file (rows are placed in passes). Re-importing changes nothing:
    a known code with the same name, level and parent is `duplicate`; with anything different it is
    `rejected` and nothing about the stored unit changes. Needs `unit.manage`.
    """
    actor.require("unit.manage")
    table = read_table(path, UNIT_COLUMNS, required_any=["code"])
    root = root_unit(session)
    # code → (id, path, depth, level, name, parent code): the whole tree is small (≤ ~10^5 rows)
    parent_alias = aliased(Unit)
    known: dict[str, tuple[int, str, int, str, str, str]] = {}
    stmt = select(Unit.id, Unit.code, Unit.path, Unit.depth, Unit.level, Unit.name, parent_alias.code).outerjoin(
        parent_alias, parent_alias.id == Unit.parent_id)
    for uid, code, upath, depth, level, name, pcode in session.execute(stmt):
        known[code] = (uid, upath, depth, level, name, pcode or "")

    reports: list[ReportRow] = []
    pending: list[_UnitIn] = []
    in_file: dict[str, _UnitIn] = {}
    rejected_codes: dict[str, int] = {}
    for row in table:
        rep = ReportRow(row.number, "accepted", extra={"code": row.values["code"]})
        reports.append(rep)
        if progress:
            progress(1)
        v = row.values
        code, name, parent_code = v["code"], v["name"], v["parent_code"]
        level = parse_level(v["level"]) if v["level"] else None
        if not code:
            rep.issues.append(FieldIssue("code", REQUIRED()))
        elif len(code) > 32:
            rep.issues.append(FieldIssue("code", TOO_LONG(max=32)))
        if not name:
            rep.issues.append(FieldIssue("name", REQUIRED()))
        elif len(name) > 100:
            rep.issues.append(FieldIssue("name", TOO_LONG(max=100)))
        if level is None:
            rep.issues.append(FieldIssue("level", NOT_A_LEVEL(level=repr(v["level"]), levels=list(LEVELS))
                                         if v["level"] else REQUIRED()))
        if code and code == parent_code:
            rep.issues.append(FieldIssue("parent_code", OWN_PARENT()))
        if rep.issues:
            rep.status = "rejected"
            rejected_codes.setdefault(code, row.number)
            continue
        assert level is not None
        item = _UnitIn(rep, code, name, level, parent_code)
        if code in known:
            if not scope.sees(actor, known[code][1]):  # someone else's unit: say no more than that
                rep.status, rep.issues = "rejected", [FieldIssue("code", CODE_IN_USE(code=code))]
            else:
                _compare_existing(rep, item, known[code], root.code)
            continue
        if code in in_file:
            first = in_file[code]
            same = (first.name, first.level, first.parent_code) == (name, level, parent_code)
            rep.status = "duplicate" if same else "rejected"
            if not same:
                rep.issues.append(FieldIssue("code", CODE_REPEATED(code=code, row=first.row.row)))
            continue
        in_file[code] = item
        pending.append(item)

    created = 0
    while pending:
        ready = [it for it in pending if (it.parent_code or root.code) in known]
        if not ready:
            break
        new: list[tuple[_UnitIn, Unit, str]] = []
        for it in ready:
            pid, ppath, pdepth, plevel, _, _ = known[it.parent_code or root.code]
            if not scope.sees(actor, ppath):
                it.row.status = "rejected"
                it.row.issues = [FieldIssue("parent_code", UNKNOWN_UNIT(code=it.parent_code) if it.parent_code
                                            else REQUIRED())]
                continue
            if plevel in LEVELS and LEVELS.index(it.level) <= LEVELS.index(plevel):
                it.row.status = "rejected"
                it.row.issues = [FieldIssue("level", LEVEL_UNDER(level=_level(it.level), parent_level=_level(plevel),
                                                                 parent=it.parent_code or root.code))]
                rejected_codes.setdefault(it.code, it.row.row)
                continue
            unit = Unit(code=it.code, name=it.name, level=it.level, parent_id=pid, path="", depth=pdepth + 1)
            session.add(unit)
            new.append((it, unit, ppath))
        session.flush()
        for it, unit, ppath in new:
            unit.path = f"{ppath}{unit.id}/"
            known[it.code] = (unit.id, unit.path, unit.depth, unit.level, unit.name, it.parent_code)
        session.flush()
        created += len(new)
        done = {id(it) for it in ready}
        pending = [it for it in pending if id(it) not in done]
    for it in pending:
        it.row.status = "rejected"
        if it.parent_code in rejected_codes:
            it.row.issues = [FieldIssue("parent_code", PARENT_REJECTED(parent=it.parent_code,
                                                                       row=rejected_codes[it.parent_code]))]
        elif it.parent_code in in_file:  # a cycle: neither can be placed
            it.row.issues = [FieldIssue("parent_code", PARENT_CYCLE(parent=it.parent_code))]
        else:
            it.row.issues = [FieldIssue("parent_code", UNKNOWN_UNIT(code=it.parent_code))]
    reports = table.report(reports)
    audit.record(session, actor, "unit.imported", object_type="unit", file=Path(path).name,
                 **summarise(reports))
    return reports


def _compare_existing(rep: ReportRow, item: _UnitIn, stored: tuple[int, str, int, str, str, str],
                      root_code: str) -> None:
    _, _, _, level, name, parent_code = stored
    if name != item.name:
        rep.issues.append(FieldIssue("name", ALREADY_NAMED(code=item.code, name=repr(name))))
    if level != item.level:
        rep.issues.append(FieldIssue("level", ALREADY_LEVEL(code=item.code, level=_level(level))))
    # an empty parent means the root; the root itself has no parent
    wanted = item.parent_code or (root_code if item.code != root_code else "")
    if wanted != parent_code:
        rep.issues.append(FieldIssue("parent_code", ALREADY_UNDER(code=item.code, parent=parent_code or NO_PARENT())))
    rep.status = "rejected" if rep.issues else "duplicate"


def export_units(session: Session, actor: Actor, out: Path, *, headers: str | None = None) -> int:
    """Write the actor's subtree in tree order through the export writer: CSV (UTF-8 with BOM)
    `code,name,level,parent_code`, or XLSX for people (by the suffix). Audited."""
    from fangkong.kernel import export
    from fangkong.kernel.jurisdictions.exports import UNITS

    return export.write(session, actor, UNITS, out=Path(out), headers=headers)


def import_addresses(session: Session, actor: Actor, path: Path, *,
                     progress: Progress = None) -> Sequence[ReportRow]:
    """Import gazetteer addresses (address, grid_code). A known address on the same grid is a
    `duplicate`; on another grid it is `rejected`. Batched: a few queries per thousand rows."""
    actor.require("unit.manage")
    table = read_table(path, ADDRESS_COLUMNS, required_any=["address"])
    grids: dict[str, Unit] = {}
    reports = ReportLog()  # memory flat in the row count
    for rows in table.chunks():  # stored and committed a chunk at a time; a stored address is a duplicate
        reports.extend(table.report(_import_address_chunk(session, actor, rows, grids, progress)))
        checkpoint(session)
    reports = table.report(reports)
    audit.record(session, actor, "address.imported", object_type="address", file=Path(path).name,
                 **summarise(reports))
    return reports


def _import_address_chunk(session: Session, actor: Actor, rows: list[Row], grids: dict[str, Unit],
                          progress: Progress) -> list[ReportRow]:
    """One chunk of an address file: checked, looked up, new addresses inserted (not committed)."""
    grid_codes = sorted({r.values["grid_code"] for r in rows if r.values["grid_code"]} - set(grids))
    for chunk in _chunks(grid_codes):
        grids.update({u.code: u for u in session.execute(select(Unit).where(Unit.code.in_(chunk))).scalars()})
    reports: list[ReportRow] = []
    candidates: list[tuple[ReportRow, Address]] = []
    for row in rows:
        text, gcode = row.values["address"], row.values["grid_code"]
        rep = ReportRow(row.number, "accepted", extra={"key": ""})
        reports.append(rep)
        grid = grids.get(gcode)
        if not text:
            rep.issues.append(FieldIssue("address", REQUIRED()))
        if not gcode:
            rep.issues.append(FieldIssue("grid_code", REQUIRED()))
        elif grid is None or not scope.sees(actor, grid):
            rep.issues.append(FieldIssue("grid_code", UNKNOWN_UNIT(code=gcode)))
        elif grid.level != "grid":
            rep.issues.append(FieldIssue("grid_code", NOT_A_GRID(code=gcode, level=_level(grid.level))))
        if rep.issues:
            rep.status = "rejected"
            continue
        assert grid is not None
        parts = normalise_address(text)
        try:
            addr = _address_row(text, grid, parts)
        except ValidationFailed as exc:
            rep.status, rep.issues = "rejected", [FieldIssue(f.field, f.message) for f in exc.fields]
            continue
        rep.extra["key"] = addr.key
        rep.issues.extend(FieldIssue("address", m) for m in parts.issues)
        candidates.append((rep, addr))
    stored: dict[str, tuple[int, str]] = {}
    keys = sorted({a.key for _, a in candidates})
    for chunk in _chunks(keys):
        q = select(Address.key, Address.unit_id, Unit.code).join(Unit, Unit.id == Address.unit_id)
        for key, unit_id, code in session.execute(q.where(Address.key.in_(chunk))):
            stored[key] = (unit_id, code)
    grid_code_of = {u.id: u.code for u in grids.values()}
    batch: list[dict[str, Any]] = []
    for rep, addr in candidates:
        if progress:
            progress(1)
        if addr.key in stored:
            unit_id, code = stored[addr.key]
            if unit_id == addr.unit_id:
                rep.status = "duplicate"
            else:
                rep.status = "rejected"
                rep.issues = [FieldIssue("address", ADDRESS_ON_GRID(code=code))]
            continue
        stored[addr.key] = (addr.unit_id, grid_code_of[addr.unit_id])
        batch.append({c: getattr(addr, c) for c in _ADDRESS_FIELDS})
        if len(batch) >= 5000:
            session.execute(insert(Address), batch)  # bulk INSERT: no ORM objects for 10^5 rows
            batch = []
    if batch:
        session.execute(insert(Address), batch)
    return reports
