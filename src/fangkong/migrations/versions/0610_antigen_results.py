"""surveillance: antigen results (抗原检测结果)

Revision ID: 0610
Revises: 0600
Create Date: 2026-12-07 21:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = '0610'
down_revision = '0600'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('antigen_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_ref', sa.String(length=128), nullable=False),
    sa.Column('source_kind', sa.String(length=16), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('employer', sa.String(length=120), nullable=True),
    sa.Column('tested_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('result', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('measure_id', sa.Integer(), nullable=True),
    sa.Column('pcr_task_id', sa.Integer(), nullable=True),
    sa.Column('pcr_due_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('photo', sa.String(length=200), nullable=True),
    sa.Column('via', sa.String(length=8), nullable=False),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sentinel_site.id'], name=op.f('fk_antigen_result_site_id_sentinel_site')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_antigen_result_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_antigen_result')),
    sa.UniqueConstraint('source_ref', name=op.f('uq_antigen_result_source_ref'))
    )
    with op.batch_alter_table('antigen_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_antigen_result_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_antigen_result_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_antigen_result_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_antigen_result_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_antigen_result_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_antigen_result_unit_path'), ['unit_path'], unique=False)


def downgrade() -> None:
    op.drop_table('antigen_result')
