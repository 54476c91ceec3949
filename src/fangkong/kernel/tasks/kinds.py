"""Task kinds (任务类型): what a task is for and how it may be closed.

Capabilities register their kinds when their modules are imported (`register_kind("intake.verify", …)`);
the kernel registers `generic`. A kind's `sla` names an entry of the policy pack's `sla_hours`, from
which a task's due time follows when the creator gives none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fangkong.kernel.i18n import cli_locale
from fangkong.kernel.messages import named_labels


@dataclass(frozen=True)
class TaskKind:
    code: str
    label_zh: str
    label_en: str
    #: outcome code → (Chinese label, English label)
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    sla: str | None = None
    #: where the task is worked on, e.g. "/leads/{subject_id}": such a task is closed by its capability's
    #: own flow (the four checks of a lead …), never by the generic "complete" form
    work_url: str | None = None
    #: outcomes that may be chosen by hand only with a note saying where they come from (a retest's
    #: result typed in rather than received from the lab); the owning flow (`by_owner`) is exempt
    note_required: frozenset[str] = frozenset()

    def url_for(self, task: object) -> str | None:
        if not self.work_url:
            return None
        return self.work_url.format(subject_id=getattr(task, "subject_id", ""), task_id=getattr(task, "id", ""))

    def label(self, locale: str | None = None) -> str:
        return self.label_en if (locale or cli_locale()) == "en" else self.label_zh

    def outcome_label(self, code: str, locale: str | None = None) -> str:
        zh, en = self.outcomes[code]
        return en if (locale or cli_locale()) == "en" else zh


_KINDS: dict[str, TaskKind] = {}


def register_kind(code: str, *, label_zh: str, label_en: str, outcomes: dict[str, tuple[str, str]],
                  sla: str | None = None, work_url: str | None = None,
                  note_required: tuple[str, ...] = ()) -> TaskKind:
    """Register a task kind. Registering the same definition again (a re-import) is harmless; a
    different definition under a registered code is a programming error."""
    if not outcomes:
        raise ValueError(f"task kind {code!r} needs at least one outcome")
    unknown = set(note_required) - set(outcomes)
    if unknown:
        raise ValueError(f"task kind {code!r}: note_required names unknown outcomes {sorted(unknown)}")
    new = TaskKind(code, label_zh, label_en, dict(outcomes), sla, work_url, frozenset(note_required))
    old = _KINDS.get(code)
    if old is not None and old != new:
        raise ValueError(f"task kind {code!r} is already registered with a different definition")
    _KINDS[code] = new
    named_labels("task_kind", {code: (label_zh, label_en)})
    named_labels(f"outcome.{code}", dict(outcomes))
    return new


def kind(code: str) -> TaskKind:
    """The registered kind; KeyError when no loaded module registered it."""
    try:
        return _KINDS[code]
    except KeyError:
        raise KeyError(f"unknown task kind {code!r}") from None


def kinds() -> list[TaskKind]:
    return sorted(_KINDS.values(), key=lambda k: k.code)


GENERIC = register_kind(
    "generic",
    label_zh="通用任务",
    label_en="Task",
    outcomes={"done": ("已办结", "Done"), "not_applicable": ("无需办理", "Not applicable")},
)
