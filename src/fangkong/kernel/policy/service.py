"""Policy packs: load, validate, store, activate (placeholder until the policy module lands)."""

from __future__ import annotations

from sqlalchemy.orm import Session


def ensure_default_pack(session: Session) -> None:
    """Store and activate the default pack when no pack is active."""
    return None
