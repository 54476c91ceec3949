"""control: due_test (every test day of a measure is a due sample)

Revision ID: 0120
Revises: 0100
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0120"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('due_test',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('window_end_on', sa.Date(), nullable=False),
    sa.Column('min_gap_hours', sa.Float(), nullable=False),
    sa.Column('phase_measure', sa.String(length=48), nullable=False),
    sa.Column('phase_kind', sa.String(length=32), nullable=False),
    sa.Column('place_kind', sa.String(length=8), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sampled_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('chase', sa.Boolean(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_due_test_measure_id_measure')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_due_test_person_id_person')),
    sa.ForeignKeyConstraint(['site_id'], ['place.id'], name=op.f('fk_due_test_site_id_place')),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_due_test_task_id_task')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_due_test_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_due_test')),
    sa.UniqueConstraint('measure_id', 'day', name='uq_due_test_measure_day')
    )
    op.create_index(op.f('ix_due_test_measure_id'), 'due_test', ['measure_id'], unique=False)
    op.create_index(op.f('ix_due_test_person_id'), 'due_test', ['person_id'], unique=False)
    op.create_index(op.f('ix_due_test_site_id'), 'due_test', ['site_id'], unique=False)
    op.create_index(op.f('ix_due_test_unit_id'), 'due_test', ['unit_id'], unique=False)
    op.create_index(op.f('ix_due_test_unit_path'), 'due_test', ['unit_path'], unique=False)
    op.create_index('ix_due_test_unit_due_on', 'due_test', ['unit_path', 'due_on'], unique=False)
    op.create_index('ix_due_test_status_window', 'due_test', ['status', 'window_end_on'], unique=False)
    # measures started before due tests existed: their test days become due tests now (a sample on
    # the day is matched when the next sample of the person is recorded or the missed-test job runs)
    _backfill()


def _backfill() -> None:
    import datetime as dt
    import os
    from zoneinfo import ZoneInfo

    conn = op.get_bind()
    tz = ZoneInfo(os.environ.get("FANGKONG_TIMEZONE") or "Asia/Shanghai")
    utc = fangkong.kernel.db.UTCDateTime()
    measure = sa.table('measure', sa.column('id', sa.Integer), sa.column('person_id', sa.Integer),
                       sa.column('category', sa.String), sa.column('phases', sa.JSON),
                       sa.column('started_at', utc), sa.column('planned_end_at', utc),
                       sa.column('status', sa.String), sa.column('place_kind', sa.String),
                       sa.column('place_id', sa.Integer), sa.column('unit_id', sa.Integer),
                       sa.column('unit_path', sa.String), sa.column('created_at', utc))
    due = sa.table('due_test', sa.column('measure_id', sa.Integer), sa.column('person_id', sa.Integer),
                   sa.column('day', sa.Integer), sa.column('due_on', sa.Date), sa.column('window_end_on', sa.Date),
                   sa.column('min_gap_hours', sa.Float), sa.column('phase_measure', sa.String),
                   sa.column('phase_kind', sa.String), sa.column('place_kind', sa.String),
                   sa.column('site_id', sa.Integer), sa.column('status', sa.String), sa.column('chase', sa.Boolean),
                   sa.column('created_at', utc), sa.column('unit_id', sa.Integer), sa.column('unit_path', sa.String))
    now = dt.datetime.now(dt.UTC)
    rows = conn.execute(sa.select(measure).where(measure.c.status == 'active')).fetchall()
    for m in rows:
        if m.planned_end_at is not None and m.planned_end_at <= now:
            continue
        start_day = m.started_at.astimezone(tz).date()
        seen = set()
        for phase in m.phases or []:
            kind = phase.get("kind", "none")
            at_site = m.place_kind == "site" and kind == "centralised_quarantine"
            for d in phase.get("test_dates") or []:
                day_on = dt.date.fromisoformat(d)
                day = (day_on - start_day).days + 1
                if day in seen:
                    continue
                seen.add(day)
                conn.execute(due.insert().values(
                    measure_id=m.id, person_id=m.person_id, day=day, due_on=day_on, window_end_on=day_on,
                    min_gap_hours=0.0, phase_measure=phase.get("measure", ""), phase_kind=kind,
                    place_kind="site" if at_site else "home", site_id=m.place_id if at_site else None,
                    status="due", chase=m.category != "positive_pool_member", created_at=m.created_at,
                    unit_id=m.unit_id, unit_path=m.unit_path))


def downgrade() -> None:
    op.drop_index('ix_due_test_status_window', table_name='due_test')
    op.drop_index('ix_due_test_unit_due_on', table_name='due_test')
    op.drop_index(op.f('ix_due_test_unit_path'), table_name='due_test')
    op.drop_index(op.f('ix_due_test_unit_id'), table_name='due_test')
    op.drop_index(op.f('ix_due_test_site_id'), table_name='due_test')
    op.drop_index(op.f('ix_due_test_person_id'), table_name='due_test')
    op.drop_index(op.f('ix_due_test_measure_id'), table_name='due_test')
    op.drop_table('due_test')
