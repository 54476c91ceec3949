"""Sampling (采样): sampling points and their hours, tubes (single or pooled), one sample per person per
tube, sample files from other systems, and the citizen's own page."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.clock import BadTime, parse_time
from fangkong.kernel.errors import (
    REQUIRED,
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
    record_not_found,
)
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import FieldIssue, Joined, Term, _, issue, message, reason_of
from fangkong.kernel.people import crypto
from fangkong.kernel.people.identity import check_id_number, check_phone
from fangkong.kernel.people.models import Person
from fangkong.kernel.people.resolution import PersonKeys, find_known, resolve_persons
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import Place
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table
from fangkong.testing import rules
from fangkong.testing.headers import SAMPLE_COLUMNS
from fangkong.testing.models import GroupMember, SamplingHours, Tube, TubeResult, TubeSample
from fangkong.testing.rules import TubeLimit
from fangkong.testing.service import common, single_tube

BARCODE_MAX = 64
MAX_POOL = 50


BARCODE_FORM = message("tube.barcode_form", _("letters, digits and - _ . only, at most %(max)s"))
NOT_A_POINT = message("sampling_point.not_a_point", _("not a sampling point"))
INVALID_HOURS = message("hours.invalid", _("invalid hours"))
INVALID_DAYS = message("hours.invalid_days", _("invalid days"))
WEEKDAYS = message("hours.weekdays", _("ISO weekdays 1 (Mon) to 7 (Sun)"))
IS_A_KIND = message("place.is_a_kind", _("%(code)s is a %(kind)s"))
BETWEEN = message("field.between", _("between %(low)s and %(high)s"))
UNKNOWN_POINT = message("sampling_point.unknown", _("unknown sampling point"))
INVALID_TUBE = message("tube.invalid", _("invalid tube"))
TUBE_ELSEWHERE = message("tube.elsewhere", _("tube %(code)s is already registered elsewhere"))
TUBE_SIZE_FIXED = message("tube.size_fixed", _("tube %(code)s is a %(size)s-person tube with samples in it"))
EMPTY_TUBE = message("tube.empty", _("empty tube"))
NO_SAMPLES = message("tube.no_samples", _("the tube has no samples"))
PERSON_REQUIRED = message("sample.person_required", _("person required"))
SCAN_OR_TYPE = message("sample.scan_or_type", _("scan or type an ID or phone number"))
SHARED_PHONE = message("sample.shared_phone", _("several persons share this phone"))
SHARED_PHONE_HINT = message("sample.shared_phone_hint",
                            _("several persons share this phone number: add the name or use the ID number"))
NOT_ID_OR_MOBILE = message("sample.not_id_or_mobile", _("not a valid ID or mobile number"))
INVALID_PERSON = message("sample.invalid_person", _("invalid person"))
TUBE_CLOSED = message("tube.closed", _("tube closed"))
TUBE_FULL = message("tube.full", _("tube %(barcode)s is closed (%(n)s of %(size)s): start a new tube"))
ALREADY_IN = message("sample.already_in", _("already in this tube"))
ALREADY_IN_TUBE = message("sample.already_in_tube", _("this person is already in tube %(barcode)s (no. %(n)s)"))
NOT_A_POOL_SIZE = message("tube.not_a_pool_size", _("not a pool size: %(text)s"))
NEW_POINT = message("sampling_point.registered", _("registered new sampling point %(code)s"))
TUBE_OUTSIDE = message("tube.outside", _("tube %(code)s is registered outside your jurisdiction"))
SIZE_IGNORED = message("tube.size_ignored", _("the tube is a %(size)s-person tube; %(given)s ignored"))

def clean_barcode(raw: object) -> str:
    """A tube barcode as scanned or typed: NFKC, no spaces, upper case."""
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", str(raw or "")).split()).upper()


def _barcode_error(barcode: str) -> FieldError | None:
    if not barcode:
        return FieldError("tube_barcode", REQUIRED())
    if len(barcode) > BARCODE_MAX or not all(c.isalnum() or c in "-_." for c in barcode):
        return FieldError("tube_barcode", BARCODE_FORM(max=BARCODE_MAX))
    return None


# ------------------------------------------------------------------------------------- sampling points

def set_hours(session: Session, actor: Actor, *, place_id: int, opens: str, closes: str, days: str = "1234567",
              note: str | None = None) -> SamplingHours:
    """Set a sampling point's opening hours (采样点开放时间), local time."""
    actor.require("place.manage")
    place = places_service.get_place(session, actor, place_id)
    if place.kind != "sampling_point":
        raise ValidationFailed(NOT_A_POINT(), [FieldError("place_id", NOT_A_POINT())])
    try:
        opens, closes = rules.parse_hours(f"{opens}-{closes}")
    except ValueError as exc:
        raise ValidationFailed(INVALID_HOURS(), [FieldError("hours", reason_of(exc))]) from None
    days = "".join(sorted({d for d in (days or "") if d in "1234567"}))
    if not days:
        raise ValidationFailed(INVALID_DAYS(), [FieldError("days", WEEKDAYS())])
    row = session.get(SamplingHours, place.id)
    if row is None:
        row = SamplingHours(place_id=place.id, opens=opens, closes=closes, days=days, note=note)
        session.add(row)
    else:
        row.opens, row.closes, row.days, row.note = opens, closes, days, note
    session.flush()
    audit.record(session, actor, "testing.hours_set", object_type="place", object_id=place.id, opens=opens,
                 closes=closes, days=days)
    return row


