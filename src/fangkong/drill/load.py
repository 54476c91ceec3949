"""The load a busy city puts on the API (压测负载): leads, venue scans, sampling records and lab results,
posted concurrently by `kernel.loadgen` — for `fangkong bench load` and the crash tests.

`prepare_site` builds what the calls need in a fresh database (a small synthetic city with venues, a
machine user with a token, tubes with samples that wait for their lab results); `mixed_calls` makes a
seeded list of calls, each with its own Idempotency-Key and unique keys of its own (a lead's
`source_ref`, a scan's `request_id`, a new tube per sampling call, one result per waiting tube), so
that every acknowledged call has exactly one expected set of rows.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.drill.city import generate_city
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.loadgen import Call
from fangkong.kernel.people.identity import id_check_digit
from fangkong.kernel.places.models import Place
from fangkong.testing import service as testing_service

KINDS = ("leads", "scans", "samples", "results")
LOAD_USER = "loadbot"


@dataclass
class LoadSite:
    token: str
    venues: list[str]
    #: tubes with one sample each, waiting for a result (one result call each at most)
    waiting_tubes: list[str]
    run: str


def _id_number(n: int) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=n % 20000)
    first = "320412" + born.strftime("%Y%m%d") + f"{(n // 20000) % 1000:03d}"
    return first + id_check_digit(first)


def prepare_site(session: Session, *, persons: int = 200, waiting_tubes: int = 50, seed: int = 1) -> LoadSite:
    """A city, a machine user `loadbot` (admin) with a token, and `waiting_tubes` sampled tubes. Flushes;
    the caller commits. The city's clock is the real one (the served database has no fixed clock)."""
    generate_city(session, persons=persons, seed=seed)
    auth_service.create_user(session, SYSTEM_ACTOR, username=LOAD_USER, role="admin", password=uuid.uuid4().hex)
    session.flush()
    token = auth_service.create_token(session, SYSTEM_ACTOR, username=LOAD_USER)[1]
    venues = list(session.execute(select(Place.code).where(Place.kind == "venue").order_by(Place.id)).scalars())
    run = uuid.uuid4().hex[:6].upper()
    collected = clock.iso_local(clock.now() - dt.timedelta(hours=3))
    barcodes = [f"LW{run}{i:05d}" for i in range(waiting_tubes)]
    if barcodes:
        testing_service.ingest_samples(session, SYSTEM_ACTOR, via="load", items=[
            testing_service.SampleItem(i + 1, {"tube_barcode": code, "pool_size": "1", "collected_at": collected,
                                               "id_number": _id_number(900_000 + i)})
            for i, code in enumerate(barcodes)])
    session.flush()
    return LoadSite(token=token, venues=[v for v in venues if v], waiting_tubes=barcodes, run=run)


def mixed_calls(site: LoadSite, *, calls: int, seed: int = 1, max_items: int = 5) -> list[Call]:
    """`calls` calls, about a quarter of each kind (results only while waiting tubes last), each of
    1..`max_items` items, all with unique keys."""
    rnd = random.Random(seed)
    now = clock.now()
    tubes = list(site.waiting_tubes)
    rnd.shuffle(tubes)
    out: list[Call] = []
    n = 0
    for i in range(calls):
        kind = rnd.choice(KINDS if tubes else KINDS[:3])
        size = rnd.randint(1, max_items)
        key = f"load-{site.run}-{i:06d}"
        body: dict[str, Any]
        if kind == "leads":
            items = []
            for _ in range(size):
                n += 1
                items.append({"name": f"压测{n}", "id_number": _id_number(n), "phone": f"139{n:08d}",
                              "origin": "上海市浦东新区", "arrival_at": clock.iso_local(now - dt.timedelta(hours=2)),
                              "source_ref": f"LOAD-{site.run}-{n:07d}"})
            body = {"channel": "community", "items": items}
            path = "/api/v1/leads"
        elif kind == "scans":
            items = []
            for _ in range(size):
                n += 1
                items.append({"venue_ref": rnd.choice(site.venues), "phone": f"138{n:08d}",
                              "scanned_at": (now - dt.timedelta(minutes=rnd.randint(1, 600))).strftime("%Y-%m-%d %H:%M"),
                              "request_id": f"LOAD-{site.run}-{n:07d}"})
            body = {"items": items}
            path = "/api/v1/scans"
        elif kind == "samples":
            code = f"LS{site.run}{i:06d}"
            items = []
            for _ in range(size):
                n += 1
                items.append({"tube_barcode": code, "pool_size": 10, "id_number": _id_number(n),
                              "collected_at": clock.iso_local(now - dt.timedelta(minutes=30))})
            body = {"items": items}
            path = "/api/v1/samples"
        else:
            take, tubes = tubes[:size], tubes[size:]
            body = {"items": [{"tube_barcode": code, "result": "阴性", "lab": "压测检测所",
                               "reported_at": clock.iso_local(now - dt.timedelta(minutes=10))} for code in take]}
            path = "/api/v1/results"
        out.append(Call(kind, path, body, key))
    return out
