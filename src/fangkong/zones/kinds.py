"""Task kinds of zones (区域核酸任务): the door knock per building of a round's targets not yet sampled
(上门敲门), made at the pack's share of the round's deadline."""

from __future__ import annotations

from fangkong.kernel.tasks.kinds import register_kind

DOOR_KNOCK = "zone_door_knock"

DOOR_KNOCK_OUTCOMES: dict[str, tuple[str, str]] = {
    "sampled": ("已上门采样", "Sampled at the door"),
    "excluded": ("已核实排除(外出、住院等)", "Excluded after checking (away, in hospital …)"),
    "not_reached": ("未能入户", "Nobody reached"),
}

register_kind(DOOR_KNOCK, label_zh="区域核酸上门敲门", label_en="Knock on the doors of a round's unsampled targets",
              outcomes=DOOR_KNOCK_OUTCOMES, work_url="/rounds/{subject_id}/doors")

HELP = "zone_help"

HELP_OUTCOMES: dict[str, tuple[str, str]] = {
    "served": ("已服务", "Served"),
    "closed": ("已关闭(撤回、重复等)", "Closed (withdrawn, duplicate …)"),
}

register_kind(HELP, label_zh="封控区求助", label_en="Help request of a household that may not leave",
              outcomes=HELP_OUTCOMES, work_url="/help/{subject_id}")
