"""Pure tracing decisions (流调规则): the look-back window, contact tiers, node status and clusters.

No session, no clock: callers pass the times and the pack's numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol

#: contact kind → (tier, intake channel, intake category)
KIND_ROUTES: dict[str, tuple[str, str, str]] = {
    "household": ("close", "tracing", "close_contact"),
    "workplace": ("close", "tracing", "close_contact"),
    "named": ("close", "tracing", "close_contact"),
    "colocation": ("close", "colocation", "colocation"),
    "secondary": ("secondary", "tracing", "secondary_contact"),
}


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
    """The graph colour of a contact: `close_controlled`, `secondary` (under measure) or `uncontrolled`,
    from the person's one control status (not from the clocks of this case's lead: a person already
    under a measure started elsewhere is under control here too)."""
    if control is None or not control.under_control:
        return "uncontrolled"
    return "secondary" if tier == "secondary" else "close_controlled"


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
