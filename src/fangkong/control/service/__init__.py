"""Control use cases (管控): measures (start, end, extend, move), the one control status of a person,
and the due tests of every measure. Other capabilities call these, never control's tables."""

from __future__ import annotations

from fangkong.control.rules import KIND_RANK, PHASE_LABELS, ControlStatus, entry_warning, phase_label
from fangkong.control.service.bulk_end import end_many
from fangkong.control.service.bulk_start import NewMeasure, start_many
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
from fangkong.control.service.lifecycle import (
    Step,
    apply_due_steps,
    change_status,
    convert_measure,
    due_steps,
    evaluations,
    events_of,
    register_result_source,
    release_measure,
    stepdown_measure,
)
from fangkong.control.service.measures import (
    end_measure,
    extend_measure,
    get_measure,
    hold_measure,
    kinds_in_force,
    measures_in_force,
    measures_of_person,
    move_measures,
    schedule,
    start_measure,
)
from fangkong.control.service.status import PersonControl, control_of_person, status_of, statuses_at


def positive_reported(session, actor, *, person_id, reported_at):  # type: ignore[no-untyped-def]
    """A positive single-tube result of `person_id` reported at `reported_at` (testing calls this as
    it arrives): their measure converts and the extensions restart others (control/sites/service/extensions)."""
    from fangkong.control.sites.service import extensions

    return extensions.positive_reported(session, actor, person_id=person_id, reported_at=reported_at)


__all__ = [
    "KIND_RANK",
    "PHASE_LABELS",
    "STATES",
    "ControlStatus",
    "DueTestView",
    "NewMeasure",
    "PersonControl",
    "Step",
    "apply_due_steps",
    "change_status",
    "control_of_person",
    "convert_measure",
    "create_missed_tasks",
    "due_steps",
    "due_tests",
    "due_tests_of_person",
    "end_many",
    "end_measure",
    "entry_warning",
    "evaluations",
    "events_of",
    "extend_measure",
    "get_measure",
    "has_sample_source",
    "hold_measure",
    "kinds_in_force",
    "measures_in_force",
    "measures_of_person",
    "move_measures",
    "next_due_at",
    "phase_label",
    "positive_reported",
    "register_result_source",
    "register_sample_source",
    "release_measure",
    "samples_recorded",
    "schedule",
    "start_many",
    "start_measure",
    "status_of",
    "statuses_at",
    "stepdown_measure",
]
