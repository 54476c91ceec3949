"""The policy pack schema (政策包): every rule and number the platform applies, as versioned data.

Nothing here holds a policy number: the numbers live in YAML packs (`fangkong/policy_packs/`), are
validated by these models and stored per version, so an old decision can be explained with the pack
that made it. Structural errors carry Pydantic's field path; cross-references (a phase naming an
unknown measure, a test day outside its phase, a duplicate group code) are checked after the
structure and reported with the same kind of path (`categories.close_contact.phases.0.test_days.2`).

Packs differ in what they define: the 9th edition has secondary contacts and three risk levels; the
二十条 (2022-11-11) has no secondary contacts and only high and low areas; the 新十条 (2022-12-07) has
only high-risk areas. Only the categories the platform's own code files leads under are required
(`REQUIRED_CATEGORIES`); every reader asks `pack.has_category(code)` / `pack.has_level(level)` first.

Every number says where it comes from: `source` (the document, article or practice) and
`source_kind` (`national`, `province`, `city_practice`, `platform`). An object whose numbers have
different bases names them one by one in `field_sources` (`epass.field_sources.validity_days`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.messages import _, message

INVALID_PACK = message("policy.invalid", _("invalid policy pack"))
CATEGORY_MISSING = message("policy.category_missing", _("required category is missing"))
PHASE_REQUIRED = message("policy.phase_required", _("at least one phase is required"))
UNKNOWN_MEASURE = message("policy.unknown_measure", _("unknown measure %(measure)s"))
OPEN_ENDED = message("policy.open_ended", _("only the last phase of a category with until_negatives may be open-ended"))
TEST_DAY_OUTSIDE = message("policy.test_day_outside", _("test day %(day)s is outside the phase (days 1–%(limit)s)"))
TEST_DAYS_ORDER = message("policy.test_days_order", _("test days must be increasing, without repeats"))
UNKNOWN_CATEGORY = message("policy.unknown_category", _("unknown category %(category)s"))
LOWER_LEVEL = message("policy.lower_level", _("must be a lower level"))
DUPLICATE_CODE = message("policy.duplicate_code", _("duplicate code %(code)s (also %(other)s)"))
UNKNOWN_POOLING = message("policy.unknown_pooling", _("unknown pooling setting %(setting)s"))
NO_SUCH_LEVEL = message("policy.no_such_level", _("the pack has no %(level)s level (use `lifted`)"))
NOT_A_FIELD = message("policy.not_a_field", _("%(name)s is not a field here"))
AUDIT_TOO_SHORT = message("policy.audit_too_short", _("the audit log must be kept at least %(months)s months "
                                                      "(Cybersecurity Law, art. 21)"))
#: the shortest audit retention a pack may set (网络安全法 第21条: 网络日志留存不少于六个月)
MIN_AUDIT_MONTHS = 6

MeasureKind = Literal[
    "centralised_quarantine",
    "home_quarantine",
    "home_health_monitoring",
    "self_health_monitoring",
    "temporary_control",
    "test_only",
    "none",
]
MEASURE_KINDS: tuple[str, ...] = MeasureKind.__args__  # type: ignore[attr-defined]

#: the intake categories the platform knows by code (labels, file words); a pack defines a subset
CATEGORIES: tuple[str, ...] = (
    "close_contact",
    "secondary_contact",
    "inbound_traveller",
    "high_risk_area",
    "medium_risk_area",
    "low_risk_area",
    "colocation",
    "positive_pool_member",
    "case_discharge",
    "truck_driver",
    "other",
)
#: categories every pack must define: the platform's own code files leads under them (tracing's close
#: contacts and co-location, testing's positive pools, intake's fallback `other`)
REQUIRED_CATEGORIES: tuple[str, ...] = ("close_contact", "colocation", "positive_pool_member", "other")
RISK_LEVELS: tuple[str, ...] = ("high", "medium", "low")

#: where a number comes from: a national document, a provincial one, a city's practice, or a platform
#: default chosen by us; `unspecified` is only the schema default (the shipped packs never use it)
SourceKind = Literal["national", "province", "city_practice", "platform", "unspecified"]
SOURCE_KINDS: tuple[str, ...] = SourceKind.__args__  # type: ignore[attr-defined]

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSource(_Model):
    """The source of one number of an object whose numbers have different bases."""

    source: Text
    source_kind: SourceKind


class _Sourced(_Model):
    source: str = ""
    source_kind: SourceKind = "unspecified"
    #: field name → its own source, where it differs from the object's
    field_sources: dict[str, FieldSource] = Field(default_factory=dict)

    def source_of(self, name: str) -> tuple[str, str]:
        """(source, source_kind) of one field."""
        own = self.field_sources.get(name)
        return (own.source, own.source_kind) if own is not None else (self.source, self.source_kind)


class Measure(_Model):
    """A control measure (管控措施): centralised quarantine, home quarantine, monitoring …"""

    name_zh: Text
    name_en: Text
    kind: MeasureKind
    source: str = ""
    source_kind: SourceKind = "unspecified"


class Phase(_Model):
    """One stretch of a category's measures; test days count from the phase's first day (day 1)."""

    measure: Code
    #: None: open-ended, ends when the category's `until_negatives` is met (last phase only)
    days: int | None = Field(default=None, ge=1)
    test_days: list[int] = Field(default_factory=list)


class UntilNegatives(_Model):
    """Ends the measure after `count` negative tests at least `min_gap_hours` apart within `within_days`."""

    count: int = Field(ge=1)
    min_gap_hours: float = Field(default=0, ge=0)
    within_days: int | None = Field(default=None, ge=1)


#: where day 0 of a measure comes from (the anchor's local date): the last exposure, leaving the risk
#: area (arrival when unknown), arrival, or the measure's own start
Anchor = Literal["exposure", "departure", "arrival", "start"]
ANCHORS: tuple[str, ...] = Anchor.__args__  # type: ignore[attr-defined]


class Category(_Sourced):
    """An intake category (人员类别): who a person is to the outbreak, and what is done about it."""

    name_zh: Text
    name_en: Text
    #: other codes files and other systems use for this category (`inbound` for `inbound_traveller`)
    aliases: list[Code] = Field(default_factory=list)
    #: day 0 of the measure (缺几天补几天: a contact found on day 3 serves days 3–7); `start` by default
    anchor: Anchor = "start"
    phases: list[Phase] = Field(default_factory=list)
    until_negatives: UntilNegatives | None = None
    #: the pooling setting (a key of `pooling`) for a person of this category while their lead is
    #: open or their measure is in force: `contacts` (单管单采) for close contacts …; None: the pack's
    #: `under_measure` setting applies to a running measure, nothing to an open lead
    pool: Code | None = None
    note: str = ""

    @property
    def total_days(self) -> int | None:
        """Days from the first phase's start to the last phase's end (None when open-ended)."""
        if any(p.days is None for p in self.phases):
            return None
        return sum(p.days or 0 for p in self.phases)

    def test_schedule(self) -> list[tuple[int, str]]:
        """(day counted from the start of the first phase, measure code) for every test day."""
        out: list[tuple[int, str]] = []
        offset = 0
        for phase in self.phases:
            out.extend((offset + d, phase.measure) for d in phase.test_days)
            offset += phase.days or 0
        return out


class ControlRules(_Sourced):
    """Rules of control (管控) that are not per category: the floors rule of extensions (Jiangsu
    practice: a positive in central quarantine restarts the same building's floor and the floors
    `floors_apart` above and below), the check-in fever threshold and listed symptoms, the check-in
    slots (local start times of each slot, the last running to 24:00)."""

    floors_rule: bool = True
    floors_apart: int = Field(default=1, ge=0, le=10)
    fever_celsius: float = Field(default=37.3, ge=36, le=40)
    symptoms: list[Text] = Field(default_factory=list)
    checkin_slots: list[str] = Field(default_factory=lambda: ["00:00", "12:00"])
    #: a missed check-in slot's task is due this many hours after the job finds it
    checkin_missed_due_hours: float = Field(default=2, ge=0, le=72)
    #: the community's daily confirmation that a home-measure household is in is overdue at this local time
    home_confirm_due: str = "20:00"
    #: local times of the check-in reminders (each reminds, once, who has not checked in in its slot yet)
    checkin_reminders: list[str] = Field(default_factory=lambda: ["08:00", "15:00"])

    @field_validator("home_confirm_due")
    @classmethod
    def _due(cls, value: str) -> str:
        if not _HHMM.match(value) or value == "24:00":
            raise ValueError("expected HH:MM")
        return value

    @field_validator("checkin_reminders")
    @classmethod
    def _reminders(cls, value: list[str]) -> list[str]:
        if any(not _HHMM.match(v) or v == "24:00" for v in value) or value != sorted(set(value)):
            raise ValueError("expected increasing HH:MM times")
        return value

    @field_validator("checkin_slots")
    @classmethod
    def _slots(cls, value: list[str]) -> list[str]:
        if not value or any(not _HHMM.match(v) or v == "24:00" for v in value) or value != sorted(set(value)):
            raise ValueError("expected increasing HH:MM start times")
        return value


class Downgrade(_Model):
    """When an area moves down a level (降级), or is lifted (`lifted`: 解封, no longer a risk area)."""

    to: Literal["medium", "low", "lifted"]
    days_without_new_case: int = Field(ge=1)
    negative_round_required: bool = False
    #: for a medium area that was itself downgraded from high: days until low (None: as above)
    days_after_downgrade_from_high: int | None = Field(default=None, ge=1)


class RiskLevel(_Sourced):
    """A risk-area level (高/中/低风险区) and what a stay there within the window means."""

    name_zh: Text
    name_en: Text
    stay_window_days: int = Field(ge=1)
    #: the intake category a stay maps to
    category: Code
    downgrade: Downgrade | None = None


class RiskAreas(_Model):
    """The levels a pack defines: the 9th edition has all three, the 二十条 high and low, the 新十条
    high only. A level left out does not exist under the pack (an area of that level is an issue)."""

    high: RiskLevel | None = None
    medium: RiskLevel | None = None
    low: RiskLevel | None = None
    source: str = ""


class KeyGroup(_Sourced):
    """A key group (重点人群) tested on a schedule (应检尽检)."""

    code: Code
    name_zh: Text
    name_en: Text
    frequency_days: int = Field(ge=1)
    test_type: Literal["pcr", "antigen"] = "pcr"
    tier: int = Field(ge=1)


class PoolSize(_Sourced):
    """Persons per tube (混采) for a risk level or setting."""

    size: int = Field(ge=1, le=50)


class Hours(_Sourced):
    hours: float = Field(gt=0)


class Minutes(_Sourced):
    minutes: int = Field(ge=1, le=24 * 60)


class Venues(_Sourced):
    retention_days: int = Field(ge=1)
    #: the stay (minutes from the scan) at a venue whose category has no `dwell_minutes` entry
    colocation_window_min: int = Field(ge=1)
    #: venue category → how long a visit is taken to last from its scan (停留时长), for co-location
    dwell_minutes: dict[Code, Minutes] = Field(default_factory=dict)

    def dwell(self, category: str | None) -> int:
        """Minutes a scan at a venue of this category is taken to last (co-location overlap)."""
        entry = self.dwell_minutes.get(category or "")
        return entry.minutes if entry is not None else self.colocation_window_min


class QuarantineSites(_Sourced):
    rooms_per_10k: float = Field(gt=0)
    temperature_checks_per_day: int = Field(ge=1)


class Epass(_Sourced):
    driver_negative_hours: int = Field(ge=1)
    book_ahead_hours: int = Field(ge=0)
    validity_days: int = Field(ge=1)


class CheckpointRules(_Sourced):
    """Hours of checkpoints (卡口) and point-to-point trips (点对点闭环): a local truck's arrival is due
    `arrival_due_hours` after entry, its exit `exit_due_hours` after arrival, a passing truck's exit
    `transit_due_hours` after entry; a vehicle is stranded at a service area after `stranded_hours`; a
    person's last sampling older than `sample_on_spot_hours` is sampled on the spot; two records of one
    person match within `match_hours` in the data closed loop."""

    arrival_due_hours: float = Field(default=4, gt=0, le=720)
    exit_due_hours: float = Field(default=24, gt=0, le=720)
    transit_due_hours: float = Field(default=4, gt=0, le=720)
    stranded_hours: float = Field(default=6, gt=0, le=720)
    sample_on_spot_hours: float = Field(default=48, gt=0, le=720)
    match_hours: float = Field(default=24, gt=0, le=720)


class Retention(_Sourced):
    """How long each kind of data is kept (数据保存期限; `kernel.retention` applies it every night).

    The numbers after `access_log_months` are platform defaults under PIPL art. 19 (the shortest time
    the purpose needs) that a pack may set: no national document gives them."""

    scan_days: int = Field(ge=1)
    #: the audit log (网络日志): at least six months (网络安全法 第21条), checked in `cross_check`
    access_log_months: int = Field(ge=1)
    #: days after a lead is closed that it keeps its ID, phone, name and raw row (then anonymised)
    lead_days: int = Field(default=180, ge=1)
    #: days after its end that a measure still keeps its person from being anonymised
    measure_days: int = Field(default=180, ge=1)
    #: days after the last change that a person nothing holds keeps ID, phone and name
    person_days: int = Field(default=180, ge=1)
    #: days a page import's folder (its report) is kept after the import finished
    import_file_days: int = Field(default=30, ge=1)
    #: days an export file left in the data directory's `exports/` is kept
    export_days: int = Field(default=7, ge=1)


class Tracing(_Sourced):
    #: close contacts are counted from this many days before onset (sampling, if asymptomatic)
    lookback_days: int = Field(ge=1, le=30)
    #: a secondary contact is released at the end of their measure only when the close contact's first
    #: this many tests under their own measure were negative (0: no such condition)
    secondary_release_close_negatives: int = Field(default=2, ge=0, le=10)


class PopulationTesting(_Sourced):
    """Population testing (核酸检测策略): whether whole administrative areas are tested when an outbreak
    starts (全员核酸), and whether cross-region travellers are checked for a negative test or tested
    on arrival (查验核酸阴性证明、落地检). The defaults are the 9th edition's practice; the 新十条
    turns both off."""

    area_wide_by_default: bool = True
    checkpoint_test_check: bool = True


ZoneSampling = Literal["door_to_door", "building_slots", "open_points"]
HELP_KINDS: tuple[str, ...] = ("medical", "emergency", "medicine", "supplies", "psychological", "other")


class ZoneLevel(_Model):
    """A zone level (风险区域等级): its names under either naming, the residents' measure (a category
    code; None: no measure, e.g. 防范区) and how a testing round samples there."""

    name_zh: Text
    name_en: Text
    #: the names under the `control` naming (封控区/管控区/防范区)
    control_name_zh: Text
    control_name_en: Text
    category: Code | None = None
    sampling: ZoneSampling = "open_points"
    #: pooling setting (a key of `pooling`) of a round's samples at this level
    pool: Code | None = None


def _zone_levels() -> dict[str, ZoneLevel]:
    return {
        "high": ZoneLevel(name_zh="高风险区", name_en="High-risk zone", control_name_zh="封控区",
                          control_name_en="Sealed zone", sampling="door_to_door", pool="high"),
        "medium": ZoneLevel(name_zh="中风险区", name_en="Medium-risk zone", control_name_zh="管控区",
                            control_name_en="Controlled zone", sampling="building_slots", pool="medium"),
        "low": ZoneLevel(name_zh="低风险区", name_en="Low-risk zone", control_name_zh="防范区",
                         control_name_en="Precaution zone", sampling="open_points", pool="low"),
    }


class ZonesPolicy(_Sourced):
    """Risk zones drawn inside the city (风险区域划定及防控管理), their testing rounds (区域全员核酸) and
    help to sealed households: the downgrade days, the round frequency and deadline, the door-knock
    moment, the infant age limit, the look-back window and the help requests' due hours by kind."""

    #: `risk`: 高/中/低风险区; `control`: 封控区/管控区/防范区
    naming: Literal["risk", "control"] = "risk"
    levels: dict[Literal["high", "medium", "low"], ZoneLevel] = Field(default_factory=_zone_levels)
    high_days: int = Field(default=7, ge=1, le=60)
    high_round_required: bool = True
    medium_days: int = Field(default=7, ge=1, le=60)
    medium_days_after_high: int = Field(default=3, ge=1, le=60)
    low_days: int = Field(default=7, ge=1, le=60)
    #: a high-risk zone gets a round every this many days until lifted
    high_round_every_days: int = Field(default=1, ge=1, le=14)
    round_deadline_hours: int = Field(default=24, ge=1, le=168)
    #: the door-knock task per building at this share of the deadline
    door_knock_share: float = Field(default=0.8, gt=0, lt=1)
    #: infants below this age (months) are excluded from rounds
    infant_age_months: int = Field(default=6, ge=0, le=72)
    #: residents who left within this many days before the zone starts become leads
    lookback_days: int = Field(default=7, ge=0, le=30)
    #: a resident this old (years) registered alone at an address is listed as elderly living alone
    #: from the registry (老年人权益保障法: 老年人 = 60 周岁以上)
    elderly_alone_age: int = Field(default=60, ge=50, le=100)
    #: help request kind → hours until due (急症 `emergency` at once)
    help_due_hours: dict[Code, float] = Field(default_factory=lambda: {
        "emergency": 0.5, "medical": 2, "medicine": 12, "supplies": 24, "psychological": 24, "other": 48})

    def level_name(self, level: str, locale: str = "zh_CN") -> str:
        lv = self.levels.get(level)  # type: ignore[call-overload]
        if lv is None:
            return level
        if self.naming == "control":
            return lv.control_name_en if locale == "en" else lv.control_name_zh
        return lv.name_en if locale == "en" else lv.name_zh
