"""Task kinds of quarantine sites: a transport (转运) and a room to find for someone restarted into
central quarantine without a room (待安排房间)."""

from __future__ import annotations

from fangkong.kernel.tasks.kinds import register_kind

TRANSPORT = "control_transport"
ASSIGN_ROOM = "control_assign_room"

register_kind(TRANSPORT, label_zh="转运", label_en="Transport",
              outcomes={"arrived": ("已送达", "Arrived"), "not_found": ("未接到人员", "Person not picked up"),
                        "cancelled": ("转运取消", "Transport cancelled")})
register_kind(ASSIGN_ROOM, label_zh="安排隔离房间", label_en="Assign a quarantine room",
              outcomes={"assigned": ("已安排房间", "Room assigned"),
                        "not_needed": ("无需安排", "Not needed")})
