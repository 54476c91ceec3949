"""A small jurisdiction with people, a task and users, built through the services (for the web tests).

district → street → community → grid A and grid B; a grid worker on grid A; a person on each grid;
an open task for grid A about its person.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from signin import sign_in
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import id_check_digit
from fangkong.kernel.tasks import service as tasks_service

PASSWORD = "correct-horse-9"


def valid_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


#: fictitious but well-formed: region 320412 (武进区), born 1985-03-12 / 1990-07-01
ID_A = valid_id("32041219850312123")
ID_B = valid_id("32041219900701456")
PHONE_A = "13812345678"
PHONE_B = "13987654321"


@dataclass
class World:
    district: Unit
    street: Unit
    community: Unit
    grid_a: Unit
    grid_b: Unit
    person_a_id: int
    person_b_id: int
    task_id: int
    worker_username: str


def build_world(session: Session, *, suffix: str = "") -> World:
    """Everything through the services as the system; flushed, not committed."""
    s = SYSTEM_ACTOR

    def unit(code: str, name: str, level: str, parent: Unit | None) -> Unit:
        return jurisdictions_service.create_unit(session, s, code=code + suffix, name=name, level=level,
                                                 parent_code=parent.code if parent else None)

    district = unit("W01", "武进区", "district", None)
    street = unit("W0101", "湖塘镇", "street", district)
    community = unit("W010101", "花园社区", "community", street)
    grid_a = unit("W01010101", "花园社区第一网格", "grid", community)
    grid_b = unit("W01010102", "花园社区第二网格", "grid", community)
    person_a = people_service.register_person(session, s, name="王小明", id_number=ID_A, phone=PHONE_A,
                                              address_text="花园路1号2幢301室", unit_id=grid_a.id)
    person_b = people_service.register_person(session, s, name="赵丽", id_number=ID_B, phone=PHONE_B,
                                              address_text="花园路3号1幢101室", unit_id=grid_b.id)
    task = tasks_service.create_task(session, s, kind="generic", title="核查返常人员信息", unit_id=grid_a.id,
                                     subject_type="person", subject_id=person_a.id,
                                     due_at=clock.now() + dt.timedelta(hours=20))
    worker = "grid_worker" + suffix.lower()
    auth_service.create_user(session, s, username=worker, role="grid", unit_code=grid_a.code,
                             password=PASSWORD, display_name="李网格")
    session.flush()
    return World(district, street, community, grid_a, grid_b, person_a.id, person_b.id, task.id, worker)


def add_user(session: Session, username: str, role: str, unit: Unit) -> str:
    """Another user (one argon2 hash, ~0.1 s); returns the username."""
    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit.code,
                             password=PASSWORD)
    session.flush()
    return username


def token_for(session: Session, username: str) -> str:
    """A bearer token (no password hashing: cheap)."""
    _row, plaintext = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return plaintext


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the CSRF token the pages carry."""
    r = sign_in(client, username, password)
    assert r.status_code == 303, r.text
    assert "fk_session" in r.cookies or client.cookies.get("fk_session")
    return csrf_of(client.get("/").text)


def csrf_of(html: str) -> str:
    m = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
