"""Setting a drill's platform up (演练准备): the demo city in the drill's database (the same rows the
simulator's world holds, with the same ids), one user per sender and responder role with a bearer
token each (through the kernel's auth service), and the persons' identities as the senders know them
(name, ID and phone numbers: what a checkpoint or a lab puts in a record)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fangkong.drill.generator import AS_OF, CityGenerator, IdBase, Root

#: sender and responder accounts: name → role (all at the root unit: one account plays every unit's part)
ACCOUNTS = {
    "checkpoint": "checkpoint",  # checkpoint records of arrivals (卡口查验)
    "sampler": "sampler",  # fever-clinic sampling (采样)
    "lab": "lab",  # lab results (检测结果)
    "epidemiologist": "epidemiologist",  # cases and their close contacts (流调)
    "grid": "grid",  # the four checks and the start of control (网格核查)
    "district": "district",  # finds the persons a grid worker did not find (查找: the locate tasks)
    "command": "command",  # reads the platform's exports (指挥部)
}


@dataclass
class Identity:
    name: list[str] = field(default_factory=list)
    id_number: list[str] = field(default_factory=list)
    phone: list[str] = field(default_factory=list)


@dataclass
class PlatformSetup:
    tokens: dict[str, str]
    identity: Identity
    sla_hours: dict[str, float]
    site_id: int | None
    #: pack categories whose measure starts as centralised quarantine (the grid worker takes them to a site)
    centralised: frozenset[str] = frozenset()


def identities(persons: int, seed: int) -> tuple[list[int], Identity]:
    """Every person's id and identity, from the same generator (and ids) as `build_world`."""
    gen = CityGenerator(persons=persons, seed=seed, root=Root(1, "/1/", 0), ids=IdBase(unit=1), as_of=AS_OF)
    ids: list[int] = []
    out = Identity()
    for table, row in gen.rows():
        if table == "person":
            ids.append(row["id"])
            out.name.append(row["name"])
            out.id_number.append(row["id_number"] or "")
            out.phone.append(row["phone"] or "")
    return ids, out


def prepare(engine: Engine, *, persons: int, city_seed: int, world_person_ids: list[int]) -> PlatformSetup:
    """Build the city, the accounts and tokens; commit. Refuses a city whose ids differ from the world's
    (a database that was not fresh)."""
    from fangkong.drill.city import generate_city
    from fangkong.kernel.auth import service as auth_service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.places import service as places_service
    from fangkong.kernel.policy import service as policy_service

    ids, identity = identities(persons, city_seed)
    if ids != world_person_ids:
        raise RuntimeError("the city's ids differ from the simulated world's")
    tokens: dict[str, str] = {}
    with Session(engine, expire_on_commit=False) as session:
        generate_city(session, persons=persons, seed=city_seed)
        for name, role in ACCOUNTS.items():
            auth_service.create_user(session, SYSTEM_ACTOR, username=f"drill-{name}", role=role,
                                     password="Drill-" + secrets.token_urlsafe(18), display_name=f"演练 {name}")
            _row, plaintext = auth_service.create_token(session, SYSTEM_ACTOR, username=f"drill-{name}",
                                                        label="drill")
            tokens[name] = plaintext
        pack = policy_service.active_pack(session)
        sla = {"grid": pack.sla("lead_verify").total_seconds() / 3600,
               "epidemiologist": pack.sla("investigation_core").total_seconds() / 3600,
               "lab": pack.turnaround("routine").total_seconds() / 3600,
               "district": pack.sla("lead_verify").total_seconds() / 3600,
               "sampler": 0.0}
        centralised = frozenset(code for code, cat in pack.categories.items()
                                if cat.phases and cat.phases[0].measure == "centralised_quarantine")
        sites = places_service.list_places(session, SYSTEM_ACTOR, kind="quarantine_site")
        session.commit()
    site_id = sites[0].id if sites else None
    return PlatformSetup(tokens=tokens, identity=identity, sla_hours=sla, site_id=site_id, centralised=centralised)
