"""Recording scans (扫码登记): the scan page, staff checks, batch uploads and file imports.

Every channel goes through `record_scans`: venues resolved by ref, place code or signed code; times
checked against the clock and the retention window; repeats found by `request_id`; persons resolved
in one batch (`persons.resolve_identities`); scans inserted with one multi-row statement. The answer is
one `ReportRow` per item, exactly as file imports report (decisions.md, "Files in, reports out").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.clock import BadTime, parse_time
from fangkong.kernel.errors import NOT_A_TIME, REQUIRED, TOO_LONG, FieldError, NotFound, ValidationFailed
from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.people import crypto
from fangkong.kernel.people.identity import check_id_number, check_phone
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table
from fangkong.venues import codes
from fangkong.venues.fields import whole_seconds
from fangkong.venues.models import Scan, ScanUpload, VenueCode
from fangkong.venues.service import codes as codes_service
from fangkong.venues.service.persons import IdentityIn, resolve_identities

NOT_A_NUMBER = message("scan.temperature_not_a_number", _("not a number"))
TEMPERATURE_OUTSIDE = message("scan.temperature_range", _("outside %(low)s–%(high)s °C"))
YES_OR_NO = message("scan.yes_or_no", _("yes or no"))
UNKNOWN_REF = message("venue.unknown_ref", _("unknown venue ref %(ref)s"))
FORGED = message("venue_code.forged", _("not a valid venue code (forged or altered)"))
UNKNOWN_CODE = message("venue_code.unknown", _("unknown venue code"))
REPLACED_BEFORE = message("venue_code.replaced_before", _("replaced by a newer code before this scan"))
VENUE_REQUIRED = message("scan.venue_required", _("required (venue_ref or venue_code)"))
IN_THE_FUTURE = message("time.in_the_future", _("in the future"))
OLDER_THAN = message("scan.older_than_retention", _("older than the %(days)s-day retention period"))
ID_REUSED = message("scan.request_id_reused", _("already used for another scan; the first was kept"))
INVALID_SCAN = message("scan.invalid", _("invalid scan"))
INVALID_CHECK = message("scan.invalid_check", _("invalid check"))
INVALID_KEY = message("scan.invalid_idempotency_key", _("invalid Idempotency-Key"))

#: a scan stamped a little ahead of our clock is a device clock, not a forgery
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
REQUEST_ID_MAX = 80
TEMPERATURE_RANGE = (34.0, 43.0)
CHUNK = 500
#: who records a citizen's own scan from the scan page (no account)
PUBLIC_ACTOR = Actor(user_id=None, username="scan-page", role="public", unit_id=None, unit_path="/",
                     permissions=frozenset())

#: header aliases of a scans file (canonical English name first)
SCAN_COLUMNS: dict[str, list[str]] = {
    "venue_ref": ["venue ref", "ref", "场所编号", "场所编码", "场所ref", "场所代码"],
    "venue_code": ["venue code", "场所码", "二维码", "场所码token", "qr"],
    "venue": ["场所", "场所名称编号"],
    "phone": ["mobile", "手机", "手机号", "手机号码", "联系电话", "电话"],
    "id_number": ["id number", "身份证", "身份证号", "身份证号码", "证件号码", "证件号"],
    "name": ["姓名"],
    "scanned_at": ["scan time", "time", "扫码时间", "时间", "进场时间", "登记时间"],
    "request_id": ["request id", "流水号", "记录编号", "请求编号"],
    "temperature": ["体温"],
    "mask_ok": ["mask", "口罩", "佩戴口罩"],
}


@dataclass
class ScanItem:
    """One scan to record, as a row, form or API item gives it."""

    row: int
    venue_ref: str = ""
    venue_code: str = ""
    phone: object = None
    id_number: object = None
    name: object = None
    scanned_at: object = None
    request_id: str | None = None
    temperature: object = None
    mask_ok: object = None
    #: already resolved (the scan page: the token named it)
    place_id: int | None = None


@dataclass
class _Prepared:
    item: ScanItem
    report: ReportRow
    place_id: int | None = None
    at: dt.datetime | None = None
    request_id: str | None = None
    temperature: float | None = None
    mask_ok: bool | None = None
    ok: bool = True

    def reject(self, issue: FieldIssue) -> None:
        self.ok = False
        self.report.status = "rejected"
        self.report.issues.append(issue)


def retention_days(session: Session) -> int:
    """Days scans are kept: the shorter of the active pack's `venues.retention_days` and
    `retention.scan_days` (PIPL art. 19: the shortest retention the purpose allows)."""
    pack = policy_service.active_pack(session)
    return min(pack.venues.retention_days, pack.retention.scan_days)


def retention_cutoff(session: Session, now: dt.datetime | None = None) -> dt.datetime:
    """Scans strictly older than this are past retention (now − N days)."""
    return (now or clock.now()) - dt.timedelta(days=retention_days(session))


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _parse_temperature(value: object, p: _Prepared) -> None:
    s = _text(value).replace("℃", "").replace("°C", "").strip()
    if not s:
        return
    try:
        t = float(s)
    except ValueError:
        p.reject(FieldIssue("temperature", NOT_A_NUMBER()))
        return
    if not math.isfinite(t) or not TEMPERATURE_RANGE[0] <= t <= TEMPERATURE_RANGE[1]:
        p.reject(FieldIssue("temperature", TEMPERATURE_OUTSIDE(low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1])))
        return
    p.temperature = round(t, 1)


_YES = {"1", "true", "yes", "y", "是", "已戴", "佩戴", "戴", "ok", "√"}
_NO = {"0", "false", "no", "n", "否", "未戴", "未佩戴", "没戴", "×"}


def _parse_mask(value: object, p: _Prepared) -> None:
    if isinstance(value, bool):
        p.mask_ok = value
        return
    s = _text(value).casefold()
    if not s:
        return
    if s in _YES:
        p.mask_ok = True
    elif s in _NO:
        p.mask_ok = False
    else:
        p.reject(FieldIssue("mask_ok", YES_OR_NO()))


def _venues(session: Session, actor: Actor, prepared: list[_Prepared]) -> None:
    """Resolve each item's venue in three IN queries (refs, place codes, signed codes)."""
    refs = {p.item.venue_ref.strip() for p in prepared if p.place_id is None and p.item.venue_ref.strip()}
    by_ref: dict[str, tuple[int, str]] = {}
    by_code: dict[str, tuple[int, str]] = {}
    ref_list = sorted(refs)
    for i in range(0, len(ref_list), CHUNK):
        chunk = ref_list[i:i + CHUNK]
        wanted = set(chunk)
        # a ref is the import reference or the place code: both in one statement
        for pid, ref, code, path in session.execute(
                select(Place.id, Place.ref, Place.code, Place.unit_path)
                .where(Place.kind == "venue", or_(Place.ref.in_(chunk), Place.code.in_(chunk)))):
            if ref in wanted:
                by_ref[ref] = (pid, path)
            if code in wanted:
                by_code[code] = (pid, path)
    tokens: dict[str, codes.TokenInfo] = {}
    for p in prepared:
        raw = p.item.venue_code.strip()
        if p.place_id is None and not p.item.venue_ref.strip() and raw:
            with contextlib.suppress(codes.BadToken):
                tokens[codes.extract_token(raw)] = codes.verify_token(raw)
    code_rows: dict[str, tuple[int, dt.datetime | None, str]] = {}
    token_list = sorted(tokens)
    for i in range(0, len(token_list), CHUNK):
        for token, pid, revoked_at, path in session.execute(
                select(VenueCode.token, VenueCode.place_id, VenueCode.revoked_at, Place.unit_path)
                .join(Place, Place.id == VenueCode.place_id)
                .where(VenueCode.token.in_(token_list[i:i + CHUNK]), Place.kind == "venue")):
            code_rows[token] = (pid, revoked_at, path)
    for p in prepared:
        if p.place_id is not None or not p.ok:
            continue
        ref = p.item.venue_ref.strip()
        raw = p.item.venue_code.strip()
        if ref:
            hit = by_ref.get(ref) or by_code.get(ref)
            if hit is None or not scope.sees(actor, hit[1]):
                p.reject(FieldIssue("venue", UNKNOWN_REF(ref=ref)))
                continue
            p.place_id = hit[0]
        elif raw:
            token = codes.extract_token(raw)
            if token not in tokens:
                p.reject(FieldIssue("venue_code", FORGED()))
                continue
            row = code_rows.get(token)
            if row is None or row[0] != tokens[token].place_id or not scope.sees(actor, row[2]):
                p.reject(FieldIssue("venue_code", UNKNOWN_CODE()))
                continue
            if row[1] is not None and (p.at is None or p.at >= row[1]):
                p.reject(FieldIssue("venue_code", REPLACED_BEFORE()))
                continue
            p.place_id = row[0]
        else:
            p.reject(FieldIssue("venue", VENUE_REQUIRED()))


