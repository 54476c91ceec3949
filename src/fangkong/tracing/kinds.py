"""The investigation task kind (流调任务), registered when tracing is imported."""

from __future__ import annotations

from fangkong.kernel.tasks.kinds import register_kind

INVESTIGATE = "investigate_case"
#: the task's two steps and the pack's SLA entry of each
STEPS: dict[str, str] = {"core": "investigation_core", "report": "investigation_report"}

register_kind(
    INVESTIGATE,
    label_zh="病例流调",
    label_en="Investigate a case",
    outcomes={"reported": ("流调报告已完成", "Report done"), "withdrawn": ("病例撤销", "Case withdrawn")},
    sla="investigation_report",
    work_url="/cases/{subject_id}",
)
