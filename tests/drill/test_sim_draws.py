"""The simulator's pure pieces (property tests): keyed draws do not depend on how many were drawn,
the weighted pick stays inside its group and follows the weights, groups split evenly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.drill.sim.draws import Draws
from fangkong.drill.sim.engine import _pick
from fangkong.drill.sim.world import _groups


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**63), n1=st.integers(1, 300), n2=st.integers(1, 300), day=st.integers(0, 400))
def test_a_persons_draw_depends_on_seed_component_person_and_day_only(seed: int, n1: int, n2: int, day: int) -> None:
    d = Draws(seed)
    k = min(n1, n2)
    assert np.array_equal(d.uniform("infect", n1, day)[:k], d.uniform("infect", n2, day)[:k])
    assert np.array_equal(d.normal("incubation", n1)[:k], d.normal("incubation", n2)[:k])
    assert np.array_equal(d.uniform("venue", n1, day, width=3)[:k], d.uniform("venue", n2, day, width=3)[:k])
    assert not np.array_equal(d.uniform("infect", n1, day), d.uniform("infect", n1, day + 1))
    assert not np.array_equal(d.uniform("infect", n1, day), d.uniform("setting", n1, day))
    assert not np.array_equal(d.uniform("infect", n1, day), Draws(seed + 1).uniform("infect", n1, day))


def test_normals_look_normal() -> None:
    z = Draws(3).normal("incubation", 200_000)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01


@settings(max_examples=60, deadline=None)
@given(groups=st.lists(st.integers(0, 5), min_size=1, max_size=40), data=st.data())
def test_the_pick_stays_in_its_group_and_skips_zero_weights(groups: list[int], data: st.DataObject) -> None:
    g = np.array(groups, dtype=np.int64)
    w = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=len(g), max_size=len(g))))
    target = np.array(data.draw(st.lists(st.integers(0, 6), min_size=1, max_size=10)), dtype=np.int64)
    u = np.array(data.draw(st.lists(st.floats(0, 0.999999), min_size=len(target), max_size=len(target))))
    pos = _pick(g, w, target, u)
    for t, p in zip(target.tolist(), pos.tolist(), strict=True):
        total = w[g == t].sum()
        if not (g == t).any():
            assert p == -1
        else:
            assert g[p] == t
            if total > 0:
                assert w[p] > 0


def test_the_pick_follows_the_weights() -> None:
    g = np.zeros(3, dtype=np.int64)
    w = np.array([1.0, 0.0, 3.0])
    u = (np.arange(10_000) + 0.5) / 10_000
    pos = _pick(g, w, np.zeros(len(u), dtype=np.int64), u)
    assert (pos == 0).sum() == 2500 and (pos == 2).sum() == 7500


@settings(max_examples=50, deadline=None)
@given(keys=st.lists(st.integers(-1, 4), min_size=1, max_size=200), size=st.integers(2, 30))
def test_groups_split_each_key_evenly(keys: list[int], size: int) -> None:
    k = np.array(keys, dtype=np.int64)
    out = _groups(k, size)
    assert ((out == -1) == (k == -1)).all()
    for key in set(keys) - {-1}:
        mine = out[k == key]
        sizes = np.bincount(mine - mine.min())
        sizes = sizes[sizes > 0]
        assert sizes.max() - sizes.min() <= 1  # balanced
        assert not set(mine.tolist()) & set(out[(k != key) & (k != -1)].tolist())  # groups never mix keys
