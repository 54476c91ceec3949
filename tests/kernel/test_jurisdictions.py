"""Jurisdiction tree and gazetteer (属地树与地址库) on a real database."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import xlsxwriter
from cli_runner import CliRun, run_cli
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session

from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.roles import MATRIX
from fangkong.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fangkong.kernel.jurisdictions import service as js
from fangkong.kernel.jurisdictions.models import Address, Unit
from fangkong.kernel.tabular import UnusableFile


def actor_at(unit: Unit, role: str) -> Actor:
    return Actor(user_id=99, username=f"{role}-{unit.code}", role=role, unit_id=unit.id, unit_path=unit.path,
                 permissions=frozenset(MATRIX[role]))


@dataclass
class Tree:
    root: Unit
    district: Unit
    street_a: Unit
    street_b: Unit
    community_a: Unit
    community_b: Unit
    grid_a1: Unit
    grid_a2: Unit
    grid_b1: Unit


@pytest.fixture
def tree(session: Session, system: Actor) -> Tree:
    def mk(code: str, name: str, level: str, parent: str | None) -> Unit:
        return js.create_unit(session, system, code=code, name=name, level=level, parent_code=parent)

    d = mk("T1", "武进区", "district", None)
    sa, sb = mk("T1A", "湖塘镇", "street", "T1"), mk("T1B", "牛塘镇", "street", "T1")
    ca, cb = mk("T1A1", "幸福社区", "community", "T1A"), mk("T1B1", "青年村", "community", "T1B")
    g1, g2 = mk("T1A1G1", "第一网格", "grid", "T1A1"), mk("T1A1G2", "第二网格", "grid", "T1A1")
    g3 = mk("T1B1G1", "青年网格", "grid", "T1B1")
    return Tree(js.root_unit(session), d, sa, sb, ca, cb, g1, g2, g3)


# ---------------------------------------------------------------------------------------- units

def test_root_unit(session: Session) -> None:
    root = js.root_unit(session)
    assert root.code == "000000" and root.parent_id is None and root.path == f"/{root.id}/"


def test_create_unit_sets_path_and_depth(session: Session, tree: Tree) -> None:
    assert tree.grid_a1.path == f"{tree.community_a.path}{tree.grid_a1.id}/"
    assert tree.grid_a1.path.endswith("/") and tree.grid_a1.depth == 4
    assert tree.district.parent_id == tree.root.id and tree.district.depth == 1
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "unit.created",
                                                    AuditEvent.object_id == str(tree.grid_a1.id))).first()


def test_create_unit_rules(session: Session, system: Actor, tree: Tree) -> None:
    with pytest.raises(ValidationFailed) as e:
        js.create_unit(session, system, code="X", name="x", level="district", parent_code="T1A")
    assert e.value.fields[0].field == "level"
    with pytest.raises(ValidationFailed):
        js.create_unit(session, system, code="X", name="x", level="grid", parent_code="T1A1G1")  # under a grid
    with pytest.raises(ValidationFailed) as e:
        js.create_unit(session, system, code="X", name="x", level="grid", parent_code="NOPE")
    assert e.value.fields[0].field == "parent_code"
    with pytest.raises(Conflict):
        js.create_unit(session, system, code="T1A", name="again", level="street", parent_code="T1")
    # skipping a level is allowed (a town with grids directly under it); Chinese level words accepted
    u = js.create_unit(session, system, code="T1AG9", name="镇直网格", level="网格", parent_code="T1A")
    assert u.level == "grid"


def test_create_unit_needs_permission_and_scope(session: Session, system: Actor, tree: Tree) -> None:
    with pytest.raises(PermissionDenied):
        js.create_unit(session, actor_at(tree.grid_a1, "grid"), code="Y", name="y", level="grid",
                       parent_code="T1A1")
    district_actor = actor_at(tree.district, "district")
    js.create_unit(session, district_actor, code="Y", name="y", level="grid", parent_code="T1A1")
    other = js.create_unit(session, system, code="T2", name="other", level="district", parent_code=None)
    with pytest.raises(ValidationFailed):  # a unit outside the actor's subtree is unknown to it
        js.create_unit(session, district_actor, code="Z", name="z", level="street", parent_code=other.code)


def test_get_unit_is_scoped(session: Session, tree: Tree) -> None:
    street_a = actor_at(tree.street_a, "street")
    assert js.get_unit(session, street_a, tree.grid_a2.id) is tree.grid_a2
    assert js.get_unit(session, street_a, tree.street_a.id) is tree.street_a
    for hidden in (tree.grid_b1, tree.district, tree.root):
        with pytest.raises(NotFound):
            js.get_unit(session, street_a, hidden.id)
    with pytest.raises(NotFound):
        js.get_unit(session, street_a, 10**9)


def test_children_ancestors_subtree(session: Session, tree: Tree) -> None:
    street_a = actor_at(tree.street_a, "street")
    assert [u.code for u in js.children(session, street_a, tree.community_a.id)] == ["T1A1G1", "T1A1G2"]
    with pytest.raises(NotFound):
        js.children(session, street_a, tree.community_b.id)
    assert js.ancestors(session, tree.grid_a1) == [tree.root, tree.district, tree.street_a, tree.community_a]
    assert js.ancestors(session, tree.root) == []
    ids = set(session.execute(js.subtree_ids(session, tree.street_a)).scalars())
    assert ids == {tree.street_a.id, tree.community_a.id, tree.grid_a1.id, tree.grid_a2.id}
    assert [u.code for u in js.subtree_units(session, tree.district, max_depth=1)] == ["T1", "T1A", "T1B"]


def test_subtree_uses_the_path_index_at_100k_units(session: Session, tree: Tree) -> None:
    """100,000 units inserted in bulk; the subtree query is an index range, not a scan."""
    conn = session.connection()
    start = (session.execute(select(func.max(Unit.id))).scalar_one() or 0) + 1
    rows, next_id = [], start
    streets: list[tuple[int, str]] = []
    for _d in range(10):  # 10 districts × 10 streets × 10 communities × 100 grids ≈ 101,110 units
        did, next_id = next_id, next_id + 1
        dpath = f"{tree.root.path}{did}/"
        rows.append({"id": did, "code": f"B{did}", "name": "d", "level": "district", "parent_id": tree.root.id,
                     "path": dpath, "depth": 1})
        for _s in range(10):
            sid, next_id = next_id, next_id + 1
            spath = f"{dpath}{sid}/"
            streets.append((sid, spath))
            rows.append({"id": sid, "code": f"B{sid}", "name": "s", "level": "street", "parent_id": did,
                         "path": spath, "depth": 2})
            for _c in range(10):
                cid, next_id = next_id, next_id + 1
                cpath = f"{spath}{cid}/"
                rows.append({"id": cid, "code": f"B{cid}", "name": "c", "level": "community", "parent_id": sid,
                             "path": cpath, "depth": 3})
                for _g in range(100):
                    gid, next_id = next_id, next_id + 1
                    rows.append({"id": gid, "code": f"B{gid}", "name": "g", "level": "grid", "parent_id": cid,
                                 "path": f"{cpath}{gid}/", "depth": 4})
    conn.execute(insert(Unit.__table__), rows)
    assert len(rows) > 100_000
    sid, spath = streets[37]
    stmt = js.subtree_ids(session, spath)
    assert len(session.execute(stmt).all()) == 1 + 10 + 1000
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "sqlite":
        plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
    else:
        conn.execute(text("ANALYZE unit"))
        plan = " ".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))
    assert "ix_unit_path" in plan, plan


# ------------------------------------------------------------------------------------ gazetteer

def test_add_address(session: Session, system: Actor, tree: Tree) -> None:
    a = js.add_address(session, system, text="江苏省常州市武进区 幸福路１２号３幢２单元３０１", grid_code="T1A1G1")
    assert a.key == "幸福路12号3栋2单元301室" and a.building_key == "幸福路12号3栋2单元"
    assert a.unit_id == tree.grid_a1.id and a.unit_path == tree.grid_a1.path
    assert js.add_address(session, system, text="幸福路12号3栋2单元301室", grid_code="T1A1G1").id == a.id
    with pytest.raises(Conflict):
        js.add_address(session, system, text="幸福路12号3栋2单元301室", grid_code="T1A1G2")
    with pytest.raises(ValidationFailed):
        js.add_address(session, system, text="幸福路1号", grid_code="T1A1")  # a community, not a grid
    with pytest.raises(ValidationFailed):
        js.add_address(session, system, text=" ", grid_code="T1A1G1")
    with pytest.raises(ValidationFailed):  # a grid outside the actor's subtree is unknown
        js.add_address(session, actor_at(tree.street_b, "district"), text="幸福路2号", grid_code="T1A1G1")
    with pytest.raises(PermissionDenied):
        js.add_address(session, actor_at(tree.grid_a1, "grid"), text="幸福路3号", grid_code="T1A1G1")


def test_match_address(session: Session, system: Actor, tree: Tree) -> None:
    a = js.add_address(session, system, text="幸福路12号3栋2单元301室", grid_code="T1A1G1")
    js.add_address(session, system, text="幸福路20号1栋1单元101室", grid_code="T1A1G1")
    js.add_address(session, system, text="幸福路20号1栋1单元102室", grid_code="T1A1G2")  # a building split

    m = js.match_address(session, "江苏省常州市武进区幸福路12号3幢2单元301")
    assert (m.address, m.unit, m.reason) == (a, tree.grid_a1, None)
    m = js.match_address(session, "幸福路12号3栋2单元999室")
    assert (m.address, m.unit, m.reason) == (None, tree.grid_a1, "room not in gazetteer; placed by building")
    m = js.match_address(session, "幸福路20号1栋1单元999室")
    assert (m.address, m.unit, m.reason) == (None, None, "building spans several grids")
    m = js.match_address(session, "幸福路99号")
    assert (m.address, m.unit, m.reason) == (None, None, "address not in gazetteer")
    assert js.match_address(session, "").reason == "empty address"


def test_match_addresses_is_batched(session: Session, system: Actor, tree: Tree) -> None:
    for i in range(30):
        js.add_address(session, system, text=f"和平路{i}号1栋1单元101室", grid_code="T1A1G1" if i % 2 else "T1B1G1")
    texts = [f"和平路{i % 40}号1栋1单元{101 + (i % 3)}" for i in range(1500)]
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    bind = session.connection()
    event.listen(bind, "before_cursor_execute", count)
    try:
        out = js.match_addresses(session, texts)
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert len(statements) <= 8  # keys, buildings, units: one query per 500 keys at most
    assert [m.text for m in out] == texts
    for i, m in enumerate(out):
        n, room = i % 40, 101 + (i % 3)
        if n >= 30:
            assert m.unit is None and m.reason == "address not in gazetteer"
        else:
            assert m.unit == (tree.grid_a1 if n % 2 else tree.grid_b1)
            assert (m.address is not None) == (room == 101)


# ---------------------------------------------------------------------------------------- files

UNITS_CSV = """编码,名称,层级,上级编码
D9G1,一网格,网格,D9S1C1
D9,新区,区县,
D9S1,新街道,街道,D9
D9S1C1,新社区,社区,D9S1
D9S1G2,街道直属网格,grid,D9S1
BAD,,foo,
ORPH,孤儿,网格,NOPE
D9S1C1,新社区,社区,D9S1
D9S1C1,改名社区,社区,D9S1
LOOP1,环一,网格,LOOP2
LOOP2,环二,网格,LOOP1
"""


def test_import_units(session: Session, system: Actor, tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV, encoding="utf-8-sig")
    report = js.import_units(session, system, path)
    got = [(r.row, r.status) for r in report]
    assert got == [(2, "accepted"), (3, "accepted"), (4, "accepted"), (5, "accepted"), (6, "accepted"),
                   (7, "rejected"), (8, "rejected"), (9, "duplicate"), (10, "rejected"), (11, "rejected"),
                   (12, "rejected")]
    assert report[5].issues[0] == "name: required"
    assert report[6].issues == ["parent_code: unknown unit NOPE"]
    assert report[8].issues == ["code: D9S1C1 appears in row 5 with other values"]
    grid = js.get_unit_by_code(session, "D9G1")
    assert grid is not None and grid.level == "grid" and grid.depth == 4
    assert [u.code for u in js.ancestors(session, grid)] == ["000000", "D9", "D9S1", "D9S1C1"]

    again = js.import_units(session, system, path)
    assert [r.status for r in again][:5] == ["duplicate"] * 5

    changed = tmp_path / "changed.csv"
    changed.write_text("code,name,level,parent_code\nD9S1,改了名字,street,D9\nD9G1,一网格,grid,D9S1\n",
                       encoding="utf-8")
    rep = js.import_units(session, system, changed)
    assert [r.status for r in rep] == ["rejected", "rejected"]
    assert rep[0].issues == ["name: D9S1 is already named '新街道'"]
    assert rep[1].issues == ["parent_code: D9G1 is already under D9S1C1"]
    assert js.get_unit_by_code(session, "D9S1").name == "新街道"


def test_import_units_xlsx_with_title_row(session: Session, system: Actor, tmp_path: Path) -> None:
    path = tmp_path / "units.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.merge_range(0, 0, 0, 3, "属地网格划分表")
    ws.write_row(1, 0, ["代码", "名称", "级别", "上级代码"])
    ws.write_row(2, 0, [320499, "某区", "区", ""])      # a numeric code cell
    ws.write_row(4, 0, [320499001, "某镇", "镇", 320499])
    wb.close()
    report = js.import_units(session, system, path)
    assert [(r.row, r.status) for r in report] == [(3, "accepted"), (5, "accepted")]
    assert js.get_unit_by_code(session, "320499001").parent_id == js.get_unit_by_code(session, "320499").id


def test_import_units_needs_a_header(session: Session, system: Actor, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(UnusableFile):
        js.import_units(session, system, path)


def test_export_then_reimport_is_all_duplicates(session: Session, system: Actor, tree: Tree,
                                                tmp_path: Path) -> None:
    out = tmp_path / "units.csv"
    n = js.export_units(session, system, out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["code", "name", "level", "parent_code"]
    assert len(rows) == n + 1
    codes = [r[0] for r in rows[1:]]
    assert codes.index("T1") < codes.index("T1A") < codes.index("T1A1") < codes.index("T1A1G1")
    assert rows[1] == ["000000", tree.root.name, "city", ""]
    assert ["T1A1G1", "第一网格", "grid", "T1A1"] in rows
    report = js.import_units(session, system, out)
    assert {r.status for r in report} == {"duplicate"}

    # a street exports its own subtree only
    scoped = tmp_path / "street.csv"
    assert js.export_units(session, actor_at(tree.street_a, "street"), scoped) == 4


def test_import_addresses(session: Session, system: Actor, tree: Tree, tmp_path: Path) -> None:
    path = tmp_path / "addr.csv"
    path.write_text("地址,网格编码\n"
                    "江苏省常州市武进区 幸福路１２号３幢２单元３０１,T1A1G1\n"
                    "幸福路12号3栋2单元302室,T1A1G1\n"
                    "幸福路12号3栋2单元301室,T1A1G2\n"
                    "人民路1号,T1A1\n"
                    ",T1A1G1\n"
                    "幸福路12号3栋2单元302,T1A1G1\n"
                    "光明路5号,NOPE\n", encoding="gb18030")
    report = js.import_addresses(session, system, path)
    assert [(r.row, r.status) for r in report] == [(2, "accepted"), (3, "accepted"), (4, "rejected"),
                                                   (5, "rejected"), (6, "rejected"), (7, "duplicate"),
                                                   (8, "rejected")]
    assert report[2].issues == ["address: already on grid T1A1G1"]
    assert report[3].issues == ["grid_code: T1A1 is a community, not a grid"]
    assert report[6].issues == ["grid_code: unknown unit NOPE"]
    assert report[0].extra["key"] == "幸福路12号3栋2单元301室"
    assert session.execute(select(func.count()).select_from(Address)
                           .where(Address.unit_id == tree.grid_a1.id)).scalar_one() == 2
    assert {r.status for r in js.import_addresses(session, system, path)} == {"duplicate", "rejected"}


# ------------------------------------------------------------------------------------------ CLI

def _cli(data_dir: Path, *args: str) -> CliRun:
    env = {**os.environ, "FANGKONG_DATA_DIR": str(data_dir), "LANG": "en_US.UTF-8"}
    env.pop("FANGKONG_DATABASE_URL", None)
    return run_cli(*args, env=env)


def test_cli_import_export_tree_match(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _cli(data, "init", "--mode", "test").returncode == 0
    units = tmp_path / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    r = _cli(data, "import", "units", str(units), "--report", str(tmp_path / "rep.csv"))
    assert r.returncode == 0, r.stderr
    assert "11 rows: 5 accepted, 1 duplicate, 5 rejected" in r.stderr
    with (tmp_path / "rep.csv").open(encoding="utf-8-sig") as fh:
        assert next(csv.reader(fh))[:4] == ["row", "status", "person_id", "issues"]
    assert _cli(data, "import", "units", str(tmp_path / "missing.csv")).returncode == 1
    addrs = tmp_path / "a.csv"
    addrs.write_text("address,grid_code\n幸福路12号3栋2单元301室,D9G1\n", encoding="utf-8")
    assert _cli(data, "import", "addresses", str(addrs)).returncode == 0
    r = _cli(data, "address", "match", "常州市幸福路12号3幢2单元301", "幸福路12号3栋2单元302", "无名路1号")
    lines = r.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["text", "key", "grid_code"]
    assert lines[1].split("\t")[1:3] == ["幸福路12号3栋2单元301室", "D9G1"]
    assert lines[2].endswith("room not in gazetteer; placed by building")
    assert lines[3].endswith("address not in gazetteer")
    r = _cli(data, "units", "tree", "--root", "D9", "--depth", "1")
    assert r.stdout.splitlines() == ["D9\t新区\tdistrict", "  D9S1\t新街道\tstreet"]
    out = tmp_path / "out.csv"
    assert _cli(data, "export", "units", "--out", str(out)).returncode == 0
    assert "D9S1C1,新社区,community,D9S1" in out.read_text(encoding="utf-8-sig")


def test_import_units_as_a_district_stays_in_its_subtree(session: Session, tree: Tree, tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("code,name,level,parent_code\n"
                    "T1A9,新镇,street,T1\n"      # under the actor's own district: fine
                    "T1B,牛塘镇,street,T1\n"     # already there
                    "NEWD,外区,district,\n"      # would hang off the root the actor cannot see
                    "T1A1,x,community,T1A\n", encoding="utf-8")
    report = js.import_units(session, actor_at(tree.district, "district"), path)
    assert [r.status for r in report] == ["accepted", "duplicate", "rejected", "rejected"]
    assert report[2].issues == ["parent_code: required"]
    with pytest.raises(PermissionDenied):
        js.import_units(session, actor_at(tree.street_a, "street"), path)
