"""Checkpoint records (查验记录): a row per inspected person, or a plate alone (a sighting).

One pipeline for files, the API and the inspection page: parse → repeats → persons (the registry's one
matcher) → store → leads (intake's service, channel `checkpoint`) → trips. Idempotent by `record_ref`:
a repeat is `duplicate` with the first answer; a reused ref with other content is rejected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints import rules
from fangkong.checkpoints.models import (
    CODE_COLOURS,
    DECISIONS,
    ROLES,
    VEHICLE_TYPES,
    CheckpointRecord,
)
from fangkong.checkpoints.service import checkpoints as checkpoints_service
from fangkong.checkpoints.service import verifier
from fangkong.intake import rules as intake_rules
from fangkong.intake import service as intake_service
from fangkong.intake.service import risk_areas as intake_areas
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import chunks
from fangkong.kernel.clock import BadTime
from fangkong.kernel.errors import REQUIRED
from fangkong.kernel.jurisdictions import regions
from fangkong.kernel.messages import FieldIssue, _, message, reason_of
from fangkong.kernel.people.resolution import PersonKeys, resolve_persons
from fangkong.kernel.tabular import ReportRow, read_table
from fangkong.kernel.tabular import checkpoint as commit_chunk

UNKNOWN_DIRECTION = message("checkpoint.unknown_direction", _("unknown direction %(text)s; 进, 出 or 巡查 (in, out, seen)"))
UNKNOWN_VALUE = message("checkpoint.unknown_value", _("unknown value %(text)s; one of %(values)s"))
NOTHING_TO_RECORD = message("checkpoint.nothing_to_record", _("nothing to record: no plate and no person"))
REF_REUSED = message("checkpoint.ref_reused", _("already used for a record with other content"))
NOT_A_TEMPERATURE = message("checkpoint.not_a_temperature", _("not a body temperature in °C: %(text)s"))
NOT_A_PLATE = message("checkpoint.not_a_plate", _("not a plate: %(text)s"))
IN_FUTURE = message("checkpoint.in_future", _("in the future"))
NOT_A_COUNTY = message("checkpoint.not_a_county", _("names no single county: %(text)s"))
CUT = message("checkpoint.cut", _("longer than %(limit)s characters, cut"))
LEAD_REASON_CODE = "卡口查验:%(colour)s"
LEAD_REASON_AREA = "卡口查验:来自%(level)s(%(origin)s)"

#: header aliases of a checkpoint-records file (canonical English name first)
RECORD_COLUMNS: dict[str, list[str]] = {
    "record_ref": ["记录编号", "record ref", "记录号"],
    "passage_ref": ["通行编号", "passage ref", "通行记录编号"],
    "checkpoint": ["卡口", "卡口编号", "卡口名称", "checkpoint ref"],
    "inspected_at": ["查验时间", "inspected at", "时间", "通行时间"],
    "direction": ["方向", "进出方向"],
    "plate": ["车牌号", "车牌", "车牌号码", "plate number"],
    "vehicle_type": ["车辆类型", "vehicle type", "车型"],
    "epass_no": ["通行证编号", "epass no", "通行证号"],
    "epass_token": ["通行证", "epass token", "通行证二维码"],
    "name": ["姓名"],
    "id_number": ["身份证号", "身份证号码", "证件号码", "id number"],
    "phone": ["手机号", "手机号码", "联系电话", "电话"],
    "role": ["人员类型", "身份"],
    "origin": ["出发地", "来源地", "始发地"],
    "destination": ["目的地"],
    "address": ["详细地址", "地址", "目的地详细地址"],
    "receiver": ["收货单位", "接收单位"],
    "health_code": ["健康码", "健康码颜色", "health code"],
    "tested_at": ["核酸采样时间", "tested at", "最近核酸采样时间", "采样时间"],
    "temperature": ["体温"],
    "decision": ["处置", "处置方式", "处置结果"],
}
FIELDS = tuple(RECORD_COLUMNS)

_DIRECTION_WORDS = {"in": "in", "进": "in", "入": "in", "进入": "in", "入城": "in", "out": "out", "出": "out",
                    "离开": "out", "出城": "out", "seen": "seen", "巡查": "seen", "巡": "seen"}
_VEHICLE_WORDS = {**{k: k for k in VEHICLE_TYPES}, **{v: k for k, v in VEHICLE_TYPES.items()},
                  "货运车辆": "truck", "轿车": "car", "小汽车": "car", "大客车": "bus", "客运车辆": "bus"}
_ROLE_WORDS = {**{k: k for k in ROLES}, **{v: k for k, v in ROLES.items()}, "司机": "driver", "驾驶人": "driver",
               "随车": "crew", "押运员": "crew", "乘车人员": "passenger", "乘员": "passenger"}
_CODE_WORDS = {**{k: k for k in CODE_COLOURS}, **{v: k for k, v in CODE_COLOURS.items()}, "绿": "green",
               "黄": "yellow", "红": "red"}
_DECISION_WORDS = {**{k: k for k in DECISIONS}, **{v: k for k, v in DECISIONS.items()}, "通行": "pass",
                   "采样": "test", "伴行": "escort", "接引": "escort", "转运": "transfer", "隔离": "transfer"}
LIMITS = {"record_ref": 80, "passage_ref": 80, "origin": 100, "destination": 100, "address": 255,
          "receiver": 100, "epass_no": 16, "epass_token": 4000, "name": 64}


@dataclass
class RecordItem:
    """One record as received: canonical field → text (file cells, API fields, page form)."""

    number: int
    values: dict[str, str]


@dataclass
class _Row:
    item: RecordItem
    report: ReportRow
    text: dict[str, str | None] = field(default_factory=dict)
    cp: checkpoints_service.CheckpointView | None = None
    at: dt.datetime | None = None
    tested_at: dt.datetime | None = None
    temperature: float | None = None
    codes: dict[str, str | None] = field(default_factory=dict)
    plate: str | None = None
    origin_code: str | None = None
    destination_code: str | None = None
    content_hash: str = ""
    has_person: bool = False
    record: CheckpointRecord | None = None


def _clean(value: Any) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(value if value is not None else "")).split())


def _word(text: str, words: dict[str, str]) -> str | None:
    key = text.replace(" ", "")
    return words.get(key) or words.get(key.lower())


def _content_hash(values: dict[str, str]) -> str:
    body = {k: _clean(values.get(k)) for k in FIELDS if _clean(values.get(k))}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _parse(r: _Row, checkpoints: dict[str, checkpoints_service.CheckpointView | None], session: Session,
           actor: Actor, now: dt.datetime) -> None:
    v, issues = r.item.values, r.report.issues
    for f in FIELDS:
        t = _clean(v.get(f))
        limit = LIMITS.get(f)
        if limit and len(t) > limit:
            if f in ("record_ref", "passage_ref", "epass_no"):
                issues.append(FieldIssue(f, CUT(limit=limit)))
                r.report.status = "rejected"
            else:
                issues.append(FieldIssue(f, CUT(limit=limit)))
            t = t[:limit]
        r.text[f] = t or None
    r.content_hash = _content_hash(v)
    t = r.text
    if not t["record_ref"]:
        issues.append(FieldIssue("record_ref", REQUIRED()))
    ref = t["checkpoint"] or ""
    if ref not in checkpoints:
        checkpoints[ref] = checkpoints_service.find_checkpoint(session, actor, ref) if ref else None
    r.cp = checkpoints[ref]
    if not ref:
        issues.append(FieldIssue("checkpoint", REQUIRED()))
    elif r.cp is None:
        issues.append(FieldIssue("checkpoint", checkpoints_service.UNKNOWN_CHECKPOINT(ref=ref)))
    try:
        r.at = clock.parse_time(t["inspected_at"])
        if r.at is None:
            issues.append(FieldIssue("inspected_at", REQUIRED()))
        elif r.at > now + dt.timedelta(minutes=10):
            issues.append(FieldIssue("inspected_at", IN_FUTURE()))
            r.at = None
    except BadTime as exc:
        issues.append(FieldIssue("inspected_at", reason_of(exc)))
    direction = _word(t["direction"] or "", _DIRECTION_WORDS)
    if direction is None:
        issues.append(FieldIssue("direction", UNKNOWN_DIRECTION(text=repr(t["direction"] or ""))))
    r.codes["direction"] = direction
    for f, words, labels in (("vehicle_type", _VEHICLE_WORDS, VEHICLE_TYPES), ("role", _ROLE_WORDS, ROLES),
                             ("health_code", _CODE_WORDS, CODE_COLOURS), ("decision", _DECISION_WORDS, DECISIONS)):
        given = t[f]
        code = _word(given, words) if given else None
        if given and code is None:
            issues.append(FieldIssue(f, UNKNOWN_VALUE(text=repr(given), values="、".join(labels.values()))))
        r.codes[f] = code
    if t["plate"]:
        key = rules.plate_key(t["plate"])
        if rules.looks_like_plate(key):
            r.plate = key
        else:
            issues.append(FieldIssue("plate", NOT_A_PLATE(text=t["plate"])))
    if t["tested_at"]:
        try:
            r.tested_at = clock.parse_time(t["tested_at"])
        except BadTime as exc:
            issues.append(FieldIssue("tested_at", reason_of(exc)))
    if t["temperature"]:
        try:
            temp = float(t["temperature"].replace("℃", "").replace("°C", "").replace("度", ""))
            if not 30 <= temp <= 45:
                raise ValueError
            r.temperature = round(temp, 1)
        except ValueError:
            issues.append(FieldIssue("temperature", NOT_A_TEMPERATURE(text=t["temperature"])))
    for f in ("origin", "destination"):
        if t[f]:
            res = regions.resolve_region(t[f])
            if res.is_county and res.code:
                setattr(r, f"{f}_code", res.code)
            elif f == "destination" or res.ambiguous:
                issues.append(FieldIssue(f, NOT_A_COUNTY(text=t[f])))
    r.has_person = bool(t["id_number"] or t["phone"] or t["name"])
    hard = ("record_ref", "checkpoint", "inspected_at", "direction", "passage_ref", "epass_no")
    if not r.has_person and r.plate is None:
        issues.append(FieldIssue("plate", NOTHING_TO_RECORD()))
        r.report.status = "rejected"
    if any(i.field in hard for i in issues if isinstance(i, FieldIssue)):
        r.report.status = "rejected"


def record_items(session: Session, actor: Actor, *, items: Sequence[RecordItem], source: str = "api",
                 progress: Callable[[int], None] | None = None,
                 known: checkpoints_service.CheckpointView | None = None) -> list[ReportRow]:
    """Store checkpoint records, one report line per item in order (`accepted` | `duplicate` |
    `rejected`), with `lead_id` and `trip_id` in each line's extra columns. Needs `checkpoint.record`
    and, for checkpoints outside the actor's jurisdiction, finds nothing (unknown checkpoint). `known`:
    a checkpoint the caller has already read in the actor's scope (the page's), not read again."""
    actor.require("checkpoint.record")
    now = clock.now()
    rows = [_Row(it, ReportRow(it.number, "accepted")) for it in items]
    found: dict[str, checkpoints_service.CheckpointView | None] = {}
    if known is not None:
        found.update({k: known for k in (known.ref, known.code) if k})
    for r in rows:
        _parse(r, found, session, actor, now)

    # repeats: stored refs, then earlier rows of this batch
    refs = sorted({r.text["record_ref"] for r in rows if r.report.status == "accepted" and r.text["record_ref"]})
    stored: dict[str, CheckpointRecord] = {}
    for chunk in chunks(refs):
        for rec in session.execute(select(CheckpointRecord).where(CheckpointRecord.record_ref.in_(chunk))).scalars():
            stored[rec.record_ref] = rec
    first: dict[str, _Row] = {}
    live: list[_Row] = []
    for r in rows:
        if r.report.status != "accepted":
            continue
        ref = r.text["record_ref"] or ""
        earlier = stored.get(ref)
        if earlier is not None:
            if earlier.content_hash == r.content_hash and scope.sees(actor, earlier):
                r.report.status, r.report.person_id = "duplicate", earlier.person_id
                r.report.extra = {"lead_id": earlier.lead_id, "trip_id": earlier.trip_id}
            else:
                r.report.status, r.report.issues = "rejected", [FieldIssue("record_ref", REF_REUSED())]
            continue
        if ref in first:
            if first[ref].content_hash == r.content_hash:
                r.report.status = "duplicate"
                r.record = first[ref].record  # answered after the first is stored
            else:
                r.report.status, r.report.issues = "rejected", [FieldIssue("record_ref", REF_REUSED())]
            continue
        first[ref] = r
        live.append(r)

    # persons, through the registry's one matcher (a bad ID number is an issue, not a rejection)
    with_person = [r for r in live if r.has_person]
    resolved = resolve_persons(session, actor, [
        PersonKeys(name=r.text["name"], id_number=r.text["id_number"], phone=r.text["phone"]) for r in with_person],
        source="checkpoint")
    for r, res in zip(with_person, resolved, strict=True):
        r.report.issues.extend(res.issues)
        if res.rejected:
            if r.plate is None:
                r.report.status = "rejected"
            r.has_person = False
        else:
            r.report.person_id = res.person_id
    live = [r for r in live if r.report.status == "accepted"]

    for r in live:
        assert r.cp is not None and r.at is not None
        t = r.text
        verdict = verifier.verify_epass(session, t["epass_token"], plate=r.plate, at=r.at)
        r.record = CheckpointRecord(
            record_ref=t["record_ref"], content_hash=r.content_hash,
            passage_key=f"{r.cp.place_id}:{t['passage_ref'] or t['record_ref']}", place_id=r.cp.place_id,
            inspected_at=r.at, direction=r.codes["direction"], plate=r.plate, vehicle_type=r.codes["vehicle_type"],
            epass_no=t["epass_no"], epass_token=t["epass_token"], person_id=r.report.person_id,
            role=r.codes["role"], origin=t["origin"], origin_code=r.origin_code, destination=t["destination"],
            destination_code=r.destination_code, address=t["address"], receiver=t["receiver"],
            health_code=r.codes["health_code"], tested_at=r.tested_at, temperature=r.temperature,
            decision=r.codes["decision"], epass_verdict=verdict.stored if verdict else None, source=source,
            recorded_at=now, recorded_by=actor.username, unit_id=r.cp.unit_id, unit_path=r.cp.unit_path)
        session.add(r.record)
        if progress is not None:
            progress(1)
    session.flush()
    _make_leads(session, actor, live)
    from fangkong.checkpoints.service import trips as trips_service

    # trips: plates passing on an e-pass now, or holding trips already (a car's plate with neither has none)
    moving = {r.plate for r in live if r.plate and r.codes["direction"] != "seen"}
    on_pass = {r.plate for r in live if r.plate in moving and (r.text["epass_no"] or r.text["epass_token"])}
    trips_service.rebuild_trips(session, on_pass | trips_service.plates_with_trips(session, moving - on_pass))
    for r in rows:
        if r.record is not None:
            r.report.extra = {"lead_id": r.record.lead_id, "trip_id": r.record.trip_id}
            if r.report.status == "duplicate":
                r.report.person_id = r.record.person_id
    if live:
        audit.record(session, actor, "checkpoints.records", object_type="checkpoint_record", source=source,
                     accepted=len(live), rows=len(rows))
    return [r.report for r in rows]


def crew_on_epass(rec: CheckpointRecord, passage_has_epass: bool) -> bool:
    """Truck crew on an e-pass are followed by their trip, not made leads."""
    return rec.role in ("driver", "crew") and passage_has_epass


def passages_on_epass(recs: Iterable[CheckpointRecord]) -> set[str]:
    """The passages (keys) whose vehicle came on an e-pass: a row gives its number or token, and no row's
    token verified invalid (a forged, revoked or expired pass exempts nobody: its crew are checked like
    any other person; a number alone, or a token no verifier checked, is taken as given)."""
    given: set[str] = set()
    refused: set[str] = set()
    for rec in recs:
        if rec.epass_no or rec.epass_token:
            given.add(rec.passage_key)
        if rec.epass_verdict not in (None, "valid"):
            refused.add(rec.passage_key)
    return given - refused


def _make_leads(session: Session, actor: Actor, live: list[_Row]) -> None:
    """A person entering from a risk area (intake's areas at the inspection time) or with a yellow or red
    code becomes a `checkpoint` lead (source_ref = the record's ref), unless returned (劝返) or crew on an
    e-pass (followed by the trip) — a pass that verified invalid exempts nobody."""
    passages_with_epass = passages_on_epass(r.record for r in live if r.record is not None)
    candidates = [r for r in live if r.record is not None and r.record.person_id is not None
                  and r.record.direction == "in" and r.record.decision != "return"
                  and not crew_on_epass(r.record, r.record.passage_key in passages_with_epass)]
    # the areas of the origins' counties only (one indexed read; an origin naming no county is no lead)
    counties = {r.origin_code for r in candidates if r.origin_code and r.record.health_code not in ("yellow", "red")}  # type: ignore[union-attr]
    areas = intake_areas.area_spans(session, counties) if counties else None
    items: list[tuple[_Row, str]] = []
    for r in candidates:
        rec = r.record
        assert rec is not None
        reason = None
        if rec.health_code in ("yellow", "red"):
            reason = LEAD_REASON_CODE % {"colour": CODE_COLOURS[rec.health_code]}
        elif rec.origin and r.origin_code and areas is not None:
            match = intake_rules.risk_level_at(rec.origin, rec.inspected_at, areas)
            if match is not None:
                reason = LEAD_REASON_AREA % {"level": intake_rules.LEVEL_ZH[match.level], "origin": rec.origin}
        if reason is not None:
            items.append((r, reason))
    if not items:
        return
    leads = [intake_service.LeadItem(i, {
        "name": r.text["name"] or "", "id_number": r.text["id_number"] or "", "phone": r.text["phone"] or "",
        "origin": r.text["origin"] or "", "arrival_at": clock.iso_local(r.record.inspected_at),  # type: ignore[union-attr]
        "address": r.text["address"] or "", "transport": f"{r.cp.name} {r.plate or ''}".strip(),  # type: ignore[union-attr]
        "reason": reason, "source_ref": r.text["record_ref"] or ""}) for i, (r, reason) in enumerate(items, 1)]
    result = intake_service.ingest_leads(session, actor, channel="checkpoint", items=leads, via="api")
    for (r, _reason), rep in zip(items, result.rows, strict=True):
        if r.record is not None and rep.extra.get("lead_id"):
            r.record.lead_id = rep.extra["lead_id"]
    session.flush()


def import_records_file(session: Session, actor: Actor, path: Path, *,
                        progress: Callable[[int], None] | None = None) -> list[ReportRow]:
    """`fangkong import checkpoint-records FILE` (CSV/XLSX): the headers of `RECORD_COLUMNS`."""
    actor.require("checkpoint.record")
    table = read_table(path, RECORD_COLUMNS, required_any=["record_ref", "checkpoint"])
    out: list[ReportRow] = []
    for rows in table.chunks():
        out += record_items(session, actor, items=[RecordItem(row.number, row.values) for row in rows],
                            source="file", progress=progress)
        commit_chunk(session)
    return table.report(out)


@dataclass(frozen=True)
class PersonCheck:
    """What the inspection page shows for one person before (and after) recording: the origin's risk
    level at the inspection time (`high`/`medium`/`low`, `none` outside every risk area, `unknown` when the
    origin names no single county) and whether the last sampling is too old (sample on the spot)."""

    number: int
    origin: str
    risk: str | None
    sample_on_spot: bool


@dataclass(frozen=True)
class InspectionCheck:
    """The e-pass verdict (None: no token, or no verifier) and each person's check, as of `at`."""

    at: dt.datetime
    verdict: verifier.EpassVerdict | None
    persons: list[PersonCheck]
    sample_hours: float


def inspection_check(session: Session, actor: Actor, *, at: dt.datetime, token: str | None, plate: str | None,
                     persons: Sequence[tuple[int, str, str]]) -> InspectionCheck:
    """The inspection page's answer at once (查验即时核验): the e-pass verdict for the plate seen and, per
    person (number, origin text, last sampling text), the origin's risk level (intake's areas at `at`)
    and whether the last sampling is older than the pack's `sample_on_spot_hours`. Reads no person and
    writes nothing. Needs `checkpoint.record`."""
    actor.require("checkpoint.record")
    from fangkong.kernel.policy import service as policy_service

    hours = policy_service.active_pack(session).checkpoints.sample_on_spot_hours
    key = rules.plate_key(plate or "")
    verdict = verifier.verify_epass(session, _clean(token) or None, plate=key or None, at=at)
    resolved = {origin: regions.resolve_region(origin) for origin in (_clean(o) for _n, o, _t in persons) if origin}
    counties = {res.code for res in resolved.values() if res.is_county and res.code}
    areas = intake_areas.area_spans(session, counties) if counties else None  # their counties' areas only
    out: list[PersonCheck] = []
    for number, origin_text, tested_text in persons:
        origin = _clean(origin_text)
        risk: str | None = None
        if origin:
            res = resolved[origin]
            if not res.is_county or areas is None:
                risk = "unknown"
            else:
                match = intake_rules.risk_level_at(res, at, areas)
                risk = match.level if match is not None else "none"
        try:
            tested = clock.parse_time(_clean(tested_text)) if _clean(tested_text) else None
        except BadTime:
            tested = None
        late = tested is not None and at - tested > dt.timedelta(hours=hours)
        if origin or late:
            out.append(PersonCheck(number, origin, risk, late))
    return InspectionCheck(at, verdict, out, hours)


def arrivals_with_address(session: Session, since: dt.datetime, until: dt.datetime) -> list[tuple[int, str]]:
    """(person id, destination address as recorded) of the persons recorded entering with since ≤
    inspected_at < until, oldest first (what area-wide testing rounds read for 'present but registered
    elsewhere'; a system read, the caller scopes what it shows)."""
    return [(pid, address) for pid, address in session.execute(
        select(CheckpointRecord.person_id, CheckpointRecord.address).where(
            CheckpointRecord.direction == "in", CheckpointRecord.person_id.is_not(None),
            CheckpointRecord.address.is_not(None), CheckpointRecord.inspected_at >= since,
            CheckpointRecord.inspected_at < until).order_by(CheckpointRecord.inspected_at, CheckpointRecord.id))]
