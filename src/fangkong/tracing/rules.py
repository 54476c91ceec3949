"""Pure tracing decisions (流调规则): the look-back window, contact tiers, node status, clusters, the
secondary contacts' exposure window and their release.

No session, no clock: callers pass the times and the pack's numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: contact kind → (tier, intake channel, intake category). A venue co-visitor (场所同时段人员) is a risk
#: person with the `colocation` category (3天2检 by default), not a close contact, until an
#: epidemiologist upgrades them (`UPGRADE_ROUTE`).
KIND_ROUTES: dict[str, tuple[str, str, str]] = {
    "household": ("close", "tracing", "close_contact"),
    "workplace": ("close", "tracing", "close_contact"),
    "named": ("close", "tracing", "close_contact"),
    "colocation": ("colocation", "colocation", "colocation"),
    "secondary": ("secondary", "tracing", "secondary_contact"),
    "promoted": ("close", "tracing", "close_contact"),
}
#: a co-visitor upgraded by an epidemiologist, a secondary contact whose close contact turned positive
UPGRADE_ROUTE: tuple[str, str, str] = ("close", "tracing", "close_contact")


def lookback_days(pack: Any) -> tuple[int, str]:
    """The look-back days (policy data) and the rule that names them."""
    return pack.tracing.lookback_days, "tracing.lookback_days"


def window_anchor(classification: str, onset_at: dt.datetime | None,
                  sampled_at: dt.datetime | None) -> dt.datetime | None:
    """Onset for a confirmed case that has one; sampling otherwise (asymptomatic, or onset unknown)."""
    if classification == "confirmed" and onset_at is not None:
        return onset_at
    return sampled_at if sampled_at is not None else onset_at


def tracing_window(*, classification: str, onset_at: dt.datetime | None, sampled_at: dt.datetime | None,
                   isolated_at: dt.datetime | None, now: dt.datetime, days: int
                   ) -> tuple[dt.datetime, dt.datetime] | None:
    """[start, end] of the period whose contacts count (追溯时段): from `days` days before the anchor
    until isolation (or now). None when the case has neither onset nor sampling time."""
    anchor = window_anchor(classification, onset_at, sampled_at)
    if anchor is None:
        return None
    start = anchor - dt.timedelta(days=days)
    end = isolated_at if isolated_at is not None else now
    return start, max(start, end)


def route(kind: str) -> tuple[str, str, str]:
    """(tier, channel, category) of a contact kind; KeyError for an unknown kind."""
    return KIND_ROUTES[kind]


class UnderControl(Protocol):
    """A person's control status as control's service gives it (only `under_control` is read here)."""

    @property
    def under_control(self) -> bool: ...


def contact_status(tier: str, control: UnderControl | None) -> str:
    """The graph colour of a contact: `close_controlled`, `secondary` or `colocation` (under measure), or
    `uncontrolled`, from the person's one control status (not from the clocks of this case's lead: a
    person already under a measure started elsewhere is under control here too)."""
    if control is None or not control.under_control:
        return "uncontrolled"
    return {"secondary": "secondary", "colocation": "colocation"}.get(tier, "close_controlled")


def exposure_window(*, first_contact_at: dt.datetime, controlled_at: dt.datetime | None,
                    now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """When a secondary contact can have caught it from the close contact (9th edition: from the close
    contact's first contact with the case until the close contact was controlled; not yet controlled:
    until now)."""
    end = controlled_at if controlled_at is not None else now
    return first_contact_at, max(first_contact_at, end)


def in_window(at: dt.datetime, window: tuple[dt.datetime, dt.datetime]) -> bool:
    """Inclusive at both ends."""
    return window[0] <= at <= window[1]


@dataclass(frozen=True)
class Release:
    """What to do with a secondary contact's measure: `release` (end it now), `hold` (keep it in force
    past its planned end) or `wait` (nothing yet); `rule` names why."""

    action: str
    rule: str


def secondary_release(*, close_results: Sequence[str | None], needed: int, due_at: dt.datetime,
                      now: dt.datetime, close_dropped: bool = False) -> Release:
    """The 9th edition's release of a secondary contact (密接的密接解除): at the end of their measure
    (`due_at`, day 7) only when the close contact's first `needed` tests under their own measure were
    all negative (`close_results`, oldest first; None = result pending). Until then the measure is
    held; a positive among them holds it too (the close contact's case promotes the secondary contact).
    `close_dropped`: the close contact's lead was closed without a measure here (a false lead, or
    controlled elsewhere): their tests cannot be followed, so the measure simply runs to its end."""
    if close_dropped:
        return Release("release" if now >= due_at else "wait", "secondary.close_contact_closed")
    firsts = list(close_results[:needed])
    if any(r == "positive" for r in firsts):
        return Release("hold", "secondary.close_contact_positive")
    if len(firsts) < needed or any(r != "negative" for r in firsts):
        return Release("hold", "secondary.close_contact_tests_pending")
    if now >= due_at:
        return Release("release", "secondary.close_contact_negatives")
    return Release("wait", "secondary.close_contact_negatives")


def clusters(nodes: Iterable[int], links: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components (聚集性疫情) of the case graph, links taken as undirected; each component
    sorted, components ordered by their smallest case. A plain union-find: the graphs are small (cases
    of one city), and networkx is not a dependency."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for n in nodes:
        find(n)
    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for n in list(parent):
        groups.setdefault(find(n), []).append(n)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def would_cycle(links: Iterable[tuple[int, int]], source: int, target: int) -> bool:
    """True when adding source → target closes a loop (target already leads to source) or is a self-link."""
    if source == target:
        return True
    adj: dict[int, list[int]] = {}
    for a, b in links:
        adj.setdefault(a, []).append(b)
    seen, stack = {target}, [target]
    while stack:
        for nxt in adj.get(stack.pop(), ()):
            if nxt == source:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False
