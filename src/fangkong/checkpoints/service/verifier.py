"""The one boundary to the e-pass verifier (电子通行证核验): a registered callable.

Checkpoints store the e-pass number and token text of every record. Whether a token is valid is
decided by the e-pass capability (`checkpoints/epass/`), which registers its verification here at
import (`register_verifier(fn)`). With nothing registered the answer is None: "not verified here" —
the record is kept with its token and the page says so; nothing is refused for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class EpassVerdict:
    """`verdict` is `valid` or `invalid`; `reason` the first failing check (`bad_signature`, `revoked`
    …) for an invalid pass; `pass_no` and `valid_until` when the token could be read."""

    verdict: str
    reason: str | None = None
    pass_no: str | None = None
    valid_until: dt.datetime | None = None
    crew: tuple[dict[str, str], ...] = ()

    @property
    def stored(self) -> str:
        """What a record keeps: `valid` or the reason."""
        return "valid" if self.verdict == "valid" else (self.reason or "invalid")


#: (session, token, plate seen or None, time of the check) → verdict
Verifier = Callable[[Session, str, "str | None", dt.datetime], EpassVerdict]

_verifier: Verifier | None = None


def register_verifier(fn: Verifier | None) -> None:
    """Install the e-pass verifier (the e-pass capability calls this on import); None removes it."""
    global _verifier
    _verifier = fn


def verify_epass(session: Session, token: str | None, *, plate: str | None, at: dt.datetime) -> EpassVerdict | None:
    """The verdict on a token as of `at`, or None when no verifier is registered (not verified here) or
    there is no token."""
    if not token or _verifier is None:
        return None
    return _verifier(session, token, plate, at)
