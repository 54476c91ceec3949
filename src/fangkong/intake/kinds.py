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

#: the four checks (四个查清): key → (Chinese, English)
FOUR_CHECKS: dict[str, tuple[str, str]] = {
    "reached": ("是否见到本人", "Reached in person"),
    "identity": ("身份是否核实", "Identity confirmed"),
    "location": ("目前所在位置", "Where now"),
    "control": ("管控措施是否落实", "Control in place"),
}

register_kind(VERIFY, label_zh="重点人员核查(四个查清)", label_en="Verify a person of interest (four checks)",
              outcomes=OUTCOMES, sla="lead_verify", work_url="/leads/{subject_id}")
register_kind(LOCATE, label_zh="查找重点人员", label_en="Locate a person of interest",
              outcomes=OUTCOMES, sla="lead_verify", work_url="/leads/{subject_id}")
