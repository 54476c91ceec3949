"""command tables: command_review (病例复盘), command_inspection_plan (四不两直), command_geometry (辖区边界);
findings name their review or plan

Revision ID: 0820
Revises: 0810
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0820"
down_revision = "0810"
branch_labels = None
depends_on = None

PATH = sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table('command_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('detected_in_control', sa.Boolean(), nullable=True),
    sa.Column('detected_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('causes', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=4000), nullable=False),
    sa.Column('reviewed_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('pack_version', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', PATH, nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_command_review_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_review')),
    sa.UniqueConstraint('case_id', name=op.f('uq_command_review_case_id'))
    )
    op.create_index(op.f('ix_command_review_status'), 'command_review', ['status'], unique=False)
    op.create_index(op.f('ix_command_review_unit_id'), 'command_review', ['unit_id'], unique=False)
    op.create_index(op.f('ix_command_review_unit_path'), 'command_review', ['unit_path'], unique=False)
    op.create_table('command_inspection_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('team', sa.JSON(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', PATH, nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_command_inspection_plan_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_inspection_plan'))
    )
    op.create_index(op.f('ix_command_inspection_plan_unit_id'), 'command_inspection_plan', ['unit_id'], unique=False)
    op.create_index(op.f('ix_command_inspection_plan_unit_path'), 'command_inspection_plan', ['unit_path'],
                    unique=False)
    op.create_table('command_geometry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('geometry', sa.JSON(), nullable=False),
    sa.Column('imported_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', PATH, nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_command_geometry_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_geometry')),
    sa.UniqueConstraint('unit_id', name='uq_command_geometry_unit_id')
    )
    op.create_index(op.f('ix_command_geometry_unit_id'), 'command_geometry', ['unit_id'], unique=False)
    op.create_index(op.f('ix_command_geometry_unit_path'), 'command_geometry', ['unit_path'], unique=False)
    with op.batch_alter_table('command_finding') as batch:
        batch.add_column(sa.Column('review_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch.create_index(op.f('ix_command_finding_review_id'), ['review_id'], unique=False)
        batch.create_index(op.f('ix_command_finding_plan_id'), ['plan_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('command_finding') as batch:
        batch.drop_index(op.f('ix_command_finding_plan_id'))
        batch.drop_index(op.f('ix_command_finding_review_id'))
        batch.drop_column('plan_id')
        batch.drop_column('review_id')
    op.drop_table('command_geometry')
    op.drop_table('command_inspection_plan')
    op.drop_table('command_review')
