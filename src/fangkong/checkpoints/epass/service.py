"""E-pass use cases (电子通行证): issue from applications, revoke, sign the revocation list, verify,
look up. The only e-pass module that writes.

An application row is refused, naming the field, for: a person without a valid ID number or without a
negative sample (testing's records) taken in the `epass.driver_negative_hours` up to `valid_from`; a
non-plate or a trailer plate (…挂); an unknown county; `valid_until` ≤ `valid_from`; a plate already
holding a pass whose validity overlaps. A `valid_until` past `valid_from` + `epass.validity_days` is
capped (an issue). Numbers are FANGKONG_REGION_CODE + a 6-digit serial never reused. Idempotent by
`request_id`: a repeat is `duplicate` with the same number and token; other content under a used
request id is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.checkpoints.epass import keys as keys_service
from fangkong.checkpoints.epass import token as tk
from fangkong.checkpoints.epass.models import Epass, EpassSerial
from fangkong.checkpoints.service.verifier import EpassVerdict, register_verifier
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, NotFound, ValidationFailed
from fangkong.kernel.jurisdictions.regions import county_problem, resolve_region
from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import check_id_number, mask_phone
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportRow, Row, checkpoint, read_table

REQUIRED = message("epass.required", _("required"))
NOT_A_PLATE = message("epass.not_a_plate", _("not a vehicle plate: %(plate)s"))
TRAILER = message("epass.trailer", _("a trailer plate (挂): give the tractor's plate"))
BAD_TIME = message("epass.bad_time", _("not a time: %(text)s"))
UNTIL_BEFORE = message("epass.until_before_from", _("must be after valid_from"))
CAPPED = message("epass.capped", _("capped at %(until)s (%(days)s days)"))
BAD_ID = message("epass.bad_id", _("not a valid ID number (%(why)s)"))
NO_NEGATIVE = message("epass.no_negative", _(
    "no negative sample taken in the %(hours)s h up to valid_from (%(since)s – %(until)s)"))
OVERLAP = message("epass.overlap", _("already holds pass %(no)s valid %(since)s – %(until)s"))
REQUEST_REUSED = message("epass.request_reused", _("already used for another application (pass %(no)s)"))
TOO_LONG = message("epass.too_long", _("at most %(n)s characters"))
SERIALS_USED = message("epass.serials_used", _("every serial of region %(region)s is used"))
PASS_NOT_FOUND = message("epass.not_found", _("no e-pass numbered %(no)s"))
ALREADY_REVOKED = message("epass.already_revoked", _("e-pass %(no)s was revoked at %(at)s"))
REASON_REQUIRED = message("epass.reason_required", _("give the reason for revoking"))

#: application columns: canonical → header aliases (English first, then Chinese)
PERSON_FIELDS = ("name", "id_number", "phone", "tested_at")
SLOTS = ("driver", "crew1", "crew2")
_ZH_SLOT = {"driver": "驾驶员", "crew1": "随车人员1", "crew2": "随车人员2"}
_ZH_FIELD = {"name": ["姓名"], "id_number": ["身份证号", "身份证号码"], "phone": ["手机号", "电话"],
             "tested_at": ["核酸采样时间", "采样时间"]}
COLUMNS: dict[str, list[str]] = {
    "request_id": ["request_id", "申请编号"], "plate": ["plate", "车牌号", "车牌"], "cargo": ["cargo", "货物", "运输物资"],
    "origin": ["origin", "出发地"], "destination": ["destination", "目的地"], "receiver": ["receiver", "收货单位"],
    "valid_from": ["valid_from", "生效时间", "有效期起"], "valid_until": ["valid_until", "失效时间", "有效期止"],
}
for _slot in SLOTS:
    for _f in PERSON_FIELDS:
        COLUMNS[f"{_slot}_{_f}"] = [f"{_slot}_{_f}"] + [_ZH_SLOT[_slot] + z for z in _ZH_FIELD[_f]]
REPORT_EXTRA = ["request_id", "pass_no", "token"]

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(rf"^[{PROVINCES}][A-Z][A-Z0-9]{{5,6}}$")
#: what keeps three persons and a 35-character host within 1,000 characters and a version-25 QR at level M
LIMITS = {"cargo": 16, "receiver": 24, "name": 8, "request_id": 80}


def plate_problem(plate: str) -> str | None:
    """Why a text is not a tractor's plate (None when it is one)."""
    key = tk.normalise_plate(plate)
    if "挂" in key:
        return TRAILER()
    if not _PLATE.match(key):
        return NOT_A_PLATE(plate=plate)
    return None


