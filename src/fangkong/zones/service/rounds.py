"""Area-wide testing rounds (区域全员核酸): start a round on a zone or a unit, its target list with
exclusions, refresh what testing says of the targets' samples, coverage per grid and the names still
to sample (the door-knock list)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import chunks, in_list, insert_rows, update_rows
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.jurisdictions.models import Address, Unit
from fangkong.kernel.messages import _, labels, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.zones import rules
from fangkong.zones.models import (
    EXCLUSION_REASONS,
    TARGET_EXCLUDED,
    TARGET_POOL_POSITIVE,
    TARGET_POSITIVE,
    TARGET_RESULTED,
    TARGET_SAMPLED,
    RoundTarget,
    TestingRound,
    ZoneAddress,
    target_state,
)
from fangkong.zones.service import zones as zones_service
from fangkong.zones.service.headcounts import declared_extra

INVALID_ROUND = message("round.invalid", _("invalid testing round"))
ZONE_OR_UNIT = message("round.zone_or_unit", _("name a zone or a unit, not both"))
DEADLINE_RANGE = message("round.deadline_range", _("between 1 and 168 hours"))
UNKNOWN_UNIT = message("round.unknown_unit", _("unknown unit %(code)s"))
NOT_A_TARGET = message("round.not_a_target", _("not a target of this round in your area"))
EVIDENCE_REQUIRED = message("round.evidence_required", _("say where the person is and how it is known (the evidence)"))
labels("round_exclusion", {"away": _("Away (with evidence)"), "hospitalised": _("Hospitalised"),
                           "central_quarantine": _("Under centralised quarantine"), "infant": _("Infant"),
                           "other": _("Other")})
labels("round_sampling", {"door_to_door": _("Door to door"), "building_slots": _("Slots per building"),
                          "open_points": _("Open sampling points")})
labels("audit_action", {"round.started": _("Testing round started"), "round.excluded": _("Excluded from a round")})


@dataclass
class CoverageRow:
    unit_id: int
    unit_code: str
    unit_name: str
    targets: int
    sampled: int
    resulted: int
    positive: int
    excluded: int
    positive_pools: int = 0
    #: persons declared at the grid's households beyond those registered there (申报人数 − 登记人数),
    #: to be found: not among `targets`
    declared_extra: int = 0

    @property
    def missing(self) -> int:
        return max(0, self.targets - self.sampled - self.excluded)


def _age_months(birth: dt.date | None, on: dt.date) -> int | None:
    if birth is None:
        return None
    return (on.year - birth.year) * 12 + on.month - birth.month - (1 if on.day < birth.day else 0)


def start_round(session: Session, actor: Actor, *, zone_id: int | None = None, unit_code: str | None = None,
                deadline_hours: int | None = None, at: dt.datetime | None = None) -> TestingRound:
    """Start a round (启动区域全员核酸): every resident registered in the zone (or under the unit) is a
    target; infants under the pack's age limit and persons under centralised quarantine are excluded
    with their reason."""
    actor.require("round.manage")
    pack = policy_service.active_pack(session)
    errors = []
    if (zone_id is None) == (not unit_code):
        errors.append(FieldError("zone", ZONE_OR_UNIT()))
    hours = deadline_hours if deadline_hours is not None else pack.zones.round_deadline_hours
    if not 1 <= hours <= 168:
        errors.append(FieldError("deadline_hours", DEADLINE_RANGE()))
    unit: Unit | None = None
    if unit_code and zone_id is None:
        unit = scope.visible_unit_or_none(session, actor, code=unit_code)
        if unit is None:
            errors.append(FieldError("unit", UNKNOWN_UNIT(code=unit_code)))
    if errors:
        raise ValidationFailed(INVALID_ROUND(), errors)
    now = clock.now()
    start = at or now
    if zone_id is not None:
        zone = zones_service.get_zone(session, actor, zone_id)
        level: str | None = zone.level
        address_ids = list(session.execute(select(ZoneAddress.address_id).where(ZoneAddress.zone_id == zone.id))
                           .scalars())
        owner_id, owner_path = zone.unit_id, zone.unit_path
    else:
        assert unit is not None
        level = None
        address_ids = list(session.execute(select(Address.id).where(scope.under(Address.unit_path, unit))).scalars())
        owner_id, owner_path = unit.id, unit.path
    zl = pack.zones.levels.get(level) if level else None  # type: ignore[call-overload]
    rnd = TestingRound(zone_id=zone_id, level=level, sampling=zl.sampling if zl else "open_points",
                       started_at=start, deadline_at=start + dt.timedelta(hours=hours), targets=0,
                       started_by=actor.username, created_at=now, unit_id=owner_id, unit_path=owner_path)
    session.add(rnd)
    session.flush()
    people = zones_service.residents_of(session, address_ids)
    registered = {p for p, *_ in people}
    present = _present_elsewhere(session, address_ids, registered, start - dt.timedelta(days=pack.zones.lookback_days),
                                 start)
    people += present
    pids = [p for p, *_ in people]
    births: dict[int, dt.date | None] = {}
    for chunk in chunks(pids, 5000):
        births.update(session.execute(select(Person.id, Person.birth_date)
                                      .where(in_list(session, Person.id, chunk))).all())
    buildings = dict(session.execute(select(Address.id, Address.building_key).where(
        in_list(session, Address.id, address_ids))).all()) if address_ids else {}
    in_force = control_service.kinds_in_force(session, pids, at=start) if pids else {}
    today = clock.to_local(start).date()  # type: ignore[union-attr]
    rows: list[tuple[Any, ...]] = []
    for pid, aid, uid, upath in dict.fromkeys(people):
        excluded = None
        age = _age_months(births.get(pid), today)
        if age is not None and age < pack.zones.infant_age_months:
            excluded = "infant"
        elif "centralised_quarantine" in in_force.get(pid, ()):
            excluded = "central_quarantine"
        rows.append((rnd.id, pid, aid, buildings.get(aid), "registry" if pid in registered else "present", excluded,
                     TARGET_EXCLUDED if excluded else 0, uid, upath))
    insert_rows(session, RoundTarget.__table__, ("round_id", "person_id", "address_id", "building_key", "source",
                                                 "excluded", "state", "unit_id", "unit_path"), rows)
    rnd.targets = len(rows)
    session.flush()
    audit.record(session, actor, "round.started", object_type="testing_round", object_id=rnd.id, zone_id=zone_id,
                 unit=unit_code, targets=rnd.targets, deadline_hours=hours)
    return rnd


def _present_elsewhere(session: Session, address_ids: list[int], registered: set[int], since: dt.datetime,
                       until: dt.datetime) -> list[tuple[int, int, int, str]]:
    """Persons present in the area but registered elsewhere (应检尽检) within the look-back window: who
    scanned a venue code at an address of the area (venues' `persons_seen_at`), targeted at the venue's
    address, and who entered through a checkpoint giving an address of the area as destination
    (checkpoints' `arrivals_with_address`), targeted there — (person id, address id, unit id, unit path)
    as `residents_of`, on the address's grid (a checkpoint's destination before a venue)."""
    from fangkong.kernel.jurisdictions import service as jurisdictions_service
    from fangkong.kernel.places.models import Place

    area = set(address_ids)
    at: dict[int, int] = {}
    try:
        from fangkong.venues import service as venues_service
    except ModuleNotFoundError:  # a build without venues: no venue sightings
        venues_service = None  # type: ignore[assignment]
    if venues_service is not None and area:
        places: dict[int, int] = {}
        for chunk in chunks(address_ids, 5000):
            places.update(session.execute(select(Place.id, Place.address_id).where(
                in_list(session, Place.address_id, chunk))).all())
        if places:
            seen = venues_service.persons_seen_at(session, sorted(places), since, until)
            at.update({pid: places[place] for pid, place in seen.items()})
    try:
        from fangkong.checkpoints.service import records as checkpoint_records
    except ModuleNotFoundError:  # a build without checkpoints: no arrivals
        checkpoint_records = None  # type: ignore[assignment]
    if checkpoint_records is not None and area:
        arrivals = checkpoint_records.arrivals_with_address(session, since, until)
        matches = jurisdictions_service.match_addresses(session, [text for _p, text in arrivals])
        for (pid, _text), m in zip(arrivals, matches, strict=True):
            if m.address is not None and m.address.id in area:
                at[pid] = m.address.id
    at = {pid: aid for pid, aid in at.items() if pid not in registered}
    if not at:
        return []
    grids = {aid: (uid, upath) for aid, uid, upath in session.execute(
        select(Address.id, Address.unit_id, Address.unit_path).where(
            in_list(session, Address.id, sorted(set(at.values()))))).all()}
    return [(pid, aid, *grids[aid]) for pid, aid in sorted(at.items()) if aid in grids]


def exclude(session: Session, actor: Actor, *, round_id: int, person_id: int, reason: str, note: str = "") -> None:
    """Exclude a target with a reason (排除: away — with its evidence in `note` —, hospitalised …);
    audited. Excluded targets leave the door list and count as `excluded` in the coverage."""
    actor.require("round.manage")
    get_round(session, actor, round_id)  # 404 outside the actor's area, before anything about the body
    if reason not in EXCLUSION_REASONS:
        raise ValidationFailed(INVALID_ROUND(), [FieldError("reason", message(
            "round.reason", _("one of away, hospitalised, central_quarantine, infant, other"))())])
    if reason == "away" and not note.strip():
        raise ValidationFailed(INVALID_ROUND(), [FieldError("note", EVIDENCE_REQUIRED())])
    t = session.execute(scope.visible(select(RoundTarget).where(RoundTarget.round_id == round_id,
                                                                RoundTarget.person_id == person_id), actor,
                                      RoundTarget)).scalars().first()
    if t is None:  # never says whether such a person exists
        raise ValidationFailed(INVALID_ROUND(), [FieldError("person_id", NOT_A_TARGET())])
    t.excluded, t.excluded_note = reason, note[:200] or None
    t.state = (t.state or 0) | TARGET_EXCLUDED
    session.flush()
    audit.record(session, actor, "round.excluded", object_type="testing_round", object_id=round_id,
                 person_id=person_id, reason=reason)


def get_round(session: Session, actor: Actor, round_id: int) -> TestingRound:
    actor.require("zone.view")
    return scope.get_visible(session, actor, TestingRound, round_id)


def list_rounds(session: Session, actor: Actor, *, zone_id: int | None = None) -> list[TestingRound]:
    actor.require("zone.view")
    stmt = scope.visible(select(TestingRound), actor, TestingRound)
    if zone_id is not None:
        stmt = stmt.where(TestingRound.zone_id == zone_id)
    return list(session.execute(stmt.order_by(TestingRound.id)).scalars())


def refresh(session: Session, rnd: TestingRound, *, at: dt.datetime) -> int:
    """Read what testing knows of the targets' samples collected in the round (from its start to its
    deadline, as of `at`), through single tubes and pools (testing's `person_results`): the first
    sample's time, the result (a negative pool counts for each member; a positive pool's members await
    their single-tube retest — testing's pool loop runs — and are marked once with `pool_positive_at`).
    Returns the targets changed."""
    from fangkong.testing import service as testing_service

    until = min(rnd.deadline_at, at) + dt.timedelta(seconds=1)
    t = RoundTarget
    session.flush()
    targets = session.execute(select(t.id, t.person_id, t.sampled_at, t.result, t.resulted_at, t.pool_positive_at,
                                     t.state).where(t.round_id == rnd.id).order_by(t.person_id)).all()
    n = 0
    for chunk in chunks(targets, 5000):
        found = testing_service.person_results(session, [x.person_id for x in chunk], rnd.started_at, until, at=at)
        changed: list[tuple[Any, ...]] = []
        for x in chunk:
            r = found.get(x.person_id)
            sampled, result, resulted = (r.sampled_at, r.result, r.resulted_at) if r else (None, None, None)
            pooled = x.pool_positive_at or (at if r is not None and r.pool_positive_at is not None else None)
            state = target_state(sampled=sampled is not None, result=result,
                                 excluded=bool(x.state & TARGET_EXCLUDED), pool_positive=pooled is not None)
            if (x.sampled_at, x.result, x.resulted_at, x.pool_positive_at, x.state) != (
                    sampled, result, resulted, pooled, state):  # only what changed is written
                changed.append((x.id, sampled, result, resulted, pooled, state))
        if changed:
            update_rows(session, t.__table__, "id", ("sampled_at", "result", "resulted_at", "pool_positive_at",
                                                     "state"), changed)
            n += len(changed)
    session.expire_all()
    _propose_lockdowns(session, rnd)
    return n


def _propose_lockdowns(session: Session, rnd: TestingRound) -> int:
    """A positive (single tube, or a positive pool) in a round: its household is locked down on the
    spot — a high-risk zone proposal for the command centre to confirm, once per round and address,
    unless the address already lies in a high-risk zone in force."""
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    rows = session.execute(select(RoundTarget.address_id, RoundTarget.result, RoundTarget.pool_positive_at).where(
        RoundTarget.round_id == rnd.id, RoundTarget.address_id.is_not(None),
        (RoundTarget.result == "positive") | RoundTarget.pool_positive_at.is_not(None))).all()
    if not rows:
        return 0
    held = zones_service.levels_at(session, SYSTEM_ACTOR)
    made = 0
    for aid in sorted({a for a, _r, _p in rows}):
        if held.get(aid, ("", 0))[0] == "high":
            continue
        why = "positive" if any(a == aid and r == "positive" for a, r, _p in rows) else "positive pool"
        z = zones_service.propose_zone(session, SYSTEM_ACTOR, address_ids=[aid], ref=f"round:{rnd.id}:address:{aid}",
                                       reason=f"round {rnd.id}: {why}")
        made += z is not None
    return made


def proposals(session: Session, actor: Actor, *, round_id: int) -> list[Any]:
    """The lockdown proposals a round's positives made (any state)."""
    from fangkong.zones.models import Zone

    get_round(session, actor, round_id)
    stmt = scope.visible(select(Zone).where(Zone.ref.startswith(f"round:{round_id}:address:", autoescape=True)),
                         actor, Zone)
    return list(session.execute(stmt.order_by(Zone.id)).scalars())


def coverage(session: Session, actor: Actor, *, round_id: int, at: dt.datetime | None = None,
             refresh_first: bool = True) -> list[CoverageRow]:
    """Coverage per grid (one GROUP BY over the round's targets): targets, sampled, resulted,
    positive, excluded; `missing` is what is still to sample."""
    rnd = get_round(session, actor, round_id)
    if refresh_first:
        refresh(session, rnd, at=at or clock.now())
    return coverage_query(session, actor, round_id=rnd.id)


def coverage_query(session: Session, actor: Actor, *, round_id: int) -> list[CoverageRow]:
    """One GROUP BY (grid, state) over the covering index (round, grid, state): a few rows per grid,
    summed here by the state's bits. The actor's scope is the set of grids it sees (a target lies on
    its grid: `unit_id`/`unit_path` are the grid's), so the index alone answers."""
    t = RoundTarget
    stmt = select(t.unit_id, t.state, func.count()).where(t.round_id == round_id)
    if actor.unit_path != "/":
        stmt = stmt.where(t.unit_id.in_(scope.visible(select(Unit.id), actor, Unit, column=Unit.path)))
    sums: dict[int, list[int]] = {}
    for uid, state, n in session.execute(stmt.group_by(t.unit_id, t.state)):
        acc = sums.setdefault(uid, [0] * 6)
        acc[0] += n
        for i, bit in enumerate((TARGET_SAMPLED, TARGET_RESULTED, TARGET_POSITIVE, TARGET_EXCLUDED,
                                 TARGET_POOL_POSITIVE), start=1):
            if state & bit:
                acc[i] += n
    extra = declared_extra(session, round_id)
    wanted = sorted(set(sums) | set(extra))
    units = {u.id: u for u in session.execute(select(Unit.id, Unit.code, Unit.name, Unit.path).where(
        in_list(session, Unit.id, wanted)))} if wanted else {}
    for uid in extra:  # a grid whose declared households hold nobody registered yet
        if uid not in sums and uid in units and scope.sees(actor, units[uid].path):
            sums[uid] = [0] * 6
    out = [CoverageRow(uid, units[uid].code if uid in units else "", units[uid].name if uid in units else "",
                       *acc[:5], positive_pools=acc[5], declared_extra=extra.get(uid, 0))
           for uid, acc in sums.items()]
    return sorted(out, key=lambda r: r.unit_code)


def missing(session: Session, actor: Actor, *, round_id: int, at: dt.datetime | None = None,
            refresh_first: bool = True) -> list[tuple[RoundTarget, Person]]:
    """The targets not yet sampled and not excluded (未采样名单), by grid and building."""
    rnd = get_round(session, actor, round_id)
    if refresh_first:
        refresh(session, rnd, at=at or clock.now())
    stmt = scope.visible(select(RoundTarget, Person).join(Person, Person.id == RoundTarget.person_id)
                         .where(RoundTarget.round_id == rnd.id, RoundTarget.sampled_at.is_(None),
                                RoundTarget.excluded.is_(None)), actor, RoundTarget)
    return list(session.execute(stmt.order_by(RoundTarget.unit_id, RoundTarget.building_key,
                                              RoundTarget.person_id)).all())


def excluded_targets(session: Session, actor: Actor, *, round_id: int) -> list[tuple[RoundTarget, Person]]:
    """The round's excluded targets with their reason and evidence (排除名单), by grid and building."""
    rnd = get_round(session, actor, round_id)
    stmt = scope.visible(select(RoundTarget, Person).join(Person, Person.id == RoundTarget.person_id)
                         .where(RoundTarget.round_id == rnd.id, RoundTarget.excluded.is_not(None)), actor, RoundTarget)
    return list(session.execute(stmt.order_by(RoundTarget.unit_id, RoundTarget.building_key,
                                              RoundTarget.person_id)).all())


def round_facts(session: Session, zone_id: int, *, at: dt.datetime) -> list[rules.RoundFacts]:
    """The zone's rounds as the eligibility rule reads them, refreshed as of `at`."""
    out = []
    for rnd in session.execute(select(TestingRound).where(TestingRound.zone_id == zone_id,
                                                          TestingRound.started_at <= at)).scalars().all():
        refresh(session, rnd, at=at)
        t = RoundTarget
        n, excl, neg, pos, last = session.execute(
            select(func.count(), func.sum(case((t.excluded.is_not(None), 1), else_=0)),
                   func.sum(case(((t.result == "negative") & t.excluded.is_(None), 1), else_=0)),
                   func.sum(case((t.result == "positive", 1), else_=0)), func.max(t.resulted_at))
            .where(t.round_id == rnd.id)).one()
        out.append(rules.RoundFacts(rnd.id, rnd.started_at, int(n), int(excl or 0), int(neg or 0), int(pos or 0),
                                    last))
    return out


def create_door_knock_tasks(session: Session, actor: Actor, *, at: dt.datetime) -> dict[str, Any]:
    """At the pack's share (80 %) of a round's deadline, one task per building whose targets are not
    all sampled, owned by the building's grid and due at the deadline (上门敲门). Once per round."""
    from fangkong.kernel.tasks import service as tasks_service
    from fangkong.zones.kinds import DOOR_KNOCK

    share = policy_service.active_pack(session).zones.door_knock_share
    made = rounds_seen = 0
    for rnd in session.execute(select(TestingRound).where(TestingRound.knocked_at.is_(None),
                                                          TestingRound.deadline_at > at)).scalars().all():
        if rnd.started_at + (rnd.deadline_at - rnd.started_at) * share > at:
            continue
        rounds_seen += 1
        refresh(session, rnd, at=at)
        left: dict[tuple[int, str], list[int]] = {}
        for t in session.execute(select(RoundTarget).where(RoundTarget.round_id == rnd.id,
                                                           RoundTarget.sampled_at.is_(None),
                                                           RoundTarget.excluded.is_(None))).scalars():
            left.setdefault((t.unit_id, t.building_key or "-"), []).append(t.person_id)
        items = [tasks_service.NewTask(kind=DOOR_KNOCK, title=f"上门敲门: {building} 尚有 {len(pids)} 人未采样",
                                       unit_id=unit_id, subject_type="testing_round", subject_id=rnd.id,
                                       due_at=rnd.deadline_at, detail={"building": building, "person_ids": pids})
                 for (unit_id, building), pids in sorted(left.items())]
        if items:
            tasks_service.create_tasks(session, actor, items)
            made += len(items)
        rnd.knocked_at = at
    session.flush()
    return {"rounds": rounds_seen, "tasks": made}


def targets_of(session: Session, round_id: int) -> Sequence[int]:
    return list(session.execute(select(RoundTarget.person_id).where(RoundTarget.round_id == round_id)).scalars())


def start_daily_rounds(session: Session, actor: Actor, *, at: dt.datetime) -> dict[str, Any]:
    """High-risk zones get a round every `high_round_every_days` (pack) until lifted: one round for each
    high zone in force whose latest round started that many local days ago or more (or never)."""
    from fangkong.zones.models import Zone

    every = policy_service.active_pack(session).zones.high_round_every_days
    today = clock.to_local(at).date()  # type: ignore[union-attr]
    started: list[int] = []
    zones = session.execute(select(Zone).where(Zone.status == "active", Zone.level == "high",
                                               Zone.starts_at <= at).order_by(Zone.id)).scalars().all()
    for z in zones:
        last = session.execute(select(func.max(TestingRound.started_at)).where(TestingRound.zone_id == z.id)).scalar()
        if last is not None and (today - clock.to_local(last).date()).days < every:  # type: ignore[union-attr]
            continue
        rnd = start_round(session, actor, zone_id=z.id, at=at)
        started.append(rnd.id)
    return {"zones": len(zones), "rounds": len(started), "round_ids": started}
