"""Pharmacy real-name registrations (药店实名登记). Each registration of a watched drug class (policy;
default the four 四类药品) becomes a lead on intake's internal `sentinel` channel, category
`pharmacy_purchase`, with the registration's source_ref; intake resolves the person and applies the
category's rule. A pharmacy's daily count per watched class is its number of registrations that day
(0 for a watched class without one on a day it registered anything). Idempotent by source_ref."""

from __future__ import annotations

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
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table
from fangkong.surveillance.detect import parse_count
from fangkong.surveillance.models import (
    DRUG_CLASSES,
    PharmacyPurchase,
    SentinelCount,
    SentinelCountChange,
    SentinelSite,
)

CATEGORY = "pharmacy_purchase"
CHANNEL = "sentinel"
PURCHASE_COLUMNS: dict[str, list[str]] = {
    "source_ref": ["登记编号", "来源编号", "编号"],
    "pharmacy_ref": ["药店编号", "哨点编号", "site_ref"],
    "purchased_at": ["购药时间", "登记时间", "时间"],
    "name": ["姓名"],
    "id_number": ["身份证号", "证件号码", "身份证"],
    "phone": ["手机号", "电话", "联系电话"],
    "address": ["住址", "地址", "现住址"],
    "drug_name": ["药品名称", "药名"],
    "drug_class": ["药品类别", "类别"],
    "quantity": ["数量"],
    "temperature": ["体温"],
    "symptoms": ["症状"],
}
#: 退热/antipyretic, 止咳/cough, 抗病毒/antiviral, 抗生素/antibiotic, 其他/other
CLASS_NAMES: dict[str, str] = {"退热": "antipyretic", "退烧": "antipyretic", "止咳": "cough",
                               "抗病毒": "antiviral", "抗生素": "antibiotic", "其他": "other"}
UNKNOWN_PHARMACY = message("purchase.unknown_pharmacy", _("unknown pharmacy %(ref)s"))
NOT_PHARMACY = message("purchase.not_pharmacy", _("%(ref)s is a %(kind)s, not a pharmacy"))
UNKNOWN_CLASS = message("purchase.unknown_class",
                        _("unknown drug class %(value)s (antipyretic, cough, antiviral, antibiotic, other)"))
BAD_QUANTITY = message("purchase.bad_quantity", _("not a whole number of at least 1: %(value)s"))
BAD_TIME = message("purchase.bad_time", _("not a time: %(value)s"))
FUTURE_TIME = message("purchase.future_time", _("%(value)s is in the future"))
NO_IDENTITY = message("purchase.no_identity", _("an ID number, a phone number or a name with an address is needed"))
BAD_TEMPERATURE = message("purchase.bad_temperature", _("not a temperature: %(value)s"))


def drug_class_of(text: str) -> str | None:
    """The drug class code of `退热`, `antipyretic`, `Antipyretic` …; None when unknown."""
    s = unicodedata.normalize("NFKC", text or "").strip()
    if s.lower() in DRUG_CLASSES:
        return s.lower()
    return CLASS_NAMES.get(s)


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return "" if value is None else str(value).strip()


def past_time(item: Mapping[str, Any], key: str, now: dt.datetime, issues: list[FieldIssue], *,
              bad: Any, future: Any, text: Any = _text) -> dt.datetime | None:
    """The time in `item[key]` (a datetime, or text in any format `clock.parse_time` reads), required
    and not after `now`; otherwise None with the field's issue added (`bad`/`future`: the caller's
    messages, so each input keeps its own error codes)."""
    raw = item.get(key)
    try:
        at = clock.parse_time(raw if isinstance(raw, dt.datetime) else text(item, key))
    except clock.BadTime:
        issues.append(FieldIssue(key, bad(value=repr(text(item, key)))))
        return None
    if at is None:
        issues.append(FieldIssue(key, REQUIRED()))
    elif at > now:
        issues.append(FieldIssue(key, future(value=clock.iso_local(at))))
        return None
    return at


