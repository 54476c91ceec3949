"""Demo sentinels (演示哨点): the demo city's sentinel places (fever clinics, pharmacies) become
sentinel sites with eight weeks of daily counts, an outbreak injected at the first fever clinic over
the last days, and one detection run, so a fresh demo shows curves and a signal to investigate.

The first fever clinic reports for six years (seasonal counts: a winter peak), so its weekly series and
those of its units hold the five years Farrington needs and the pages show weekly verdicts (按周). The
chance daily alarms of those years are closed as the demo's history (dismissed, "演示历史数据"), so the
signal list starts with the recent ones.

Counts go through the same service as files and the API; deterministic for a seed (the clock is the
platform's). Does nothing when the database already holds sentinel sites.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.surveillance import service
from fangkong.surveillance.models import SITE_KINDS, SentinelSite

#: days of counts before today, and the last days of the outbreak at the first fever clinic
DAYS = 56
OUTBREAK_DAYS = 4
#: the first fever clinic's history: six years of daily counts (Farrington: 52·5 + 3 weeks before a week)
HISTORY_DAYS = 6 * 365
HISTORY_NOTE = "演示历史数据"
#: (indicator → mean daily count) of an ordinary day
LEVELS = {"fever_visits": 20, "ili_visits": 6, "absent_ill": 3, "drug_antipyretic": 8, "drug_cough": 6,
          "drug_antiviral": 2, "drug_antibiotic": 4}


def seed_sentinels(session: Session, *, seed: int = 1, days: int = DAYS,
                   history_days: int = HISTORY_DAYS) -> dict[str, Any]:
    """Sentinel sites for the demo city's sentinel places, `days` days of counts up to yesterday with
    an outbreak at the first fever clinic, and a detection run. Returns counts of what was made."""
    if session.execute(select(SentinelSite.id).limit(1)).first() is not None:
        return {"sites": 0}
    places = list(session.execute(select(Place).where(Place.kind == "sentinel").order_by(Place.id)).scalars())
    places = [p for p in places if p.category in SITE_KINDS]
    if not places:
        return {"sites": 0}
    rng = random.Random(seed)
    today = clock.today()
    start = today - dt.timedelta(days=days)
    now = clock.now()
    history = max(history_days, days)
    first_fc = next((p for p in places if p.category == "fever_clinic"), places[0])
    sites = []
    for p in places:
        site = SentinelSite(place_id=p.id, ref=p.ref or p.code, name=p.name, kind=str(p.category),
                            active_from=today - dt.timedelta(days=history) if p is first_fc else start,
                            created_at=now, unit_id=p.unit_id, unit_path=p.unit_path)
        session.add(site)
        sites.append(site)
    session.flush()
    indicators = policy_service.active_pack(session).surveillance.indicators
    outbreak = sites[places.index(first_fc)]
    items: list[dict[str, Any]] = []
    for site in sites:
        span = (today - site.active_from).days
        for n in range(span):
            day = site.active_from + dt.timedelta(days=n)
            if site.kind == "school" and day.weekday() >= 5:
                continue
            season = 1 + 0.3 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)  # winter peak
            for indicator in indicators.get(site.kind, []):
                mean = LEVELS.get(indicator, 5) * season
                count = max(0, round(rng.gauss(mean, mean ** 0.5)))
                if site is outbreak and indicator == "fever_visits" and n >= span - OUTBREAK_DAYS:
                    count += LEVELS[indicator] * (2 + n - (span - OUTBREAK_DAYS))
                items.append({"site_ref": site.ref, "date": day, "indicator": indicator, "count": count})
    reports = service.record_counts(session, SYSTEM_ACTOR, items, source="file")
    stats = service.run_detection(session, SYSTEM_ACTOR, until=today - dt.timedelta(days=1))
    dismissed = _close_history(session, before=start)
    return {"sites": len(sites), "counts": sum(1 for r in reports if r.status == "accepted"),
            "signals": stats["signals_opened"] - dismissed, "history_dismissed": dismissed,
            "outbreak_site": outbreak.ref}


def _close_history(session: Session, *, before: dt.date) -> int:
    """Dismiss the chance alarms of the demo's history (every open signal that ended before `before`)."""
    from fangkong.surveillance.models import Signal

    old = session.execute(select(Signal.id).where(Signal.status == "open", Signal.last_day < before)
                          .order_by(Signal.id)).scalars().all()
    for signal_id in old:
        service.review_signal(session, SYSTEM_ACTOR, signal_id=signal_id, action="dismiss", note=HISTORY_NOTE)
    return len(old)