@dataclass
class PointView:
    id: int
    code: str
    name: str
    address_text: str | None
    opens: str | None
    closes: str | None
    days: str | None
    open_now: bool
    distance: int


def sampling_points(session: Session, *, near_path: str | None = None, at: dt.datetime | None = None,
                    open_only: bool = False, limit: int = 10) -> list[PointView]:
    """Sampling points with their hours, nearest first by the jurisdiction tree (same grid, then the
    community, the street …), open ones first. Public information: unscoped."""
    at_local = clock.to_local(at or clock.now())
    assert at_local is not None
    stmt = (select(Place, SamplingHours).outerjoin(SamplingHours, SamplingHours.place_id == Place.id)
            .where(Place.kind == "sampling_point"))
    out = []
    for place, hours in session.execute(stmt):
        is_open = hours is not None and rules.is_open(opens=hours.opens, closes=hours.closes, days=hours.days,
                                                       at_local=at_local)
        if open_only and not is_open:
            continue
        out.append(PointView(place.id, place.code, place.name, place.address_text,
                             hours.opens if hours else None, hours.closes if hours else None,
                             hours.days if hours else None, is_open,
                             rules.tree_distance(near_path, place.unit_path) if near_path else 0))
    out.sort(key=lambda p: (not p.open_now, p.distance, p.code))
    return out[:limit]


def sampling_point_or_register(session: Session, actor: Actor, code: str) -> tuple[Place, bool]:
    """The sampling point with this code, registered on first use (decisions.md). (place, created)"""
    code = (code or "").strip()
    place = session.execute(select(Place).where(Place.code == code)).scalar_one_or_none()
    if place is not None:
        if place.kind != "sampling_point":
            raise ValidationFailed(NOT_A_POINT(), [FieldError("sampling_point", IS_A_KIND(
                code=code, kind=Term(place.kind, kind="place_kind")))])
        return place, False
    return places_service.create_place(session, actor, kind="sampling_point", name=code, code=code), True


# ---------------------------------------------------------------------------------------------- tubes

def get_tube(session: Session, actor: Actor, barcode: str) -> Tube:
    """A tube in the actor's jurisdiction by barcode; NotFound otherwise."""
    tube = scope.find_visible_by(session, actor, Tube, barcode=clean_barcode(barcode))
    if tube is None:
        raise NotFound(record_not_found("tube", barcode))
    return tube


