"""Tracing use cases (流调溯源), split by use case; the only tracing modules that write."""

from fangkong.tracing.service.cases import (
    case_facts,
    cases_created,
    confirm_candidate,
    contact_lead_ids,
    create_case,
    get_case,
    list_cases,
    pending_candidates,
    record_milestone,
)
from fangkong.tracing.service.chains import case_chain, cluster_of, link_cases, timeline
from fangkong.tracing.service.contacts import (
    ContactItem,
    ContactReport,
    confirm_contacts,
    contact_views,
    get_contact,
)
from fangkong.tracing.service.followup import (
    ReviewResult,
    promote_secondaries,
    review_secondary_contacts,
    upgrade_contact,
)
from fangkong.tracing.service.investigation import Investigation, add_place, investigation_of

__all__ = [
    "ContactItem", "ContactReport", "Investigation", "ReviewResult",
    "add_place", "case_chain", "case_facts", "cases_created", "cluster_of", "confirm_candidate",
    "confirm_contacts", "contact_lead_ids", "contact_views", "create_case", "get_case", "get_contact", "investigation_of", "link_cases",
    "list_cases", "pending_candidates", "promote_secondaries",
    "record_milestone", "review_secondary_contacts", "timeline", "upgrade_contact",
]
