"""control: measure lifecycle (day 0, planned end, stepdown, release) and its event log

Revision ID: 0125
Revises: 0120
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0125"
down_revision = "0120"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('measure') as batch:
        batch.add_column(sa.Column('phase', sa.String(length=24), nullable=True))
        batch.add_column(sa.Column('anchor', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('anchor_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('counts_from', fangkong.kernel.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('planned_end_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('stepped_down_at', fangkong.kernel.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('released_at', fangkong.kernel.db.UTCDateTime(), nullable=True))
    op.create_table('measure_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('from_phase', sa.String(length=24), nullable=True),
    sa.Column('to_phase', sa.String(length=24), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=True),
    sa.Column('pack_version', sa.String(length=64), nullable=True),
    sa.Column('override', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_measure_event_measure_id_measure')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_measure_event_person_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_measure_event_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_event'))
    )
    op.create_index('ix_measure_event_measure_at', 'measure_event', ['measure_id', 'at'], unique=False)
    op.create_index(op.f('ix_measure_event_person_id'), 'measure_event', ['person_id'], unique=False)
    op.create_index(op.f('ix_measure_event_unit_id'), 'measure_event', ['unit_id'], unique=False)
    op.create_index(op.f('ix_measure_event_unit_path'), 'measure_event', ['unit_path'], unique=False)


def downgrade() -> None:
    op.drop_table('measure_event')
    with op.batch_alter_table('measure') as batch:
        for name in ('released_at', 'stepped_down_at', 'planned_end_on', 'counts_from', 'anchor_on', 'anchor', 'phase'):
            batch.drop_column(name)
