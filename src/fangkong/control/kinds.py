"""Task kinds of control (管控任务): chasing a test day of a measure that passed without a sample (漏检)."""

from __future__ import annotations

from fangkong.kernel.tasks.kinds import register_kind

MISSED_TEST = "control_missed_test"

MISSED_TEST_OUTCOMES: dict[str, tuple[str, str]] = {
    "sampled": ("已补采样", "Sampled since"),
    "exempted": ("经核实免检", "Exempted after checking"),
    "not_reached": ("未能联系本人", "Person not reached"),
}

register_kind(MISSED_TEST, label_zh="管控人员漏检督促", label_en="Chase a missed test of a measure",
              outcomes=MISSED_TEST_OUTCOMES, sla="missed_test_grace")
