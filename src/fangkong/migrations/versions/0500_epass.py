"""checkpoints: truck e-passes (epass, epass_serial, epass_key)

Revision ID: 0500
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0500"
down_revision = "0002"
branch_labels = ("epass",)
depends_on = None


def upgrade() -> None:
    op.create_table('epass',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('no', sa.String(length=12), nullable=False),
    sa.Column('request_id', sa.String(length=80), nullable=False),
    sa.Column('request_digest', sa.String(length=64), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('plate_key', sa.String(length=16), nullable=False),
    sa.Column('cargo', sa.String(length=40), nullable=True),
    sa.Column('origin', sa.String(length=6), nullable=False),
    sa.Column('destination', sa.String(length=6), nullable=False),
    sa.Column('receiver', sa.String(length=60), nullable=True),
    sa.Column('valid_from', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('valid_until', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('crew', sa.JSON(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('issued_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.Column('revoke_reason', sa.String(length=200), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_epass_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_epass')),
    sa.UniqueConstraint('no', name=op.f('uq_epass_no')),
    sa.UniqueConstraint('request_id', name=op.f('uq_epass_request_id'))
    )
    op.create_index('ix_epass_plate_key_valid', 'epass', ['plate_key', 'valid_from', 'valid_until'], unique=False)
    op.create_index(op.f('ix_epass_unit_id'), 'epass', ['unit_id'], unique=False)
    op.create_index(op.f('ix_epass_unit_path'), 'epass', ['unit_path'], unique=False)
    op.create_table('epass_serial',
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('region', name=op.f('pk_epass_serial'))
    )
    op.create_table('epass_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('x', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('issuer', sa.String(length=100), nullable=False),
    sa.Column('own', sa.Boolean(), nullable=False),
    sa.Column('signing', sa.Boolean(), nullable=False),
    sa.Column('added_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('retired_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_epass_key')),
    sa.UniqueConstraint('kid', name=op.f('uq_epass_key_kid'))
    )


def downgrade() -> None:
    op.drop_table('epass_key')
    op.drop_table('epass_serial')
    op.drop_index(op.f('ix_epass_unit_path'), table_name='epass')
    op.drop_index(op.f('ix_epass_unit_id'), table_name='epass')
    op.drop_index('ix_epass_plate_key_valid', table_name='epass')
    op.drop_table('epass')