@dataclass
class Application:
    """One application (通行证申请) as the file or the API gives it: canonical field → text."""

    number: int
    values: dict[str, str]
    issues: list[str] = field(default_factory=list)


@dataclass
class Issued:
    """What an application came to: its report line and, when issued, the pass."""

    report: ReportRow
    epass: Epass | None = None


def _digest(values: dict[str, str]) -> str:
    canonical = {k: v.strip() for k, v in sorted(values.items()) if k in COLUMNS and v and v.strip()}
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False).encode()).hexdigest()


def _time(values: dict[str, str], name: str, issues: list[str]) -> dt.datetime | None:
    try:
        return clock.parse_time(values.get(name) or "")
    except clock.BadTime:
        issues.append(FieldIssue(name, BAD_TIME(text=values.get(name, ""))))
        return None


def _county(values: dict[str, str], name: str, issues: list[str]) -> str | None:
    text = (values.get(name) or "").strip()
    if not text:
        issues.append(FieldIssue(name, REQUIRED()))
        return None
    res = resolve_region(text)
    problem = county_problem(res)
    if problem is not None:
        issues.append(FieldIssue(name, problem))
        return None
    return res.code


def _next_serial(session: Session, region: str) -> int:
    row = session.execute(select(EpassSerial).where(EpassSerial.region == region).with_for_update()).scalar_one_or_none()
    if row is None:
        row = EpassSerial(region=region, last=0)
        session.add(row)
    if row.last >= 999_999:
        raise ValidationFailed(SERIALS_USED(region=region))
    row.last += 1
    session.flush()
    return row.last


def _negative_at(session: Session, actor: Actor, person_id: int, since: dt.datetime, until: dt.datetime
                 ) -> dt.datetime | None:
    """The latest negative sample of a person collected in [since, until], from testing's records."""
    from fangkong.testing import service as testing_service

    reader = actor.acting_for("epass.issue", "testing.view")
    found = [r.collected_at for r in testing_service.results_of_person(session, reader, person_id=person_id, since=since)
             if r.result == "negative"]
    found = [(t if t.tzinfo else t.replace(tzinfo=dt.UTC)) for t in found]
    found = [t for t in found if since <= t <= until]
    return max(found) if found else None


def _persons(session: Session, actor: Actor, values: dict[str, str], valid_from: dt.datetime | None,
             hours: int, issues: list[str]) -> list[dict[str, Any]]:
    crew: list[dict[str, Any]] = []
    for slot in SLOTS:
        given = {f: (values.get(f"{slot}_{f}") or "").strip() for f in PERSON_FIELDS}
        if slot != "driver" and not any(given.values()):
            continue
        name = given["name"]
        if not name:
            issues.append(FieldIssue(f"{slot}_name", REQUIRED()))
        elif len(name) > LIMITS["name"]:
            issues.append(FieldIssue(f"{slot}_name", TOO_LONG(n=LIMITS["name"])))
        check = check_id_number(given["id_number"])
        if check is None:
            issues.append(FieldIssue(f"{slot}_id_number", REQUIRED()))
            continue
        if not check.valid:
            issues.append(FieldIssue(f"{slot}_id_number", BAD_ID(why="; ".join(check.issues))))
            continue
        person = people_service.find_by_id_number(session, check.value)
        tested: dt.datetime | None = None
        if valid_from is not None:
            since = valid_from - dt.timedelta(hours=hours)
            tested = _negative_at(session, actor, person.id, since, valid_from) if person is not None else None
            if tested is None:
                issues.append(FieldIssue(f"{slot}_tested_at", NO_NEGATIVE(
                    hours=hours, since=clock.format_local(since), until=clock.format_local(valid_from))))
        crew.append({"role": "driver" if slot == "driver" else "crew", "name": name, "id": tk.mask_id(check.value),
                     "person_id": person.id if person else None, "phone": mask_phone(given["phone"]) or None,
                     "tested_at": tested.astimezone(dt.UTC).isoformat() if tested else None})
    return crew