def record_purchases(session: Session, actor: Actor, items: Iterable[Mapping[str, Any]], *, source: str,
                     first_row: int = 1) -> list[ReportRow]:
    """Store registrations (mappings with the columns above; `row` optional), one report row each:
    `accepted`, `duplicate` (source_ref already stored) or `rejected` naming the field. Needs
    `sentinel.report`; pharmacies outside the actor's jurisdiction are unknown to them."""
    actor.require("sentinel.report")
    pack = policy_service.active_pack(session)
    watched = set(pack.surveillance.watched_classes)
    now = clock.now()
    reports: list[ReportRow] = []
    stored: list[tuple[ReportRow, PharmacyPurchase, dict[str, str]]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        ref, site_ref = _text(item, "source_ref"), _text(item, "pharmacy_ref")
        rep = ReportRow(row=int(item.get("row") or first_row + i), status="accepted",
                        extra={"source_ref": ref, "pharmacy_ref": site_ref})
        issues = rep.issues
        if not ref:
            issues.append(FieldIssue("source_ref", REQUIRED()))
        elif ref in seen or session.execute(select(PharmacyPurchase.id).where(
                PharmacyPurchase.source_ref == ref)).first() is not None:
            rep.status = "duplicate"
            reports.append(rep)
            continue
        site = None
        if not site_ref:
            issues.append(FieldIssue("pharmacy_ref", REQUIRED()))
        else:
            site = scope.visible_or_none(actor, session.execute(
                select(SentinelSite).where(SentinelSite.ref == site_ref)).scalar_one_or_none())
            if site is None:
                issues.append(FieldIssue("pharmacy_ref", UNKNOWN_PHARMACY(ref=site_ref)))
            elif site.kind != "pharmacy":
                issues.append(FieldIssue("pharmacy_ref", NOT_PHARMACY(ref=site_ref, kind=site.kind)))
        at = past_time(item, "purchased_at", now, issues, bad=BAD_TIME, future=FUTURE_TIME, text=_text)
        drug_class = drug_class_of(_text(item, "drug_class"))
        if drug_class is None:
            issues.append(FieldIssue("drug_class", UNKNOWN_CLASS(value=repr(_text(item, "drug_class")))))
        quantity = parse_count(_text(item, "quantity"))
        if quantity is None or quantity <= 0:
            issues.append(FieldIssue("quantity", BAD_QUANTITY(value=repr(_text(item, "quantity")))))
        temperature: float | None = None
        if _text(item, "temperature"):
            try:
                temperature = float(unicodedata.normalize("NFKC", _text(item, "temperature")).rstrip("℃°C "))
            except ValueError:
                issues.append(FieldIssue("temperature", BAD_TEMPERATURE(value=repr(_text(item, "temperature")))))
            else:
                if not 30 <= temperature <= 45:
                    issues.append(FieldIssue("temperature", BAD_TEMPERATURE(value=repr(_text(item, "temperature")))))
        person = {k: _text(item, k) for k in ("name", "id_number", "phone", "address")}
        if not (person["id_number"] or person["phone"] or (person["name"] and person["address"])):
            issues.append(FieldIssue("id_number", NO_IDENTITY()))
        if issues:
            rep.status = "rejected"
            reports.append(rep)
            continue
        assert site is not None and at is not None and drug_class is not None and quantity is not None
        seen.add(ref)
        local = clock.to_local(at)
        assert local is not None
        purchase = PharmacyPurchase(
            source_ref=ref, site_id=site.id, purchased_at=at, day=local.date(),
            drug_name=_text(item, "drug_name")[:120] or None, drug_class=drug_class, quantity=quantity,
            temperature=temperature, symptoms=_text(item, "symptoms")[:200] or None, source=source,
            created_at=now, unit_id=site.unit_id, unit_path=site.unit_path)
        session.add(purchase)
        reports.append(rep)
        if drug_class in watched:
            stored.append((rep, purchase, {**person, "drug_name": _text(item, "drug_name"),
                                           "site_name": site.name}))
    session.flush()
    _to_intake(session, actor, stored, source)
    days = {(p.site_id, p.day) for r, p, _v in stored}
    for site_id, day in sorted(days):
        _set_counts(session, actor, site_id, day, sorted(watched), source)
    accepted = sum(1 for r in reports if r.status == "accepted")
    if accepted:
        audit.record(session, actor, "sentinel.purchases_recorded", object_type="pharmacy_purchase",
                     source=source, accepted=accepted)
    return reports


def _to_intake(session: Session, actor: Actor, stored: list[tuple[ReportRow, PharmacyPurchase, dict[str, str]]],
               source: str) -> None:
    """One lead per watched registration on intake's `sentinel` channel (category `pharmacy_purchase`);
    intake's issues (an invalid ID number …) are added to the registration's report row."""
    if not stored:
        return
    from fangkong.intake import service as intake_service

    items = []
    for n, (_rep, p, v) in enumerate(stored, start=1):
        values = {"name": v["name"], "id_number": v["id_number"], "phone": v["phone"], "address": v["address"],
                  "reason": f"药店购药 {v['site_name']} {v['drug_name'] or p.drug_class}",
                  "source_ref": p.source_ref}
        items.append(intake_service.LeadItem(n, values, {}, {"pharmacy_purchase_id": p.id,
                                                             "drug_class": p.drug_class}))
    result = intake_service.ingest_leads(session, actor.acting_for("sentinel.report", "lead.import"),
                                         channel=CHANNEL, items=items, category=CATEGORY,
                                         via="file" if source == "file" else "api")
    for (rep, p, _v), row in zip(stored, result.rows, strict=True):
        lead_id = row.extra.get("lead_id")
        p.lead_id = int(lead_id) if lead_id is not None else None
        rep.issues.extend(row.issues)
        rep.person_id = row.person_id
        if lead_id is not None:
            rep.extra["lead_id"] = str(lead_id)


def _set_counts(session: Session, actor: Actor, site_id: int, day: dt.date, classes: list[str], source: str) -> None:
    """The site's `drug_<class>` counts of `day` = its registrations of that class that day (0 when
    none); a changed value keeps its history as a correction does."""
    site = session.get(SentinelSite, site_id)
    assert site is not None
    rows = dict(session.execute(select(PharmacyPurchase.drug_class, func.count()).where(
        PharmacyPurchase.site_id == site_id, PharmacyPurchase.day == day).group_by(PharmacyPurchase.drug_class)).all())
    now = clock.now()
    for cls in classes:
        indicator, value = f"drug_{cls}", int(rows.get(cls, 0))
        count = session.execute(select(SentinelCount).where(
            SentinelCount.site_id == site_id, SentinelCount.day == day, SentinelCount.indicator == indicator)
        ).scalar_one_or_none()
        if count is None:
            session.add(SentinelCount(site_id=site_id, day=day, indicator=indicator, count=value, source=source,
                                      reported_at=now, reported_by=actor.username, version=1,
                                      unit_id=site.unit_id, unit_path=site.unit_path))
        elif count.count != value:
            session.add(SentinelCountChange(count_id=count.id, old_count=count.count, new_count=value,
                                            changed_at=now, changed_by=actor.username, source=source))
            count.count, count.version = value, count.version + 1
            count.reported_at, count.reported_by, count.source = now, actor.username, source
    session.flush()


def import_purchases(session: Session, actor: Actor, path: Path, progress: Any = None) -> ReportLog:
    """`fangkong import purchases FILE`: source_ref, pharmacy_ref, purchased_at, name, id_number, phone,
    address, drug_name, drug_class, quantity, temperature, symptoms (Chinese headers too)."""
    actor.require("data.import")
    table = read_table(path, PURCHASE_COLUMNS, required_any=["source_ref", "pharmacy_ref"])
    log = ReportLog()
    for chunk in table.chunks():
        items = [{**r.values, "row": r.number} for r in chunk]
        log.extend(record_purchases(session, actor, items, source="file"))
        if progress:
            progress(len(chunk))
        checkpoint(session)
    return table.report(log)


def purchases_of_day(session: Session, actor: Actor, site_id: int, day: dt.date) -> list[PharmacyPurchase]:
    """A pharmacy's registrations of one day, in the caller's jurisdiction."""
    actor.require("surveillance.view")
    site = scope.get_visible(session, actor, SentinelSite, site_id)
    return list(session.execute(select(PharmacyPurchase).where(
        PharmacyPurchase.site_id == site.id, PharmacyPurchase.day == day).order_by(PharmacyPurchase.id)).scalars())
