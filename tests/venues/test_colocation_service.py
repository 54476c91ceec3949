"""Co-location through the service, on the real database: the answer equals a brute-force
computation over the stored scans, whether scans sit in index segments or in the tail."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from sqlalchemy import select
from venues_factories import NOW, units, user, venue

from fangkong.kernel import clock
from fangkong.kernel.errors import NotFound, PermissionDenied
from fangkong.kernel.people import service as people_service
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.venues.colocation import service as colocation_service
from fangkong.venues.colocation.service import CaseQuery, Stay
from fangkong.venues.colocation.store import ColocationIndex
from fangkong.venues.models import Scan
from fangkong.venues.service import scans as scans_service
from fangkong.venues.service import venues as venues_service
from fangkong.venues.service.scans import ScanItem

BASE = NOW - dt.timedelta(hours=6)


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


def phone(i: int) -> str:
    return f"139{i:08d}"


def add_scans(session, system, rows: list[tuple[int, int, int]], tag: str) -> None:
    """rows: (place id, person index, minutes after BASE) through the real recording path."""
    items = [ScanItem(k + 1, place_id=v, phone=phone(p), scanned_at=(BASE + dt.timedelta(minutes=m)).isoformat(),
                      request_id=f"{tag}-{k}") for k, (v, p, m) in enumerate(rows)]
    out = scans_service.record_scans(session, system, items=items, source="api")
    assert {r.status for r in out} == {"accepted"}


def brute(session, subject: int, since: dt.datetime, until: dt.datetime, window_min: int) -> list[tuple]:
    scans = session.execute(select(Scan.person_id, Scan.place_id, Scan.scanned_at)).all()
    out = []
    for sp, sv, st in scans:
        if sp != subject or not since <= st <= until:
            continue
        for cp, cv, ct in scans:
            if cv == sv and cp != subject and abs((ct - st).total_seconds()) <= window_min * 60:
                out.append((cp, sv, st, ct))
    return sorted(out)


def brute_overlap(session, subject: int, since: dt.datetime, until: dt.datetime) -> list[tuple]:
    """Pairs of overlapping stays: a scan lasts its venue category's dwell time (the active pack)."""
    pack = policy_service.active_pack(session)
    dwell = {pid: dt.timedelta(minutes=pack.venues.dwell(cat))
             for pid, cat in session.execute(select(Place.id, Place.category))}
    scans = session.execute(select(Scan.person_id, Scan.place_id, Scan.scanned_at)).all()
    out = []
    for sp, sv, st in scans:
        if sp != subject or not since <= st <= until:
            continue
        for cp, cv, ct in scans:
            if cv == sv and cp != subject and max(st, ct) <= min(st + dwell[sv], ct + dwell[cv]):
                out.append((cp, sv, st, ct))
    return sorted(out)


def got(pairs) -> list[tuple]:
    return sorted((p.person_id, p.venue_id, p.subject_scanned_at, p.covisitor_scanned_at) for p in pairs)


def person_id(session, i: int) -> int:
    return people_service.find_by_phone(session, phone(i))[0].id


