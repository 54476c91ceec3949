"""venues tables: venue_code, scan, venue_flag, scan_upload

Revision ID: 0300
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0300"
down_revision = "0002"
branch_labels = ("venues",)
depends_on = None


def upgrade() -> None:
    op.create_table('venue_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=96), nullable=False),
    sa.Column('issued_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_venue_code_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venue_code')),
    sa.UniqueConstraint('token', name=op.f('uq_venue_code_token'))
    )
    op.create_index(op.f('ix_venue_code_place_id'), 'venue_code', ['place_id'], unique=False)
    op.create_table('venue_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('flagged_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('flagged_by_id', sa.Integer(), nullable=True),
    sa.Column('flagged_by', sa.String(length=64), nullable=False),
    sa.Column('cleared_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('cleared_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_venue_flag_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venue_flag'))
    )
    op.create_index(op.f('ix_venue_flag_place_id'), 'venue_flag', ['place_id'], unique=False)
    op.create_table('scan_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_upload')),
    sa.UniqueConstraint('sender', 'idempotency_key', name='uq_scan_upload_sender_key')
    )
    op.create_index(op.f('ix_scan_upload_created_at'), 'scan_upload', ['created_at'], unique=False)
    op.create_table('scan',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('scanned_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('recorded_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('request_id', sa.String(length=80), nullable=True),
    sa.Column('temperature', sa.Float(), nullable=True),
    sa.Column('mask_ok', sa.Boolean(), nullable=True),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_scan_person_id_person')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_scan_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan')),
    sa.UniqueConstraint('request_id', name=op.f('uq_scan_request_id')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_scan_person_time', 'scan', ['person_id', 'scanned_at'], unique=False)
    op.create_index('ix_scan_place_time', 'scan', ['place_id', 'scanned_at'], unique=False)
    op.create_index('ix_scan_scanned_at', 'scan', ['scanned_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_scan_scanned_at', table_name='scan')
    op.drop_index('ix_scan_place_time', table_name='scan')
    op.drop_index('ix_scan_person_time', table_name='scan')
    op.drop_table('scan')
    op.drop_index(op.f('ix_scan_upload_created_at'), table_name='scan_upload')
    op.drop_table('scan_upload')
    op.drop_index(op.f('ix_venue_flag_place_id'), table_name='venue_flag')
    op.drop_table('venue_flag')
    op.drop_index(op.f('ix_venue_code_place_id'), table_name='venue_code')
    op.drop_table('venue_code')
