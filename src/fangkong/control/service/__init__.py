"""Control use cases (管控): measures (start, end, extend, move), the one control status of a person,
and the due tests of every measure. Other capabilities call these, never control's tables."""

from __future__ import annotations

from fangkong.control.rules import KIND_RANK, PHASE_LABELS, ControlStatus, entry_warning, phase_label
from fangkong.control.service.due import (
    STATES,
    DueTestView,
    create_missed_tasks,
    due_tests,
    due_tests_of_person,
    has_sample_source,
    next_due_at,
    register_sample_source,
    samples_recorded,
)
from fangkong.control.service.measures import (
    end_measure,
    extend_measure,
    get_measure,
    hold_measure,
    measures_in_force,
    measures_of_person,
    move_measures,
    schedule,
    start_measure,
)
from fangkong.control.service.status import PersonControl, control_of_person, status_of, statuses_at

__all__ = [
    "KIND_RANK",
    "PHASE_LABELS",
    "STATES",
    "ControlStatus",
    "DueTestView",
    "PersonControl",
    "control_of_person",
    "create_missed_tasks",
    "due_tests",
    "due_tests_of_person",
    "end_measure",
    "entry_warning",
    "extend_measure",
    "get_measure",
    "has_sample_source",
    "hold_measure",
    "measures_in_force",
    "measures_of_person",
    "move_measures",
    "next_due_at",
    "phase_label",
    "register_sample_source",
    "samples_recorded",
    "schedule",
    "start_measure",
    "status_of",
    "statuses_at",
]
