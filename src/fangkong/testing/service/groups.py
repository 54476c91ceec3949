"""Key-group membership (应纳尽纳): rosters, enrolment by hand and by rule, declared headcounts, coverage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import REQUIRED, FieldError, NotFound, ValidationFailed, record_not_found
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.people.resolution import PersonKeys, resolve_persons
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import Place
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table
from fangkong.testing.headers import ROSTER_COLUMNS
from fangkong.testing.models import RULE_GROUP, EmployerHeadcount, GroupMember
from fangkong.testing.service import common

EMPLOYER_REQUIRED = message("employer.required", _("employer required"))
NEW_EMPLOYER = message("employer.registered", _("registered new employer %(code)s (%(name)s)"))
MOVED = message("employer.moved", _("moved to %(code)s from another employer"))
INVALID_HEADCOUNT = message("headcount.invalid", _("invalid headcount"))
HEADCOUNT_RANGE = message("headcount.range", _("between 0 and 10,000,000"))


@dataclass
class RosterItem:
    number: int
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None


# ------------------------------------------------------------------------------------------ employers

def find_employer(session: Session, actor: Actor, ref: str) -> Place | None:
    """An employer by code, by the sender's reference, or by exact name (visible to the actor)."""
    ref = (ref or "").strip()
    if not ref:
        return None
    for getter in (places_service.get_place_by_code, places_service.get_place_by_ref):
        place = getter(session, actor, ref)
        if place is not None and place.kind == "employer":
            return place
    stmt = scope.visible(select(Place).where(Place.kind == "employer", Place.name == ref), actor, Place)
    return session.execute(stmt.order_by(Place.id).limit(1)).scalar_one_or_none()


def employer_or_register(session: Session, actor: Actor, ref: str, *, category: str | None = None
                         ) -> tuple[Place, bool]:
    """The employer named by `ref`, registered on first use (decisions.md: an employer named by
    `--employer` is registered and mentioned in issues). Returns (place, created)."""
    place = find_employer(session, actor, ref)
    if place is not None:
        return place, False
    ref = ref.strip()
    if not ref:
        raise ValidationFailed(EMPLOYER_REQUIRED(), [FieldError("employer", REQUIRED())])
    code = ref if len(ref) <= 40 and ref.isascii() and " " not in ref else None
    return places_service.create_place(session, actor, kind="employer", name=ref[:120], category=category,
                                       code=code), True


def _visible_employer(session: Session, actor: Actor, employer_id: int) -> Place:
    place = scope.visible_or_none(actor, session.get(Place, employer_id))
    if place is None or place.kind != "employer":
        raise NotFound(record_not_found("employer", employer_id))
    return place


# ------------------------------------------------------------------------------------------ enrolment

def _member_home(session: Session, person_id: int, employer: Place | None) -> tuple[int, str]:
    if employer is not None:
        return employer.unit_id, employer.unit_path
    row = session.execute(select(Person.unit_id, Person.unit_path).where(Person.id == person_id)).one()
    return row.unit_id, row.unit_path


def _enrol_many(session: Session, actor: Actor, *, person_ids: Sequence[int], group_code: str,
                employer: Place | None, source: str) -> list[tuple[GroupMember, str]]:
    """Enrol persons (in order) and say what happened to each: `accepted` (new or re-activated),
    `moved` (now with this employer) or `duplicate` (already on the list with this employer)."""
    p = common.pack(session)
    freqs = common.group_frequencies(p)
    now = clock.now()
    existing: dict[int, GroupMember] = {}
    for chunk in common.chunks(sorted(set(person_ids))):
        for m in session.execute(select(GroupMember).where(GroupMember.group_code == group_code,
                                                           GroupMember.person_id.in_(chunk))).scalars():
            existing[m.person_id] = m
    fresh = [pid for pid in dict.fromkeys(person_ids) if pid not in existing]
    negatives = common.last_negatives(session, fresh)
    out: list[tuple[GroupMember, str]] = []
    employer_id = employer.id if employer is not None else None
    for pid in person_ids:
        m = existing.get(pid)
        if m is not None:
            if m.active and (employer_id is None or m.employer_id == employer_id):
                out.append((m, "duplicate"))
                continue
            status = "accepted" if not m.active else "moved"
            m.active, m.ended_at = True, None
            if employer_id is not None:
                m.employer_id = employer_id
                m.unit_id, m.unit_path = _member_home(session, pid, employer)
            m.frequency_days, m.next_due_at = common.due_of(m, freqs)
            out.append((m, status))
            continue
        unit_id, unit_path = _member_home(session, pid, employer)
        m = GroupMember(person_id=pid, group_code=group_code, employer_id=employer_id, source=source, active=True,
                        enrolled_at=now, last_negative_at=negatives.get(pid), unit_id=unit_id, unit_path=unit_path)
        m.frequency_days, m.next_due_at = common.due_of(m, freqs)
        session.add(m)
        existing[pid] = m
        out.append((m, "accepted"))
    session.flush()
    return out


