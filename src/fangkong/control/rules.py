"""Control rules (管控规则), pure: no session, no clock — callers pass the time (`at`) and the time zone.

- which measure a person is under at a moment, and in which phase (the one control status every page
  shows), with the warning a venue entrance gives for it;
- the due tests of a measure (应检日): one per test day of the pack's phases, each to be satisfied by a
  sample collected on its day; for a category that ends on negatives (3天2检: `until_negatives` with
  `within_days` and `min_gap_hours`) the k-th test may also be taken later inside the window, at
  least `min_gap_hours` after the sample that satisfied the test before it;
- which sample satisfies which due test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fangkong.kernel.messages import Message, _, label, message

#: measure kinds from weakest to strongest (intake decides by the same order)
KIND_RANK: dict[str, int] = {
    "none": 0, "test_only": 1, "self_health_monitoring": 2, "home_health_monitoring": 3,
    "temporary_control": 4, "home_quarantine": 5, "centralised_quarantine": 6,
}

#: the phase a person is in, by measure kind, as every page names it
PHASE_LABELS: dict[str, Message] = {
    "centralised_quarantine": label("control.phase.centralised_quarantine", _("Centralised quarantine")),
    "home_quarantine": label("control.phase.home_quarantine", _("Home quarantine")),
    "home_health_monitoring": label("control.phase.home_health_monitoring", _("Home health monitoring")),
    "self_health_monitoring": label("control.phase.self_health_monitoring", _("Self health monitoring")),
    "temporary_control": label("control.phase.temporary_control", _("Temporary control")),
    "test_only": label("control.phase.test_only", _("Tests on schedule")),
    "none": label("control.phase.none", _("Not under control")),
}

#: what a venue entrance does about a person in this phase: `stop` (do not let in) or `check`
#: (let in only after checking; the person should avoid crowded places). 9th edition: quarantine and
#: temporary control mean staying in; monitoring and test-only measures allow necessary outings.
ENTRY: dict[str, str | None] = {
    "centralised_quarantine": "stop", "home_quarantine": "stop", "temporary_control": "stop",
    "home_health_monitoring": "check", "self_health_monitoring": "check", "test_only": "check", "none": None,
}

#: what the entrance shows: to the staff (with the person's community) and to the person on their phone
ENTRY_STOP = message("control.entry.stop", _(
    "This person is under %(phase)s: do not let them in, and contact their community (%(unit)s)."))
ENTRY_CHECK = message("control.entry.check", _(
    "This person is under %(phase)s: check their test result before letting them in; "
    "if in doubt, contact their community (%(unit)s)."))
ENTRY_STOP_SELF = message("control.entry.stop_self", _(
    "You are under a control measure: please do not enter, and contact your community."))
ENTRY_CHECK_SELF = message("control.entry.check_self", _(
    "You are under health monitoring: show your test result to the staff, and avoid crowded places."))

DUE_STATUSES = ("due", "done", "cancelled")
#: what a due test looks like at a moment (the status stored is `due`, `done` or `cancelled`)
DUE_STATES = ("done", "cancelled", "upcoming", "due", "missed")


def phase_label(kind: str) -> Message:
    return PHASE_LABELS.get(kind, PHASE_LABELS["none"])


def strongest(kinds: Iterable[str]) -> str:
    return max(kinds, key=lambda k: KIND_RANK.get(k, 0), default="none")


# ------------------------------------------------------------------------------------------ status

@dataclass(frozen=True)
class MeasureFacts:
    """What the status needs of one measure (a row of control's `measure`, plus the site's name)."""

    id: int
    person_id: int
    category: str
    kind: str
    phases: Sequence[Mapping[str, Any]]
    started_at: dt.datetime
    planned_end_at: dt.datetime | None
    status: str
    ended_at: dt.datetime | None
    place_kind: str
    place_id: int | None
    site_name: str | None
    unit_id: int
    pack_version: str


@dataclass(frozen=True)
class ControlStatus:
    """A person's control status at a moment (管控状态): the one answer every page shows.

    `kind` is the kind of the phase the person is in (`none` when not under any measure); `level` says
    what a venue entrance does (`stop`, `check` or None). Names of the measure are the pack's, in both
    languages; `label` is the phase's name as a translated message.
    """

    person_id: int
    at: dt.datetime
    kind: str = "none"
    measure_id: int | None = None
    category: str | None = None
    measure_code: str | None = None
    measure_name_zh: str | None = None
    measure_name_en: str | None = None
    place_kind: str | None = None
    site_id: int | None = None
    site_name: str | None = None
    since: dt.datetime | None = None
    phase_since: dt.datetime | None = None
    phase_until: dt.datetime | None = None
    planned_end_at: dt.datetime | None = None
    unit_id: int | None = None
    pack_version: str | None = None
    #: other measures in force at the same moment (weaker ones), by id
    also: tuple[int, ...] = field(default_factory=tuple)

    @property
    def under_control(self) -> bool:
        return self.kind != "none"

    @property
    def label(self) -> Message:
        return phase_label(self.kind)

    @property
    def level(self) -> str | None:
        return ENTRY.get(self.kind)

    @property
    def at_site(self) -> bool:
        return self.place_kind == "site"

    def measure_name(self, locale: str) -> str:
        """The pack's name of the current phase's measure (三天两检, 落地检 …) in `locale`."""
        name = self.measure_name_en if locale == "en" else self.measure_name_zh
        return name or self.measure_code or ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (API, scan answers): codes and times; `label` in English (a Message)."""
        return {
            "person_id": self.person_id, "under_control": self.under_control, "kind": self.kind,
            "label": str(self.label), "level": self.level, "measure_id": self.measure_id,
            "category": self.category, "measure": self.measure_code, "measure_name_zh": self.measure_name_zh,
            "measure_name_en": self.measure_name_en, "place_kind": self.place_kind, "site_id": self.site_id,
            "site_name": self.site_name, "since": self.since, "phase_since": self.phase_since,
            "phase_until": self.phase_until, "planned_end_at": self.planned_end_at,
        }


