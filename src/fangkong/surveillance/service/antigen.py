"""Antigen results (抗原筛查): citizens' self-tests, pharmacies, clinics and employers report them by
file, API or a phone page. A positive antigen puts the person under temporary control (control's
service), hands them to intake as a lead on the internal `sentinel` channel (category
`antigen_positive`) and gives their unit a PCR confirmation task due within the pack's
`surveillance.antigen_pcr_hours`. The first PCR result sampled at or after the antigen test resolves it
(`resolve_antigen_followups`, run by the detection run and its job): negative ends the temporary
control, positive is testing's case candidate for tracing. An antigen result is never a PCR result:
testing's tubes and compliance never see it. Daily positives per unit are a surveillance series
(indicator `antigen_positive`, 0 on a day without one). Idempotent by source_ref."""

from __future__ import annotations

import contextlib
import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import REQUIRED
from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table
from fangkong.kernel.tasks import service as tasks_service
from fangkong.surveillance import kinds
from fangkong.surveillance.models import ANTIGEN_SOURCES, AntigenResult, SentinelSite
from fangkong.surveillance.service.purchases import past_time

CATEGORY = "antigen_positive"
CHANNEL = "sentinel"
INDICATOR = "antigen_positive"
RULE = "surveillance.antigen_positive"
#: what a reported positive sets off beyond `sentinel.report` (see `Actor.acting_for`)
CONSEQUENCES = ("lead.import", "measure.start", "task.view", "task.work", "testing.view")

ANTIGEN_COLUMNS: dict[str, list[str]] = {
    "source_ref": ["检测编号", "登记编号", "编号"],
    "source": ["来源", "检测来源"],
    "site_ref": ["哨点编号", "药店编号", "诊所编号"],
    "employer": ["单位", "工作单位", "企业"],
    "tested_at": ["检测时间", "时间"],
    "result": ["结果", "检测结果", "抗原结果"],
    "name": ["姓名"],
    "id_number": ["身份证号", "证件号码", "身份证"],
    "phone": ["手机号", "电话", "联系电话"],
    "address": ["住址", "地址", "现住址"],
}
#: 自测/self, 药店/pharmacy, 诊所 or 基层医疗机构/clinic, 单位 or 企业/employer
SOURCE_NAMES: dict[str, str] = {"自测": "self", "居民自测": "self", "药店": "pharmacy", "诊所": "clinic",
                                "基层医疗机构": "clinic", "发热门诊": "clinic", "单位": "employer",
                                "企业": "employer", "用人单位": "employer"}
RESULT_NAMES: dict[str, str] = {"阳性": "positive", "positive": "positive", "pos": "positive", "+": "positive",
                                "阴性": "negative", "negative": "negative", "neg": "negative", "-": "negative"}

UNKNOWN_SOURCE = message("antigen.unknown_source",
                         _("unknown source %(value)s (self, pharmacy, clinic, employer)"))
UNKNOWN_SITE = message("antigen.unknown_site", _("unknown sentinel site %(ref)s"))
BAD_RESULT = message("antigen.bad_result", _("not a result: %(value)s (positive or negative)"))
BAD_TIME = message("antigen.bad_time", _("not a time: %(value)s"))
FUTURE_TIME = message("antigen.future_time", _("%(value)s is in the future"))
NO_IDENTITY = message("antigen.no_identity",
                      _("a positive result needs an ID number, a phone number or a name with an address"))
NOT_IN_PACK = message("antigen.category_not_in_pack",
                      _("the active policy pack has no category %(category)s: the lead takes intake's default"))


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return "" if value is None else unicodedata.normalize("NFKC", str(value)).strip()


def source_of(text: str) -> str | None:
    s = unicodedata.normalize("NFKC", text or "").strip()
    return s.lower() if s.lower() in ANTIGEN_SOURCES else SOURCE_NAMES.get(s)


def result_of(text: str) -> str | None:
    s = unicodedata.normalize("NFKC", text or "").strip()
    return RESULT_NAMES.get(s.lower()) or RESULT_NAMES.get(s)


def _doer(actor: Actor) -> Actor:
    return actor.acting_for("sentinel.report", *CONSEQUENCES)


