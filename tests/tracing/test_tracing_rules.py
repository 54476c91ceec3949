"""Pure tracing rules: the look-back window, contact routes, node status, clusters and loops."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.tracing import rules

UTC = dt.UTC
T = dt.datetime(2022, 4, 18, 4, 0, tzinfo=UTC)


def test_window_starts_four_days_before_onset_or_sampling() -> None:
    onset, sampled = T - dt.timedelta(days=1), T
    w = rules.tracing_window(classification="confirmed", onset_at=onset, sampled_at=sampled, isolated_at=None,
                             now=T + dt.timedelta(hours=5), days=4)
    assert w == (onset - dt.timedelta(days=4), T + dt.timedelta(hours=5))
    # asymptomatic: from sampling, whatever an onset field says; until isolation when known
    w = rules.tracing_window(classification="asymptomatic", onset_at=onset, sampled_at=sampled,
                             isolated_at=T + dt.timedelta(hours=2), now=T + dt.timedelta(days=3), days=4)
    assert w == (sampled - dt.timedelta(days=4), T + dt.timedelta(hours=2))
    # a confirmed case without onset: sampling; nothing at all: no window
    assert rules.window_anchor("confirmed", None, sampled) == sampled
    assert rules.tracing_window(classification="confirmed", onset_at=None, sampled_at=None, isolated_at=None,
                                now=T, days=4) is None


def test_lookback_days_come_from_the_pack() -> None:
    from importlib.resources import files

    from fangkong.kernel.policy.service import parse_pack

    text = files("fangkong.policy_packs").joinpath("default.yaml").read_text(encoding="utf-8")
    assert rules.lookback_days(parse_pack(text)) == (4, "tracing.lookback_days")  # 第九版: 4 days
    edited = parse_pack(text.replace("lookback_days: 4", "lookback_days: 7"))
    assert rules.lookback_days(edited) == (7, "tracing.lookback_days")


@pytest.mark.parametrize(("kind", "expected"), [
    ("household", ("close", "tracing", "close_contact")),
    ("named", ("close", "tracing", "close_contact")),
    ("colocation", ("colocation", "colocation", "colocation")),
    ("secondary", ("secondary", "tracing", "secondary_contact")),
])
def test_routes(kind: str, expected: tuple[str, str, str]) -> None:
    assert rules.route(kind) == expected


def test_contact_status_follows_the_control_status() -> None:
    from fangkong.control.rules import ControlStatus

    assert rules.contact_status("close", None) == "uncontrolled"
    assert rules.contact_status("close", ControlStatus(1, T)) == "uncontrolled"
    assert rules.contact_status("close", ControlStatus(1, T, kind="centralised_quarantine")) == "close_controlled"
    assert rules.contact_status("secondary", ControlStatus(1, T, kind="home_quarantine")) == "secondary"


def _brute_components(nodes: set[int], links: list[tuple[int, int]]) -> list[list[int]]:
    """Reachability by repeated relaxation: slow, obviously right."""
    comp = {n: {n} for n in nodes}
    changed = True
    while changed:
        changed = False
        for a, b in links:
            merged = comp[a] | comp[b]
            if merged != comp[a] or merged != comp[b]:
                for n in merged:
                    comp[n] = merged
                changed = True
    return sorted({tuple(sorted(c)) for c in comp.values()}, key=lambda c: c[0])  # type: ignore[return-value]


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=40), st.sets(st.integers(0, 30)))
def test_clusters_are_the_connected_components(links: list[tuple[int, int]], extra: set[int]) -> None:
    nodes = extra | {a for a, _ in links} | {b for _, b in links}
    got = rules.clusters(sorted(extra), links)
    assert [tuple(g) for g in got] == _brute_components(nodes, links)
    assert sorted(n for g in got for n in g) == sorted(nodes)  # a partition


@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=25), st.integers(0, 12),
       st.integers(0, 12))
def test_would_cycle_matches_reachability(links: list[tuple[int, int]], a: int, b: int) -> None:
    adj: dict[int, set[int]] = {}
    for x, y in links:
        adj.setdefault(x, set()).add(y)
    reach, frontier = {b}, [b]
    while frontier:
        for nxt in adj.get(frontier.pop(), ()):
            if nxt not in reach:
                reach.add(nxt)
                frontier.append(nxt)
    assert rules.would_cycle(links, a, b) == (a == b or a in reach)


def test_secondary_release_rule() -> None:
    import datetime as dt

    from fangkong.tracing.rules import Release, secondary_release

    due = dt.datetime(2022, 4, 25, 12, tzinfo=dt.UTC)
    before, after = due - dt.timedelta(hours=1), due
    assert secondary_release(close_results=["negative", "negative"], needed=2, due_at=due, now=after) == Release(
        "release", "secondary.close_contact_negatives")
    assert secondary_release(close_results=["negative", "negative", "positive"], needed=2, due_at=due,
                             now=before).action == "wait"
    for results in ([], ["negative"], ["negative", None], [None, "negative"]):
        assert secondary_release(close_results=results, needed=2, due_at=due, now=after) == Release(
            "hold", "secondary.close_contact_tests_pending")
    assert secondary_release(close_results=["positive"], needed=2, due_at=due, now=after).rule == \
        "secondary.close_contact_positive"
    assert secondary_release(close_results=[], needed=0, due_at=due, now=after).action == "release"
    assert secondary_release(close_results=[], needed=2, due_at=due, now=after, close_dropped=True).action == "release"
    assert secondary_release(close_results=[], needed=2, due_at=due, now=before, close_dropped=True).action == "wait"
