"""command tables: command_snapshot, command_value, command_order, command_order_target

Revision ID: 0800
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0800"
down_revision = "0002"
branch_labels = ("command",)
depends_on = None


def upgrade() -> None:
    op.create_table('command_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('cutoff_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('taken_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('taken_by', sa.String(length=64), nullable=False),
    sa.Column('pack_version', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_snapshot')),
    sa.UniqueConstraint('day', 'version', name='uq_command_snapshot_day_version')
    )
    op.create_index(op.f('ix_command_snapshot_day'), 'command_snapshot', ['day'], unique=False)
    op.create_table('command_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.Column('unit_name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('numerator', sa.Float(), nullable=True),
    sa.Column('denominator', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('rule', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['command_snapshot.id'], name=op.f('fk_command_value_snapshot_id_command_snapshot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_value'))
    )
    op.create_index('ix_command_value_snapshot_path', 'command_value', ['snapshot_id', 'unit_path'], unique=False)

    op.create_table('command_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.String(length=4000), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('parent_target_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('ack_due_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('due_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('evidence_required', sa.Boolean(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_command_order_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_order'))
    )
    op.create_index(op.f('ix_command_order_parent_target_id'), 'command_order', ['parent_target_id'], unique=False)
    op.create_index(op.f('ix_command_order_unit_id'), 'command_order', ['unit_id'], unique=False)
    op.create_index(op.f('ix_command_order_unit_path'), 'command_order', ['unit_path'], unique=False)
    op.create_table('command_order_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ack_task_id', sa.Integer(), nullable=True),
    sa.Column('complete_task_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
    sa.Column('completed_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('completed_by', sa.String(length=64), nullable=True),
    sa.Column('evidence', sa.String(length=2000), nullable=True),
    sa.Column('escalated_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('overdue_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['command_order.id'], name=op.f('fk_command_order_target_order_id_command_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_command_order_target_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_order_target')),
    sa.UniqueConstraint('order_id', 'unit_id', name='uq_command_order_target_unit')
    )
    op.create_index(op.f('ix_command_order_target_order_id'), 'command_order_target', ['order_id'], unique=False)
    op.create_index(op.f('ix_command_order_target_status'), 'command_order_target', ['status'], unique=False)
    op.create_index(op.f('ix_command_order_target_unit_id'), 'command_order_target', ['unit_id'], unique=False)
    op.create_index(op.f('ix_command_order_target_unit_path'), 'command_order_target', ['unit_path'], unique=False)


def downgrade() -> None:
    op.drop_table('command_order_target')
    op.drop_table('command_order')
    op.drop_index('ix_command_value_snapshot_path', table_name='command_value')
    op.drop_table('command_value')
    op.drop_index(op.f('ix_command_snapshot_day'), table_name='command_snapshot')
    op.drop_table('command_snapshot')
