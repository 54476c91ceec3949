"""What the policy pack's codes and rules are called (政策包条目的名称): a category, key group, measure or
risk level by the pack's own `name_zh` / `name_en`; a rule that fired (`risk_areas.high`,
`tracing.lookback_days`, `sla_hours.lead_verify`) by a sentence naming it. Pages and messages show these,
never the codes.
"""

from __future__ import annotations

from typing import Any

from fangkong.kernel.messages import Message, Term, _, labels, message

#: time limits (`sla_hours.*`), turnaround settings (`turnaround_hours.*`) and pooling settings
#: (`pooling.*`) of the packs shipped; a pack's own new entries show their code
SLA = labels("sla", {
    "arrival_report": _("report after arrival"), "lead_verify": _("verification of a lead"),
    "missed_test_grace": _("grace period for a missed test"),
    "investigation_core": _("core information of an investigation"),
    "investigation_report": _("investigation report"), "task_escalation_repeat": _("repeated escalation of a task"),
    "positive_pool_retest": _("retest after a positive pool"),
})
TURNAROUND = labels("turnaround", {
    "fever_clinic": _("fever clinic"), "inpatient": _("inpatients"), "routine": _("routine testing"),
    "positive_report": _("reporting a positive result"),
})
POOLING = labels("pooling", {
    "low": _("low-risk area"), "medium": _("medium-risk area"), "high": _("high-risk area"),
    "fever_clinic": _("fever clinic"), "contacts": _("close and secondary contacts"),
})

RULE_CATEGORY = message("rule.category", _("the rule for %(name)s"))
RULE_RISK_AREA = message("rule.risk_area", _("the rule for stays in a %(name)s"))
RULE_IN_FORCE = message("rule.in_force", _("the rule for a measure already in force"))
RULE_SLA = message("rule.sla", _("the time limit for %(name)s"))
RULE_TURNAROUND = message("rule.turnaround", _("the result turnaround for %(name)s"))
RULE_POOLING = message("rule.pooling", _("the pool size for %(name)s"))
RULE_LOOKBACK = message("rule.lookback_days", _("the look-back days for close contacts"))
RULE_OTHER = message("rule.other", _("the pack's rule %(rule)s"))
RULE_IN_PACK = message("rule.in_pack", _("%(rule)s of %(pack)s"))


def _named(code: str, entry: Any) -> Term:
    if entry is None:
        return Term(code)
    return Term(code, {"zh_CN": getattr(entry, "name_zh", None), "en": getattr(entry, "name_en", None)})


def category_term(pack: Any, code: str | None) -> Term:
    """A category (人员类别) by the pack's names; reads as its code."""
    return _named(code or "", pack.categories.get(code or ""))


def measure_term(pack: Any, code: str | None) -> Term:
    return _named(code or "", pack.measures.get(code or ""))


def group_term(pack: Any, code: str | None) -> Term:
    """A key group (重点人群) by the pack's names; reads as its code."""
    entry = next((g for g in pack.key_groups if g.code == code), None)
    return _named(code or "", entry)


def level_term(pack: Any, level: str | None) -> Term:
    """A risk level (高/中/低风险区) by the pack's names."""
    return _named(level or "", getattr(pack.risk_areas, level or "", None))


def rule_label(pack: Any, rule: str | None) -> Message | str:
    """The rule that fired, as a sentence (`risk_areas.high` → 中高风险区旅居规则 …); "" for none."""
    if not rule:
        return ""
    section, _dot, key = rule.partition(".")
    if section == "categories" and key in pack.categories:
        return RULE_CATEGORY(name=category_term(pack, key))
    if section == "risk_areas" and getattr(pack.risk_areas, key, None) is not None:
        return RULE_RISK_AREA(name=level_term(pack, key))
    if rule == "measures.in_force":
        return RULE_IN_FORCE()
    if rule == "tracing.lookback_days":
        return RULE_LOOKBACK()
    if section == "sla_hours":
        return RULE_SLA(name=Term(key, kind="sla"))
    if section == "turnaround_hours":
        return RULE_TURNAROUND(name=Term(key, kind="turnaround"))
    if section == "pooling":
        return RULE_POOLING(name=Term(key, kind="pooling"))
    return RULE_OTHER(rule=rule)


def rule_in_pack(pack: Any, rule: str | None) -> Message | str:
    """`the rule for stays in a high-risk area of 新型冠状病毒肺炎防控方案（第九版）(cn-2022-v9@1)`."""
    if not rule:
        return ""
    return RULE_IN_PACK(rule=rule_label(pack, rule), pack=f"{pack.name} ({pack.version_tag})")