def as_time(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


#: stored states after which a measure is over (from its `ended_at`); see `control.models`
FINISHED = ("ended", "released", "converted", "transferred_out")


def in_force(m: MeasureFacts, at: dt.datetime) -> bool:
    """Started by `at`, not past its planned end, and not ended (or ended only after `at`)."""
    if m.status in ("cancelled", "planned") or m.started_at > at:
        return False
    if m.planned_end_at is not None and at >= m.planned_end_at:
        return False
    return not (m.status in FINISHED and (m.ended_at is None or m.ended_at <= at))


def current_phase(m: MeasureFacts, at: dt.datetime) -> Mapping[str, Any] | None:
    """The phase of `m` running at `at` (None before the first or after the last); a measure held
    past its schedule (no planned end, every phase over) stays in its last phase."""
    for phase in m.phases:
        start, end = as_time(phase.get("start_at")), as_time(phase.get("end_at"))
        if start is not None and start <= at and (end is None or at < end):
            return phase
    if m.planned_end_at is None and m.phases and m.started_at <= at:
        return m.phases[-1]
    return None


def status_from(person_id: int, measures: Iterable[MeasureFacts], at: dt.datetime) -> ControlStatus:
    """The person's status at `at` from their measures: the strongest phase in force (ties: the later
    start, then the higher id); `none` when no measure is in force."""
    running: list[tuple[MeasureFacts, Mapping[str, Any]]] = []
    for m in measures:
        if m.person_id != person_id or not in_force(m, at):
            continue
        phase = current_phase(m, at)
        if phase is not None and phase.get("kind", "none") != "none":
            running.append((m, phase))
    if not running:
        return ControlStatus(person_id, at)
    running.sort(key=lambda mp: (KIND_RANK.get(mp[1].get("kind", "none"), 0), mp[0].started_at, mp[0].id),
                 reverse=True)
    m, phase = running[0]
    kind = str(phase.get("kind", "none"))
    at_site = m.place_kind == "site" and kind == "centralised_quarantine"
    return ControlStatus(
        person_id=person_id, at=at, kind=kind, measure_id=m.id, category=m.category,
        measure_code=phase.get("measure"), measure_name_zh=phase.get("name_zh"), measure_name_en=phase.get("name_en"),
        place_kind="site" if at_site else "home", site_id=m.place_id if at_site else None,
        site_name=m.site_name if at_site else None, since=m.started_at, phase_since=as_time(phase.get("start_at")),
        phase_until=as_time(phase.get("end_at")), planned_end_at=m.planned_end_at, unit_id=m.unit_id,
        pack_version=m.pack_version, also=tuple(o.id for o, _p in running[1:]),
    )


def entry_warning(status: ControlStatus, *, unit_name: str | None = None) -> Message | None:
    """What a venue entrance shows for this status: to the staff when `unit_name` (the person's
    community) is given, else to the person themselves (no measure named: the phone may be anyone's).
    None when the person is not under control."""
    level = status.level
    if level is None:
        return None
    if unit_name is None:
        return ENTRY_STOP_SELF() if level == "stop" else ENTRY_CHECK_SELF()
    kind = ENTRY_STOP if level == "stop" else ENTRY_CHECK
    return kind(phase=status.label, unit=unit_name or "—")


# ----------------------------------------------------------------------------------------- due tests

def due_day0(by_count: bool, start_day: dt.date, anchor_on: dt.date | None) -> dt.date:
    """The date numbered day 0 of a measure's test days. A measure that ends on its day count counts
    from its anchor (9th edition: test day k is k days after the anchor's date; see
    `measure_rules`); one that ends on negatives (3天2检, a pool's retest) tests from its start's date
    on (its test day 1 is the start's date)."""
    if by_count:
        return anchor_on or start_day
    return start_day - dt.timedelta(days=1)


@dataclass(frozen=True)
class DuePlan:
    """One due test of a measure's schedule: test day `day` counted from the measure's day 0 (`due_day0`)."""

    day: int
    due_on: dt.date
    #: the last local day the sample may be collected (= `due_on` except under `until_negatives`)
    window_end_on: dt.date
    #: hours the sample must follow the sample that satisfied the previous due test (3天2检)
    min_gap_hours: float
    phase_measure: str
    phase_kind: str


def due_plan(phases: Sequence[Mapping[str, Any]], day0: dt.date, *, until_count: int | None = None,
             within_days: int | None = None, min_gap_hours: float = 0) -> list[DuePlan]:
    """The due tests of a schedule (`phases` as `control.service.schedule` lays them out: each with its
    local `test_dates`), numbered from `day0` (`due_day0`). With `within_days` (a category that ends on `until_count` negatives within
    that many days), the k-th of n tests may be taken until day `within_days − (n − k)`, at least
    `min_gap_hours` after the previous test's sample."""
    rows: list[tuple[int, dt.date, str, str]] = []
    for phase in phases:
        for d in phase.get("test_dates") or []:
            day_on = d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
            rows.append(((day_on - day0).days, day_on, str(phase.get("measure")), str(phase.get("kind"))))
    rows.sort()
    n = len(rows)
    windowed = within_days is not None and (until_count or 0) > 0
    out = []
    for k, (day, due_on, measure, kind) in enumerate(rows, start=1):
        end_day = max(day, within_days - (n - k)) if windowed and within_days is not None else day
        out.append(DuePlan(day, due_on, due_on + dt.timedelta(days=end_day - day),
                           float(min_gap_hours) if windowed and k > 1 else 0.0, measure, kind))
    return out


@dataclass(frozen=True)
class DueSlot:
    """A due test as the matcher sees it: its key, window and gap."""

    key: int
    due_on: dt.date
    window_end_on: dt.date
    min_gap_hours: float = 0.0


def assign_samples(slots: Sequence[DueSlot], samples: Iterable[dt.datetime], tz: dt.tzinfo
                   ) -> dict[int, dt.datetime]:
    """Which sample satisfies which due test of one measure (key → collection time).

    In day order, each due test takes the earliest unused sample collected (local date) inside its
    window and, when the test before it was satisfied, at least its `min_gap_hours` after that
    sample. A test is done at its collection time (decisions.md), whatever the result."""
    ordered = sorted(set(samples))
    used: set[dt.datetime] = set()
    out: dict[int, dt.datetime] = {}
    previous: dt.datetime | None = None
    for slot in sorted(slots, key=lambda s: (s.due_on, s.key)):
        found = None
        for s in ordered:
            if s in used:
                continue
            day = s.astimezone(tz).date()
            if day < slot.due_on:
                continue
            if day > slot.window_end_on:
                break
            if previous is not None and slot.min_gap_hours and s < previous + dt.timedelta(hours=slot.min_gap_hours):
                continue
            found = s
            break
        if found is not None:
            used.add(found)
            out[slot.key] = found
        previous = found
    return out


def day_end(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The end of a local day (24:00), in UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def due_state(status: str, due_on: dt.date, window_end_on: dt.date, at: dt.datetime, tz: dt.tzinfo) -> str:
    """`done`, `cancelled`, `upcoming` (its day has not come), `due` (today, inside its window) or
    `missed` (its window ended without a sample)."""
    if status in ("done", "cancelled"):
        return status
    today = at.astimezone(tz).date()
    if today < due_on:
        return "upcoming"
    if today <= window_end_on:
        return "due"
    return "missed"


def missed_cutoff(at: dt.datetime, grace: dt.timedelta, tz: dt.tzinfo) -> dt.date:
    """Due tests whose window ended before this local date are past their day and the grace period:
    the end of day D plus grace is at or before `at` ⇔ D < the local date of `at − grace`."""
    return (at - grace).astimezone(tz).date()