def tube_samples(session: Session, actor: Actor, tube_id: int) -> list[tuple[TubeSample, Person | None]]:
    """A tube's samples in order, each with its person — None for a person outside the actor's
    jurisdiction: a sampler serves whoever comes, but typing a number must not tell them who that is
    (existence oracle, issue #11)."""
    rows = session.execute(select(TubeSample, Person).join(Person, Person.id == TubeSample.person_id)
                           .where(TubeSample.tube_id == tube_id).order_by(TubeSample.position))
    return [(sample, scope.visible_or_none(actor, person)) for sample, person in rows]


def _count(session: Session, tube_id: int) -> int:
    return int(session.execute(select(func.count()).select_from(TubeSample)
                               .where(TubeSample.tube_id == tube_id)).scalar_one())


def open_tube(session: Session, actor: Actor, *, barcode: str, pool_size: int | None = None,
              sampling_point_id: int | None = None, via: str = "page") -> tuple[Tube, bool]:
    """Start a tube (开管), or carry on with it: a barcode is one tube, so scanning it again returns the
    stored tube (a different pool size for a tube that has samples is a Conflict). (tube, created)"""
    actor.require("testing.sample")
    code = clean_barcode(barcode)
    p = common.pack(session)
    size = pool_size if pool_size is not None else common.default_pool_size(p)
    errors = [e for e in [_barcode_error(code)] if e]
    if not 1 <= size <= MAX_POOL:
        errors.append(FieldError("pool_size", BETWEEN(low=1, high=MAX_POOL)))
    point = None
    if sampling_point_id is not None:
        point = scope.visible_or_none(actor, session.get(Place, sampling_point_id))
        if point is None or point.kind != "sampling_point":
            errors.append(FieldError("sampling_point_id", UNKNOWN_POINT()))
            point = None
    if point is not None and pool_size is None and single_tube.point_limit(p, point) is not None:
        size = min(size, single_tube.point_limit(p, point) or size)  # a fever clinic's default
    errors += [e for e in [single_tube.fever_clinic_error(p, point, size)] if e]
    if errors:
        raise ValidationFailed(INVALID_TUBE(), errors)
    tube = session.execute(select(Tube).where(Tube.barcode == code)).scalar_one_or_none()
    if tube is not None:
        if not scope.sees(actor, tube):
            raise Conflict(TUBE_ELSEWHERE(code=code))
        if tube.pool_size != size:
            if _count(session, tube.id):
                raise Conflict(TUBE_SIZE_FIXED(code=code, size=tube.pool_size))
            tube.pool_size = size
        return tube, False
    if point is not None:
        unit_id, unit_path = point.unit_id, point.unit_path
    elif actor.unit_id is not None:
        unit = session.get(Unit, actor.unit_id)
        assert unit is not None
        unit_id, unit_path = unit.id, unit.path
    else:
        root = jurisdictions_service.root_unit(session)
        unit_id, unit_path = root.id, root.path
    tube = Tube(barcode=code, pool_size=size, sampling_point_id=point.id if point else None, status="open",
                opened_at=clock.now(), opened_by=actor.username, via=via, unit_id=unit_id, unit_path=unit_path)
    session.add(tube)
    session.flush()
    audit.record(session, actor, "testing.tube_opened", object_type="tube", object_id=tube.id, barcode=code,
                 pool_size=size, sampling_point_id=tube.sampling_point_id)
    return tube, True


def close_tube(session: Session, actor: Actor, *, barcode: str) -> Tube:
    """Close a tube before it is full (封管); an empty tube cannot be closed."""
    actor.require("testing.sample")
    tube = get_tube(session, actor, barcode)
    if tube.status != "closed":
        if not _count(session, tube.id):
            raise ValidationFailed(EMPTY_TUBE(), [FieldError("tube_barcode", NO_SAMPLES())])
        tube.status, tube.closed_at = "closed", clock.now()
        session.flush()
        audit.record(session, actor, "testing.tube_closed", object_type="tube", object_id=tube.id, early=True)
    return tube


