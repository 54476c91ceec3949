"""Testing use cases (应检尽检、应纳尽纳), split by use case; the only testing modules that write."""

from fangkong.control import service as control_service
from fangkong.kernel.people.resolution import PersonKeys, Resolved, resolve_person, resolve_persons
from fangkong.testing.service.compliance import (
    EXPORT_COLUMNS,
    ComplianceRow,
    create_overdue_tasks,
    export_compliance,
    list_compliance,
    refresh_due,
    summary,
)
from fangkong.testing.service.figures import (
    compliance_counts,
    coverage_counts,
    positive_pool_counts,
    sampled_counts,
)
from fangkong.testing.service.groups import (
    CoverageReport,
    CoverageRow,
    RosterItem,
    coverage,
    declare_headcount,
    employer_or_register,
    end_membership,
    enrol,
    enrol_roster,
    find_employer,
    import_roster,
    sync_rule_members,
)
from fangkong.testing.service.lookup import (
    CandidateView,
    TestResult,
    case_candidates,
    get_case_candidate,
    results_of_person,
)
from fangkong.testing.service.pools import follow_ups, on_individual_result, on_positive_pool
from fangkong.testing.service.reports import turnaround
from fangkong.testing.service.results import ResultItem, import_results, ingest_results
from fangkong.testing.service.sampling import (
    CitizenView,
    PersonResult,
    PointView,
    SampleItem,
    SampleRefused,
    add_sample,
    citizen_status,
    clean_barcode,
    close_tube,
    collected_times,
    get_tube,
    import_samples,
    ingest_samples,
    list_tubes,
    open_tube,
    person_results,
    sample_results,
    sampling_points,
    set_hours,
    tube_samples,
)

#: control matches these samples to the test days of measures (a test is done at its collection time)
control_service.register_sample_source("testing", collected_times)
#: … and these single-tube results to the release rules (test days, conversion)
control_service.register_result_source("testing", sample_results)

__all__ = [
    "EXPORT_COLUMNS", "CandidateView", "CitizenView", "ComplianceRow",
    "CoverageReport", "CoverageRow", "PersonKeys", "PersonResult", "PointView",
    "Resolved", "ResultItem", "RosterItem", "SampleItem",
    "SampleRefused", "TestResult", "add_sample", "case_candidates", "citizen_status",
    "clean_barcode", "close_tube", "collected_times", "compliance_counts", "coverage", "coverage_counts", "create_overdue_tasks", "declare_headcount",
    "employer_or_register", "end_membership", "enrol", "enrol_roster", "export_compliance",
    "find_employer", "follow_ups", "get_case_candidate", "get_tube",
    "import_results", "import_roster", "import_samples", "ingest_results", "ingest_samples", "list_compliance",
    "list_tubes", "on_individual_result", "on_positive_pool", "open_tube", "person_results", "positive_pool_counts", "refresh_due", "resolve_person",
    "resolve_persons", "results_of_person", "sampled_counts", "sampling_points",
    "set_hours", "summary", "sync_rule_members", "tube_samples",
    "turnaround",
]
