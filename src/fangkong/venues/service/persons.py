"""Who scanned (扫码人员落人): scans resolved to persons in batches, through the registry's one matcher.

A scan gives a phone, an ID number, or both (and a name on the first visit of the scan page). The
rules are the registry's (`fangkong.kernel.people.resolution`, decisions.md): a valid ID number; then
the phone with the same name (a family shares one phone: another name is another person); a scan
without a name matches the phone's only holder, or its name-less holder, and never guesses between
family members. Anyone unknown is registered from what the scan gives (a scan may give only a phone);
a later scan that brings an ID number teaches it to that person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.people.resolution import PersonKeys, resolve_persons

#: persons registered from a scan carry this source
SOURCE = "scan"


@dataclass
class IdentityIn:
    """What one scan says about who scanned."""

    phone: object = None
    id_number: object = None
    name: object = None


@dataclass
class Resolved:
    person_id: int | None = None
    #: the matcher's rule ("id_number", "phone_name", "phone" …) or "new_person"; None when rejected
    rule: str | None = None
    issues: list[str] = field(default_factory=list)


def resolve_identities(session: Session, actor: Actor, items: Sequence[IdentityIn]) -> list[Resolved]:
    """One person per scan, in order (scans of one upload resolve against each other too)."""
    keys = [PersonKeys(name=str(i.name).strip() if i.name not in (None, "") else None, id_number=i.id_number,
                       phone=i.phone) for i in items]
    return [Resolved(r.person_id, None if r.rejected else r.rule, list(r.issues))
            for r in resolve_persons(session, actor, keys, source=SOURCE, require_valid_key=True)]
