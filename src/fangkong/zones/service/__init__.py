"""Zone use cases (风险区域与区域核酸); other capabilities call these, never zones' tables."""

from fangkong.zones.service.rounds import (
    CoverageRow,
    coverage,
    coverage_query,
    exclude,
    get_round,
    list_rounds,
    missing,
    refresh,
    round_facts,
    start_round,
)
from fangkong.zones.service.zones import (
    DrawResult,
    Preview,
    county_of,
    draw_zone,
    eligibility_of,
    eligibility_rows,
    get_zone,
    history,
    level_name,
    levels_at,
    lift_zone,
    list_zones,
    national_rows,
    preview_zone,
    residents_of,
    select_addresses,
)

__all__ = [
    "CoverageRow", "DrawResult", "Preview", "county_of", "coverage", "coverage_query", "draw_zone",
    "eligibility_of", "eligibility_rows", "exclude", "get_round", "get_zone", "history", "level_name",
    "levels_at", "lift_zone", "list_rounds", "list_zones", "missing", "national_rows", "preview_zone",
    "refresh", "residents_of", "round_facts", "select_addresses", "start_round",
]