class SampleRefused(ValidationFailed):
    """A sample the tube cannot take: `kind` is `duplicate` (the same person twice), `closed` (full or
    closed), `shared_phone` (a phone several persons share, without a name) or `single_tube` (the
    person may not be pooled this many to a tube: 单管单采); `params` fill the translated message on
    the sampler's page."""

    def __init__(self, message: str, fields: list[FieldError], *, kind: str, **params: Any) -> None:
        super().__init__(message, fields)
        self.kind = kind
        self.params = params


def _who(session: Session, actor: Actor, *, person: str, name: str | None) -> tuple[PersonKeys, list[str]]:
    """What the sampler typed or scanned: an ID number or a mobile number (and a name when given)."""
    text = (person or "").strip()
    if not text:
        raise ValidationFailed(PERSON_REQUIRED(), [FieldError("person", SCAN_OR_TYPE())])
    id_check = check_id_number(text)
    if id_check is not None and id_check.valid:
        return PersonKeys(name, id_check.value, None), []
    phone_check = check_phone(text)
    if phone_check is not None and phone_check.valid:
        ids, _ = find_known(session, phone=phone_check.value, name=name)
        if len(ids) > 1:
            raise SampleRefused(SHARED_PHONE(), [FieldError("person", SHARED_PHONE_HINT())], kind="shared_phone")
        return PersonKeys(name, None, phone_check.value), []
    issue = Joined(id_check.issues) if id_check is not None and len(text) >= 15 else NOT_ID_OR_MOBILE()
    raise ValidationFailed(INVALID_PERSON(), [FieldError("person", issue)])


def add_sample(session: Session, actor: Actor, *, barcode: str, person: str, name: str | None = None,
               collected_at: dt.datetime | None = None) -> tuple[Tube, TubeSample]:
    """One person into a tube (扫码采样): by ID number or mobile number. Refused with a clear message
    when the tube is closed or full, or the person is already in it; the tube closes at its size."""
    actor.require("testing.sample")
    tube = get_tube(session, actor, barcode)
    _refuse_if_full(tube, _count(session, tube.id))
    keys, _ = _who(session, actor, person=person, name=(name or "").strip() or None)
    resolved = resolve_persons(session, actor, [keys], source="sample")[0]
    assert resolved.person_id is not None
    at = collected_at or clock.now()
    p = common.pack(session)
    limit = single_tube.limits(session, p, [resolved.person_id], at=at).get(resolved.person_id)
    sample = _put(session, actor, tube, resolved.person_id, at, limit=limit, pack=p)
    # the measure's test day is done (its missed-test task closes as the sampler)
    control_service.samples_recorded(session, actor.acting_for("testing.sample", "task.view", "task.work"),
                                     person_ids=[resolved.person_id])
    return tube, sample


def _refuse_if_full(tube: Tube, n: int) -> None:
    if tube.status == "closed" or n >= tube.pool_size:
        raise SampleRefused(TUBE_CLOSED(), [FieldError(
            "tube_barcode", TUBE_FULL(barcode=tube.barcode, n=n, size=tube.pool_size))],
            kind="closed", barcode=tube.barcode, n=n, size=tube.pool_size)


def _put(session: Session, actor: Actor, tube: Tube, person_id: int, at: dt.datetime, *,
         limit: TubeLimit | None, pack: Any) -> TubeSample:
    """One sample into the tube. `limit` is the person's pooling limit (`single_tube.limits`): a person
    who may not be pooled this many to a tube is refused, named, and nothing is stored."""
    n = _count(session, tube.id)
    existing = session.execute(select(TubeSample).where(TubeSample.tube_id == tube.id,
                                                        TubeSample.person_id == person_id)).scalar_one_or_none()
    if existing is not None:
        raise SampleRefused(ALREADY_IN(), [FieldError(
            "person", ALREADY_IN_TUBE(barcode=tube.barcode, n=existing.position))],
            kind="duplicate", barcode=tube.barcode, n=existing.position)
    if limit is not None and tube.pool_size > limit.size:
        refused = single_tube.refusal(session, actor, pack, limit, person_id, tube.pool_size)
        raise SampleRefused(refused.message, [refused], kind="single_tube", barcode=tube.barcode,
                            size=tube.pool_size, limit=limit.size, rule=limit.rule)
    _refuse_if_full(tube, n)
    sample = TubeSample(tube_id=tube.id, person_id=person_id, position=n + 1, collected_at=at,
                        recorded_by=actor.username)
    session.add(sample)
    if tube.collected_at is None or at < tube.collected_at:
        tube.collected_at = at
    if n + 1 >= tube.pool_size:
        tube.status, tube.closed_at = "closed", clock.now()
    session.flush()
    audit.record(session, actor, "testing.sampled", object_type="tube", object_id=tube.id, person_id=person_id,
                 position=n + 1)
    return sample