class Band(_Model):
    """A green and an amber bound of one indicator (worse than amber is red)."""

    green: float
    amber: float


class Threshold(_Sourced):
    """The colour bounds of one command-centre indicator (指标阈值): green and amber bounds in the
    indicator's direction (≥ for higher-is-better, ≤ for lower-is-better), optionally other bounds
    for units of one level (`levels: {grid: {green, amber}}`)."""

    green: float
    amber: float
    levels: dict[Code, Band] = Field(default_factory=dict)

    def band(self, level: str | None) -> tuple[float, float, str | None]:
        """(green, amber, the level whose bounds these are, None for the indicator's own)."""
        own = self.levels.get(level or "")
        return (own.green, own.amber, level) if own is not None else (self.green, self.amber, None)


def _default_thresholds() -> dict[str, Threshold]:
    src = "platform default (issue #16): 日产日清 and the clocks as city practice asks them"
    return {code: Threshold(green=g, amber=a, source=src, source_kind="platform") for code, g, a in (
        ("leads.cleared_same_day", 0.99, 0.95), ("leads.overdue", 0, 2), ("clock.managed_h.p90", 12, 24),
        ("clock.controlled_h.p90", 24, 36), ("testing.compliance", 0.98, 0.95))}


class ChecklistItem(_Model):
    """One item of an inspection checklist (督查检查项): its name and whether a confirmed finding of it at
    a venue may be published (曝光)."""

    name_zh: str = Field(max_length=100)
    name_en: str = Field(default="", max_length=100)
    exposable: bool = False


