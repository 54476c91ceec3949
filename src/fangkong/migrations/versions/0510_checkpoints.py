"""checkpoints tables: checkpoint, checkpoint_shift_log, checkpoint_record, checkpoint_trip, checkpoint_trip_arrival

Revision ID: 0510
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db


revision = '0510'
down_revision = '0002'
branch_labels = ('checkpoints',)
depends_on = None


def upgrade() -> None:
    op.create_table('checkpoint_trip_arrival',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=80), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('epass_no', sa.String(length=16), nullable=True),
    sa.Column('arrived_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('receiver', sa.String(length=100), nullable=True),
    sa.Column('trip_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_checkpoint_trip_arrival_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoint_trip_arrival')),
    sa.UniqueConstraint('request_id', name=op.f('uq_checkpoint_trip_arrival_request_id'))
    )
    with op.batch_alter_table('checkpoint_trip_arrival', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkpoint_trip_arrival_arrived_at'), ['arrived_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_trip_arrival_plate'), ['plate'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_trip_arrival_trip_id'), ['trip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_trip_arrival_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_trip_arrival_unit_path'), ['unit_path'], unique=False)

    op.create_table('checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('shifts', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_checkpoint_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoint')),
    sa.UniqueConstraint('place_id', name=op.f('uq_checkpoint_place_id'))
    )
    op.create_table('checkpoint_shift_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('shift', sa.String(length=11), nullable=False),
    sa.Column('roster', sa.String(length=500), nullable=True),
    sa.Column('handover', sa.Text(), nullable=True),
    sa.Column('updated_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_checkpoint_shift_log_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoint_shift_log')),
    sa.UniqueConstraint('place_id', 'day', 'shift', name='uq_checkpoint_shift_log')
    )
    op.create_table('checkpoint_trip',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('epass_no', sa.String(length=16), nullable=True),
    sa.Column('entry_record_id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('entered_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('destination_code', sa.String(length=6), nullable=True),
    sa.Column('local', sa.Boolean(), nullable=False),
    sa.Column('arrived_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('arrival_id', sa.Integer(), nullable=True),
    sa.Column('exited_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('exit_record_id', sa.Integer(), nullable=True),
    sa.Column('closed_as', sa.String(length=16), nullable=True),
    sa.Column('closed_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_checkpoint_trip_place_id_place')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_checkpoint_trip_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoint_trip')),
    sa.UniqueConstraint('entry_record_id', name=op.f('uq_checkpoint_trip_entry_record_id'))
    )
    with op.batch_alter_table('checkpoint_trip', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkpoint_trip_plate'), ['plate'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_trip_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_trip_unit_path'), ['unit_path'], unique=False)

    op.create_table('checkpoint_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_ref', sa.String(length=80), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('passage_key', sa.String(length=120), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('inspected_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=True),
    sa.Column('vehicle_type', sa.String(length=8), nullable=True),
    sa.Column('epass_no', sa.String(length=16), nullable=True),
    sa.Column('epass_token', sa.Text(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=10), nullable=True),
    sa.Column('origin', sa.String(length=100), nullable=True),
    sa.Column('origin_code', sa.String(length=6), nullable=True),
    sa.Column('destination', sa.String(length=100), nullable=True),
    sa.Column('destination_code', sa.String(length=6), nullable=True),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('receiver', sa.String(length=100), nullable=True),
    sa.Column('health_code', sa.String(length=8), nullable=True),
    sa.Column('tested_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('temperature', sa.Float(), nullable=True),
    sa.Column('decision', sa.String(length=10), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('trip_id', sa.Integer(), nullable=True),
    sa.Column('epass_verdict', sa.String(length=24), nullable=True),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('recorded_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_checkpoint_record_person_id_person')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_checkpoint_record_place_id_place')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_checkpoint_record_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoint_record')),
    sa.UniqueConstraint('record_ref', name=op.f('uq_checkpoint_record_record_ref'))
    )
    with op.batch_alter_table('checkpoint_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkpoint_record_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_checkpoint_record_place_time', ['place_id', 'inspected_at'], unique=False)
        batch_op.create_index('ix_checkpoint_record_plate_time', ['plate', 'inspected_at'], unique=False)
        batch_op.create_index('ix_checkpoint_record_time', ['inspected_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_record_trip_id'), ['trip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_record_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_record_unit_path'), ['unit_path'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('checkpoint_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkpoint_record_unit_path'))
        batch_op.drop_index(batch_op.f('ix_checkpoint_record_unit_id'))
        batch_op.drop_index(batch_op.f('ix_checkpoint_record_trip_id'))
        batch_op.drop_index('ix_checkpoint_record_time')
        batch_op.drop_index('ix_checkpoint_record_plate_time')
        batch_op.drop_index('ix_checkpoint_record_place_time')
        batch_op.drop_index(batch_op.f('ix_checkpoint_record_person_id'))

    op.drop_table('checkpoint_record')
    with op.batch_alter_table('checkpoint_trip', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkpoint_trip_unit_path'))
        batch_op.drop_index(batch_op.f('ix_checkpoint_trip_unit_id'))
        batch_op.drop_index(batch_op.f('ix_checkpoint_trip_plate'))

    op.drop_table('checkpoint_trip')
    op.drop_table('checkpoint_shift_log')
    op.drop_table('checkpoint')
    with op.batch_alter_table('checkpoint_trip_arrival', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkpoint_trip_arrival_unit_path'))
        batch_op.drop_index(batch_op.f('ix_checkpoint_trip_arrival_unit_id'))
        batch_op.drop_index(batch_op.f('ix_checkpoint_trip_arrival_trip_id'))
        batch_op.drop_index(batch_op.f('ix_checkpoint_trip_arrival_plate'))
        batch_op.drop_index(batch_op.f('ix_checkpoint_trip_arrival_arrived_at'))

    op.drop_table('checkpoint_trip_arrival')
