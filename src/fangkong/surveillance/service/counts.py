"""Daily sentinel counts (哨点日报): one value per site, day and indicator. The same value again is a
`duplicate`; a different one replaces it (`accepted`, with `count: corrected from 12 to 21` and the
change kept) and its verdicts are redone at the next run. Nothing to report is a 0 (零报告); a day
without a report is missing, never zero."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import REQUIRED
from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table
from fangkong.surveillance.detect import parse_count
from fangkong.surveillance.models import SentinelCount, SentinelCountChange, SentinelSite
from fangkong.surveillance.service.sites import parse_day

COUNT_COLUMNS: dict[str, list[str]] = {
    "site_ref": ["哨点编号", "编号", "哨点代码", "ref"],
    "date": ["日期", "报告日期", "day"],
    "indicator": ["指标", "监测指标"],
    "count": ["数量", "人数", "例数", "value"],
}
UNKNOWN_SITE = message("sentinel.unknown_site", _("unknown sentinel site %(ref)s"))
NOT_REPORTED = message("sentinel.indicator_not_reported",
                       _("a %(kind)s does not report %(indicator)s (it reports %(indicators)s)"))
FUTURE_DAY = message("sentinel.future_day", _("%(day)s is in the future"))
BEFORE_START = message("sentinel.before_start", _("%(day)s is before the site started reporting (%(start)s)"))
BAD_COUNT = message("sentinel.bad_count", _("not a whole number of at least 0: %(value)s"))
PAST_CUTOFF = message("sentinel.past_cutoff", _("%(day)s closed for the page at %(cutoff)s the next day: "
                                                   "send a correction by file or API"))
CORRECTED = message("sentinel.corrected", _("corrected from %(old)s to %(new)s"))


def record_counts(session: Session, actor: Actor, items: Iterable[Mapping[str, Any]], *, source: str,
                  first_row: int = 1) -> list[ReportRow]:
    """Store counts given as mappings with site_ref, date, indicator, count (a row number `row` optional).
    Needs `sentinel.report`; sites outside the actor's jurisdiction are unknown to them."""
    actor.require("sentinel.report")
    pack = policy_service.active_pack(session)
    today = clock.today()
    cutoff = pack.surveillance.report_cutoff
    reports: list[ReportRow] = []
    sites: dict[str, SentinelSite | None] = {}
    items = list(items)
    known: dict[int, dict[tuple[dt.date, str], SentinelCount]] = {}
    first_day, last_day = _day_range(items)
    for i, item in enumerate(items):
        ref = str(item.get("site_ref") or "").strip()
        rep = ReportRow(row=int(item.get("row") or first_row + i), status="accepted",
                        extra={"site_ref": ref, "date": str(item.get("date") or ""),
                               "indicator": str(item.get("indicator") or "")})
        if ref not in sites:
            found = session.execute(select(SentinelSite).where(SentinelSite.ref == ref)).scalar_one_or_none()
            sites[ref] = scope.visible_or_none(actor, found)
        site = sites[ref]
        if not ref:
            rep.issues.append(FieldIssue("site_ref", REQUIRED()))
        elif site is None:
            rep.issues.append(FieldIssue("site_ref", UNKNOWN_SITE(ref=ref)))
        raw_day = item.get("date")
        day = raw_day if isinstance(raw_day, dt.date) else parse_day(str(raw_day or ""))
        if day is None:
            rep.issues.append(FieldIssue("date", BAD_DATE(value=str(raw_day or "")) if raw_day else REQUIRED()))
        elif day > today:
            rep.issues.append(FieldIssue("date", FUTURE_DAY(day=day.isoformat())))
        elif site is not None and day < site.active_from:
            rep.issues.append(FieldIssue("date", BEFORE_START(day=day.isoformat(), start=site.active_from.isoformat())))
        elif source == "page" and _past_cutoff(day, cutoff):
            rep.issues.append(FieldIssue("date", PAST_CUTOFF(day=day.isoformat(), cutoff=cutoff)))
        indicator = str(item.get("indicator") or "").strip()
        if site is not None:
            allowed = pack.surveillance.indicators.get(site.kind, [])
            if indicator not in allowed:
                rep.issues.append(FieldIssue("indicator", NOT_REPORTED(kind=site.kind, indicator=repr(indicator),
                                                                       indicators=allowed)))
        count = parse_count(str(item.get("count") if item.get("count") is not None else ""))
        if count is None:
            rep.issues.append(FieldIssue("count", BAD_COUNT(value=repr(item.get("count")))))
        if rep.issues:
            rep.status = "rejected"
            reports.append(rep)
            continue
        assert site is not None and day is not None and count is not None
        if site.id not in known:  # one query per site and batch, not one per row
            known[site.id] = {(c.day, c.indicator): c for c in session.execute(select(SentinelCount).where(
                SentinelCount.site_id == site.id, SentinelCount.day >= first_day,
                SentinelCount.day <= last_day)).scalars()}
        stored = known[site.id].get((day, indicator))
        if stored is None:
            known[site.id][(day, indicator)] = SentinelCount(
                site_id=site.id, day=day, indicator=indicator, count=count, source=source, reported_at=clock.now(),
                reported_by=actor.username, version=1, unit_id=site.unit_id, unit_path=site.unit_path)
            session.add(known[site.id][(day, indicator)])
        elif stored.count == count:
            rep.status = "duplicate"
        else:
            session.add(SentinelCountChange(count_id=stored.id, old_count=stored.count, new_count=count,
                                            changed_at=clock.now(), changed_by=actor.username, source=source))
            rep.issues.append(FieldIssue("count", CORRECTED(old=stored.count, new=count)))
            stored.count, stored.version = count, stored.version + 1
            stored.reported_at, stored.reported_by, stored.source = clock.now(), actor.username, source
        reports.append(rep)
    session.flush()
    accepted = sum(1 for r in reports if r.status == "accepted")
    if accepted:
        audit.record(session, actor, "sentinel.counts_recorded", object_type="sentinel_count", source=source,
                     accepted=accepted)
    return reports