def _default_checklist() -> dict[str, ChecklistItem]:
    return {code: ChecklistItem(name_zh=zh, name_en=en, exposable=ex) for code, zh, en, ex in (
        ("scan_not_enforced", "未落实扫码查验", "Scans not enforced", True),
        ("temperature_not_checked", "未落实测温", "Temperature not checked", True),
        ("mask_not_worn", "未规范佩戴口罩", "Masks not worn", True),
        ("register_missing", "台账缺失", "Register missing", False),
        ("disinfection_missing", "未落实消杀", "Disinfection missing", False),
        ("duty_absent", "值守人员不在岗", "Duty post unmanned", False))}


class ReviewCause(_Model):
    """A cause a case reviewer may name (复盘原因): its names; an action taken on it becomes a
    rectification of the unit at fault, due by `severity`."""

    name_zh: str = Field(max_length=100)
    name_en: str = Field(default="", max_length=100)
    severity: Literal["high", "medium", "low"] = "medium"


def _default_review_causes() -> dict[str, ReviewCause]:
    return {code: ReviewCause(name_zh=zh, name_en=en, severity=sev) for code, zh, en, sev in (
        ("lead_not_verified", "线索未及时核查", "Lead not verified in time", "high"),
        ("test_overdue", "未按期检测", "Test overdue", "high"),
        ("venue_scan_not_enforced", "场所未落实扫码", "Venue did not enforce scans", "medium"),
        ("measure_late", "管控措施落实迟缓", "Measure started late", "high"),
        ("contact_missed", "密接漏排", "Contact missed", "high"),
        ("report_late", "报告迟报", "Report late", "medium"),
        ("other", "其他", "Other", "low"))}