def _overlapping(session: Session, plate_key: str, since: dt.datetime, until: dt.datetime) -> Epass | None:
    return session.execute(select(Epass).where(
        Epass.plate_key == plate_key, Epass.revoked_at.is_(None), Epass.valid_from < until, Epass.valid_until > since,
    ).order_by(Epass.id).limit(1)).scalar_one_or_none()


def _check(session: Session, actor: Actor, app: Application) -> tuple[list[str], dict[str, Any] | None]:
    """(issues, the pass's fields when it may be issued)."""
    values = app.values
    issues: list[str] = []
    pack = policy_service.active_pack(session).epass
    plate = (values.get("plate") or "").strip()
    if not plate:
        issues.append(FieldIssue("plate", REQUIRED()))
    elif (problem := plate_problem(plate)) is not None:
        issues.append(FieldIssue("plate", problem))
    for name in ("cargo", "receiver"):
        if len((values.get(name) or "").strip()) > LIMITS[name]:
            issues.append(FieldIssue(name, TOO_LONG(n=LIMITS[name])))
    origin = _county(values, "origin", issues)
    destination = _county(values, "destination", issues)
    valid_from = _time(values, "valid_from", issues)
    if valid_from is None and not (values.get("valid_from") or "").strip():
        issues.append(FieldIssue("valid_from", REQUIRED()))
    valid_until = _time(values, "valid_until", issues)
    notes: list[str] = []
    if valid_from is not None:
        longest = valid_from + dt.timedelta(days=pack.validity_days)
        if valid_until is None:
            valid_until = longest
        elif valid_until <= valid_from:
            issues.append(FieldIssue("valid_until", UNTIL_BEFORE()))
        elif valid_until > longest:
            valid_until = longest
            notes.append(FieldIssue("valid_until", CAPPED(until=clock.format_local(longest), days=pack.validity_days)))
    crew = _persons(session, actor, values, valid_from, pack.driver_negative_hours, issues)
    if not issues and valid_from is not None and valid_until is not None:
        other = _overlapping(session, tk.normalise_plate(plate), valid_from, valid_until)
        if other is not None:
            issues.append(FieldIssue("plate", OVERLAP(no=other.no, since=clock.format_local(other.valid_from),
                                                      until=clock.format_local(other.valid_until))))
    if issues:
        return issues, None
    return notes, {"plate": plate, "plate_key": tk.normalise_plate(plate), "origin": origin,
                   "destination": destination, "valid_from": valid_from, "valid_until": valid_until, "crew": crew,
                   "cargo": (values.get("cargo") or "").strip() or None,
                   "receiver": (values.get("receiver") or "").strip() or None}


def claims_of(p: Epass, *, iat: int) -> dict[str, Any]:
    """What the pass's token says (the driver first; IDs masked; times Unix seconds)."""
    claims: dict[str, Any] = {
        "no": p.no, "plate": p.plate, "from": p.origin, "to": p.destination,
        "nbf": int(p.valid_from.timestamp()), "exp": int(p.valid_until.timestamp()),
        "crew": [{"role": c["role"], "name": c["name"], "id": c["id"],
                  "tested_at": int(dt.datetime.fromisoformat(c["tested_at"]).timestamp())} for c in p.crew],
        "iat": iat,
    }
    if p.cargo:
        claims["cargo"] = p.cargo
    if p.receiver:
        claims["receiver"] = p.receiver
    return claims


