"""The menu bar: every entry for an actor with few, sections (drop-downs) for one with many."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from fangkong.app import _include_capabilities
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.roles import MATRIX
from fangkong.kernel.web import nav


@pytest.fixture(scope="module", autouse=True)
def _every_capability_registered() -> None:
    _include_capabilities(FastAPI())  # imports each capability's routes, which register their menu entries


def _actor(role: str) -> Actor:
    return Actor(user_id=1, username=role, role=role, unit_id=1, unit_path="/1/",
                 permissions=frozenset(MATRIX[role]))


def test_every_entry_has_a_known_section_or_none() -> None:
    for item in nav._ITEMS.values():
        assert item.group is None or item.group in nav.NAV_GROUPS, item
    with pytest.raises(ValueError, match="unknown menu section"):
        nav.register_nav("x", "X", "/x", None, 1, group="nowhere")


def test_a_short_menu_stays_flat_and_a_long_one_is_sectioned() -> None:
    admin = _actor("admin")
    flat = nav.nav_for(admin)
    assert len(flat) > nav.GROUP_ABOVE  # the case the sections exist for
    menu = nav.nav_menu_for(admin)
    assert len(menu) <= 10, [e.group or e.item for e in menu]
    # nothing lost, nothing twice, and every section keeps its entries' order
    listed = [i for e in menu for i in ((e.item,) if e.item else e.items)]
    assert sorted(i.code for i in listed) == sorted(i.code for i in flat)
    assert all(list(e.items) == sorted(e.items, key=lambda i: (i.order, i.code)) for e in menu if e.group)
    assert menu[0].item is not None and menu[0].item.code == "home"
    # the same actor with a higher threshold gets every entry flat, in order
    assert [e.item for e in nav.nav_menu_for(admin, group_above=1000)] == flat


def test_a_section_of_one_entry_is_shown_as_the_entry() -> None:
    actor = _actor("grid")
    entries = nav.nav_for(actor)
    menu = nav.nav_menu_for(actor, group_above=0)
    for e in menu:
        assert e.item is not None or len(e.items) >= 2
    assert sum(1 if e.item else len(e.items) for e in menu) == len(entries)