def random_rows(rng: random.Random, venues: list[int], n: int, persons: int) -> list[tuple[int, int, int]]:
    # minutes on a coarse grid, so many co-visits fall exactly on the ±30 min edges
    return [(rng.choice(venues), rng.randrange(persons), rng.randrange(0, 300, 5)) for _ in range(n)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_answers_equal_brute_force_with_segments_and_tail(session, system, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    places = [venue(session, f"场所{i}", ref=f"S{seed}-{i}", category=cat).id
              for i, cat in enumerate(("mall", "market", "bank", "convenience_store"))]
    add_scans(session, system, random_rows(rng, places, 150, 25), "a")
    index = ColocationIndex(tmp_path)
    index.extend(session)  # the first 150 in a segment …
    add_scans(session, system, random_rows(rng, places, 60, 25), "b")
    index.extend(session)  # … 60 more in a second (merged or not) …
    add_scans(session, system, random_rows(rng, places, 40, 25), "c")  # … and 40 only in the tail
    since, until = BASE + dt.timedelta(minutes=30), BASE + dt.timedelta(minutes=240)
    for i in range(0, 25, 3):
        subject = person_id(session, i)
        for window in (30, 0, 7):
            pairs = colocation_service.colocated(session, system, person_id=subject, since=since, until=until,
                                                 window_min=window, index_dir=tmp_path)
            assert got(pairs) == brute(session, subject, since, until, window)
            assert all(p.person_id != subject for p in pairs)
            assert all(abs(p.gap_min) <= window for p in pairs)
        pairs = colocation_service.colocated(session, system, person_id=subject, since=since, until=until,
                                             index_dir=tmp_path)
        assert got(pairs) == brute_overlap(session, subject, since, until)


def test_the_symmetric_window_mode_edges_and_the_subjects_own_scans(session, system, tmp_path: Path) -> None:
    place = venue(session, ref="EDGE").id
    add_scans(session, system, [(place, 0, 60), (place, 0, 75),  # the subject, twice
                                (place, 1, 30), (place, 2, 90), (place, 3, 29), (place, 4, 106)], "e")
    # and one a second outside: 29:59 before the first visit
    scans_service.record_scans(session, system, source="api", items=[ScanItem(
        1, place_id=place, phone=phone(5), scanned_at=(BASE + dt.timedelta(minutes=30, seconds=-1)).isoformat())])
    subject = person_id(session, 0)
    pairs = colocation_service.colocated(session, system, person_id=subject, since=BASE, until=NOW,
                                         window_min=30, index_dir=tmp_path)
    by = [(p.person_id, p.gap_min) for p in pairs]
    p1, p2, _p3, _p4 = (person_id(session, i) for i in range(1, 5))
    # visit 60: p1 −30 (edge), p2 +30 (edge); visit 75: p2 +15, p4 +31 is out, p3 −46 out
    assert by == [(p1, -30.0), (p2, 30.0), (p2, 15.0)]
    assert pairs[0].venue_ref == "EDGE" and pairs[0].venue_name == "万达广场"
    assert pairs[0].row()[3] == clock.iso_local(BASE + dt.timedelta(minutes=60))


def test_a_batch_answers_each_case_like_single_queries(session, system, tmp_path: Path) -> None:
    rng = random.Random(9)
    places = [venue(session, f"场所{i}", ref=f"B-{i}").id for i in range(3)]
    add_scans(session, system, random_rows(rng, places, 120, 15), "x")
    ColocationIndex(tmp_path).extend(session)
    queries = [CaseQuery(person_id(session, i), BASE + dt.timedelta(minutes=10 * i), NOW) for i in range(6)]
    batch = colocation_service.colocated_batch(session, system, queries=queries, index_dir=tmp_path)
    for q, pairs in zip(queries, batch, strict=True):
        assert got(pairs) == got(colocation_service.colocated(session, system, person_id=q.person_id, since=q.since,
                                                              until=q.until, index_dir=tmp_path))


def test_scans_deleted_by_retention_are_not_co_visits(session, system, tmp_path: Path) -> None:
    place = venue(session, ref="RET").id
    cutoff = NOW - dt.timedelta(days=28)
    with clock.frozen(cutoff + dt.timedelta(minutes=10)):
        scans_service.record_scans(session, system, source="api", items=[
            ScanItem(1, place_id=place, phone=phone(0), scanned_at=(cutoff + dt.timedelta(minutes=5)).isoformat()),
            ScanItem(2, place_id=place, phone=phone(1), scanned_at=(cutoff - dt.timedelta(minutes=5)).isoformat()),
            ScanItem(3, place_id=place, phone=phone(2), scanned_at=(cutoff + dt.timedelta(minutes=6)).isoformat())])
    ColocationIndex(tmp_path).extend(session)  # the index holds all three …
    venues_service.purge_expired_scans(session, system)  # … the table no longer holds the old one
    pairs = colocation_service.colocated(session, system, person_id=person_id(session, 0), since=cutoff, until=NOW,
                                         index_dir=tmp_path)
    assert [p.person_id for p in pairs] == [person_id(session, 2)]


def test_a_stale_index_is_ignored_and_rebuilt(session, system, tmp_path: Path) -> None:
    index = ColocationIndex(tmp_path)
    place = venue(session, ref="ST").id
    add_scans(session, system, [(place, 0, 10), (place, 1, 20)], "s")
    index.extend(session)
    # another database's files in the same place: a watermark row that is not ours
    manifest = dict(index.manifest)
    manifest["fingerprint"] = [999, 1, 1]
    index._write_manifest(manifest)
    assert index.snapshot(session) == ([], 0)
    pairs = colocation_service.colocated(session, system, person_id=person_id(session, 0), since=BASE, until=NOW,
                                         index_dir=tmp_path)
    assert [p.person_id for p in pairs] == [person_id(session, 1)]  # answered from the tail
    assert index.extend(session).rebuilt


def test_queries_need_the_permission_and_a_subject_in_the_jurisdiction(session, tmp_path: Path) -> None:
    a, b = units(session)
    epi = user(session, "v_epi", "epidemiologist", a)
    viewer = user(session, "v_viewer", "viewer", a)
    other = people_service.register_person(session, user(session, "v_dist_b", "district", b), name="外区人",
                                           phone="13700000009")
    with pytest.raises(PermissionDenied):
        colocation_service.colocated(session, viewer, person_id=other.id, since=BASE, until=NOW, index_dir=tmp_path)
    with pytest.raises(NotFound):
        colocation_service.colocated(session, epi, person_id=other.id, since=BASE, until=NOW, index_dir=tmp_path)
    with pytest.raises(NotFound):
        colocation_service.resolve_subject(session, epi, phone="13700000009")


def test_stays_overlap_by_the_venue_categorys_dwell_time(session, system, tmp_path: Path) -> None:
    """Restaurant 120 min, office 480 min, market 60 min (the default pack): a restaurant co-visitor
    100 min later overlaps, an office one 7 h later overlaps, a market one 70 min later does not."""
    start = NOW - dt.timedelta(hours=10)
    restaurant = venue(session, "老王饭店", ref="DW-R", category="restaurant").id
    office = venue(session, "创业大厦", ref="DW-O", category="office").id
    market = venue(session, "花园菜市场", ref="DW-M", category="market").id

    def at(minutes: int) -> str:
        return (start + dt.timedelta(minutes=minutes)).isoformat()

    scans_service.record_scans(session, system, source="api", items=[
        ScanItem(k + 1, place_id=v, phone=phone(p), scanned_at=at(m)) for k, (v, p, m) in enumerate([
            (restaurant, 0, 0), (office, 0, 0), (market, 0, 0),  # the subject, at each
            (restaurant, 1, 100), (restaurant, 2, -121), (office, 3, 420), (market, 4, 70), (market, 5, -60)])])
    subject = person_id(session, 0)
    pairs = colocation_service.colocated(session, system, person_id=subject, since=start, until=NOW,
                                         index_dir=tmp_path)
    assert {(p.person_id, p.venue_ref, p.gap_min) for p in pairs} == {
        (person_id(session, 1), "DW-R", 100.0), (person_id(session, 3), "DW-O", 420.0),
        (person_id(session, 5), "DW-M", -60.0)}
    # the symmetric window mode is unchanged: ±30 min finds nobody here
    assert colocation_service.colocated(session, system, person_id=subject, since=start, until=NOW,
                                        window_min=30, index_dir=tmp_path) == []


def test_interview_stays_replace_the_dwell_time_and_stand_alone(session, system, tmp_path: Path) -> None:
    start = NOW - dt.timedelta(hours=10)
    market = venue(session, "花园菜市场", ref="IV-M", category="market").id
    shop = venue(session, "小卖部", ref="IV-S", category="convenience_store").id

    def at(minutes: int) -> dt.datetime:
        return start + dt.timedelta(minutes=minutes)

    scans_service.record_scans(session, system, source="api", items=[
        ScanItem(k + 1, place_id=v, phone=phone(p), scanned_at=at(m).isoformat()) for k, (v, p, m) in enumerate([
            (market, 0, 10),  # the subject scanned once, 10 min after arriving
            (market, 1, 150),  # 2.5 h in: inside the stay the interview gives (not within 60 min of the scan)
            (market, 2, -61),  # left a minute before the subject came
            (shop, 3, 300), (shop, 4, 200)])])  # the shop: only the interview names it (no scan)
    subject = person_id(session, 0)
    stays = [Stay(market, at(0), at(180)), Stay(shop, at(290))]  # the shop's end unknown: its dwell time (15 min)
    pairs = colocation_service.colocated(session, system, person_id=subject, since=start, until=NOW, stays=stays,
                                         index_dir=tmp_path)
    assert [(p.person_id, p.venue_ref, p.subject_source, p.subject_scanned_at) for p in pairs] == [
        (person_id(session, 1), "IV-M", "interview", at(0)), (person_id(session, 3), "IV-S", "interview", at(290))]
    # without the interview: the scan plus the market's 60 min
    assert [p.person_id for p in colocation_service.colocated(
        session, system, person_id=subject, since=start, until=NOW, index_dir=tmp_path)] == []
