"""Resolution against the stored registry (即知): merges, non-merges, enrichment, and undoing a merge."""

from __future__ import annotations

import pytest
from intake_factories import NOW, Tree, actor_at, make_id
from sqlalchemy import select

from fangkong.intake.models import Lead
from fangkong.intake.service import LeadItem, ingest_leads, split_person
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.errors import ValidationFailed
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.models import Person

ID_A, ID_B = make_id(seq="101"), make_id(born="19800101", seq="202")


@pytest.fixture
def tree(session):
    return Tree(session)


def _one(session, tree, channel="bigdata", **values):
    with clock.frozen(NOW):
        res = ingest_leads(session, actor_at(tree.root), channel=channel, items=[LeadItem(1, values)])
    return res.rows[0]


def test_shared_phone_different_names_are_two_persons(session, tree):
    son = _one(session, tree, name="张建国", phone="13812345678")
    mother = _one(session, tree, name="李秀英", phone="13812345678", channel="community")
    assert son.person_id != mother.person_id
    assert mother.extra["match_rule"] == "new_person"


def test_two_valid_ids_never_merge(session, tree):
    a = _one(session, tree, name="王伟", id_number=ID_A, phone="13812345678")
    b = _one(session, tree, name="王伟", id_number=ID_B, phone="13812345678", channel="telecom")
    assert a.person_id != b.person_id


def test_typo_name_with_same_phone_merges(session, tree):
    a = _one(session, tree, name="欧阳娜", phone="13812345678")
    b = _one(session, tree, name="歐陽那", phone="138 1234 5678", channel="community")
    assert b.person_id == a.person_id and b.extra["match_rule"] == "fuzzy_name"


def test_traditional_and_full_width_name_is_an_exact_match(session, tree):
    a = _one(session, tree, name="陈伟", phone="13812345678")
    b = _one(session, tree, name="陳　偉", phone="１３８１２３４５６７８", channel="community")
    assert b.person_id == a.person_id and b.extra["match_rule"] == "phone_name"


def test_name_and_address_on_the_same_grid(session, tree):
    a = _one(session, tree, name="赵六", address="幸福路12号3幢2单元301室")
    b = _one(session, tree, name="趙六", address="江苏省常州市武进区幸福路12号3栋2单元301", channel="community")
    c = _one(session, tree, name="赵六", address="和平路8号1幢1单元101室", channel="telecom")
    assert b.person_id == a.person_id and b.extra["match_rule"] == "name_address"
    assert c.person_id != a.person_id


def test_lead_resolves_to_a_person_registered_elsewhere_and_fills_gaps(session, tree, system):
    person = people_service.register_person(session, system, name="孙七", phone="13900001111")
    row = _one(session, tree, name="孙七", phone="13900001111", id_number=ID_A)
    assert row.person_id == person.id and row.extra["match_rule"] == "phone_name"
    session.expire_all()
    assert session.get(Person, person.id).id_number_masked.startswith(ID_A[:6])
    # the ID the lead brought now finds the person directly
    again = _one(session, tree, name="孙七", id_number=ID_A, channel="telecom")
    assert (again.person_id, again.extra["match_rule"]) == (person.id, "id_number")


def test_a_person_shows_every_channel_that_reported_them(session, tree):
    for ch in ("bigdata", "telecom", "community"):
        _one(session, tree, channel=ch, name="张三", id_number=ID_A)
    pid = session.execute(select(Person.id).where(Person.name == "张三")).scalar_one()
    channels = sorted(session.execute(select(Lead.channel).where(Lead.person_id == pid)).scalars())
    assert channels == ["bigdata", "community", "telecom"]


def test_split_a_wrong_merge(session, tree):
    a = _one(session, tree, name="欧阳娜", phone="13812345678", id_number=ID_A)
    b = _one(session, tree, name="欧阳那", phone="13812345678", channel="community", id_number="")
    assert a.person_id == b.person_id
    actor = actor_at(tree.root)
    new = split_person(session, actor, person_id=a.person_id, lead_ids=[b.extra["lead_id"]])
    assert new.id != a.person_id and new.name == "欧阳那" and new.phone_masked == "138****5678"
    assert session.get(Lead, b.extra["lead_id"]).person_id == new.id
    assert session.get(Lead, b.extra["lead_id"]).match_rule == "split"
    ev = session.execute(select(AuditEvent).where(AuditEvent.action == "person.split")).scalars().one()
    assert ev.detail["new_person_id"] == new.id
    with pytest.raises(ValidationFailed):  # all the person's leads: nothing would stay
        split_person(session, actor, person_id=new.id, lead_ids=[b.extra["lead_id"]])


def test_split_refuses_leads_sharing_the_valid_id(session, tree):
    a = _one(session, tree, name="张三", id_number=ID_A)
    b = _one(session, tree, name="张三", id_number=ID_A, channel="community")
    with pytest.raises(ValidationFailed):
        split_person(session, actor_at(tree.root), person_id=a.person_id, lead_ids=[b.extra["lead_id"]])


def test_split_outside_jurisdiction_is_not_found(session, tree):
    from fangkong.kernel.errors import NotFound

    a = _one(session, tree, name="张三", id_number=ID_A, address="幸福路12号3幢2单元301室")
    _one(session, tree, name="张三", id_number=ID_A, channel="community")
    with pytest.raises(NotFound):
        split_person(session, actor_at(tree.grid2), person_id=a.person_id, lead_ids=[1])


def test_rows_of_one_batch_resolve_against_each_other(session, tree):
    with clock.frozen(NOW):
        res = ingest_leads(session, actor_at(tree.root), channel="bigdata", items=[
            LeadItem(1, {"name": "周八", "phone": "13912345678", "source_ref": "R1"}),
            LeadItem(2, {"name": "周八", "phone": "13912345678", "id_number": ID_B, "source_ref": "R2"}),
            LeadItem(3, {"name": "周八", "id_number": ID_B, "source_ref": "R3"}),
            LeadItem(4, {"name": "吴九", "phone": "13912345678", "source_ref": "R4"}),
        ])
    a, b, c, d = res.rows
    assert a.person_id == b.person_id == c.person_id != d.person_id
    assert [r.extra["match_rule"] for r in res.rows] == ["new_person", "phone_name", "id_number", "new_person"]
    person = session.get(Person, a.person_id)
    assert person.id_number_valid and person.id_number_masked.endswith(ID_B[-4:])