def _derived_request_id(p: _Prepared) -> str | None:
    """A stable id for a row that brings none: the same venue, person and second are the same scan.
    Built from blind indexes, so no number appears in clear."""
    id_check = check_id_number(p.item.id_number)
    phone_check = check_phone(p.item.phone)
    # under the signing key (stable across key rotations: a re-sent file must still find its scans)
    who = (crypto.stable_digest(id_check.value, "id_number") if id_check and id_check.valid
           else crypto.stable_digest(phone_check.value, "phone") if phone_check and phone_check.valid else "")
    assert p.at is not None
    if not who:
        return None  # no usable identity: the row is rejected, and must not shadow another
    digest = hashlib.sha256(f"{p.place_id}|{who}|{int(p.at.timestamp())}".encode()).hexdigest()
    return "auto:" + digest[:40]


def record_scans(session: Session, actor: Actor, *, items: Sequence[ScanItem], source: str,
                 checked_by_id: int | None = None, audit_batch: bool = True,
                 with_status: bool = False) -> list[ReportRow]:
    """Record scans; one report row per item, in order (accepted | duplicate | rejected).

    Venue: `place_id` when the caller resolved it, else `venue_ref` (the import reference, or the place
    code), else `venue_code` (the signed token or the whole QR URL); an unknown venue, or one outside
    the actor's jurisdiction, rejects the row. A stored `request_id` makes the row a `duplicate`
    answered with the first scan's person; a row without one gets an id derived from venue, person and
    second. The caller checks the permission for its channel. With `with_status`, each row with a
    person carries the person's control status at the scan time in `extra["control"]` (control's
    one answer), so the entrance can warn about a person under a measure.
    """
    now = clock.now()
    days = retention_days(session)  # one policy read per call
    cutoff = now - dt.timedelta(days=days)
    prepared = [_Prepared(it, ReportRow(it.row, "accepted"), place_id=it.place_id) for it in items]
    for p in prepared:
        try:
            at = parse_time(p.item.scanned_at if isinstance(p.item.scanned_at, dt.datetime)
                            else _text(p.item.scanned_at))
        except BadTime:
            p.reject(FieldIssue("scanned_at", NOT_A_TIME()))
            continue
        if at is None:
            p.reject(FieldIssue("scanned_at", REQUIRED()))
            continue
        at = whole_seconds(at)
        if at > now + FUTURE_TOLERANCE:
            p.reject(FieldIssue("scanned_at", IN_THE_FUTURE()))
        elif at < cutoff:
            p.reject(FieldIssue("scanned_at", OLDER_THAN(days=days)))
        p.at = at
        rid = _text(p.item.request_id)
        if len(rid) > REQUEST_ID_MAX:
            p.reject(FieldIssue("request_id", TOO_LONG(max=REQUEST_ID_MAX)))
        p.request_id = rid or None
        _parse_temperature(p.item.temperature, p)
        _parse_mask(p.item.mask_ok, p)
    _venues(session, actor, [p for p in prepared if p.ok])

    live = [p for p in prepared if p.ok]
    for p in live:
        if p.request_id is None:
            p.request_id = _derived_request_id(p)
    # repeats inside this batch: the first row stands for the others; repeats of stored scans are found
    # by the insert itself (ON CONFLICT DO NOTHING on the unique request id), so a fresh batch — the
    # usual case — costs no lookup, and two concurrent senders of one scan store it once
    first_in_batch: dict[str, _Prepared] = {}
    fresh: list[_Prepared] = []
    repeats: list[tuple[_Prepared, _Prepared]] = []
    for p in live:
        if p.request_id is None:
            fresh.append(p)
        elif p.request_id in first_in_batch:
            repeats.append((p, first_in_batch[p.request_id]))
        else:
            first_in_batch[p.request_id] = p
            fresh.append(p)

    resolved = resolve_identities(session, actor, [IdentityIn(p.item.phone, p.item.id_number, p.item.name)
                                                   for p in fresh])
    rows: list[dict[str, Any]] = []
    stored: list[_Prepared] = []
    for p, r in zip(fresh, resolved, strict=True):
        p.report.issues.extend(r.issues)
        if r.person_id is None:
            p.ok = False
            p.report.status = "rejected"
            continue
        p.report.person_id = r.person_id
        stored.append(p)
        rows.append({"place_id": p.place_id, "person_id": r.person_id, "scanned_at": p.at, "recorded_at": now,
                     "source": source, "request_id": p.request_id, "temperature": p.temperature,
                     "mask_ok": p.mask_ok, "checked_by_id": checked_by_id})
    if rows:
        # in request-id order: concurrent uploads sharing scans then wait for each other's ids in one
        # order (PostgreSQL), never in a cycle (a deadlock)
        rows.sort(key=lambda r: r["request_id"] or "")
        landed = _insert_scans(session, rows)
        _mark_stored_repeats(session, [p for p in stored if p.request_id not in landed])
    for p, first in repeats:
        if first.report.status == "accepted":
            p.report.status, p.report.person_id = "duplicate", first.report.person_id
            if (first.place_id, first.at) != (p.place_id, p.at):
                p.report.issues.append(FieldIssue("request_id", ID_REUSED()))
        elif first.report.status == "duplicate":
            p.report.status, p.report.person_id = "duplicate", first.report.person_id
            p.report.issues = list(first.report.issues)
        else:
            p.report.status, p.report.issues = "rejected", list(first.report.issues)
    reports = [p.report for p in prepared]
    if with_status:
        known = [p for p in prepared if p.report.person_id is not None and p.at is not None
                 and p.report.status != "rejected"]
        statuses = control_service.statuses_at(session, [(p.report.person_id, p.at) for p in known])  # type: ignore[misc]
        for p, st in zip(known, statuses, strict=True):
            p.report.extra["control"] = st
    if audit_batch and items:
        counts: dict[str, int] = {}
        for r in reports:
            counts[r.status] = counts.get(r.status, 0) + 1
        # one entry per batch naming its items: the request ids of the scans it stored (each scan row
        # carries its request id, so the entry leads to the rows)
        audit.record(session, actor, "venues.scans_recorded", object_type="scan", source=source,
                     request_ids=[p.request_id for p in prepared if p.report.status == "accepted"], **counts)
    return reports


