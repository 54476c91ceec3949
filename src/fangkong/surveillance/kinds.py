"""Surveillance task kinds (监测预警任务), registered when surveillance is imported."""

from __future__ import annotations

from fangkong.kernel.tasks.kinds import register_kind

REVIEW = "surveillance_review"
FIELD = "surveillance_field"
MISSING = "sentinel_missing_report"

register_kind(
    REVIEW, label_zh="预警信号核实研判", label_en="Review a surveillance signal",
    outcomes={"dismissed": ("排除(数据错误或已知原因)", "Dismissed"),
              "investigate": ("现场调查", "Investigate in the field"),
              "escalated": ("上报上级和指挥部", "Escalated")},
    work_url="/signals/{subject_id}",
)
register_kind(
    FIELD, label_zh="预警信号现场调查", label_en="Field investigation of a signal",
    outcomes={"cases_found": ("发现病例(转流调)", "Cases found"), "no_cases": ("未发现病例", "No cases")},
    work_url="/signals/{subject_id}",
)
register_kind(
    MISSING, label_zh="哨点缺报", label_en="Sentinel site missed its report",
    outcomes={"reported": ("已补报", "Reported"), "closed": ("不再报送", "Site closed")},
)

PCR_CONFIRM = "antigen_pcr_confirm"
register_kind(
    PCR_CONFIRM, label_zh="抗原阳性核酸复核", label_en="PCR confirmation of a positive antigen test",
    outcomes={"negative": ("核酸阴性(解除临时管控)", "PCR negative"),
              "positive": ("核酸阳性(转流调)", "PCR positive")},
)

ESCALATED = "surveillance_escalated"
register_kind(
    ESCALATED, label_zh="预警信号上报指挥部", label_en="A signal escalated to the command centre",
    outcomes={"noted": ("已知悉并部署", "Noted and acted on")},
    work_url="/signals/{subject_id}",
)