def collected_times(session: Session, person_ids: Sequence[int], since: dt.datetime, until: dt.datetime
                    ) -> dict[int, list[dt.datetime]]:
    """Collection times of the persons' PCR samples in [since, until) — what control matches to the
    test days of measures (registered as control's sample source)."""
    out: dict[int, list[dt.datetime]] = defaultdict(list)
    for chunk in common.chunks(sorted(set(person_ids))):
        stmt = (select(TubeSample.person_id, TubeSample.collected_at).join(Tube, Tube.id == TubeSample.tube_id)
                .where(TubeSample.person_id.in_(chunk), TubeSample.collected_at >= since,
                       TubeSample.collected_at < until, Tube.test_type == "pcr"))
        for pid, at in session.execute(stmt):
            out[pid].append(at)
    return out


def sample_results(session: Session, person_ids: Sequence[int], since: dt.datetime, until: dt.datetime
                   ) -> dict[int, list[tuple[int, dt.datetime, str | None, dt.datetime | None]]]:
    """The persons' single-tube PCR samples collected in [since, until) with every result version:
    (tube id, collected at, result, reported at), one tuple per version, or one with no result while
    none has arrived — what control's release rules read (registered as control's result source)."""
    out: dict[int, list[tuple[int, dt.datetime, str | None, dt.datetime | None]]] = defaultdict(list)
    for chunk in common.chunks(sorted(set(person_ids))):
        stmt = (select(TubeSample.person_id, Tube.id, TubeSample.collected_at, TubeResult.result,
                       TubeResult.reported_at)
                .join(Tube, Tube.id == TubeSample.tube_id)
                .outerjoin(TubeResult, TubeResult.tube_id == Tube.id)
                .where(TubeSample.person_id.in_(chunk), TubeSample.collected_at >= since,
                       TubeSample.collected_at < until, Tube.test_type == "pcr", Tube.pool_size == 1)
                .order_by(TubeSample.person_id, Tube.id, TubeResult.version))
        for pid, tube_id, collected, result, reported in session.execute(stmt):
            out[pid].append((tube_id, collected, result, reported))
    return out


@dataclass(frozen=True)
class PersonResult:
    """A person's PCR testing in a window, through single tubes and pools, as of a moment."""

    #: the first collection in the window (single tube or pool)
    sampled_at: dt.datetime | None
    #: None (no result yet, or a positive pool awaiting the single-tube retest) | negative | positive
    result: str | None
    resulted_at: dt.datetime | None
    #: when a pool holding the person was first reported positive (the pool loop runs)
    pool_positive_at: dt.datetime | None


def _standing(versions: list[tuple[str, dt.datetime]]) -> tuple[str | None, dt.datetime | None]:
    """A tube's result over its versions reported so far: positive wins (safety first)."""
    if not versions:
        return None, None
    result = "positive" if any(r == "positive" for r, _ in versions) else "negative"
    return result, max(rep for r, rep in versions if r == result)


