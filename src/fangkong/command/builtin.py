"""The first set of indicators (issue #16), each a call to the owning capability's service:
intake (leads and their clocks), testing (compliance, coverage, samples, positive pools) and tracing
(new cases, contacts under control). Registered on import (`indicators.load`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy.orm import Session

from fangkong.command.indicators import Indicator, Window, register
from fangkong.command.rules import Figure
from fangkong.intake import service as intake_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.testing import service as testing_service
from fangkong.tracing import service as tracing_service

H = 3600.0


def _facts(session: Session, base: Unit, w: Window) -> list[intake_service.LeadFact]:
    return w.once("lead_facts", lambda: intake_service.lead_facts(session, base, start=w.start, cutoff=w.cutoff))


def _counts(counts: dict[str, int]) -> dict[str, Figure]:
    return {path: Figure(numerator=n) for path, n in counts.items()}


def _ratio(pairs: dict[str, tuple[int, int]]) -> dict[str, Figure]:
    return {path: Figure(numerator=n, denominator=d) for path, (n, d) in pairs.items()}


def received(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    out: dict[str, Figure] = defaultdict(Figure)
    for f in _facts(session, base, w):
        if f.received_at >= w.start:
            out[f.unit_path].numerator += 1
    return out


def cleared_same_day(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    out: dict[str, Figure] = defaultdict(Figure)
    for f in _facts(session, base, w):
        if f.received_at >= w.start:
            fig = out[f.unit_path]
            fig.denominator += 1
            if f.managed_at is not None and f.managed_at < w.cutoff:
                fig.numerator += 1
    return out


def overdue(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    out: dict[str, Figure] = defaultdict(Figure)
    for f in _facts(session, base, w):
        verified = f.managed_at is not None and f.managed_at < w.cutoff
        closed = f.closed_at is not None and f.closed_at < w.cutoff
        if f.due_at < w.cutoff and not verified and not closed:
            out[f.unit_path].numerator += 1
    return out


def _clock(step: str) -> Callable[[Session, Unit, Window], dict[str, Figure]]:
    def collect(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
        out: dict[str, Figure] = defaultdict(Figure)
        for f in _facts(session, base, w):
            at = getattr(f, f"{step}_at")
            if at is not None and w.start <= at < w.cutoff:
                out[f.unit_path].hours.append((at - f.received_at).total_seconds() / H)
        return out
    return collect


def compliance(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    return _ratio(testing_service.compliance_counts(session, base, at=w.cutoff))


def coverage(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    return _ratio(testing_service.coverage_counts(session, base))


def tested(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    return _counts(testing_service.sampled_counts(session, base, start=w.start, end=w.cutoff))


def positive_pools(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    return _counts(testing_service.positive_pool_counts(session, base, start=w.start, end=w.cutoff))


def cases_new(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    return _counts(tracing_service.cases_created(session, base, start=w.start, end=w.cutoff))


def contacts_under_control(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    ids = tracing_service.contact_lead_ids(session, until=w.cutoff)
    out: dict[str, Figure] = defaultdict(Figure)
    for f in intake_service.lead_facts_by_id(session, ids).values():
        controlled = f.controlled_at is not None and f.controlled_at < w.cutoff
        if not controlled and f.closed_at is not None and f.closed_at < w.cutoff:
            continue  # closed without a measure (a false lead): nothing to control
        fig = out[f.unit_path]
        fig.denominator += 1
        fig.numerator += 1 if controlled else 0
    return out


def detected_in_control(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    from fangkong.command.service import review

    facts = tracing_service.case_facts(session, base, start=w.start, end=w.cutoff)
    control = review.detected_in_control(session, facts)
    out: dict[str, Figure] = defaultdict(Figure)
    for f in facts:
        fig = out[f["unit_path"]]
        fig.denominator += 1
        fig.numerator += 1 if control[f["id"]] else 0
    return out


_STEP_DEF = {"known": "即知 (person resolved)", "managed": "即管 (verified, 四个查清)",
             "controlled": "即控 (measure started)"}

for _code, _zh, _en, _kind, _dir, _def, _fn in [
    ("leads.received", "接收线索", "Leads received", "count", "up",
     "Leads received in [D, C) by the units of the subtree (a lead belongs to the unit that owns it).", received),
    ("leads.cleared_same_day", "日产日清率", "Cleared the same day", "rate", "up",
     "Of the leads received in [D, C), the share verified (managed) before C.", cleared_same_day),
    ("leads.overdue", "超时未核查", "Leads overdue", "count", "down",
     "Leads received before C whose verification was due before C (receipt + sla_hours.lead_verify, or the "
     "task's due time) and that were neither verified nor closed before C.", overdue),
    ("testing.compliance", "应检尽检率", "Test compliance", "rate", "up",
     "Active key-group members compliant or not yet due at C over all active members (as the compliance "
     "export at C).", compliance),
    ("testing.coverage", "应纳尽纳率", "Enrolment coverage", "rate", "up",
     "Enrolled members (up to the declared headcount) over the employers' declared headcounts.", coverage),
    ("testing.tested", "采样人次", "Persons sampled", "count", "up",
     "Samples collected in [D, C) at the sampling points of the subtree.", tested),
    ("testing.positive_pools", "阳性混管", "Positive pools", "count", "down",
     "Pooled tubes that turned positive in [D, C).", positive_pools),
    ("cases.new", "新增病例", "New cases", "count", "down", "Cases registered in [D, C).", cases_new),
    ("cases.detected_in_control", "管控中发现率", "Cases detected under control", "rate", "up",
     "Of the cases registered in [D, C), the share on whom a control measure was in force when detected "
     "(sampled; else the result; else the registration), as their case reviews record it.", detected_in_control),
    ("contacts.under_control", "密接管控率", "Contacts under control", "rate", "up",
     "Contacts confirmed before C and not released: the share whose lead was under control before C "
     "(a contact lead closed without a measure is not counted).", contacts_under_control),
]:
    register(Indicator(_code, _zh, _en, _kind, _dir, _def, _fn))

for _step in ("known", "managed", "controlled"):
    for _q in (50, 90):
        _zh = {"known": "即知", "managed": "即管", "controlled": "即控"}[_step]
        register(Indicator(
            f"clock.{_step}_h.p{_q}", f"{_zh}时长P{_q}(小时)", f"{_step.capitalize()} hours p{_q}", "hours", "down",
            f"Hours from receipt to {_STEP_DEF[_step]}, over the leads whose step fell in [D, C); the {_q}th "
            "percentile of the pooled events (linear interpolation, as numpy by default).", _clock(_step),
            quantile=_q))
