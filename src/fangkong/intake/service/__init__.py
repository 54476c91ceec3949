"""Intake use cases (重点人员排查), split by use case; the only intake modules that write."""

from fangkong.intake.service.ingest import (
    FIXED_CHANNELS,
    IngestResult,
    LeadItem,
    import_leads_file,
    ingest_leads,
    lead_payload,
    leads_controlled,
)
from fangkong.intake.service.leads import (
    LeadState,
    export_leads,
    get_lead,
    insert_synthetic_leads,
    lead_states,
    leads_of_person,
    list_leads,
    open_lead_categories,
)
from fangkong.intake.service.outcomes import import_outcomes, import_outcomes_file
from fangkong.intake.service.persons import split_person
from fangkong.intake.service.reports import (
    LeadFact,
    daily_clearance,
    daily_clearance_by_child,
    lead_facts,
    lead_facts_by_id,
    reconciliation,
)
from fangkong.intake.service.risk_areas import (
    add_risk_area,
    derived_low_areas,
    import_risk_areas,
    list_risk_areas,
    update_risk_area,
)
from fangkong.intake.service.verification import (
    VerificationItem,
    VerificationReport,
    record_verification,
    record_verifications,
)

__all__ = [
    "FIXED_CHANNELS",
    "IngestResult",
    "LeadFact",
    "LeadItem",
    "LeadState",
    "VerificationItem",
    "VerificationReport",
    "add_risk_area",
    "daily_clearance",
    "daily_clearance_by_child",
    "derived_low_areas",
    "export_leads",
    "get_lead",
    "import_leads_file",
    "import_outcomes",
    "import_outcomes_file",
    "import_risk_areas",
    "ingest_leads",
    "insert_synthetic_leads",
    "lead_facts",
    "lead_facts_by_id",
    "lead_payload",
    "lead_states",
    "leads_controlled",
    "leads_of_person",
    "list_leads",
    "list_risk_areas",
    "open_lead_categories",
    "reconciliation",
    "record_verification",
    "record_verifications",
    "split_person",
    "update_risk_area",
]
