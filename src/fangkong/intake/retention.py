"""Intake's retention (线索保存期限): closed leads anonymised after `retention.lead_days`; a person with an
open lead, or one closed within that time, keeps their identity (registered with `kernel.retention`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from fangkong.intake.models import Lead
from fangkong.kernel.people import crypto
from fangkong.kernel.retention.registry import register_hold, register_kind


def anonymise_closed_leads(session: Session, cutoff: dt.datetime, now: dt.datetime) -> int:
    """Drop ID, phone, name, address and the raw row of leads closed before the cut-off (the lead, its
    decision and its counts stay for the reports)."""
    identifying = or_(Lead.name.is_not(None), Lead.id_number_enc.is_not(None), Lead.phone_enc.is_not(None),
                      Lead.address_text.is_not(None))
    stmt = (update(Lead).where(Lead.closed_at.is_not(None), Lead.closed_at < cutoff, identifying)
            .values(name=None, name_key=None, id_number_enc=None, id_number_bidx=None, id_number_masked=None,
                    phone_enc=None, phone_bidx=None, phone_masked=None, address_text=None,
                    payload_enc=crypto.encrypt("{}"))
            .execution_options(synchronize_session=False))
    return int(session.execute(stmt).rowcount or 0)


def persons_with_leads(session: Session, now: dt.datetime, pack: Any) -> Any:
    cutoff = now - dt.timedelta(days=pack.retention.lead_days)
    return select(Lead.person_id).where(Lead.person_id.is_not(None),
                                        or_(Lead.closed_at.is_(None), Lead.closed_at >= cutoff))


register_kind("leads", days=lambda p: p.retention.lead_days, purge=anonymise_closed_leads, action="anonymise")
register_hold("leads", persons_with_leads)
