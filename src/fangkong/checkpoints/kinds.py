"""Task kinds of checkpoints (卡口): chase an overdue trip (点对点闭环), see to a stranded vehicle."""

from __future__ import annotations

from fangkong.kernel.tasks.kinds import register_kind

TRIP_OVERDUE = "checkpoint_trip_overdue"
STRANDED = "checkpoint_stranded"
GAP = "checkpoint_reconcile"

register_kind(TRIP_OVERDUE, label_zh="跟进逾期货车行程(点对点闭环)", label_en="Chase an overdue truck trip",
              outcomes={"arrived": ("已到达并确认", "Arrived and confirmed"),
                        "left": ("已驶离本地", "Left the region"),
                        "driver_staying": ("司乘留驻,转重点人员", "Crew staying; made leads"),
                        "other": ("其他", "Other")})
register_kind(STRANDED, label_zh="处置服务区滞留车辆", label_en="See to a vehicle stranded at a service area",
              outcomes={"moved_on": ("已劝离", "Moved on"), "escorted": ("已接引伴行", "Escorted"),
                        "returned": ("已劝返", "Returned"), "other": ("其他", "Other")})
register_kind(GAP, label_zh="数据闭环差异核实", label_en="Check a reconciliation gap",
              outcomes={"resolved": ("已核实补录", "Checked and recorded"), "false": ("无需处理", "Nothing to do")})