def enrol(session: Session, actor: Actor, *, person_id: int, group_code: str, employer_id: int | None = None,
          source: str = "manual") -> tuple[GroupMember, str]:
    """Put one person on a key group's list by hand (纳入重点人群); returns the member and `accepted`,
    `moved` or `duplicate`."""
    actor.require("testing.enrol")
    group_code = common.check_group(common.pack(session), group_code)
    person = scope.get_visible(session, actor, Person, person_id)
    employer = _visible_employer(session, actor, employer_id) if employer_id is not None else None
    member, status = _enrol_many(session, actor, person_ids=[person.id], group_code=group_code,
                                 employer=employer, source=source)[0]
    audit.record(session, actor, "testing.enrolled", object_type="group_member", object_id=member.id,
                 person_id=person.id, group=group_code, employer_id=employer_id, status=status)
    return member, status


def end_membership(session: Session, actor: Actor, *, member_id: int) -> GroupMember:
    """Take a person off a group's list (移出名单); compliance stops counting them."""
    actor.require("testing.enrol")
    member = scope.get_visible(session, actor, GroupMember, member_id)
    if member.active:
        member.active, member.ended_at = False, clock.now()
        session.flush()
        audit.record(session, actor, "testing.membership_ended", object_type="group_member", object_id=member.id,
                     group=member.group_code)
    return member


def enrol_roster(session: Session, actor: Actor, *, items: Sequence[RosterItem], group_code: str,
                 employer_ref: str, via: str = "file", filename: str | None = None,
                 advance: Callable[[int], None] | None = None) -> list[ReportRow]:
    """An employer's roster (单位名单): resolve each row to one person and enrol them in the group
    with the employer; one report row per item (`accepted`, `duplicate`, `rejected`)."""
    actor.require("testing.enrol")
    p = common.pack(session)
    group_code = common.check_group(p, group_code)
    employer, created = employer_or_register(session, actor, employer_ref, category=group_code)
    reports = [ReportRow(it.number, "accepted") for it in items]
    if created and reports:
        reports[0].issues.append(FieldIssue("employer", NEW_EMPLOYER(code=employer.code, name=employer.name)))
    resolved = resolve_persons(session, actor, [PersonKeys(it.name, it.id_number, it.phone) for it in items],
                               source="roster")
    live: list[tuple[ReportRow, int]] = []
    seen: dict[int, int] = {}
    for rep, res in zip(reports, resolved, strict=True):
        rep.issues.extend(res.issues)
        rep.person_id = res.person_id
        rep.extra["match_rule"] = res.rule
        if res.rejected or res.person_id is None:
            rep.status = "rejected"
            continue
        if res.person_id in seen:
            rep.status = "duplicate"
            rep.extra["duplicate_of_row"] = seen[res.person_id]
            continue
        seen[res.person_id] = rep.row
        live.append((rep, res.person_id))
    results = _enrol_many(session, actor, person_ids=[pid for _, pid in live], group_code=group_code,
                          employer=employer, source="roster")
    for (rep, _pid), (member, status) in zip(live, results, strict=True):
        rep.extra["member_id"] = member.id
        if status == "duplicate":
            rep.status = "duplicate"
        elif status == "moved":
            rep.issues.append(FieldIssue("employer", MOVED(code=employer.code)))
    if advance is not None:
        advance(len(items))
    counts: dict[str, int] = defaultdict(int)
    for r in reports:
        counts[r.status] += 1
    audit.record(session, actor, "testing.roster_imported", object_type="place", object_id=employer.id,
                 group=group_code, via=via, filename=filename, rows=len(reports), **counts)
    return reports