_SCAN_COLUMNS = ("place_id", "person_id", "scanned_at", "recorded_at", "source", "request_id", "temperature",
                 "mask_ok", "checked_by_id")
#: SQLite: one `INSERT … VALUES (…), (…)` per 1,000 rows (9,000 parameters, under SQLite's 32,766),
#: the values bound as the column types store them (below) and the statement sent as written: through
#: SQLAlchemy's compiled insert each of a batch's rows went through its bind processors, ~15 % of a
#: batch's CPU in the profile
_SQLITE_ROWS = 1000
_SQLITE_INSERT_HEAD = f"INSERT INTO scan ({', '.join(_SCAN_COLUMNS)}) VALUES "
_SQLITE_INSERT_TAIL = " ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
_SQLITE_ROW = "(" + ",".join("?" * len(_SCAN_COLUMNS)) + ")"


def _sqlite_time(value: dt.datetime) -> str:
    """What `UTCDateTime` stores on SQLite (SQLAlchemy's DATETIME text, naive UTC)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column; attach a time zone first")
    return _naive_utc(value).isoformat(sep=" ", timespec="microseconds")
#: PostgreSQL: one column array per field, one short statement whatever the batch's size. A multi-row
#: VALUES of 100 scans has 900 placeholders that psycopg rewrites (a Python regex over the statement,
#: not cached past its size limit) on every batch: measured as the single largest client-side cost of
#: a batch. `unnest` keeps the text constant (psycopg's query cache, a server-side prepared statement).
_PG_INSERT = text(
    "INSERT INTO scan (place_id, person_id, scanned_at, recorded_at, source, request_id, temperature, mask_ok, "
    "checked_by_id) SELECT * FROM unnest(CAST(:place_id AS integer[]), CAST(:person_id AS integer[]), "
    "CAST(:scanned_at AS timestamp[]), CAST(:recorded_at AS timestamp[]), CAST(:source AS varchar[]), "
    "CAST(:request_id AS varchar[]), CAST(:temperature AS float8[]), CAST(:mask_ok AS boolean[]), "
    "CAST(:checked_by_id AS integer[])) ON CONFLICT (request_id) DO NOTHING RETURNING request_id")
_LOCK_SCAN = text("LOCK TABLE scan IN ROW EXCLUSIVE MODE")


def _naive_utc(value: dt.datetime) -> dt.datetime:
    """What `UTCDateTime` stores (the PostgreSQL statement binds raw values)."""
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _insert_scans(session: Session, rows: list[dict[str, Any]]) -> set[str | None]:
    """Insert the scans in one statement per 5,000 rows; a request id already stored is skipped by the
    database (`ON CONFLICT (request_id) DO NOTHING`). Returns the request ids that were inserted."""
    landed: set[str | None] = set()
    if session.get_bind().dialect.name != "postgresql":
        conn = session.connection()
        recorded: dict[dt.datetime, str] = {}
        for i in range(0, len(rows), _SQLITE_ROWS):
            chunk = rows[i:i + _SQLITE_ROWS]
            params: list[Any] = []
            for r in chunk:
                at = r["recorded_at"]
                rec = recorded.get(at)
                if rec is None:
                    rec = recorded[at] = _sqlite_time(at)
                mask = r["mask_ok"]
                params += (r["place_id"], r["person_id"], _sqlite_time(r["scanned_at"]), rec, r["source"],
                           r["request_id"], r["temperature"], None if mask is None else int(mask),
                           r["checked_by_id"])
            sql = _SQLITE_INSERT_HEAD + ",".join([_SQLITE_ROW] * len(chunk)) + _SQLITE_INSERT_TAIL
            landed.update(row[0] for row in conn.exec_driver_sql(sql, tuple(params)))
        return landed
    # the insert lock before any id is drawn: the co-location index's SHARE-mode watermark then never
    # overtakes an uncommitted lower id (colocation/store.py)
    session.execute(_LOCK_SCAN)
    for i in range(0, len(rows), 5000):
        chunk = rows[i:i + 5000]
        columns: dict[str, list[Any]] = {c: [r[c] for r in chunk] for c in _SCAN_COLUMNS}
        for c in ("scanned_at", "recorded_at"):
            columns[c] = [_naive_utc(v) for v in columns[c]]
        landed.update(session.execute(_PG_INSERT, columns).scalars())
    return landed


def _mark_stored_repeats(session: Session, repeats: list[_Prepared]) -> None:
    """Rows whose request id was already stored (by an earlier upload, or a concurrent one that
    committed first): `duplicate`, answered with the stored scan's person; a stored scan of another
    venue or second under the same id is an issue on `request_id` (the first was kept)."""
    by_rid = {p.request_id: p for p in repeats}
    for p in repeats:  # not stored by this call, whatever the lookup finds
        p.report.status = "duplicate"
    rids = sorted(r for r in by_rid if r is not None)
    for i in range(0, len(rids), CHUNK):
        for rid, pid, place_id, at in session.execute(
                select(Scan.request_id, Scan.person_id, Scan.place_id, Scan.scanned_at)
                .where(Scan.request_id.in_(rids[i:i + CHUNK]))):
            p = by_rid[rid]
            p.report.status, p.report.person_id = "duplicate", pid
            p.report.extra["scanned_at"] = at  # the first scan's time (the scan page shows it)
            if place_id != p.place_id or at != p.at:
                p.report.issues.append(FieldIssue("request_id", ID_REUSED()))


# ------------------------------------------------------------------------------------------ scan page

@dataclass(frozen=True)
class PageScan:
    """What the scan page shows after a check-in."""

    venue_name: str
    person_id: int
    scanned_at: dt.datetime
    duplicate: bool
    #: the person's control status at the scan (control's service): the page warns when under a measure
    control: control_service.ControlStatus | None = None


def record_page_scan(session: Session, *, token: str, phone: object, id_number: object = None,
                     name: object = None, request_id: str | None = None,
                     venue: codes_service.ScannedVenue | None = None) -> PageScan:
    """A citizen's own scan from the venue's QR page (扫码登记): the time is now. CodeRefused for a
    forged, altered or revoked code; ValidationFailed (fields `phone`, `id_number`) for bad numbers.
    Not audited one by one (the scan row is the record); new persons are (a count per scan).
    `venue`: the page already looked the token up in this transaction (one venue lookup per post)."""
    if venue is None:
        venue = codes_service.venue_for_token(session, token)
    item = ScanItem(1, phone=phone, id_number=id_number, name=name, scanned_at=whole_seconds(clock.now()),
                    request_id=request_id, place_id=venue.place_id)
    report = record_scans(session, PUBLIC_ACTOR, items=[item], source="page", audit_batch=False, with_status=True)[0]
    if report.status == "rejected":
        raise ValidationFailed(INVALID_SCAN(), [_field_error(i) for i in report.issues])
    assert report.person_id is not None
    scanned = report.extra.get("scanned_at") or item.scanned_at
    return PageScan(venue.name, report.person_id, scanned, report.status == "duplicate", report.extra.get("control"))


def _field_error(issue: str) -> FieldError:
    item = FieldIssue.parse(issue)
    return FieldError(item.field or "scan", item.message)


def staff_venue(session: Session, actor: Actor, place_id: int) -> Place:
    """The venue where the actor records entry checks: one in their jurisdiction (NotFound otherwise).
    Needs `venues.scan_staff`."""
    actor.require("venues.scan_staff")
    return codes_service._venue(session, actor, place_id)


def can_check_at(session: Session, actor: Actor | None, place_id: int) -> bool:
    """Whether the actor may record entry checks at this venue (the scan page offers the staff form then)."""
    if actor is None or not actor.can("venues.scan_staff"):
        return False
    try:
        staff_venue(session, actor, place_id)
    except NotFound:
        return False
    return True


def record_staff_check(session: Session, actor: Actor, *, place_id: int, phone: object = None,
                       id_number: object = None, temperature: object = None, mask_ok: object = None,
                       request_id: str | None = None) -> ReportRow:
    """Venue staff record a visitor's entry check (入场查验: scan + temperature + mask) at a venue in
    their jurisdiction. Needs `venues.scan_staff`; ValidationFailed when the row is rejected."""
    place = staff_venue(session, actor, place_id)
    item = ScanItem(1, phone=phone, id_number=id_number, scanned_at=whole_seconds(clock.now()),
                    request_id=request_id, temperature=temperature, mask_ok=mask_ok, place_id=place.id)
    report = record_scans(session, actor, items=[item], source="staff", checked_by_id=actor.user_id,
                          with_status=True)[0]
    if report.status == "rejected":
        raise ValidationFailed(INVALID_CHECK(), [_field_error(i) for i in report.issues])
    return report  # extra["control"]: the visitor's control status (the page warns the staff)


# ---------------------------------------------------------------------------------------- batch API

def upload_scans(session: Session, actor: Actor, *, items: Sequence[ScanItem],
                 idempotency_key: str | None = None) -> dict[str, Any]:
    """`POST /api/v1/scans` (批量上传扫码记录): the per-item report as a dict. A repeated
    `Idempotency-Key` from the same sender returns the first answer unchanged. Needs `scans.upload`."""
    actor.require("scans.upload")
    key = (idempotency_key or "").strip()
    if len(key) > 128:
        raise ValidationFailed(INVALID_KEY(), [FieldError("Idempotency-Key", TOO_LONG(max=128))])
    claim: int | None = None
    if key:
        # claim the key first (ON CONFLICT DO NOTHING): a concurrent request with the same key on
        # PostgreSQL waits here for the first one's commit and then answers as its repeat, instead of
        # failing on the unique constraint after doing the work twice
        dialect = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
        claim = session.execute(
            dialect(ScanUpload).values(sender=actor.username, idempotency_key=key, created_at=clock.now(),
                                       items=len(items), response={})
            .on_conflict_do_nothing(index_elements=["sender", "idempotency_key"]).returning(ScanUpload.id)
        ).scalar_one_or_none()
        if claim is None:
            found = session.execute(select(ScanUpload.response).where(
                ScanUpload.sender == actor.username, ScanUpload.idempotency_key == key)).scalar_one()
            return dict(found)
    reports = record_scans(session, actor, items=items, source="api", with_status=True)
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.status] = counts.get(r.status, 0) + 1
    response = {"counts": counts, "items": [
        {"row": r.row, "status": r.status, "person_id": r.person_id, "issues": [str(i) for i in r.issues],
         "request_id": items[i].request_id or None, "control": _control_json(r.extra.get("control"))}
        for i, r in enumerate(reports)]}
    if claim is not None:
        session.execute(update(ScanUpload).where(ScanUpload.id == claim).values(response=response))
    return response


def _control_json(status: control_service.ControlStatus | None) -> dict[str, Any] | None:
    """The control status as the scan API answers it (stored with an Idempotency-Key: plain JSON)."""
    if status is None:
        return None
    return {"under_control": status.under_control, "kind": status.kind, "label": str(status.label),
            "level": status.level, "measure": status.measure_code, "site_name": status.site_name,
            "since": clock.iso_local(status.since) or None, "planned_end_at": clock.iso_local(status.planned_end_at) or None}


# -------------------------------------------------------------------------------------------- files

def import_scans_file(session: Session, actor: Actor, path: Path, *,
                      progress: Callable[[int], None] | None = None) -> Sequence[ReportRow]:
    """`fangkong import scans FILE`: venue (ref or code), phone or ID number, scanned_at, request_id;
    one report row per data row. Needs `scans.upload`."""
    actor.require("scans.upload")
    table = read_table(path, SCAN_COLUMNS, required_any=["scanned_at"])
    reports = ReportLog()  # memory flat in the row count
    # stored and committed a chunk at a time (`tabular.checkpoint`): idempotent by request_id
    for chunk in table.chunks():
        batch: list[ScanItem] = []
        for row in chunk:
            v = row.values
            ref, code, either = v.get("venue_ref", ""), v.get("venue_code", ""), v.get("venue", "")
            if either and not ref and not code:
                ref, code = ("", either) if "/v/" in either or either.count(".") == 2 else (either, "")
            batch.append(ScanItem(row.number, venue_ref=ref, venue_code=code, phone=v.get("phone") or None,
                                  id_number=v.get("id_number") or None, name=v.get("name") or None,
                                  scanned_at=v.get("scanned_at", ""), request_id=v.get("request_id") or None,
                                  temperature=v.get("temperature"), mask_ok=v.get("mask_ok")))
        reports.extend(table.report(record_scans(session, actor, items=batch, source="file", audit_batch=False)))
        if progress is not None:
            progress(len(batch))
        checkpoint(session)
    reports = table.report(reports)
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.status] = counts.get(r.status, 0) + 1
    audit.record(session, actor, "venues.scans_imported", object_type="scan", file=Path(path).name, **counts)
    return reports