def _default_rectify_hours() -> dict[str, float]:
    return {"high": 24, "medium": 72, "low": 168}


class Command(_Model):
    """The command centre (指挥部): colour thresholds of its indicators, by indicator code; the
    inspection checklist (督查) and the hours to rectify a finding by severity (整改时限)."""

    thresholds: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]*$", max_length=64)], Threshold] = \
        Field(default_factory=_default_thresholds)
    checklist: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)], ChecklistItem] = \
        Field(default_factory=_default_checklist)
    rectify_hours: dict[Literal["high", "medium", "low"], Annotated[float, Field(gt=0, le=720)]] = \
        Field(default_factory=_default_rectify_hours)
    #: a finding of the same item at the same place within this many days is a repeat (举一反三)
    repeat_days: int = Field(default=30, ge=1, le=365)
    #: the big screen keeps a live day's figures at most this long when another process writes (大屏缓存)
    screen_live_seconds: int = Field(default=30, ge=0, le=3600)
    #: after a write, the screen may answer a live day's previous figures for at most this long while
    #: fresh ones are computed in the background (0: recompute before answering)
    screen_stale_seconds: int = Field(default=60, ge=0, le=3600)
    #: the reviewer's cause codes of a case review (复盘原因), with the hours to act on each cause's action
    review_causes: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)],
                        ReviewCause] = Field(default_factory=_default_review_causes)


