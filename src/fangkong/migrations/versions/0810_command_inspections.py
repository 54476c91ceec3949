"""command tables: command_finding, command_rectification (督查发现、整改)

Revision ID: 0810
Revises: 0800
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0810"
down_revision = "0800"
branch_labels = None
depends_on = None

PATH = sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table('command_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('item', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=True),
    sa.Column('venue_name', sa.String(length=120), nullable=True),
    sa.Column('venue_address', sa.String(length=255), nullable=True),
    sa.Column('found_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('found_by', sa.String(length=64), nullable=False),
    sa.Column('repeat_of_id', sa.Integer(), nullable=True),
    sa.Column('photos', sa.JSON(), nullable=False),
    sa.Column('pack_version', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=300), nullable=False),
    sa.Column('published_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('published_by', sa.String(length=64), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', PATH, nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_command_finding_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_finding'))
    )
    op.create_index(op.f('ix_command_finding_venue_id'), 'command_finding', ['venue_id'], unique=False)
    op.create_index(op.f('ix_command_finding_unit_id'), 'command_finding', ['unit_id'], unique=False)
    op.create_index(op.f('ix_command_finding_unit_path'), 'command_finding', ['unit_path'], unique=False)
    op.create_table('command_rectification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('evidence_note', sa.String(length=2000), nullable=True),
    sa.Column('evidence_name', sa.String(length=200), nullable=True),
    sa.Column('evidence_path', sa.String(length=300), nullable=True),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=True),
    sa.Column('verified_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('verified_by', sa.String(length=64), nullable=True),
    sa.Column('rejections', sa.Integer(), nullable=False),
    sa.Column('rejected_note', sa.String(length=2000), nullable=True),
    sa.Column('escalated_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', PATH, nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['command_finding.id'],
                            name=op.f('fk_command_rectification_finding_id_command_finding'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_command_rectification_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_rectification'))
    )
    op.create_index(op.f('ix_command_rectification_finding_id'), 'command_rectification', ['finding_id'], unique=False)
    op.create_index(op.f('ix_command_rectification_status'), 'command_rectification', ['status'], unique=False)
    op.create_index(op.f('ix_command_rectification_unit_id'), 'command_rectification', ['unit_id'], unique=False)
    op.create_index(op.f('ix_command_rectification_unit_path'), 'command_rectification', ['unit_path'], unique=False)


def downgrade() -> None:
    op.drop_table('command_rectification')
    op.drop_table('command_finding')