def person_results(session: Session, person_ids: Sequence[int], since: dt.datetime, until: dt.datetime, *,
                   at: dt.datetime) -> dict[int, PersonResult]:
    """Each person's result from PCR samples collected in [since, until), counting result versions
    reported by `at` (what area-wide rounds read for coverage): a single-tube result decides (positive
    wins); without one, a positive pool leaves the person awaiting the retest (no result,
    `pool_positive_at` set) and a negative pool is a negative for each of its members."""
    tubes: dict[int, dict[int, tuple[int, dt.datetime, list[tuple[str, dt.datetime]]]]] = defaultdict(dict)
    for chunk in common.chunks(sorted(set(person_ids))):
        stmt = (select(TubeSample.person_id, Tube.id, Tube.pool_size, TubeSample.collected_at, TubeResult.result,
                       TubeResult.reported_at)
                .join(Tube, Tube.id == TubeSample.tube_id)
                .outerjoin(TubeResult, TubeResult.tube_id == Tube.id)
                .where(TubeSample.person_id.in_(chunk), TubeSample.collected_at >= since,
                       TubeSample.collected_at < until, Tube.test_type == "pcr"))
        for pid, tube_id, size, collected, result, reported in session.execute(stmt):
            _size, _at, versions = tubes[pid].setdefault(tube_id, (size, collected, []))
            if result and reported is not None and reported <= at:
                versions.append((result, reported))
    out: dict[int, PersonResult] = {}
    for pid, by_tube in tubes.items():
        single = [_standing(v) for size, _c, v in by_tube.values() if size == 1]
        pooled = [_standing(v) for size, _c, v in by_tube.values() if size > 1]
        sampled = min(c for _s, c, _v in by_tube.values())
        pool_positive = min((rep for r, rep in pooled if r == "positive"), default=None)
        decided = [(r, rep) for r, rep in single if r] or ([] if pool_positive else [(r, rep) for r, rep in pooled if r])
        result, resulted = _standing(decided)  # type: ignore[arg-type]
        out[pid] = PersonResult(sampled, result, resulted, pool_positive)
    return out


# ----------------------------------------------------------------------------------- sample files

@dataclass
class SampleItem:
    number: int
    values: dict[str, str]
    issues: list[str] = field(default_factory=list)