class DetectionRule(_Model):
    """Which algorithm judges a series (预警规则): the first rule matching the series' level (`site`,
    `unit` or any), sentinel kind and indicator (empty: any) and its period (`day` or `week`)."""

    level: Literal["site", "unit", "any"] = "any"
    site_kind: str | None = None
    indicator: str | None = None
    period: Literal["day", "week"] = "day"
    method: Literal["ears-c1", "ears-c2", "ears-c3", "cusum", "farrington", "farrington-noufaily",
                    "farrington-1996"]
    params: dict[str, float | int | bool | str] = Field(default_factory=dict)


def _default_indicators() -> dict[str, list[str]]:
    return {"fever_clinic": ["fever_visits", "ili_visits"], "clinic": ["fever_visits"],
            "school": ["absent_ill"],
            "pharmacy": ["drug_antipyretic", "drug_cough", "drug_antiviral", "drug_antibiotic"]}


def _default_rules() -> list[DetectionRule]:
    return [DetectionRule(period="day", method="ears-c2", params={"baseline": 7, "alpha": 0.001, "min_sigma": 1}),
            DetectionRule(period="week", method="farrington")]


class SurveillanceRules(_Sourced):
    """Sentinel surveillance (哨点监测): the indicators each sentinel kind reports, the detection rules,
    how close alarms join one signal, how long a signal's review may take, and the school holidays
    (a school's series runs over its school days: weekdays not listed here)."""

    indicators: dict[str, list[str]] = Field(default_factory=_default_indicators)
    rules: list[DetectionRule] = Field(default_factory=_default_rules, min_length=1)
    signal_extend_days: int = Field(default=7, ge=0, le=60)
    review_hours: int = Field(default=24, ge=1, le=24 * 14)
    school_holidays: list[dt.date] = Field(default_factory=list)
    #: drug classes whose pharmacy registrations become leads and daily counts (四类药品)
    watched_classes: list[Literal["antipyretic", "cough", "antiviral", "antibiotic", "other"]] = Field(
        default_factory=lambda: ["antipyretic", "cough", "antiviral", "antibiotic"])
    #: a day's counts are editable on the phone page until this local time of the next day (HH:MM)
    report_cutoff: Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "10:00"
    #: a positive antigen test's PCR confirmation is due within these hours (抗原阳性 核酸复核)
    antigen_pcr_hours: int = Field(default=12, ge=1, le=24 * 7)

    def rule_for(self, *, level: str, site_kind: str | None, indicator: str, period: str = "day"
                 ) -> DetectionRule | None:
        for rule in self.rules:
            if rule.period != period or rule.level not in ("any", level):
                continue
            if rule.site_kind not in (None, site_kind) or rule.indicator not in (None, indicator):
                continue
            return rule
        return None


