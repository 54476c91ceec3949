"""Task kinds of the command centre: acknowledging and completing an order, and chasing a late one."""

from __future__ import annotations

from fangkong.kernel.tasks.kinds import register_kind

ACK = "command_order_ack"
COMPLETE = "command_order_complete"
ESCALATED = "command_order_escalated"

register_kind(ACK, label_zh="签收指令", label_en="Acknowledge an order",
              outcomes={"acknowledged": ("已签收", "Acknowledged")}, work_url="/orders/{subject_id}")
register_kind(COMPLETE, label_zh="落实指令", label_en="Carry out an order",
              outcomes={"completed": ("已落实", "Completed")}, work_url="/orders/{subject_id}")
register_kind(ESCALATED, label_zh="督促下级签收指令", label_en="Chase a late acknowledgement",
              outcomes={"chased": ("已督促", "Chased"), "resolved": ("已签收", "Acknowledged since")})

RECTIFY = "command_rectify"
RECTIFY_ESCALATED = "command_rectify_escalated"

register_kind(RECTIFY, label_zh="整改督查发现的问题", label_en="Rectify a finding",
              outcomes={"rectified": ("已整改", "Rectified")}, work_url="/command/findings?rect={subject_id}")
register_kind(RECTIFY_ESCALATED, label_zh="督促下级整改", label_en="Chase a late rectification",
              outcomes={"chased": ("已督促", "Chased")})

REVIEW = "command_case_review"
register_kind(REVIEW, label_zh="病例复盘", label_en="Review a new case",
              outcomes={"reviewed": ("已复盘", "Reviewed")}, work_url="/command/reviews/{subject_id}")