def ingest_samples(session: Session, actor: Actor, *, items: Sequence[SampleItem], via: str = "import",
                   filename: str | None = None, advance: Callable[[int], None] | None = None) -> list[ReportRow]:
    """Sampling records from other systems (采样数据对接): one row per person and tube. `duplicate` when
    the person is already in the tube; unknown sampling point codes are registered and mentioned."""
    actor.require("testing.sample")
    p = common.pack(session)
    reports = [ReportRow(it.number, "accepted") for it in items]
    parsed: list[dict[str, Any] | None] = []
    points: dict[str, Place] = {}
    for it, rep in zip(items, reports, strict=True):
        v = it.values
        issues = rep.issues
        code = clean_barcode(v.get("tube_barcode"))
        err = _barcode_error(code)
        row: dict[str, Any] = {"barcode": code}
        if err:
            issues.append(FieldIssue(err.field, err.message))
        size_text = (v.get("pool_size") or "").strip()
        size = None
        if size_text:
            digits = size_text.replace("合1", "").replace("合一", "").replace("in1", "").strip()
            if digits.isdecimal() and 1 <= int(digits) <= MAX_POOL:  # not isdigit: int("¹") fails
                size = int(digits)
            else:
                issues.append(FieldIssue("pool_size", NOT_A_POOL_SIZE(text=repr(size_text))))
        row["pool_size"] = size
        try:
            row["collected_at"] = parse_time(v.get("collected_at") or "")
        except BadTime as exc:
            issues.append(FieldIssue("collected_at", reason_of(exc)))
            row["collected_at"] = None
        if row["collected_at"] is None and not any(i.startswith("collected_at") for i in issues):
            issues.append(FieldIssue("collected_at", REQUIRED()))
        point_code = (v.get("sampling_point") or "").strip()
        row["point"] = None
        if point_code:
            if point_code not in points:
                try:
                    place, created = sampling_point_or_register(session, actor, point_code)
                except ValidationFailed as exc:
                    issues.extend(FieldIssue(f.field, f.message) for f in exc.fields)
                    place, created = None, False
                if place is not None:
                    points[point_code] = place
                    if created:
                        issues.append(FieldIssue("sampling_point", NEW_POINT(code=point_code)))
            row["point"] = points.get(point_code)
        if err or any(i.startswith(("collected_at", "pool_size")) for i in issues):
            rep.status = "rejected"
            parsed.append(None)
        else:
            parsed.append(row)
    keys = [PersonKeys(it.values.get("name") or None, it.values.get("id_number") or None,
                       it.values.get("phone") or None) for it in items]
    live_idx = [i for i, row in enumerate(parsed) if row is not None]
    resolved = resolve_persons(session, actor, [keys[i] for i in live_idx], source="sample")
    person_limits = single_tube.limits(session, p, [r.person_id for r in resolved if r.person_id is not None])
    tubes: dict[str, Tube] = {}
    for i, res in zip(live_idx, resolved, strict=True):
        rep, row = reports[i], parsed[i]
        assert row is not None
        rep.issues.extend(res.issues)
        rep.extra["tube_barcode"] = row["barcode"]
        if res.rejected or res.person_id is None:
            rep.status = "rejected"
            continue
        rep.person_id = res.person_id
        tube = tubes.get(row["barcode"])
        if tube is None:
            tube = session.execute(select(Tube).where(Tube.barcode == row["barcode"])).scalar_one_or_none()
        if tube is None:
            point = row["point"]
            size = row["pool_size"] or single_tube.point_limit(p, point) or common.default_pool_size(p)
            point_error = single_tube.fever_clinic_error(p, point, size)
            if point_error is not None:
                rep.status = "rejected"
                rep.issues.append(issue(point_error.field, point_error.message))
                continue
            unit_id, unit_path = (point.unit_id, point.unit_path) if point is not None else _root(session)
            tube = Tube(barcode=row["barcode"], pool_size=size,
                        sampling_point_id=point.id if point else None, status="open", opened_at=clock.now(),
                        opened_by=actor.username, via=via, unit_id=unit_id, unit_path=unit_path)
            session.add(tube)
            session.flush()
        elif not scope.sees(actor, tube):
            rep.status = "rejected"
            rep.issues.append(FieldIssue("tube_barcode", TUBE_OUTSIDE(code=tube.barcode)))
            continue
        elif row["pool_size"] and row["pool_size"] != tube.pool_size:
            rep.issues.append(FieldIssue("pool_size", SIZE_IGNORED(size=tube.pool_size, given=row["pool_size"])))
        tubes[row["barcode"]] = tube
        try:
            sample = _put(session, actor, tube, res.person_id, row["collected_at"],
                          limit=person_limits.get(res.person_id), pack=p)
            rep.extra["position"] = sample.position
        except SampleRefused as exc:
            if exc.kind == "duplicate":
                rep.status = "duplicate"
            else:
                rep.status = "rejected"
                rep.issues.extend(FieldIssue(f.field, f.message) for f in exc.fields)
    if advance is not None:
        advance(len(items))
    sampled = [r.person_id for r in reports if r.status == "accepted" and r.person_id is not None]
    if sampled:
        # measures' test days are done (their missed-test tasks close as the sampler)
        control_service.samples_recorded(session, actor.acting_for("testing.sample", "task.view", "task.work"),
                                         person_ids=sampled)
    counts: dict[str, int] = defaultdict(int)
    for r in reports:
        counts[r.status] += 1
    audit.record(session, actor, "testing.samples_imported", object_type="tube", via=via, filename=filename,
                 rows=len(reports), tubes=len(tubes), **counts)
    return reports


def _root(session: Session) -> tuple[int, str]:
    root = jurisdictions_service.root_unit(session)
    return root.id, root.path