def import_roster(session: Session, actor: Actor, path: Path, *, group_code: str, employer_ref: str,
                  progress: Callable[[int], None] | None = None) -> Sequence[ReportRow]:
    """`fangkong import roster FILE --group G --employer E` (CSV or XLSX). Raises UnusableFile."""
    common.check_group(common.pack(session), group_code)
    table = read_table(Path(path), ROSTER_COLUMNS, required_any=["id_number", "phone"])
    reports = ReportLog()  # memory flat in the row count
    for chunk in table.chunks():  # stored and committed a chunk at a time; idempotent by person
        items = [RosterItem(row.number, row.values.get("name") or None, row.values.get("id_number") or None,
                            row.values.get("phone") or None) for row in chunk]
        reports.extend(table.report(enrol_roster(session, actor, items=items, group_code=group_code,
                                                 employer_ref=employer_ref, filename=Path(path).name,
                                                 advance=progress)))
        checkpoint(session)
    if not reports:  # no data rows: still checks the employer and the permission
        enrol_roster(session, actor, items=[], group_code=group_code, employer_ref=employer_ref,
                     filename=Path(path).name, advance=progress)
    return table.report(reports)


# ------------------------------------------------------------------------------------------ by rule

def sync_rule_members(session: Session, actor: Actor) -> dict[str, int]:
    """Persons under a measure are due on its test days through control's due tests (应检日), which
    cover every measure, not only home ones, and are shown in the samplers' lists and on the person
    page. The old `home_measure` memberships, which copied the test days of home measures into this
    list, are ended here (kept for history), so no test day is chased twice."""
    actor.require("testing.enrol")
    now = clock.now()
    members = session.execute(select(GroupMember).where(GroupMember.group_code == RULE_GROUP,
                                                        GroupMember.active.is_(True))).scalars().all()
    for member in members:
        member.active, member.ended_at = False, now
    session.flush()
    counts = {"enrolled": 0, "updated": 0, "ended": len(members)}
    if members:
        audit.record(session, actor, "testing.rule_members_synced", object_type="group_member", **counts)
    return counts


# ------------------------------------------------------------------------------------------ headcounts

def declare_headcount(session: Session, actor: Actor, *, employer_id: int, group_code: str,
                      declared: int) -> EmployerHeadcount:
    """An employer's expected headcount in a key group (单位申报应检人数); a new declaration replaces the old."""
    actor.require("testing.enrol")
    group_code = common.check_group(common.pack(session), group_code)
    if declared < 0 or declared > 10_000_000:
        raise ValidationFailed(INVALID_HEADCOUNT(), [FieldError("declared", HEADCOUNT_RANGE())])
    employer = _visible_employer(session, actor, employer_id)
    row = session.execute(select(EmployerHeadcount).where(EmployerHeadcount.employer_id == employer.id,
                                                          EmployerHeadcount.group_code == group_code)
                          ).scalar_one_or_none()
    previous = row.declared if row is not None else None
    if row is None:
        row = EmployerHeadcount(employer_id=employer.id, group_code=group_code, unit_id=employer.unit_id,
                                unit_path=employer.unit_path, declared=declared, declared_at=clock.now(),
                                declared_by=actor.username)
        session.add(row)
    else:
        row.declared, row.declared_at, row.declared_by = declared, clock.now(), actor.username
    session.flush()
    audit.record(session, actor, "testing.headcount_declared", object_type="place", object_id=employer.id,
                 group=group_code, declared=declared, previous=previous)
    return row


@dataclass
class CoverageRow:
    employer_id: int
    employer_code: str
    employer_name: str
    unit_id: int
    unit_name: str
    group_code: str
    declared: int | None
    enrolled: int

    @property
    def gap(self) -> int | None:
        """Persons missing from the list (declared − enrolled); None when nothing is declared."""
        return None if self.declared is None else self.declared - self.enrolled

    @property
    def problem(self) -> str | None:
        if self.declared is None:
            return "not_declared"
        if self.enrolled < self.declared:
            return "missing"
        if self.enrolled > self.declared:
            return "over_declared"
        return None


@dataclass
class CoverageReport:
    """应纳尽纳: declared headcount against enrolled persons."""

    rows: list[CoverageRow]
    by_group: list[dict[str, Any]] = field(default_factory=list)
    by_unit: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gaps(self) -> list[CoverageRow]:
        return [r for r in self.rows if r.problem in ("missing", "not_declared")]

    @property
    def totals(self) -> dict[str, int]:
        declared = sum(r.declared or 0 for r in self.rows)
        enrolled = sum(r.enrolled for r in self.rows)
        missing = sum(max(0, r.gap or 0) for r in self.rows)
        return {"declared": declared, "enrolled": enrolled, "missing": missing}


