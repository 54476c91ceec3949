"""Labels of the demo city's place categories (场所类别): the catalog's Chinese names, so pages show
发热门诊 and 高速道口, never `fever_clinic` or `highway_exit`. Imported by the app with the capability."""

from __future__ import annotations

from fangkong.drill import catalog
from fangkong.kernel.messages import _, labels, named_labels

EMPLOYER_CATEGORIES = named_labels("category.employer", {c.code: c.label for c in catalog.EMPLOYERS})
VENUE_CATEGORIES = named_labels("category.venue", {c.code: c.label for c in catalog.VENUES})
CHECKPOINT_CATEGORIES = named_labels("category.checkpoint", {c.code: c.label for c in catalog.CHECKPOINTS})
SAMPLING_POINT_CATEGORIES = named_labels("category.sampling_point",
                                         {code: label for code, label, _ in catalog.SAMPLING_POINTS})
SENTINEL_CATEGORIES = named_labels("category.sentinel", {code: label for code, label, _ in catalog.SENTINELS})
QUARANTINE_CATEGORIES = named_labels("category.quarantine_site", {"hotel": "宾馆酒店"})
AUDIT_ACTIONS = labels("audit_action", {"drill.demo_city": _("Demo city built")})