def import_samples(session: Session, actor: Actor, path: Path, *,
                   progress: Callable[[int], None] | None = None) -> Sequence[ReportRow]:
    """`fangkong import samples FILE` (CSV or XLSX). Raises UnusableFile."""
    table = read_table(Path(path), SAMPLE_COLUMNS, required_any=["tube_barcode"])
    reports = ReportLog()  # memory flat in the row count
    # stored and committed a chunk at a time: a pooled tube filled over two chunks is found again in the
    # database, and a person already in a tube is a duplicate, so a re-import stores each sample once
    for chunk in table.chunks():
        items = [SampleItem(row.number, row.values) for row in chunk]
        reports.extend(table.report(ingest_samples(session, actor, items=items, filename=Path(path).name,
                                                   advance=progress)))
        checkpoint(session)
    if not reports:  # no data rows: still checks the permission
        ingest_samples(session, actor, items=[], filename=Path(path).name, advance=progress)
    return table.report(reports)


# ---------------------------------------------------------------------------------- citizen's page

@dataclass
class CitizenView:
    """What a person sees of themselves (no name, no numbers: they typed them)."""

    groups: list[dict[str, Any]]
    last_negative_at: dt.datetime | None
    next_due_at: dt.datetime | None
    points: list[PointView]
    #: the one control status (control's service), and the test days of the person's measures
    control: control_service.ControlStatus | None = None
    due_tests: list[control_service.DueTestView] = field(default_factory=list)


def citizen_status(session: Session, *, id_number: str, phone: str, ip: str | None = None) -> CitizenView | None:
    """A person's own next due date (本人应检查询): ID number and the phone registered with it must both
    match; None otherwise (the answer never says which one was wrong). Audited without the numbers."""
    id_check = check_id_number(id_number)
    phone_check = check_phone(phone)
    person = None
    if id_check is not None and id_check.valid and phone_check is not None and phone_check.valid:
        person = session.execute(select(Person).where(  # the retiring key's index too, during a rotation
            Person.id_number_bidx.in_(crypto.blind_indexes(id_check.value, "id_number")))).scalars().first()
        if person is not None and person.phone_bidx not in crypto.blind_indexes(phone_check.value, "phone"):
            person = None
    actor = Actor(None, "citizen", "citizen", None, "/", frozenset(), ip)
    audit.record(session, actor, "testing.citizen_lookup", object_type="person",
                 object_id=person.id if person else None, found=person is not None)
    if person is None:
        return None
    p = common.pack(session)
    names = common.group_names(p)
    members = session.execute(select(GroupMember).where(GroupMember.person_id == person.id,
                                                        GroupMember.active.is_(True))).scalars().all()
    groups = [{"code": m.group_code, "name": names.get(m.group_code, m.group_code),
               "frequency_days": m.frequency_days, "next_due_at": m.next_due_at} for m in members]
    now = clock.now()
    due_tests = control_service.due_tests_of_person(session, person.id, at=now)
    dues = [m.next_due_at for m in members if m.next_due_at is not None]
    measure_due = control_service.next_due_at(due_tests)
    if measure_due is not None:
        dues.append(measure_due)
    lasts = [m.last_negative_at for m in members if m.last_negative_at is not None]
    if not lasts:
        found = common.last_negatives(session, [person.id])
        lasts = list(found.values())
    return CitizenView(groups, max(lasts) if lasts else None, min(dues) if dues else None,
                       sampling_points(session, near_path=person.unit_path, limit=5),
                       control_service.status_of(session, [person.id], at=now)[person.id], due_tests)


def list_tubes(session: Session, actor: Actor, *, limit: int = 50, after_id: int | None = None,
               result: str | None = None) -> list[Tube]:
    """Tubes in the actor's jurisdiction, newest first."""
    actor.require("testing.view")
    stmt = scope.visible(select(Tube), actor, Tube)
    if result:
        stmt = stmt.where(Tube.result == result)
    if after_id is not None:
        stmt = stmt.where(Tube.id < after_id)
    return list(session.execute(stmt.order_by(Tube.id.desc()).limit(max(1, min(limit, 500)))).scalars())
