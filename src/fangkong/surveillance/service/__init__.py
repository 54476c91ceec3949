"""Surveillance use cases (哨点监测预警): sites, counts, the detection run, signals and their review."""

from fangkong.surveillance.service.antigen import (
    import_antigen,
    list_antigen,
    record_antigen,
    record_self_test,
    resolve_antigen_followups,
)
from fangkong.surveillance.service.counts import import_counts, record_counts, site_counts
from fangkong.surveillance.service.purchases import import_purchases, purchases_of_day, record_purchases
from fangkong.surveillance.service.run import run_detection
from fangkong.surveillance.service.signals import (
    curve,
    get_signal,
    list_signals,
    open_signal_counts,
    record_field_result,
    review_signal,
)
from fangkong.surveillance.service.sites import (
    get_site_by_ref,
    import_sites,
    list_sites,
    register_site,
    reporting_sites,
)

__all__ = [
    "curve",
    "get_signal",
    "get_site_by_ref",
    "import_antigen",
    "import_counts",
    "import_purchases",
    "import_sites",
    "list_antigen",
    "list_signals",
    "list_sites",
    "open_signal_counts",
    "purchases_of_day",
    "record_antigen",
    "record_counts",
    "record_field_result",
    "record_purchases",
    "record_self_test",
    "register_site",
    "reporting_sites",
    "resolve_antigen_followups",
    "review_signal",
    "run_detection",
    "site_counts",
]
