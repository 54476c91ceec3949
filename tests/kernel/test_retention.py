"""Retention per data kind (数据保存期限): the nightly job deletes or anonymises what the policy pack no
longer keeps, replayed on the platform clock (no wall clock), and the audit records the counts."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import select

from fangkong import registry as capability_registry
from fangkong.intake.models import Lead
from fangkong.intake.service import LeadItem, ingest_leads
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.errors import ValidationFailed
from fangkong.kernel.imports.models import ImportJob
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.retention import service as retention
from fangkong.kernel.tasks import service as tasks_service
from fangkong.policy_packs import read_pack_text
from fangkong.settings import reset_settings_cache

CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2022, 4, 18, 9, 0, tzinfo=CST)


@pytest.fixture(autouse=True)
def _every_capability():
    """The capabilities register their kinds and holds with their jobs (as `fangkong serve` loads them)."""
    from fangkong.cli import _load_commands

    capability_registry.import_all_models()
    _load_commands()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    reset_settings_cache()
    yield tmp_path
    reset_settings_cache()


def test_the_pack_schema_refuses_an_audit_retention_under_six_months():
    text = read_pack_text("default.yaml")
    assert "access_log_months: 6" in text
    with pytest.raises(ValidationFailed) as err:
        policy_service.parse_pack(text.replace("access_log_months: 6", "access_log_months: 5"))
    assert [f.field for f in err.value.fields] == ["retention.access_log_months"]
    assert policy_service.parse_pack(text.replace("access_log_months: 6", "access_log_months: 12"))


def test_every_kind_the_issue_names_is_registered(session):
    kinds = retention.cutoffs(session, T0)
    assert {"scans", "leads", "measures", "persons", "audit", "sessions", "import_files", "exports"} <= set(kinds)
    assert kinds["scans"][0] == 28 and kinds["audit"] == (None, None)
    assert set(retention.HOLDS) >= {"leads", "measures", "key_groups", "cases", "scans", "tasks"}


def _ids(*people):
    return [p.id for p in people]


def test_nightly_run_replayed_on_the_clock(session, system, data_dir):
    root = jurisdictions_service.root_unit(session)
    with clock.frozen(T0):
        alone = people_service.register_person(session, system, name="独自", id_number="110101199003074514",
                                               phone="13900000011")
        tasked = people_service.register_person(session, system, name="有任务", phone="13900000012")
        tasks_service.create_task(session, system, kind="generic", title="回访", unit_id=root.id,
                                  subject_type="person", subject_id=tasked.id)
        res = ingest_leads(session, system, channel="community",
                           items=[LeadItem(1, {"name": "线索人", "phone": "13900000013", "source_ref": "RT-1"})])
        lead_person = res.rows[0].person_id
        lead = session.execute(select(Lead).where(Lead.source_ref == "RT-1")).scalar_one()
        finished = ImportJob(kind="intake.leads", filename="a.csv", folder="f" * 32, status="done", rows=1,
                             counts={}, actor_name="system", created_at=T0, finished_at=T0, unit_id=root.id,
                             unit_path=root.path)
        queued = ImportJob(kind="intake.leads", filename="b.csv", folder="q" * 32, status="queued", rows=0,
                           counts={}, actor_name="system", created_at=T0 + dt.timedelta(days=20), unit_id=root.id,
                           unit_path=root.path)
        died = ImportJob(kind="intake.leads", filename="c.csv", folder="d" * 32, status="running", rows=0,
                         counts={}, actor_name="system", created_at=T0, unit_id=root.id, unit_path=root.path)
        session.add_all([finished, queued, died])
        session.flush()
    for job in (finished, queued, died):
        (data_dir / "imports" / job.folder).mkdir(parents=True)
        (data_dir / "imports" / job.folder / "report.csv").write_text("row,status\n")
    (data_dir / "exports").mkdir()
    old_export = data_dir / "exports" / "leads.csv"
    old_export.write_text("x")
    os.utime(old_export, (T0.timestamp(), T0.timestamp()))

    # four weeks on: nothing personal is due yet (persons and leads are kept 180 days), files are
    with clock.frozen(T0 + dt.timedelta(days=31)):
        month = retention.run(session, system).kinds
    assert month["persons"]["count"] == 0 and month["leads"]["count"] == 0
    assert month["import_files"]["count"] == 2 and month["exports"]["count"] == 1
    assert not (data_dir / "imports" / finished.folder).exists() and (data_dir / "imports" / queued.folder).exists()
    assert not (data_dir / "imports" / died.folder).exists()  # submitted a month ago, never finished
    assert not old_export.exists()

    # half a year on, the lead still open: only the person nothing holds is anonymised
    with clock.frozen(T0 + dt.timedelta(days=181)):
        half = retention.run(session, system).kinds
    assert half["persons"]["count"] == 1 and half["leads"]["count"] == 0
    session.expire_all()
    gone = session.get(Person, alone.id)
    assert (gone.name, gone.id_number_enc, gone.id_number_bidx, gone.phone_enc, gone.phone_bidx) == (None,) * 5
    assert session.get(Person, tasked.id).phone_enc is not None
    assert session.get(Person, lead_person).name == "线索人"

    # the lead closes; 180 days after, the lead and then its person lose their identity
    lead.closed_at, lead.status = T0 + dt.timedelta(days=182), "closed"
    session.flush()
    with clock.frozen(T0 + dt.timedelta(days=182 + 179)):
        assert retention.run(session, system).kinds["leads"]["count"] == 0
    with clock.frozen(T0 + dt.timedelta(days=182 + 181)):
        late = retention.run(session, system).kinds
    assert late["leads"]["count"] == 1 and late["persons"]["count"] == 1
    session.expire_all()
    assert session.get(Lead, lead.id).phone_enc is None and session.get(Lead, lead.id).name is None
    assert session.get(Person, lead_person).name is None
    events = session.execute(select(AuditEvent).where(AuditEvent.action == "retention.run")
                             .order_by(AuditEvent.id)).scalars().all()
    assert events[-1].detail["counts"]["leads"] == 1 and events[-1].detail["counts"]["persons"] == 1
    assert events[-1].detail["cutoffs"]["audit"] is None  # the audit log itself is kept