def record_antigen(session: Session, actor: Actor, items: Iterable[Mapping[str, Any]], *, via: str,
                   first_row: int = 1) -> list[ReportRow]:
    """Store antigen results (mappings with the columns above; `row` and `photo` optional), one report
    row each: `accepted`, `duplicate` (source_ref already stored) or `rejected` naming the field.
    Needs `sentinel.report`; a site outside the actor's jurisdiction is unknown to them."""
    actor.require("sentinel.report")
    now = clock.now()
    reports: list[ReportRow] = []
    positives: list[tuple[ReportRow, AntigenResult, dict[str, str]]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        ref = _text(item, "source_ref")
        rep = ReportRow(row=int(item.get("row") or first_row + i), status="accepted", extra={"source_ref": ref})
        issues = rep.issues
        if not ref:
            issues.append(FieldIssue("source_ref", REQUIRED()))
        elif ref in seen or session.execute(select(AntigenResult.id).where(
                AntigenResult.source_ref == ref)).first() is not None:
            rep.status = "duplicate"
            reports.append(rep)
            continue
        source = source_of(_text(item, "source"))
        if source is None:
            issues.append(FieldIssue("source", UNKNOWN_SOURCE(value=repr(_text(item, "source")))))
        site = None
        site_ref = _text(item, "site_ref")
        if site_ref:
            site = scope.visible_or_none(actor, session.execute(
                select(SentinelSite).where(SentinelSite.ref == site_ref)).scalar_one_or_none())
            if site is None:
                issues.append(FieldIssue("site_ref", UNKNOWN_SITE(ref=site_ref)))
        result = result_of(_text(item, "result"))
        if result is None:
            issues.append(FieldIssue("result", BAD_RESULT(value=repr(_text(item, "result")))))
        at = past_time(item, "tested_at", now, issues, bad=BAD_TIME, future=FUTURE_TIME, text=_text)
        person = {k: _text(item, k) for k in ("name", "id_number", "phone", "address")}
        if result == "positive" and not (person["id_number"] or person["phone"]
                                         or (person["name"] and person["address"])):
            issues.append(FieldIssue("id_number", NO_IDENTITY()))
        if issues:
            rep.status = "rejected"
            reports.append(rep)
            continue
        assert source is not None and result is not None and at is not None
        seen.add(ref)
        local = clock.to_local(at)
        assert local is not None
        unit_id, unit_path = (site.unit_id, site.unit_path) if site else _actor_unit(session, actor)
        row = AntigenResult(source_ref=ref, source_kind=source, site_id=site.id if site else None,
                            employer=_text(item, "employer")[:120] or None, tested_at=at, day=local.date(),
                            result=result, status="awaiting_pcr" if result == "positive" else "negative",
                            photo=(str(item.get("photo") or "") or None), via=via, created_at=now,
                            created_by=actor.username, unit_id=unit_id, unit_path=unit_path)
        session.add(row)
        reports.append(rep)
        if result == "positive":
            positives.append((rep, row, person))
    session.flush()
    if positives:
        _on_positives(session, _doer(actor), positives, via)
    accepted = sum(1 for r in reports if r.status == "accepted")
    if accepted:
        audit.record(session, actor, "sentinel.antigen_recorded", object_type="antigen_result", via=via,
                     accepted=accepted, positives=len(positives))
    return reports


def _actor_unit(session: Session, actor: Actor) -> tuple[int, str]:
    """The reporter's unit (the root unit for the system and other unit-less actors)."""
    if actor.unit_id is not None:
        return actor.unit_id, actor.unit_path
    from fangkong.kernel.jurisdictions import service as jurisdictions_service

    root = jurisdictions_service.root_unit(session)
    return root.id, root.path


def _on_positives(session: Session, doer: Actor, positives: list[tuple[ReportRow, AntigenResult, dict[str, str]]],
                  via: str) -> None:
    """Intake first (it finds or creates the person), then temporary control and the PCR task."""
    from fangkong.intake import service as intake_service

    pack = policy_service.active_pack(session)
    category: str | None = CATEGORY
    if CATEGORY not in pack.categories:  # a pack without it (二十条, 新十条): intake's default category
        category = None
    items = []
    for n, (_rep, a, v) in enumerate(positives, start=1):
        values = {**v, "reason": f"抗原检测阳性({a.source_kind})", "source_ref": f"antigen:{a.source_ref}"}
        items.append(intake_service.LeadItem(n, values, {}, {"antigen_result_id": a.id}))
    result = intake_service.ingest_leads(session, doer, channel=CHANNEL, items=items, category=category,
                                         via="file" if via == "file" else "api")
    within = dt.timedelta(hours=pack.surveillance.antigen_pcr_hours)
    now = clock.now()
    for (rep, a, _v), row in zip(positives, result.rows, strict=True):
        rep.issues.extend(row.issues)
        if category is None:
            rep.issues.append(FieldIssue("result", NOT_IN_PACK(category=CATEGORY)))
        lead_id = row.extra.get("lead_id")
        a.lead_id = int(lead_id) if lead_id is not None else None
        if lead_id is not None:
            rep.extra["lead_id"] = str(lead_id)
        if row.person_id is None:
            continue
        person = session.get(Person, row.person_id)
        assert person is not None
        rep.person_id = a.person_id = person.id
        a.unit_id, a.unit_path = person.unit_id, person.unit_path
        a.measure_id = _start_temporary_control(session, doer, person_id=person.id, at=a.tested_at,
                                                category=category)
        who = person.name or person.phone_masked or person.id_number_masked or f"#{person.id}"
        [task_id] = tasks_service.create_tasks(session, doer, [tasks_service.NewTask(
            kind=kinds.PCR_CONFIRM, title=f"抗原阳性核酸复核 {who}", unit_id=person.unit_id,
            subject_type="person", subject_id=person.id, due_at=now + within, policy_version=pack.version_tag,
            rule="surveillance.antigen_pcr_hours", detail={"antigen_result_id": a.id})])
        a.pcr_task_id, a.pcr_due_at = task_id, now + within
    session.flush()


def _start_temporary_control(session: Session, actor: Actor, *, person_id: int, at: dt.datetime,
                             category: str | None) -> int | None:
    """Temporary control (临时管控) through control's service, unless an equal or stronger measure is
    already in force (then that measure's id; it is not ended by the PCR negative)."""
    from fangkong.control import service as control_service

    rank = control_service.KIND_RANK
    running = control_service.measures_in_force(session, [person_id], at=at).get(person_id, [])
    if any(rank.get(m.kind, 0) >= rank["temporary_control"] for m in running) or category is None:
        return None
    # the PCR task chases the test, so control makes no missed-test task of its own
    measure = control_service.start_measure(session, actor, person_id=person_id, category=category, rule=RULE,
                                            started_at=at, chase_missed=False)
    return measure.id


def resolve_antigen_followups(session: Session, actor: Actor) -> dict[str, int]:
    """Every positive antigen awaiting its PCR: the first PCR result (a result reported) sampled at or
    after the antigen test resolves it. Negative ends the temporary control; positive is left to
    testing's case candidate and tracing. The PCR task is closed with the result either way."""
    from fangkong.control import service as control_service
    from fangkong.kernel.errors import Conflict
    from fangkong.testing import service as testing_service

    doer = _doer(actor)
    out = {"pcr_negative": 0, "pcr_positive": 0}
    waiting = session.execute(select(AntigenResult).where(AntigenResult.status == "awaiting_pcr",
                                                          AntigenResult.person_id.is_not(None))
                              .order_by(AntigenResult.id)).scalars().all()
    now = clock.now()
    for a in waiting:
        assert a.person_id is not None
        found = [r for r in testing_service.results_of_person(session, doer, person_id=a.person_id, since=a.tested_at)
                 if r.result in ("negative", "positive") and r.pool_size == 1]
        if not found:
            continue
        first = found[0]
        a.status, a.resolved_at = f"pcr_{first.result}", now
        out[a.status] += 1
        if first.result == "negative" and a.measure_id is not None:
            with contextlib.suppress(Conflict):  # ended by hand meanwhile
                control_service.end_measure(session, doer, measure_id=a.measure_id,
                                            reason=f"negative PCR after a positive antigen test ({a.source_ref})")
        if a.pcr_task_id is not None:
            task = tasks_service.get_task(session, doer, a.pcr_task_id)
            if task.status == "open":
                tasks_service.complete_task(session, doer, a.pcr_task_id, outcome_code=first.result,
                                            outcome={"tube_id": first.tube_id}, by_owner=True)
        audit.record(session, doer, "surveillance.antigen_resolved", object_type="antigen_result", object_id=a.id,
                     result=first.result, tube_id=first.tube_id)
    session.flush()
    return out


MAX_PHOTO_BYTES = 5 * 1024 * 1024
#: image signatures accepted for the cassette's photo: JPEG, PNG, WebP (RIFF….WEBP), HEIC (….ftyp)
BAD_PHOTO = message("antigen.bad_photo", _("not a photo (JPEG, PNG, WebP or HEIC) of at most 5 MB"))


def photo_ok(content: bytes) -> bool:
    return 0 < len(content) <= MAX_PHOTO_BYTES and (
        content.startswith(b"\xff\xd8\xff") or content.startswith(b"\x89PNG\r\n\x1a\n")
        or (content[:4] == b"RIFF" and content[8:12] == b"WEBP") or content[4:8] == b"ftyp")


def store_photo(content: bytes) -> str:
    """Keep a cassette's photo under the data directory (mode 0600); returns its stored name. The caller
    checked it with `photo_ok`."""
    import hashlib

    from fangkong.kernel.files import private_dir
    from fangkong.settings import get_settings

    name = f"antigen-{hashlib.sha256(content).hexdigest()[:24]}"
    target = private_dir(get_settings().data_dir / "antigen-photos") / name
    if not target.exists():
        with target.open("wb") as fh:
            fh.write(content)
        target.chmod(0o600)
    return name


def self_test_ref(person_id: int, tested_at: str, result: str) -> str:
    """A citizen's self-test's source_ref, the same for the same submission (person, minute, result), so
    sending the form twice stores it once."""
    minute = "".join(ch for ch in unicodedata.normalize("NFKC", tested_at or "") if ch.isdigit())[:12]
    return f"self-{person_id}-{minute}-{result_of(result) or 'x'}"


def record_self_test(session: Session, *, id_number: str, phone: str, tested_at: str, result: str,
                     photo: bytes = b"", ip: str | None = None) -> ReportRow | None:
    """A citizen's own phone page (抗原自测上报): the ID number and the phone registered with it must both
    match a person; None otherwise (never saying which was wrong). The resident is the actor (audit names
    "citizen"), holding only `sentinel.report` for this one result; a positive sets off what any reported
    positive does (lead, temporary control, PCR task). `photo` was checked by the caller (`photo_ok`)."""
    from fangkong.kernel.people import service as people_service

    nobody = Actor(None, "citizen", "citizen", None, "/", frozenset({"sentinel.report"}), ip)
    person = people_service.find_by_id_number(session, id_number)
    if person is not None and (not phone.strip() or person not in people_service.find_by_phone(session, phone)):
        person = None
    if person is None:
        audit.record(session, nobody, "sentinel.self_test", object_type="antigen_result", object_id=None,
                     found=False)
        return None
    # The resident reports from home: the result belongs to their own unit (negatives too, which count in
    # that unit's daily series), not to the root.
    citizen = Actor(None, "citizen", "citizen", person.unit_id, person.unit_path, frozenset({"sentinel.report"}),
                    ip)
    ref = self_test_ref(person.id, tested_at, result)
    item: dict[str, Any] = {"source_ref": ref, "source": "self", "tested_at": tested_at.replace("T", " "),
                            "result": result, "id_number": id_number, "phone": phone}
    [report] = record_antigen(session, citizen, [item], via="page")
    if photo and report.status == "accepted":
        # kept only once the result is accepted: a rejected form (bad time, unknown result) leaves no file
        stored = session.execute(select(AntigenResult).where(AntigenResult.source_ref == ref)).scalar_one()
        stored.photo = store_photo(photo)
        session.flush()
    return report


def import_antigen(session: Session, actor: Actor, path: Path, progress: Any = None) -> ReportLog:
    """`fangkong import antigen-results FILE`: source_ref, source, site_ref, employer, tested_at, result,
    name, id_number, phone, address (Chinese headers too)."""
    actor.require("data.import")
    table = read_table(path, ANTIGEN_COLUMNS, required_any=["source_ref", "result"])
    log = ReportLog()
    for chunk in table.chunks():
        log.extend(record_antigen(session, actor, [{**r.values, "row": r.number} for r in chunk], via="file"))
        if progress:
            progress(len(chunk))
        checkpoint(session)
    return table.report(log)


def daily_positives(session: Session, until: dt.date) -> dict[int, dict[dt.date, int]]:
    """Positive antigen results per owning unit and local day up to `until` (for the run's series)."""
    out: dict[int, dict[dt.date, int]] = {}
    for unit_id, day, n in session.execute(
            select(AntigenResult.unit_id, AntigenResult.day, func.count()).where(
                AntigenResult.result == "positive", AntigenResult.day <= until)
            .group_by(AntigenResult.unit_id, AntigenResult.day)):
        out.setdefault(unit_id, {})[day] = int(n)
    return out


def list_antigen(session: Session, actor: Actor, *, limit: int = 100) -> list[AntigenResult]:
    """Antigen results in the actor's jurisdiction, newest first."""
    actor.require("surveillance.view")
    stmt = scope.visible(select(AntigenResult), actor, AntigenResult).order_by(AntigenResult.id.desc())
    return list(session.execute(stmt.limit(max(1, min(limit, 500)))).scalars())
