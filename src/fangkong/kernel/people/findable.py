"""Junk does not become people (无效数据不建档): the one rule every channel applies before a row may
find or create a person.

A person is created only from something that can find them again: a valid ID number, a valid mobile
number, or a real name. A row with none of these — a 7-digit phone and no name, an empty name and an
invalid ID number, a name cell holding 无 or 不详 — is rejected with the field at fault, never stored as a
nameless person. Leads, rosters, samples, scans, tracing contacts, forms and the API all reach the
registry through `kernel.people.resolution`, `kernel.people.service.register_person` or intake's lead
pipeline, and each asks `findability_issue`.
"""

from __future__ import annotations

import unicodedata

from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.people.identity import IdNumberCheck, PhoneCheck, clean_name

NOTHING_TO_FIND = message(
    "person.nothing_to_find",
    _("nothing to find the person by again: give a name, a valid ID number or a valid mobile number"))

#: what people type into a name cell when they do not know the name (compared NFKC, case-folded)
PLACEHOLDER_NAMES = frozenset({
    "无", "不详", "未知", "暂无", "待定", "待查", "不明", "null", "none", "nan", "n/a", "na", "unknown",
})


def is_name(raw: object) -> bool:
    """A real name: some letters (Chinese or Latin), not a placeholder such as 无, 不详 or `-`."""
    name = clean_name(raw)
    if not name:
        return False
    key = unicodedata.normalize("NFKC", name).casefold()
    if key in PLACEHOLDER_NAMES:
        return False
    return any(c.isalpha() for c in key)


def findability_issue(*, name: object, id_check: IdNumberCheck | None,
                      phone_check: PhoneCheck | None) -> FieldIssue | None:
    """None when the row can find a person again (a valid ID number, a valid mobile, or a real name);
    otherwise the issue that rejects it, on the field at fault: the invalid ID number, else the invalid
    phone, else the missing name."""
    if (id_check is not None and id_check.valid) or (phone_check is not None and phone_check.valid):
        return None
    if is_name(name):
        return None
    field = "id_number" if id_check is not None else "phone" if phone_check is not None else "name"
    return FieldIssue(field, NOTHING_TO_FIND())
