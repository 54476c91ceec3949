"""The hash-chained audit log: verify finds altered and removed rows, the database refuses changes,
listing filters, and `fangkong audit verify` as an operator runs it."""

from __future__ import annotations

import os
import sqlite3

import pytest
from cli_runner import CliRun, run_cli
from sqlalchemy import exc, text
from sqlalchemy.orm import Session

from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import PermissionDenied


def record_three(session: Session, actor: Actor) -> list[int]:
    return [audit.record(session, actor, "test.thing", object_type="thing", object_id=n, n=n).id
            for n in (1, 2, 3)]


def disable_append_only(session: Session) -> None:
    """Lift the append-only triggers of migration 0002 inside the test's transaction (rolled back after)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update"))
    else:
        # DDL outside a transaction would commit for good on SQLite: make sure we are inside one
        assert session.connection().connection.dbapi_connection.in_transaction
        session.execute(text("DROP TRIGGER audit_event_no_update"))
        session.execute(text("DROP TRIGGER audit_event_no_delete"))


def test_recorded_events_verify(session, system):
    ids = record_three(session, system)
    result = audit.verify(session)
    assert result.ok and result.broken_id is None
    assert result.checked >= 3 and result.checked >= ids[-1] - ids[0] + 1


def test_an_altered_row_is_named(session, system):
    ids = record_three(session, system)
    disable_append_only(session)
    session.execute(text("UPDATE audit_event SET actor_name = 'mallory' WHERE id = :id"), {"id": ids[1]})
    result = audit.verify(session)
    assert (result.ok, result.broken_id) == (False, ids[1])
    assert "altered" in (result.reason or "")


def test_a_deleted_row_names_the_next_one(session, system):
    ids = record_three(session, system)
    disable_append_only(session)
    session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[1]})
    result = audit.verify(session)
    assert (result.ok, result.broken_id) == (False, ids[2])
    assert "removed" in (result.reason or "")


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET detail = '{}' WHERE id = :id",
    "DELETE FROM audit_event WHERE id = :id",
])
def test_the_database_refuses_changes(session, system, statement):
    event = audit.record(session, system, "test.thing")
    with pytest.raises(exc.DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement), {"id": event.id})
    assert audit.verify(session).ok


def test_list_events_filters_and_pages(session, system):
    alice = Actor(user_id=None, username="alice-audit", role="command", unit_id=None, unit_path="/",
                  permissions=frozenset({"audit.view"}))
    first = audit.record(session, alice, "auth.login", object_type="user", object_id=7)
    second = audit.record(session, alice, "auth.logout", object_type="user", object_id=7)
    third = audit.record(session, system, "token.created", object_type="api_token", object_id=7)

    def ids(**kw):
        return [e.id for e in audit.list_events(session, alice, **kw)]

    assert ids(actor_name="alice-audit") == [second.id, first.id]
    assert ids(action="auth.login")[0] == first.id
    assert ids(action="auth.*", actor_name="alice-audit") == [second.id, first.id]
    assert ids(object_type="api_token", object_id=7)[0] == third.id
    assert ids(object_id="7", limit=2) == [third.id, second.id]
    assert ids(object_id=7, before_id=second.id)[0] == first.id
    assert ids(action="auth_log*") == []  # '_' is no LIKE wildcard here
    nobody = Actor(user_id=None, username="g", role="grid", unit_id=None, unit_path="/x/", permissions=frozenset())
    with pytest.raises(PermissionDenied):
        audit.list_events(session, nobody)


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> CliRun:
    return run_cli(*args, env=env, input=stdin)


def test_cli_verify_names_the_tampered_row(tmp_path):
    """`fangkong audit verify` on a real data directory (SQLite), as an operator would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8")
    assert _run(env, "init").returncode == 0
    assert _run(env, "users", "add", "auditee", "--role", "viewer", "--password-stdin",
                stdin="long-enough-pw\n").returncode == 0
    assert _run(env, "token", "create", "auditee", "--label", "a").returncode == 0

    ok = _run(env, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    listed = _run(env, "audit", "list", "--action", "token.*", "--json")
    assert listed.returncode == 0 and '"token.created"' in listed.stdout and '"user.created"' not in listed.stdout

    con = sqlite3.connect(tmp_path / "fangkong.db")
    with con:
        target = con.execute("SELECT id FROM audit_event WHERE action = 'token.created'").fetchone()[0]
        con.execute("DROP TRIGGER audit_event_no_update")
        con.execute("UPDATE audit_event SET detail = '{\"label\": \"b\"}' WHERE id = ?", (target,))
    con.close()

    broken = _run(env, "audit", "verify")
    assert broken.returncode == 1
    assert f"event {target}:" in broken.stdout + broken.stderr


def test_the_audit_log_obeys_the_jurisdiction(session):
    """A district's auditor reads what the district's users did, never another district's searches and
    unmasks; system and anonymous events are for the city level only."""
    from fangkong.kernel.auth import service as auth_service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.jurisdictions import service as jurisdictions_service

    root = auth_service.root_unit(session)
    for code, name in (("AUD1", "甲区"), ("AUD2", "乙区")):
        unit = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code=code, name=name, level="district",
                                                 parent_code=root.code)
        for role in ("command", "grid"):
            username = f"{code.lower()}_{role}"
            auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit.code,
                                     password="correct-horse-9")
    auth_service.create_user(session, SYSTEM_ACTOR, username="city_admin", role="admin", unit_code=root.code,
                             password="correct-horse-9")
    session.flush()
    a = auth_service.actor_for(session, "aud1_grid")
    b = auth_service.actor_for(session, "aud2_grid")
    audit.record(session, a, "person.unmask", object_type="person", object_id=1, field="phone")
    audit.record(session, b, "person.unmask", object_type="person", object_id=2, field="phone")
    audit.record(session, SYSTEM_ACTOR, "tasks.escalated", count=3)
    session.flush()

    def seen(username):
        viewer = auth_service.actor_for(session, username)
        return {(e.actor_name, e.action) for e in audit.list_events(session, viewer, limit=1000)}

    district_a = seen("aud1_command")
    assert ("aud1_grid", "person.unmask") in district_a
    assert ("aud2_grid", "person.unmask") not in district_a
    assert not any(name == "system" for name, _ in district_a)
    city = seen("city_admin")
    assert {("aud1_grid", "person.unmask"), ("aud2_grid", "person.unmask")} <= city
    assert any(action == "tasks.escalated" for _, action in city)
    with pytest.raises(PermissionDenied):
        audit.list_events(session, a)  # a grid worker holds no audit.view
