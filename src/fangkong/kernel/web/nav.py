"""The navigation registry (导航): each area registers its menu entry once; the page header shows the
entries whose permission the actor holds, in `order`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fangkong.kernel.auth.actor import Actor


@dataclass(frozen=True)
class NavItem:
    code: str
    #: English message id, translated at render time
    label_msgid: str
    url: str
    #: permission needed to see the entry; None = every signed-in user
    permission: str | None
    order: int
    #: the menu section it sits in (see `NAV_GROUPS`); None = always on the bar itself
    group: str | None = None


@dataclass(frozen=True)
class NavGroup:
    """A section of the menu: when an actor sees many entries, each section becomes one drop-down."""

    code: str
    label_msgid: str
    order: int


@dataclass(frozen=True)
class NavMenuEntry:
    """One place on the bar: a plain entry, or a section holding entries."""

    item: NavItem | None = None
    group: NavGroup | None = None
    items: tuple[NavItem, ...] = ()


_ITEMS: dict[str, NavItem] = {}

#: Above this many entries the bar shows sections (drop-downs) instead of every entry: a grid worker
#: keeps a flat bar of a few links, an administrator's ~40 entries no longer fill three rows.
GROUP_ABOVE = 10


def register_nav(code: str, label_msgid: str, url: str, permission: str | None = None, order: int = 100,
                 group: str | None = None) -> None:
    """Add (or replace) a menu entry. Capabilities call this at import time of their routes module.

    `group` names one of `NAV_GROUPS` (the menu's sections, which are the kernel's: command, people,
    testing, places, control, surveillance, system)."""
    if group is not None and group not in NAV_GROUPS:
        raise ValueError(f"unknown menu section {group!r}; one of {sorted(NAV_GROUPS)}")
    _ITEMS[code] = NavItem(code, label_msgid, url, permission, order, group)


def nav_for(actor: Actor | None) -> list[NavItem]:
    """The entries this actor may see, in order (none when nobody is signed in)."""
    if actor is None:
        return []
    items = [i for i in _ITEMS.values() if i.permission is None or actor.can(i.permission)]
    return sorted(items, key=lambda i: (i.order, i.code))


def nav_menu_for(actor: Actor | None, group_above: int = GROUP_ABOVE) -> list[NavMenuEntry]:
    """The bar for this actor: every entry when there are few; otherwise the ungrouped entries and one
    drop-down per section, each in the order of its first entry (a section of one entry stays flat)."""
    items = nav_for(actor)
    if len(items) <= group_above:
        return [NavMenuEntry(item=i) for i in items]
    by_group: dict[str, list[NavItem]] = {}
    for i in items:
        if i.group is not None:
            by_group.setdefault(i.group, []).append(i)
    placed: set[str] = set()
    menu: list[tuple[tuple[int, int], NavMenuEntry]] = []
    for i in items:
        if i.group is None or len(by_group[i.group]) == 1:
            menu.append(((i.order, 0), NavMenuEntry(item=i)))
        elif i.group not in placed:
            placed.add(i.group)
            g = NAV_GROUPS[i.group]
            menu.append(((g.order, 1), NavMenuEntry(group=g, items=tuple(by_group[i.group]))))
    return [entry for _, entry in sorted(menu, key=lambda e: e[0])]


def _gettext_noop(message: str) -> str:
    """Marks a msgid for extraction; the label is translated when the page is rendered."""
    return message


N_ = _gettext_noop

#: The menu's sections, in the order they stand on the bar (entries without a section sort among
#: them by their own order).
NAV_GROUPS: dict[str, NavGroup] = {g.code: g for g in (
    NavGroup("command", N_("Command"), 5),
    NavGroup("people", N_("Leads and persons"), 12),
    NavGroup("testing", N_("Testing"), 50),
    NavGroup("places", N_("Venues and checkpoints"), 51),
    NavGroup("control", N_("Control measures"), 53),
    NavGroup("surveillance", N_("Surveillance"), 60),
    NavGroup("system", N_("System"), 90),
)}

register_nav("home", N_("Home"), "/", None, 0)
register_nav("tasks", N_("Tasks"), "/tasks", "task.view", 10)
register_nav("persons", N_("Persons"), "/persons", "person.view", 20, group="people")
register_nav("units", N_("Jurisdictions"), "/units", "unit.view", 30, group="system")
register_nav("places", N_("Places"), "/places", "place.view", 40, group="places")
register_nav("audit", N_("Audit"), "/audit", "audit.view", 90, group="system")
register_nav("jobs", N_("Scheduled jobs"), "/jobs", "job.view", 95, group="system")


@dataclass(frozen=True)
class PersonSection:
    """A section of the person page that a capability fills (leads, tests, cases …), loaded by HTMX."""

    code: str
    url: str  # with {person_id}
    permission: str | None = None
    order: int = 100


_PERSON_SECTIONS: dict[str, PersonSection] = {}


def register_person_section(code: str, url: str, permission: str | None = None, order: int = 100) -> None:
    """Let the kernel's person page load `url` (e.g. "/persons/{person_id}/leads") as a section."""
    _PERSON_SECTIONS[code] = PersonSection(code, url, permission, order)


def person_sections_for(actor: Actor | None, person_id: int) -> list[str]:
    """The section URLs this actor may load for a person, in order."""
    if actor is None:
        return []
    return [s.url.format(person_id=person_id)
            for s in sorted(_PERSON_SECTIONS.values(), key=lambda s: (s.order, s.code))
            if s.permission is None or actor.can(s.permission)]


#: (request, session, actor) → the response of this actor's home page, or None to leave it to others
HomeChooser = Callable[[Any, Any, Actor], Any]
_HOMES: dict[str, tuple[int, HomeChooser]] = {}


def register_home(code: str, chooser: HomeChooser, order: int = 100) -> None:
    """Let a capability give some roles their own home page (首页): the kernel's `/` asks each chooser,
    in `order`, and renders the first answer; nobody answering keeps the kernel's own home."""
    _HOMES[code] = (order, chooser)


def home_for(request: Any, session: Any, actor: Actor) -> Any:
    """The first registered home page for this actor, or None."""
    for _order, chooser in sorted(_HOMES.values(), key=lambda oc: oc[0]):
        response = chooser(request, session, actor)
        if response is not None:
            return response
    return None
