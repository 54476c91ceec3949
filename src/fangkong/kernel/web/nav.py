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


_ITEMS: dict[str, NavItem] = {}


def register_nav(code: str, label_msgid: str, url: str, permission: str | None = None, order: int = 100) -> None:
    """Add (or replace) a menu entry. Capabilities call this at import time of their routes module."""
    _ITEMS[code] = NavItem(code, label_msgid, url, permission, order)


def nav_for(actor: Actor | None) -> list[NavItem]:
    """The entries this actor may see, in order (none when nobody is signed in)."""
    if actor is None:
        return []
    items = [i for i in _ITEMS.values() if i.permission is None or actor.can(i.permission)]
    return sorted(items, key=lambda i: (i.order, i.code))


def _gettext_noop(message: str) -> str:
    """Marks a msgid for extraction; the label is translated when the page is rendered."""
    return message


N_ = _gettext_noop

register_nav("home", N_("Home"), "/", None, 0)
register_nav("tasks", N_("Tasks"), "/tasks", "task.view", 10)
register_nav("persons", N_("Persons"), "/persons", "person.view", 20)
register_nav("units", N_("Jurisdictions"), "/units", "unit.view", 30)
register_nav("places", N_("Places"), "/places", "place.view", 40)
register_nav("audit", N_("Audit"), "/audit", "audit.view", 90)
register_nav("jobs", N_("Scheduled jobs"), "/jobs", "job.view", 95)


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
