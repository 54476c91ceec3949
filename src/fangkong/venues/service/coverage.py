"""Scan coverage (扫码覆盖): venues without scans on a day, scans against expected footfall, and
venues flagged by inspections for not enforcing scanning."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.places.models import Place
from fangkong.venues.models import Scan, VenueFlag

#: below this share of the expected footfall a venue is listed as under-scanning
LOW_RATIO = 0.2


@dataclass
class VenueCoverage:
    venue_id: int
    name: str
    code: str
    ref: str | None
    category: str | None
    expected: int | None
    scans: int
    #: scans / expected footfall; None when the footfall is unknown
    ratio: float | None
    open_flags: int = 0
    last_flag_reason: str | None = None


@dataclass
class CoverageReport:
    day: dt.date
    venues: list[VenueCoverage] = field(default_factory=list)

    @property
    def without_scans(self) -> list[VenueCoverage]:
        return [v for v in self.venues if v.scans == 0]

    @property
    def under_scanning(self) -> list[VenueCoverage]:
        """Venues with some scans but under LOW_RATIO of the expected footfall, lowest ratio first."""
        low = [v for v in self.venues if v.scans and v.ratio is not None and v.ratio < LOW_RATIO]
        return sorted(low, key=lambda v: (v.ratio, v.venue_id))

    @property
    def flagged(self) -> list[VenueCoverage]:
        return [v for v in self.venues if v.open_flags]

    @property
    def totals(self) -> dict[str, int]:
        return {"venues": len(self.venues), "without_scans": len(self.without_scans),
                "under_scanning": len(self.under_scanning), "flagged": len(self.flagged),
                "scans": sum(v.scans for v in self.venues)}


def coverage(session: Session, actor: Actor, *, day: dt.date | None = None) -> CoverageReport:
    """Per venue in the actor's jurisdiction: scans on `day` (local; today by default) against its
    expected daily footfall, and its open inspection flags. Needs `venues.view`; audited."""
    actor.require("venues.view")
    day = day or clock.today()
    start, end = clock.local_day_bounds(day)
    venues = list(session.execute(scope.visible(
        select(Place.id, Place.name, Place.code, Place.ref, Place.category, Place.capacity)
        .where(Place.kind == "venue"), actor, Place).order_by(Place.id)))
    counted = scope.visible(select(Scan.place_id, func.count()).join(Place, Place.id == Scan.place_id)
                            .where(Scan.scanned_at >= start, Scan.scanned_at < end), actor, Place)
    counts = dict(session.execute(counted.group_by(Scan.place_id)).all())
    flags: dict[int, tuple[int, str]] = {}
    open_flags = scope.visible(select(VenueFlag.place_id, VenueFlag.reason).join(Place, Place.id == VenueFlag.place_id)
                               .where(VenueFlag.cleared_at.is_(None)), actor, Place)
    for place_id, reason in session.execute(open_flags.order_by(VenueFlag.flagged_at, VenueFlag.id)):
        n, _ = flags.get(place_id, (0, ""))
        flags[place_id] = (n + 1, reason)
    report = CoverageReport(day)
    for pid, name, code, ref, category, capacity in venues:
        n = int(counts.get(pid, 0))
        nflags, reason = flags.get(pid, (0, None))
        report.venues.append(VenueCoverage(pid, name, code, ref, category, capacity, n,
                                           round(n / capacity, 3) if capacity else None, nflags, reason))
    audit.record(session, actor, "venues.coverage", object_type="place", day=day.isoformat(),
                 venues=len(report.venues))
    return report
