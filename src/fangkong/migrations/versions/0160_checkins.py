"""control: check-ins (twice-daily temperature and symptoms), missed check-in slots, daily home confirmations,
notices (templates, numbers, printed notices)

Revision ID: 0160
Revises: 0125
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0160"
down_revision = "0125"
branch_labels = None
depends_on = None

PATH = sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql')


def _scoped() -> list[sa.Column]:
    return [sa.Column('unit_id', sa.Integer(), nullable=False), sa.Column('unit_path', PATH, nullable=False)]


def upgrade() -> None:
    op.create_table('checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('checked_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('temperature', sa.Float(), nullable=False),
    sa.Column('symptoms', sa.JSON(), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('phase', sa.String(length=24), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('alert', sa.JSON(), nullable=False),
    sa.Column('alert_task_id', sa.Integer(), nullable=True),
    sa.Column('sampling_task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    *_scoped(),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_checkin_measure_id_measure')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_checkin_person_id_person')),
    sa.ForeignKeyConstraint(['site_id'], ['place.id'], name=op.f('fk_checkin_site_id_place')),
    sa.ForeignKeyConstraint(['alert_task_id'], ['task.id'], name=op.f('fk_checkin_alert_task_id_task')),
    sa.ForeignKeyConstraint(['sampling_task_id'], ['task.id'], name=op.f('fk_checkin_sampling_task_id_task')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_checkin_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin')),
    sa.UniqueConstraint('person_id', 'checked_at', name='uq_checkin_person_checked_at'),
    )
    op.create_index('ix_checkin_person_checked_at', 'checkin', ['person_id', 'checked_at'], unique=False)
    op.create_index(op.f('ix_checkin_measure_id'), 'checkin', ['measure_id'], unique=False)
    op.create_index(op.f('ix_checkin_unit_id'), 'checkin', ['unit_id'], unique=False)
    op.create_index(op.f('ix_checkin_unit_path'), 'checkin', ['unit_path'], unique=False)

    op.create_table('checkin_missed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('slot_start', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('slot_end', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    *_scoped(),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_checkin_missed_measure_id_measure')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_checkin_missed_person_id_person')),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_checkin_missed_task_id_task')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_checkin_missed_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_missed')),
    sa.UniqueConstraint('measure_id', 'slot_start', name='uq_checkin_missed_slot'),
    )
    op.create_index(op.f('ix_checkin_missed_person_id'), 'checkin_missed', ['person_id'], unique=False)
    op.create_index(op.f('ix_checkin_missed_unit_id'), 'checkin_missed', ['unit_id'], unique=False)
    op.create_index(op.f('ix_checkin_missed_unit_path'), 'checkin_missed', ['unit_path'], unique=False)

    op.create_table('home_confirmation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household', sa.String(length=200), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('person_ids', sa.JSON(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    *_scoped(),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_home_confirmation_task_id_task')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_home_confirmation_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_home_confirmation')),
    sa.UniqueConstraint('unit_id', 'household', 'on', name='uq_home_confirmation_day'),
    )
    op.create_index(op.f('ix_home_confirmation_unit_id'), 'home_confirmation', ['unit_id'], unique=False)
    op.create_index(op.f('ix_home_confirmation_unit_path'), 'home_confirmation', ['unit_path'], unique=False)


    op.create_table('notice_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_template')),
    sa.UniqueConstraint('kind', 'version', name='uq_notice_template_kind_version'),
    )
    op.create_table('notice_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_counter')),
    sa.UniqueConstraint('series', 'year', name='uq_notice_counter_series_year'),
    )
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_no', sa.String(length=48), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('series', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('issued_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    *_scoped(),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_notice_measure_id_measure')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_notice_person_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_notice_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('notice_no', name=op.f('uq_notice_notice_no')),
    )
    op.create_index(op.f('ix_notice_measure_id'), 'notice', ['measure_id'], unique=False)
    op.create_index(op.f('ix_notice_unit_id'), 'notice', ['unit_id'], unique=False)
    op.create_index(op.f('ix_notice_unit_path'), 'notice', ['unit_path'], unique=False)


def downgrade() -> None:
    op.drop_table('notice')
    op.drop_table('notice_counter')
    op.drop_table('notice_template')
    op.drop_table('home_confirmation')
    op.drop_table('checkin_missed')
    op.drop_table('checkin')
