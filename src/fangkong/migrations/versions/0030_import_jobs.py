"""kernel: import_job (page imports run as jobs)

Revision ID: 0030
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0030"
down_revision = "0002"
branch_labels = ("import_jobs",)
depends_on = None

PathString = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('folder', sa.String(length=64), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('actor_ip', sa.String(length=64), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('started_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('finished_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', PathString, nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_import_job_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job')),
    sa.UniqueConstraint('folder', name=op.f('uq_import_job_folder'))
    )
    op.create_index(op.f('ix_import_job_actor_id'), 'import_job', ['actor_id'], unique=False)
    op.create_index(op.f('ix_import_job_kind'), 'import_job', ['kind'], unique=False)
    op.create_index(op.f('ix_import_job_status'), 'import_job', ['status'], unique=False)
    op.create_index(op.f('ix_import_job_unit_id'), 'import_job', ['unit_id'], unique=False)
    op.create_index(op.f('ix_import_job_unit_path'), 'import_job', ['unit_path'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_import_job_unit_path'), table_name='import_job')
    op.drop_index(op.f('ix_import_job_unit_id'), table_name='import_job')
    op.drop_index(op.f('ix_import_job_status'), table_name='import_job')
    op.drop_index(op.f('ix_import_job_kind'), table_name='import_job')
    op.drop_index(op.f('ix_import_job_actor_id'), table_name='import_job')
    op.drop_table('import_job')
