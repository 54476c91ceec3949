"""Small builders for the e-pass tests: persons with negative samples (through testing's own service),
application rows, the region setting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.people.identity import id_check_digit
from fangkong.settings import reset_settings_cache
from fangkong.testing import service as testing_service

#: 2022-04-18 08:00 +08:00
NOW = dt.datetime(2022, 4, 18, 0, 0, tzinfo=dt.UTC)
FROM = "2022-04-18 10:00"


def make_id(seq: int, region: str = "320412") -> str:
    first = f"{region}19800101{seq % 1000:03d}"
    return first + id_check_digit(first)


def sampled(session: Session, seq: int, collected_at: str, *, result: str = "阴性", name: str | None = None) -> str:
    """Person `seq` sampled at `collected_at` (local) in a single tube with `result`; returns the ID."""
    id_number = make_id(seq)
    barcode = f"EP{seq:04d}{collected_at[-5:].replace(':', '')}"
    rows = testing_service.ingest_samples(session, SYSTEM_ACTOR, items=[testing_service.SampleItem(1, {
        "tube_barcode": barcode, "pool_size": "1", "id_number": id_number, "name": name or f"司机{seq}",
        "collected_at": collected_at, "sampling_point": "EPASS-PT"})])
    assert rows[0].status == "accepted", rows[0].issues
    rows = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[testing_service.ResultItem(1, {
        "tube_barcode": barcode, "result": result, "reported_at": collected_at})])
    assert rows[0].status == "accepted", rows[0].issues
    return id_number


def application(request_id: str, plate: str, driver: int, **over: Any) -> dict[str, str]:
    values = {"request_id": request_id, "plate": plate, "cargo": "生活物资", "origin": "上海市浦东新区",
              "destination": "320411", "receiver": "常州某超市", "valid_from": FROM, "valid_until": "",
              "driver_name": f"司机{driver}", "driver_id_number": make_id(driver), "driver_phone": "13912345678"}
    values.update({k: str(v) for k, v in over.items()})
    return values


# fixtures (imported by the test modules: tests/checkpoints/conftest.py belongs to the other parts)

@pytest.fixture
def region(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """FANGKONG_REGION_CODE = 320400 (常州市)."""
    monkeypatch.setenv("FANGKONG_REGION_CODE", "320400")
    reset_settings_cache()
    yield "320400"
    monkeypatch.delenv("FANGKONG_REGION_CODE")
    reset_settings_cache()


@pytest.fixture
def at_now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield
