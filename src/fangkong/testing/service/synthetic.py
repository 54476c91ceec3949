"""Synthetic single tubes for other capabilities' benchmarks (`fangkong bench control-daily`): tubes,
their one sample and their result straight into testing's tables, in bulk. Never for real data: samples
come in through `add_sample` / the samples import, results through `ingest_results`; this keeps the
tables testing's own while a bench fills them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from fangkong.kernel.bulk import bulk_insert
from fangkong.testing.models import Tube, TubeResult, TubeSample


def insert_synthetic_single_tubes(session: Session, rows: Sequence[tuple[int, dt.datetime, str | None,
                                                                          dt.datetime | None]],
                                  *, unit_id: int, unit_path: str, prefix: str = "BENCH") -> int:
    """One closed single PCR tube per row (person id, collected at, result or None, reported at or None),
    with its sample and, when given, its result (version 1). Returns the tubes inserted."""
    if not rows:
        return 0
    tubes = bulk_insert(session, Tube.__table__, [{
        "barcode": f"{prefix}{i}", "pool_size": 1, "sampling_point_id": None, "test_type": "pcr",
        "status": "closed", "collected_at": collected, "closed_at": collected,
        "opened_at": collected, "opened_by": "bench", "via": "import", "result": result, "reported_at": reported,
        "lab": "bench" if result else None, "pool_actions_at": None, "unit_id": unit_id, "unit_path": unit_path}
        for i, (_pid, collected, result, reported) in enumerate(rows)])
    bulk_insert(session, TubeSample.__table__, [{
        "tube_id": tid, "person_id": pid, "position": 1, "collected_at": collected, "recorded_by": "bench"}
        for tid, (pid, collected, _r, _rep) in zip(tubes, rows, strict=True)])
    bulk_insert(session, TubeResult.__table__, [{
        "tube_id": tid, "version": 1, "result": result, "ct_values": None, "lab": "bench", "reported_at": reported,
        "received_at": reported, "status": "accepted", "via": "import", "received_by": "bench"}
        for tid, (_pid, _c, result, reported) in zip(tubes, rows, strict=True) if result and reported])
    return len(tubes)
