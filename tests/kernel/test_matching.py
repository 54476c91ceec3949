"""Person matching rules (pure): IDs, phones shared by families, typos on 2–3-character names."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.kernel.people.matching import Candidate, Probe, Registry, is_name_typo, name_similarity


@pytest.mark.parametrize(("a", "b", "typo"), [
    ("欧阳娜", "欧阳那", True),      # one character of a 3-char name
    ("王小明", "王晓明", True),
    ("张伟", "张纬", True),          # a typo by shape, but a 2-char name needs more corroboration
    ("张伟", "李伟", False),         # another surname: another person (a wife, a mother)
    ("张伟", "张伟伟", False),       # different length: not a typo (WRatio says 90 — a trap)
    ("王小明", "王大伟", False),     # two characters differ
    ("陈伟", "陈伟", False),         # equal is not a typo
    ("", "张伟", False),
])
def test_name_typo(a, b, typo):
    assert is_name_typo(a, b) is typo


def test_similarity_scorer_on_short_names():
    assert name_similarity("欧阳娜", "欧阳那") == pytest.approx(2 / 3)
    assert name_similarity("张伟", "张纬") == pytest.approx(0.5)


def _reg(*cands: Candidate) -> Registry:
    reg = Registry()
    for c in cands:
        reg.add(c)
    return reg


def test_id_number_first():
    reg = _reg(Candidate(1, "张三", id_bidx="A"), Candidate(2, "张三", phone_bidx="P"))
    m = reg.match(Probe(name_key="张三", id_bidx="A", phone_bidx="P"))
    assert (m.candidate.person_id, m.rule) == (1, "id_number")


def test_shared_phone_with_another_name_is_another_person():
    reg = _reg(Candidate(1, "张建国", phone_bidx="P"))
    assert reg.match(Probe(name_key="李秀英", phone_bidx="P")) is None


def test_phone_and_name_merge():
    reg = _reg(Candidate(1, "李秀英", phone_bidx="P"), Candidate(2, "张建国", phone_bidx="P"))
    m = reg.match(Probe(name_key="张建国", phone_bidx="P"))
    assert (m.candidate.person_id, m.rule) == (2, "phone_name")


def test_two_valid_ids_never_merge_even_with_phone_and_name():
    reg = _reg(Candidate(1, "张三", id_bidx="A", phone_bidx="P"))
    assert reg.match(Probe(name_key="张三", id_bidx="B", phone_bidx="P")) is None


def test_typo_with_phone_merges_for_three_char_names_only():
    reg = _reg(Candidate(1, "欧阳娜", phone_bidx="P"), Candidate(2, "张伟", phone_bidx="Q"))
    m = reg.match(Probe(name_key="欧阳那", phone_bidx="P"))
    assert (m.candidate.person_id, m.rule, m.because) == (1, "fuzzy_name", ("phone",))
    # 张国 / 张伟 on one phone are father and son more often than a typo
    assert reg.match(Probe(name_key="张纬", phone_bidx="Q")) is None


def test_two_char_typo_with_phone_and_birth_date_merges():
    born = dt.date(1980, 5, 1)
    reg = _reg(Candidate(2, "张伟", phone_bidx="Q", birth_date=born))
    m = reg.match(Probe(name_key="张纬", phone_bidx="Q", birth_date=born))
    assert m is not None and m.rule == "fuzzy_name" and set(m.because) == {"phone", "birth_date"}


def test_name_and_address_on_the_same_grid():
    reg = _reg(Candidate(1, "王伟", unit_id=7, address_text="幸福路12号3幢2单元301室"))
    m = reg.match(Probe(name_key="王伟", unit_id=7, address_text="幸福路12号3栋2单元301"))
    assert (m.candidate.person_id, m.rule) == (1, "name_address")
    # the same name elsewhere, or the same address on another grid: no
    assert reg.match(Probe(name_key="王伟", unit_id=7, address_text="和平路1号")) is None
    assert reg.match(Probe(name_key="王伟", unit_id=8, address_text="幸福路12号3幢2单元301室")) is None


def test_a_name_alone_never_merges():
    reg = _reg(Candidate(1, "王伟", unit_id=1))
    assert reg.match(Probe(name_key="王伟")) is None
    assert reg.match(Probe(name_key="王伟", unit_id=1)) is None


def test_phone_only_probe():
    reg = _reg(Candidate(1, "张三", phone_bidx="P"))
    assert reg.match(Probe(phone_bidx="P")).rule == "phone"
    reg.add(Candidate(2, "李四", phone_bidx="P"))
    assert reg.match(Probe(phone_bidx="P")) is None  # ambiguous: attach to none


names = st.text(alphabet="王李张陈刘伟芳娜明华", min_size=2, max_size=3)


@given(a=names, b=names, phone=st.booleans(), id_a=st.sampled_from(["A", "B", None]),
       id_b=st.sampled_from(["A", "B", None]))
def test_different_valid_ids_never_merge(a, b, phone, id_a, id_b):
    reg = _reg(Candidate(1, a, id_bidx=id_a, phone_bidx="P" if phone else None))
    m = reg.match(Probe(name_key=b, id_bidx=id_b, phone_bidx="P" if phone else None))
    if id_a and id_b and id_a != id_b:
        assert m is None
    if m is not None and m.rule != "id_number":
        assert m.candidate.name_key == b or is_name_typo(a, b)


@given(a=names, b=names)
def test_typo_is_symmetric(a, b):
    assert is_name_typo(a, b) == is_name_typo(b, a)
