"""Venue use cases: codes, scans, venues and flags, coverage, retention (场所码业务)."""

from fangkong.venues.service.codes import (
    CodeRefused,
    PublicUrlNotConfigured,
    active_code,
    find_venue,
    issue_code,
    poster_code,
    public_base_url,
    qr_svg,
    rotate_code,
    venue_for_token,
    venue_url,
)
from fangkong.venues.service.coverage import CoverageReport, VenueCoverage
from fangkong.venues.service.scans import (
    PageScan,
    ScanItem,
    import_scans_file,
    record_page_scan,
    record_scans,
    record_staff_check,
    retention_cutoff,
    retention_days,
    upload_scans,
)
from fangkong.venues.service.venues import (
    RetentionResult,
    clear_flag,
    flag_venue,
    get_venue,
    import_venues_file,
    list_flags,
    purge_expired_scans,
)
from fangkong.venues.service.visits import ScanVisit, persons_seen_at, scans_of_person, scans_of_persons

__all__ = [
    "CodeRefused", "CoverageReport", "PageScan", "PublicUrlNotConfigured", "RetentionResult",
    "ScanItem", "ScanVisit", "VenueCoverage", "active_code",
    "clear_flag", "find_venue", "flag_venue", "get_venue", "import_scans_file", "import_venues_file",
    "issue_code", "list_flags", "persons_seen_at", "poster_code", "public_base_url", "purge_expired_scans", "qr_svg", "record_page_scan",
    "record_scans", "record_staff_check", "retention_cutoff",
    "retention_days", "rotate_code", "scans_of_person", "scans_of_persons", "upload_scans",
    "venue_for_token", "venue_url",
]