def issue_passes(session: Session, actor: Actor, apps: Iterable[Application],
                 progress: Callable[[int], None] | None = None) -> list[Issued]:
    """Issue a pass per acceptable application (签发); one report line per application, in order."""
    actor.require("epass.issue")
    region = keys_service.region_code()
    private, key = keys_service.signing_key(session, actor)
    unit = scope.base_unit(session, actor)
    out: list[Issued] = []
    issued_ids: list[int] = []
    for app in apps:
        rep = ReportRow(app.number, "accepted")
        request_id = (app.values.get("request_id") or "").strip()
        rep.extra["request_id"] = request_id
        if not request_id:
            rep.status, rep.issues = "rejected", [FieldIssue("request_id", REQUIRED())]
            out.append(Issued(rep))
            continue
        if len(request_id) > LIMITS["request_id"]:
            rep.status, rep.issues = "rejected", [FieldIssue("request_id", TOO_LONG(n=LIMITS["request_id"]))]
            out.append(Issued(rep))
            continue
        digest = _digest(app.values)
        stored = session.execute(select(Epass).where(Epass.request_id == request_id)).scalar_one_or_none()
        if stored is not None:
            if stored.request_digest != digest:
                rep.status, rep.issues = "rejected", [FieldIssue("request_id", REQUEST_REUSED(no=stored.no))]
            else:
                rep.status = "duplicate"
                rep.extra.update(pass_no=stored.no, token=stored.token)
            out.append(Issued(rep, stored if stored.request_digest == digest else None))
            continue
        issues, fields = _check(session, actor, app)
        rep.issues = issues
        if fields is None:
            rep.status = "rejected"
            out.append(Issued(rep))
            continue
        serial = _next_serial(session, region)
        now = clock.now()
        p = Epass(no=f"{region}{serial:06d}", request_id=request_id, request_digest=digest, kid=key.kid, token="",
                  issued_at=now, issued_by=actor.username, unit_id=unit.id, unit_path=unit.path, **fields)
        p.token = tk.sign(claims_of(p, iat=int(now.timestamp())), private, key.kid)
        session.add(p)
        session.flush()
        issued_ids.append(p.id)
        rep.person_id = fields["crew"][0]["person_id"]
        rep.extra.update(pass_no=p.no, token=p.token)
        out.append(Issued(rep, p))
        if progress is not None:
            progress(1)
    if issued_ids:
        audit.record(session, actor, "epass.issued", object_type="epass", ids=audit.compact_ids(issued_ids),
                     kid=key.kid)
    return out


def import_applications_file(session: Session, actor: Actor, path: Path,
                             progress: Callable[[int], None] | None = None) -> list[ReportRow]:
    """`fangkong epass issue FILE`: every row an application, committed a chunk at a time."""
    actor.require("epass.issue")
    keys_service.region_code()
    table = read_table(path, COLUMNS, required_any=["plate", "request_id"])
    rows: list[ReportRow] = []
    for chunk in table.chunks():
        rows.extend(i.report for i in issue_passes(session, actor, [_application(r) for r in chunk], progress))
        checkpoint(session)
    return table.report(rows)


def _application(row: Row) -> Application:
    return Application(row.number, dict(row.values))


# ------------------------------------------------------------------------------------------ revocation

def revoke(session: Session, actor: Actor, *, no: str, reason: str) -> Epass:
    """Revoke a pass (吊销): it verifies as `revoked` here at once, elsewhere once the list is fetched."""
    actor.require("epass.revoke")
    p = scope.find_visible_by(session, actor, Epass, no=(no or "").strip())
    if p is None:
        raise NotFound(PASS_NOT_FOUND(no=no))
    if not (reason or "").strip():
        raise ValidationFailed(REASON_REQUIRED(), [FieldError("reason", REASON_REQUIRED())])
    if p.revoked_at is not None:
        raise ValidationFailed(ALREADY_REVOKED(no=p.no, at=clock.iso_local(p.revoked_at)))
    p.revoked_at, p.revoked_by, p.revoke_reason = clock.now(), actor.username, reason.strip()[:200]
    session.flush()
    audit.record(session, actor, "epass.revoked", object_type="epass", object_id=p.id, no=p.no, reason=p.revoke_reason)
    return p


def revoked_numbers(session: Session) -> frozenset[str]:
    return frozenset(session.execute(select(Epass.no).where(Epass.revoked_at.is_not(None))).scalars())


def revocation_list(session: Session, actor: Actor) -> str:
    """The signed list of our revoked passes (typ fk-epass-crl), for verifiers elsewhere."""
    actor.require("epass.revoke")
    private, key = keys_service.signing_key(session, actor)
    numbers = [n for n in revoked_numbers(session) if n.startswith(key.prefix)]
    text = tk.sign_revocation_list(numbers, private, key.kid, iat=int(clock.now().timestamp()))
    audit.record(session, actor, "epass.crl_signed", object_type="epass", revoked=len(numbers), kid=key.kid)
    return text


# ---------------------------------------------------------------------------------------- verification