class Pack(_Model):
    """A whole policy pack (政策包). `version_tag` ("code@version") names it in every decision."""

    code: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]
    version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+$", max_length=64)]
    name: Text
    source: Text
    effective_from: dt.date
    measures: dict[Code, Measure]
    categories: dict[Code, Category]
    risk_areas: RiskAreas
    key_groups: list[KeyGroup]
    pooling: dict[Code, PoolSize]
    turnaround_hours: dict[Code, Hours]
    sla_hours: dict[Code, Hours]
    daily_clearance_cutoff: str = "24:00"
    venues: Venues
    quarantine_sites: QuarantineSites
    epass: Epass
    retention: Retention
    tracing: Tracing
    testing: PopulationTesting = Field(default_factory=PopulationTesting)
    control: ControlRules = Field(default_factory=ControlRules)
    zones: ZonesPolicy = Field(default_factory=ZonesPolicy)
    command: Command = Field(default_factory=Command)
    surveillance: SurveillanceRules = Field(default_factory=SurveillanceRules)
    checkpoints: CheckpointRules = Field(default_factory=CheckpointRules)
    #: sources of the pack's own numbers (`daily_clearance_cutoff`)
    field_sources: dict[str, FieldSource] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # YAML reads `version: 1` as an int; a version is a label
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @field_validator("daily_clearance_cutoff")
    @classmethod
    def _cutoff(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("expected HH:MM between 00:00 and 24:00")
        return value

    @model_validator(mode="after")
    def _cross_check(self) -> Pack:
        # Raised as ValidationFailed (not ValueError) so the exact paths survive Pydantic.
        problems = cross_check(self)
        if problems:
            raise ValidationFailed(INVALID_PACK(), problems)
        return self

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def version_tag(self) -> str:
        return f"{self.code}@{self.version}"

    def title(self, locale: str = "zh_CN") -> str:
        """The pack's name in one language: packs are named "中文 / English"."""
        zh, sep, en = self.name.partition("/")
        return (en if locale == "en" and sep and en.strip() else zh).strip() or self.name

    def has_category(self, code: str | None) -> bool:
        return code is not None and code in self.categories

    @property
    def levels(self) -> tuple[str, ...]:
        """The risk levels this pack defines, highest first."""
        return tuple(lv for lv in RISK_LEVELS if getattr(self.risk_areas, lv) is not None)

    def has_level(self, level: str | None) -> bool:
        return level in self.levels

    def category(self, code: str) -> Category:
        try:
            return self.categories[self.category_code(code)]
        except KeyError:
            raise KeyError(f"policy pack {self.version_tag} has no category {code!r}") from None

    def category_code(self, code: str) -> str:
        """The pack's code for `code` or one of its aliases (`inbound` → `inbound_traveller`);
        `code` itself when nothing matches."""
        if code in self.categories:
            return code
        for own, cat in self.categories.items():
            if code in cat.aliases:
                return own
        return code

    def measure(self, code: str) -> Measure:
        try:
            return self.measures[code]
        except KeyError:
            raise KeyError(f"policy pack {self.version_tag} has no measure {code!r}") from None

    def group(self, code: str) -> KeyGroup:
        for g in self.key_groups:
            if g.code == code:
                return g
        raise KeyError(f"policy pack {self.version_tag} has no key group {code!r}")

    def risk_level(self, level: str) -> RiskLevel:
        if level not in RISK_LEVELS:
            raise KeyError(f"unknown risk level {level!r}")
        found: RiskLevel | None = getattr(self.risk_areas, level)
        if found is None:
            raise KeyError(f"policy pack {self.version_tag} has no {level} risk level")
        return found

    def sla(self, name: str) -> dt.timedelta:
        try:
            return dt.timedelta(hours=self.sla_hours[name].hours)
        except KeyError:
            raise KeyError(f"policy pack {self.version_tag} has no SLA {name!r}") from None

    def turnaround(self, setting: str) -> dt.timedelta:
        try:
            return dt.timedelta(hours=self.turnaround_hours[setting].hours)
        except KeyError:
            raise KeyError(f"policy pack {self.version_tag} has no turnaround {setting!r}") from None

    def pool_size(self, setting: str) -> int:
        try:
            return self.pooling[setting].size
        except KeyError:
            raise KeyError(f"policy pack {self.version_tag} has no pool size for {setting!r}") from None

    @property
    def clearance_cutoff(self) -> dt.timedelta:
        """The daily clearance cut-off (日产日清) as an offset from local midnight (24:00 → 24 h)."""
        hh, mm = (int(x) for x in self.daily_clearance_cutoff.split(":"))
        return dt.timedelta(hours=hh, minutes=mm)


def cross_check(pack: Pack) -> list[FieldError]:
    """References and ranges Pydantic cannot see field by field, each with its field path."""
    problems: list[FieldError] = []
    if pack.retention.access_log_months < MIN_AUDIT_MONTHS:
        problems.append(FieldError("retention.access_log_months", AUDIT_TOO_SHORT(months=MIN_AUDIT_MONTHS)))
    for code in REQUIRED_CATEGORIES:
        if code not in pack.categories:
            problems.append(FieldError(f"categories.{code}", CATEGORY_MISSING()))
    for code, cat in pack.categories.items():
        base = f"categories.{code}"
        if not cat.phases:
            problems.append(FieldError(f"{base}.phases", PHASE_REQUIRED()))
        for i, phase in enumerate(cat.phases):
            p = f"{base}.phases.{i}"
            if phase.measure not in pack.measures:
                problems.append(FieldError(f"{p}.measure", UNKNOWN_MEASURE(measure=repr(phase.measure))))
            if phase.days is None and (i != len(cat.phases) - 1 or cat.until_negatives is None):
                problems.append(FieldError(
                    f"{p}.days", OPEN_ENDED()))
            for j, day in enumerate(phase.test_days):
                limit = phase.days if phase.days is not None else (
                    cat.until_negatives.within_days if cat.until_negatives else None)
                if day < 1 or (limit is not None and day > limit):
                    problems.append(FieldError(
                        f"{p}.test_days.{j}", TEST_DAY_OUTSIDE(day=day, limit=limit or "…")))
            if phase.test_days != sorted(set(phase.test_days)):
                problems.append(FieldError(f"{p}.test_days", TEST_DAYS_ORDER()))
        if cat.pool is not None and cat.pool not in pack.pooling:
            problems.append(FieldError(f"{base}.pool", UNKNOWN_POOLING(setting=repr(cat.pool))))
    for level in RISK_LEVELS:
        rl: RiskLevel | None = getattr(pack.risk_areas, level)
        if rl is None:
            continue
        if rl.category not in pack.categories:
            problems.append(FieldError(f"risk_areas.{level}.category", UNKNOWN_CATEGORY(category=repr(rl.category))))
        to = rl.downgrade.to if rl.downgrade is not None else None
        if to is not None and to != "lifted":
            if RISK_LEVELS.index(to) <= RISK_LEVELS.index(level):
                problems.append(FieldError(f"risk_areas.{level}.downgrade.to", LOWER_LEVEL()))
            elif getattr(pack.risk_areas, to) is None:
                problems.append(FieldError(f"risk_areas.{level}.downgrade.to", NO_SUCH_LEVEL(level=to)))
    for where, obj in _sourced(pack):
        for name in obj.field_sources:
            if name not in type(obj).model_fields or name in ("source", "source_kind", "field_sources"):
                problems.append(FieldError(f"{where}field_sources.{name}", NOT_A_FIELD(name=repr(name))))
    owner: dict[str, str] = {}
    for code, cat in pack.categories.items():
        for j, alias in enumerate(cat.aliases):
            other = owner.get(alias) or (alias if alias in pack.categories else None)
            if other is not None:
                problems.append(FieldError(f"categories.{code}.aliases.{j}",
                                           DUPLICATE_CODE(code=repr(alias), other=f"categories.{other}")))
            owner.setdefault(alias, code)
    # a pack without a `zones` section takes the schema's defaults, whose pools it may not have
    for level, zl in (pack.zones.levels.items() if "zones" in pack.model_fields_set else ()):
        if zl.category is not None and zl.category not in pack.categories:
            problems.append(FieldError(f"zones.levels.{level}.category", UNKNOWN_CATEGORY(category=repr(zl.category))))
        if zl.pool is not None and zl.pool not in pack.pooling:
            problems.append(FieldError(f"zones.levels.{level}.pool", UNKNOWN_POOLING(setting=repr(zl.pool))))
    seen: dict[str, int] = {}
    for i, group in enumerate(pack.key_groups):
        if group.code in seen:
            problems.append(FieldError(f"key_groups.{i}.code",
                                       DUPLICATE_CODE(code=repr(group.code), other=f"key_groups.{seen[group.code]}")))
        seen.setdefault(group.code, i)
    return problems


def _sourced(pack: Pack) -> list[tuple[str, Any]]:
    """(path prefix, object) of every object with `field_sources`, the pack itself first."""
    out: list[tuple[str, Any]] = [("", pack)]
    out += [(f"categories.{c}.", cat) for c, cat in pack.categories.items()]
    out += [(f"risk_areas.{lv}.", pack.risk_level(lv)) for lv in pack.levels]
    out += [(f"key_groups.{i}.", g) for i, g in enumerate(pack.key_groups)]
    out += [(f"pooling.{k}.", v) for k, v in pack.pooling.items()]
    out += [(f"turnaround_hours.{k}.", v) for k, v in pack.turnaround_hours.items()]
    out += [(f"sla_hours.{k}.", v) for k, v in pack.sla_hours.items()]
    out += [(f"{name}.", getattr(pack, name))
            for name in ("venues", "quarantine_sites", "epass", "retention", "tracing", "testing")]
    if "control" in pack.model_fields_set:  # a pack that leaves it out takes the schema's defaults
        out.append(("control.", pack.control))
    if "zones" in pack.model_fields_set:
        out.append(("zones.", pack.zones))
    out += [(f"command.thresholds.{k}.", v) for k, v in pack.command.thresholds.items()]
    if "surveillance" in pack.model_fields_set:
        out.append(("surveillance.", pack.surveillance))
    if "checkpoints" in pack.model_fields_set:
        out.append(("checkpoints.", pack.checkpoints))
    return out


def numbers_with_sources(pack: Pack) -> list[tuple[str, object, str, str]]:
    """Every number of the pack with the source that names it: (path, value, source, source_kind).

    Used by the pack audit (`tests/kernel/test_policy_sources.py`) and `fangkong policy show --sources`.
    A category's numbers (phase days, test days, the negatives it ends on) are sourced by the category,
    a risk level's downgrade by the level, the pack's own by `field_sources`.
    """
    out: list[tuple[str, object, str, str]] = []

    def numeric(value: object) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    for code, cat in pack.categories.items():
        src, kind = cat.source, cat.source_kind
        for i, phase in enumerate(cat.phases):
            if phase.days is not None:
                out.append((f"categories.{code}.phases.{i}.days", phase.days, src, kind))
            if phase.test_days:
                out.append((f"categories.{code}.phases.{i}.test_days", list(phase.test_days), src, kind))
        if cat.until_negatives is not None:
            for name, value in cat.until_negatives.model_dump().items():
                if numeric(value):
                    out.append((f"categories.{code}.until_negatives.{name}", value, src, kind))
    for level in pack.levels:
        rl = pack.risk_level(level)
        out.append((f"risk_areas.{level}.stay_window_days", rl.stay_window_days, *rl.source_of("stay_window_days")))
        if rl.downgrade is not None:
            src, kind = rl.source_of("downgrade")
            for name, value in rl.downgrade.model_dump().items():
                if numeric(value):
                    out.append((f"risk_areas.{level}.downgrade.{name}", value, src, kind))
    for where, obj in _sourced(pack):
        if isinstance(obj, Category | RiskLevel) or obj is pack:
            continue
        for name in type(obj).model_fields:
            value = getattr(obj, name)
            if numeric(value):
                out.append((f"{where}{name}", value, *obj.source_of(name)))
    cutoff = pack.field_sources.get("daily_clearance_cutoff")
    out.append(("daily_clearance_cutoff", pack.daily_clearance_cutoff,
                cutoff.source if cutoff else "", cutoff.source_kind if cutoff else "unspecified"))
    return out
