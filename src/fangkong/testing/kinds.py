"""Task kinds of testing (检测任务): the single-tube retest of a positive pool's member, and chasing a
group member who missed a test (漏检)."""

from __future__ import annotations

from fangkong.kernel.tasks.kinds import register_kind

RETEST = "testing_retest"
OVERDUE = "testing_overdue"

RETEST_OUTCOMES: dict[str, tuple[str, str]] = {
    "negative": ("单管复核阴性", "Retest negative"),
    "positive": ("单管复核阳性", "Retest positive"),
    "not_reached": ("未能联系本人", "Person not reached"),
}
OVERDUE_OUTCOMES: dict[str, tuple[str, str]] = {
    "tested": ("已完成检测", "Tested"),
    "exempted": ("经核实免检", "Exempted after checking"),
    "left_group": ("已不属于该人群", "No longer in the group"),
}

# the result closes the task itself when the lab's single-tube result arrives (service.pools); typed in
# by hand it needs a note saying where it comes from, and the form pre-selects nothing
register_kind(RETEST, label_zh="混采阳性单管复核", label_en="Single-tube retest after a positive pool",
              outcomes=RETEST_OUTCOMES, note_required=("negative", "positive"))
register_kind(OVERDUE, label_zh="重点人群漏检督促", label_en="Chase a missed key-group test",
              outcomes=OVERDUE_OUTCOMES, sla="missed_test_grace")