class _Revoked(Container[str]):
    """Our revocations (one indexed read per pass) and any lists loaded beside them."""

    def __init__(self, session: Session, extra: Container[str]) -> None:
        self.session, self.extra = session, extra

    def __contains__(self, no: object) -> bool:
        if no in self.extra:
            return True
        return self.session.execute(select(Epass.id).where(Epass.no == no, Epass.revoked_at.is_not(None))).first() is not None


@dataclass(frozen=True)
class Checked:
    """A verdict as the page and the API show it."""

    verdict: tk.Verdict
    at: dt.datetime
    epass: Epass | None = None

    @property
    def valid_until(self) -> dt.datetime | None:
        claims = self.verdict.claims or {}
        return dt.datetime.fromtimestamp(claims["exp"], dt.UTC) if "exp" in claims else None

    def as_dict(self) -> dict[str, Any]:
        v, claims = self.verdict, self.verdict.claims or {}
        return {
            "verdict": v.verdict, "reason": v.reason, "label": v.label_zh, "pass_no": v.pass_no,
            "valid_until": clock.iso_local(self.valid_until) if self.valid_until else None,
            "plate": claims.get("plate"), "from": claims.get("from"), "to": claims.get("to"),
            "cargo": claims.get("cargo"), "receiver": claims.get("receiver"), "kid": v.kid,
            "crew": [{"role": c["role"], "role_label": tk.ROLES_ZH[c["role"]], "name": c["name"], "id": c["id"],
                      "tested_at": clock.iso_local(dt.datetime.fromtimestamp(c["tested_at"], dt.UTC))}
                     for c in claims.get("crew", [])],
            "at": clock.iso_local(self.at),
        }


def verify(session: Session, actor: Actor, *, text: str, plate: str | None = None, at: dt.datetime | None = None,
           revoked: Container[str] = frozenset()) -> Checked:
    """The verdict on a scanned text (核验) with our ring and revocations, at `at` (default now)."""
    actor.require("epass.verify")
    when = at or clock.now()
    verdict = tk.verify(text, keys_service.ring(session), at=int(when.timestamp()),
                        revoked=_Revoked(session, revoked), plate=plate)
    stored = None
    if verdict.pass_no is not None:
        stored = scope.find_visible_by(session, actor, Epass, no=verdict.pass_no)
    return Checked(verdict, when, stored)


def find_passes(session: Session, actor: Actor, *, q: str = "", limit: int = 50) -> list[Epass]:
    """Passes in the actor's jurisdiction by number, plate or request id (newest first)."""
    if not (actor.can("epass.issue") or actor.can("epass.verify")):
        actor.require("epass.issue")
    stmt = scope.visible(select(Epass), actor, Epass)
    q = (q or "").strip()
    if q:
        key = tk.normalise_plate(q)
        stmt = stmt.where(or_(Epass.no == q, Epass.plate_key == key, Epass.request_id == q))
    return list(session.execute(stmt.order_by(Epass.id.desc()).limit(max(1, min(limit, 200)))).scalars())


def get_pass(session: Session, actor: Actor, no: str) -> Epass:
    if not (actor.can("epass.issue") or actor.can("epass.verify")):
        actor.require("epass.issue")
    p = scope.find_visible_by(session, actor, Epass, no=(no or "").strip())
    if p is None:
        raise NotFound(PASS_NOT_FOUND(no=no))
    return p


def verdict_for_checkpoint(session: Session, token: str, plate: str | None, at: dt.datetime) -> EpassVerdict:
    """The verdict on a token scanned at a checkpoint (records, the inspection page): our ring and
    revocations, the plate seen, as of the inspection time. The record's writer has already been
    authorised for `checkpoint.record`; the check reads no person, so it needs no actor of its own."""
    v = tk.verify(token, keys_service.ring(session), at=int(at.timestamp()), revoked=_Revoked(session, ()),
                  plate=plate)
    claims = v.claims or {}
    exp = claims.get("exp")
    until = dt.datetime.fromtimestamp(exp, tz=dt.UTC) if isinstance(exp, int) and not isinstance(exp, bool) else None
    crew = tuple({k: str(x) for k, x in c.items()} for c in claims.get("crew") or () if isinstance(c, dict))
    return EpassVerdict(verdict=v.verdict, reason=v.reason, pass_no=v.pass_no, valid_until=until, crew=crew)


register_verifier(verdict_for_checkpoint)
