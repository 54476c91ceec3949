"""The bulk import path (`import_leads_file` in chunks): the same answers whatever the chunk size, rows
of one file resolving against each other across chunks, duplicates within the file and a second
import of the same file storing nothing, one audit entry per chunk naming every lead."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from intake_factories import NOW, Tree, actor_at, make_id
from sqlalchemy import func, select

from fangkong.intake.models import Lead
from fangkong.intake.service.ingest import import_leads_file
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.audit.service import expand_ids
from fangkong.kernel.people.models import Person
from fangkong.kernel.tasks.models import Task
from fangkong.settings import reset_settings_cache

ID_A, ID_B, ID_C = make_id(seq="311"), make_id(born="19620304", seq="422"), make_id(born="19991231", seq="533")
HEADER = ["编号", "姓名", "身份证号", "手机号", "来源地", "现住址"]
ROWS = [
    ["R1", "张三", ID_A, "13812340001", "上海市浦东新区", "幸福路1号"],
    ["R2", "李四", "", "13812340002", "", "幸福路2号"],          # new person by phone
    ["R3", "王五", ID_B, "", "北京市朝阳区", ""],
    ["R4", "李四", "", "13812340002", "", ""],                  # 李四 again (row 2's person): phone + name
    ["R5", "張三", ID_A, "", "", ""],                            # 张三 by ID (traditional name)
    ["R1", "张三", ID_A, "13812340001", "上海市浦东新区", "幸福路1号"],  # row 1 again: a duplicate
    ["R6", "赵六", ID_C, "13812340003", "", ""],
    ["R7", "赵六", "", "13812340003", "", ""],                  # row 7's person by phone + name
    ["R8", "", "", "", "", ""],                                 # nothing to find anyone by
]


def _csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *ROWS])
    return path


@pytest.fixture
def tree(session):
    return Tree(session)


@pytest.fixture
def chunk_rows(monkeypatch):
    def use(n: int) -> None:
        monkeypatch.setenv("FANGKONG_IMPORT_CHUNK_ROWS", str(n))
        reset_settings_cache()

    yield use
    monkeypatch.delenv("FANGKONG_IMPORT_CHUNK_ROWS", raising=False)
    reset_settings_cache()


def _answer(result) -> list[tuple]:
    """Each row's status, rule and person, persons named by their first row (ids differ between runs)."""
    first_row: dict[int, int] = {}
    out = []
    for r in result.rows:
        person = first_row.setdefault(r.person_id, r.row) if r.person_id is not None else None
        out.append((r.row, r.status, r.extra.get("match_rule"), person))
    return out


def _counts(session) -> tuple[int, int, int]:
    return tuple(session.execute(select(func.count()).select_from(t)).scalar() for t in (Lead, Person, Task))


def test_the_answer_does_not_depend_on_the_chunk_size(session, tree, tmp_path, chunk_rows):
    f = _csv(tmp_path / "leads.csv")
    answers = []
    for size in (1000, 3, 1):
        chunk_rows(size)
        nested = session.begin_nested()
        try:
            with clock.frozen(NOW):
                answers.append(_answer(import_leads_file(session, actor_at(tree.root), f, channel="bigdata")))
        finally:
            nested.rollback()
    assert answers[0] == answers[1] == answers[2]
    assert answers[0] == [
        (2, "accepted", "new_person", 2), (3, "accepted", "new_person", 3), (4, "accepted", "new_person", 4),
        (5, "accepted", "phone_name", 3), (6, "accepted", "id_number", 2),
        # a stored row again: when its first copy is in an earlier chunk it is found stored, else in the batch
        (7, "duplicate", None, 2),
        (8, "accepted", "new_person", 8), (9, "accepted", "phone_name", 8),
        (10, "rejected", None, None),
    ]


def test_the_same_file_twice_is_stored_once(session, tree, tmp_path, chunk_rows):
    chunk_rows(3)
    f = _csv(tmp_path / "leads.csv")
    with clock.frozen(NOW):
        first = import_leads_file(session, actor_at(tree.root), f, channel="bigdata")
        stored = _counts(session)
        again = import_leads_file(session, actor_at(tree.root), f, channel="bigdata")
    assert _counts(session) == stored
    assert stored[0] == 7 and stored[2] == 7  # seven leads, each with its task
    assert [r.status for r in again.rows] == ["duplicate"] * 8 + ["rejected"]
    assert [r.person_id for r in again.rows] == [r.person_id for r in first.rows]
    assert [r.extra.get("lead_id") for r in again.rows] == [r.extra.get("lead_id") for r in first.rows]
    assert first.counts == {"accepted": 7, "duplicate": 1, "rejected": 1}


def test_one_audit_entry_per_chunk_names_every_lead(session, tree, tmp_path, chunk_rows):
    chunk_rows(4)
    f = _csv(tmp_path / "leads.csv")
    with clock.frozen(NOW):
        result = import_leads_file(session, actor_at(tree.root), f, channel="bigdata")
    entries = session.execute(select(AuditEvent).where(AuditEvent.action == "intake.leads_received")
                              .order_by(AuditEvent.id)).scalars().all()
    assert len(entries) == 3  # 9 rows in chunks of 4
    audited = [i for e in entries for i in expand_ids(e.detail["lead_ids"])]
    stored = sorted(session.execute(select(Lead.id)).scalars())
    assert sorted(audited) == stored
    assert {r.extra["lead_id"] for r in result.rows if r.status == "accepted"} == set(stored)
    assert sum(e.detail["rows"] for e in entries) == len(ROWS)
    created = session.execute(select(AuditEvent).where(AuditEvent.action == "person.registered")).scalars().all()
    assert sum(e.detail["count"] for e in created) == session.execute(select(func.count()).select_from(Person)).scalar()
