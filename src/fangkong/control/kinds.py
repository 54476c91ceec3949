"""Task kinds of control (管控任务): chasing a test day of a measure that passed without a sample (漏检)."""

from __future__ import annotations

from fangkong.kernel.tasks.kinds import register_kind

MISSED_TEST = "control_missed_test"

MISSED_TEST_OUTCOMES: dict[str, tuple[str, str]] = {
    "sampled": ("已补采样", "Sampled since"),
    "made_up": ("已于其后补检(该日仍记漏检)", "Made up by a later sample (the day stays missed)"),
    "exempted": ("经核实免检", "Exempted after checking"),
    "not_reached": ("未能联系本人", "Person not reached"),
}

register_kind(MISSED_TEST, label_zh="管控人员漏检督促", label_en="Chase a missed test of a measure",
              outcomes=MISSED_TEST_OUTCOMES, sla="missed_test_grace")

#: a check-in slot passed without a check-in (漏报体温)
MISSED_CHECKIN = "control_missed_checkin"
#: a check-in with fever or a listed symptom: the site doctor sees the person (发热/症状预警)
CHECKIN_ALERT = "control_checkin_alert"
#: …and the person is sampled the same day (当日采样)
CHECKIN_SAMPLING = "control_checkin_sampling"
#: the community confirms a home-measure household is in (居家人员每日在位核查)
HOME_CONFIRMATION = "control_home_confirmation"

register_kind(MISSED_CHECKIN, label_zh="管控人员漏报体温督促", label_en="Chase a missed check-in",
              outcomes={"reached": ("已联系本人并补报", "Reached, checked in since"),
                        "not_reached": ("未能联系本人", "Person not reached"),
                        "escalated": ("已上报处置", "Escalated")})
register_kind(CHECKIN_ALERT, label_zh="隔离人员发热/症状预警(医生处置)", label_en="Fever or symptom at a check-in (doctor)",
              outcomes={"seen": ("医生已诊视", "Seen by the doctor"),
                        "to_hospital": ("已转运就医", "Taken to hospital"),
                        "false_alarm": ("复测正常", "Normal on a second reading")})
register_kind(CHECKIN_SAMPLING, label_zh="发热/症状人员当日采样", label_en="Sample a person with fever or symptoms today",
              outcomes={"sampled": ("已采样", "Sampled"), "not_reached": ("未能采样", "Not sampled")})
register_kind(HOME_CONFIRMATION, label_zh="居家管控人员每日在位核查", label_en="Confirm a home-measure household is in",
              outcomes={"phone": ("电话确认在家", "Confirmed by phone"), "video": ("视频确认在家", "Confirmed by video"),
                        "visit": ("上门确认在家", "Confirmed by a visit"),
                        "not_in": ("不在家(已上报)", "Not in (reported)")}, note_required=("not_in",))