def _past_cutoff(day: dt.date, cutoff: str) -> bool:
    """A day's counts are editable on the page until `cutoff` (local HH:MM) of the next day."""
    hours, minutes = (int(x) for x in cutoff.split(":"))
    local_now = clock.to_local(clock.now())
    assert local_now is not None
    closes = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=local_now.tzinfo) \
        + dt.timedelta(hours=hours, minutes=minutes)
    return local_now >= closes


def _day_range(items: list[Mapping[str, Any]]) -> tuple[dt.date, dt.date]:
    """The batch's earliest and latest readable day (the stored counts of that range are read once)."""
    days = [d for d in (v if isinstance(v, dt.date) else parse_day(str(v or "")) for v in
                        (i.get("date") for i in items)) if d is not None]
    return (min(days), max(days)) if days else (dt.date.min, dt.date.min)


def import_counts(session: Session, actor: Actor, path: Path, progress: Any = None) -> ReportLog:
    """`fangkong import sentinel-counts FILE`: 哨点编号/site_ref, 日期/date, 指标/indicator, 数量/count."""
    actor.require("data.import")
    table = read_table(path, COUNT_COLUMNS, required_any=["site_ref", "count"])
    log = ReportLog()
    for chunk in table.chunks():
        items = [{**r.values, "row": r.number} for r in chunk]
        log.extend(record_counts(session, actor, items, source="file"))
        if progress:
            progress(len(chunk))
        checkpoint(session)
    return table.report(log)


def site_counts(session: Session, actor: Actor, site_id: int, *, since: dt.date) -> dict[tuple[dt.date, str], int]:
    """A site's stored counts from `since`: (day, indicator) → count."""
    site = scope.get_visible(session, actor, SentinelSite, site_id)
    rows = session.execute(select(SentinelCount.day, SentinelCount.indicator, SentinelCount.count).where(
        SentinelCount.site_id == site.id, SentinelCount.day >= since)).all()
    return {(d, i): c for d, i, c in rows}


BAD_DATE = message("sentinel.bad_date", _("not a date: %(value)s"))
