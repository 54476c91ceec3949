"""Retention kinds and person holds (保存期限登记): what each capability keeps, and for how long.

The kernel imports no capability, so each capability registers here what it owns, beside its jobs:
- a *kind* (`register_kind("leads", days=…, purge=…)`): how many days the active policy pack keeps it,
  and the function that deletes or anonymises what is older (returns the count);
- a *hold* (`register_hold("leads", …)`): a query of person ids that must keep their identity (an open
  lead, a measure in force or recently ended, a key-group member …). A person no hold names, unchanged
  for `retention.person_days`, is anonymised by the kernel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

#: pack → days kept (None: this kind is kept, e.g. the append-only audit log)
Days = Callable[[Any], int | None]
#: (session, cutoff, now) → rows deleted or anonymised
Purge = Callable[[Session, dt.datetime, dt.datetime], int]
#: (session, now, pack) → a Select of person ids to keep
Hold = Callable[[Session, dt.datetime, Any], Any]


@dataclass(frozen=True)
class Kind:
    code: str
    days: Days
    purge: Purge | None
    #: `delete` | `anonymise` | `keep`
    action: str


KINDS: dict[str, Kind] = {}
HOLDS: dict[str, Hold] = {}


def register_kind(code: str, *, days: Days, purge: Purge | None, action: str) -> Kind:
    KINDS[code] = kind = Kind(code, days, purge, action)
    return kind


def register_hold(code: str, hold: Hold) -> None:
    HOLDS[code] = hold
