"""Task kinds of intake (核查任务): the four checks at the grid, and locating a person nobody placed.

Imported by `intake.models`, so the kinds are registered wherever intake's tables are loaded.
"""

from __future__ import annotations

from fangkong.kernel.tasks.kinds import register_kind

VERIFY = "verify_person"
LOCATE = "locate_person"

#: outcome code → (Chinese, English)
OUTCOMES: dict[str, tuple[str, str]] = {
    "found_home": ("已找到,居家落实管控", "Found; measure started at home"),
    "found_site": ("已找到,转运集中隔离点", "Found; transferred to a site"),
    "not_at_address": ("地址查无此人", "Not at the address"),
    "left_city": ("已离开本市", "Left the city"),
    "controlled_elsewhere": ("已在他处管控", "Already under control elsewhere"),
    "false_lead": ("信息有误,非重点人员", "False lead"),
}

#: the four checks (四个查清 = 人数、人头、位置、管控情况): key → (Chinese, English).
#: `headcount` is a number (persons at the address, household included); `identity` yes/no (the
#: person seen and their identity confirmed); `location` and `control` are text.
FOUR_CHECKS: dict[str, tuple[str, str]] = {
    "headcount": ("人数(该地址共住人数,含同住人员)", "Headcount (persons at the address, household included)"),
    "identity": ("人头(见到本人,核实身份)", "Identity (seen in person, identity confirmed)"),
    "location": ("位置(目前所在位置)", "Location (where the person is now)"),
    "control": ("管控情况(管控措施落实情况)", "Control status (the measure in place)"),
}
#: the largest headcount a verification may record (a dormitory, not a typo of a phone number)
MAX_HEADCOUNT = 9999

register_kind(VERIFY, label_zh="重点人员核查(四个查清)", label_en="Verify a person of interest (four checks)",
              outcomes=OUTCOMES, sla="lead_verify", work_url="/leads/{subject_id}")
register_kind(LOCATE, label_zh="查找重点人员", label_en="Locate a person of interest",
              outcomes=OUTCOMES, sla="lead_verify", work_url="/leads/{subject_id}")