def coverage(session: Session, actor: Actor, *, unit_id: int | None = None, group_code: str | None = None
             ) -> CoverageReport:
    """Coverage per employer and group (and rolled up per group and per child unit of `unit_id`, else
    of the actor's unit): declared headcount, enrolled active members, the gap. Employers whose
    category is a key group but who declared nothing and enrolled nobody are gaps too (`not_declared`)."""
    actor.require("testing.view")
    p = common.pack(session)
    groups = {g.code: g for g in p.key_groups}
    if group_code:
        common.check_group(p, group_code, allow_rule=True)
    base = scope.base_unit(session, actor, unit_id)
    path = base.path

    declared: dict[tuple[int, str], int] = {}
    stmt = select(EmployerHeadcount.employer_id, EmployerHeadcount.group_code, EmployerHeadcount.declared).where(
        scope.under(EmployerHeadcount.unit_path, path))
    if group_code:
        stmt = stmt.where(EmployerHeadcount.group_code == group_code)
    for eid, g, n in session.execute(stmt):
        declared[(eid, g)] = n
    enrolled: dict[tuple[int, str], int] = {}
    stmt = (select(GroupMember.employer_id, GroupMember.group_code, func.count())
            .where(GroupMember.active.is_(True), GroupMember.employer_id.is_not(None),
                   scope.under(GroupMember.unit_path, path))
            .group_by(GroupMember.employer_id, GroupMember.group_code))
    if group_code:
        stmt = stmt.where(GroupMember.group_code == group_code)
    for eid, g, n in session.execute(stmt):
        enrolled[(eid, g)] = int(n)
    keys = set(declared) | set(enrolled)
    # employers of a key-group category that have neither declared nor enrolled anyone
    stmt = select(Place.id, Place.category).where(Place.kind == "employer", Place.category.in_(list(groups)),
                                                  scope.under(Place.unit_path, path))
    if group_code:
        stmt = stmt.where(Place.category == group_code)
    silent = {(eid, cat) for eid, cat in session.execute(stmt)
              if not any(k[0] == eid for k in keys)}
    keys |= silent
    employer_ids = sorted({k[0] for k in keys})
    places: dict[int, Any] = {}
    for chunk in common.chunks(employer_ids):
        for row in session.execute(select(Place.id, Place.code, Place.name, Place.unit_id, Place.unit_path)
                                   .where(Place.id.in_(chunk))):
            places[row.id] = row
    units = {u.id: u for u in session.execute(select(Unit).where(
        Unit.id.in_(sorted({pl.unit_id for pl in places.values()})))).scalars()} if places else {}
    rows = []
    for eid, g in sorted(keys, key=lambda k: (places[k[0]].code, k[1])):
        pl = places[eid]
        rows.append(CoverageRow(eid, pl.code, pl.name, pl.unit_id, units[pl.unit_id].name if pl.unit_id in units
                                else "", g, declared.get((eid, g)), enrolled.get((eid, g), 0)))
    report = CoverageReport(rows)

    per_group: dict[str, dict[str, Any]] = {}
    for r in rows:
        agg = per_group.setdefault(r.group_code, {"group": r.group_code, "name": groups[r.group_code].name_zh
                                                  if r.group_code in groups else r.group_code,
                                                  "employers": 0, "declared": 0, "enrolled": 0, "missing": 0,
                                                  "not_declared": 0})
        agg["employers"] += 1
        agg["declared"] += r.declared or 0
        agg["enrolled"] += r.enrolled
        agg["missing"] += max(0, r.gap or 0)
        agg["not_declared"] += 1 if r.declared is None else 0
    report.by_group = [per_group[g] for g in sorted(per_group)]

    children = session.execute(select(Unit).where(Unit.parent_id == base.id).order_by(Unit.code)).scalars().all()
    per_unit: dict[int, dict[str, Any]] = {}
    for child in [*children, base]:
        per_unit[child.id] = {"unit_id": child.id, "unit_code": child.code, "unit_name": child.name,
                              "declared": 0, "enrolled": 0, "missing": 0, "not_declared": 0}
    for r in rows:
        pl = places[r.employer_id]
        target = next((c.id for c in children if scope.inside(pl, c)), base.id)
        agg = per_unit[target]
        agg["declared"] += r.declared or 0
        agg["enrolled"] += r.enrolled
        agg["missing"] += max(0, r.gap or 0)
        agg["not_declared"] += 1 if r.declared is None else 0
    report.by_unit = [v for v in per_unit.values() if v["declared"] or v["enrolled"] or v["not_declared"]]
    return report


def members_of_person(session: Session, person_id: int) -> list[GroupMember]:
    """Active memberships of a person (unscoped: for the citizen's own page and result handling)."""
    return list(session.execute(select(GroupMember).where(GroupMember.person_id == person_id,
                                                          GroupMember.active.is_(True))
                                .order_by(GroupMember.id)).scalars())

