"""intake and control tables: lead, lead_batch, risk_area, assist_request, measure

Revision ID: 0100
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0100"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lead_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('via', sa.String(length=8), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('started_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicate', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('new_persons', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_batch'))
    )
    op.create_table('risk_area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('region_name', sa.String(length=100), nullable=False),
    sa.Column('name_key', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('start_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('end_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_area')),
    sa.UniqueConstraint('name_key', 'level', 'start_at', name='uq_risk_area_name_key')
    )
    op.create_index(op.f('ix_risk_area_name_key'), 'risk_area', ['name_key'], unique=False)
    op.create_index(op.f('ix_risk_area_region_code'), 'risk_area', ['region_code'], unique=False)
    op.create_table('measure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=48), nullable=False),
    sa.Column('measure_code', sa.String(length=48), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('phases', sa.JSON(), nullable=False),
    sa.Column('test_dates', sa.JSON(), nullable=False),
    sa.Column('started_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('planned_end_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('pack_version', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('place_kind', sa.String(length=8), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=200), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_measure_person_id_person')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_measure_place_id_place')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_measure_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure'))
    )
    op.create_index(op.f('ix_measure_lead_id'), 'measure', ['lead_id'], unique=False)
    op.create_index(op.f('ix_measure_person_id'), 'measure', ['person_id'], unique=False)
    op.create_index(op.f('ix_measure_started_at'), 'measure', ['started_at'], unique=False)
    op.create_index(op.f('ix_measure_status'), 'measure', ['status'], unique=False)
    op.create_index(op.f('ix_measure_unit_id'), 'measure', ['unit_id'], unique=False)
    op.create_index(op.f('ix_measure_unit_path'), 'measure', ['unit_path'], unique=False)
    op.create_table('lead',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('source_ref', sa.String(length=128), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('payload_enc', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('name_key', sa.String(length=64), nullable=True),
    sa.Column('id_number_enc', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_bidx', sa.String(length=64), nullable=True),
    sa.Column('id_number_valid', sa.Boolean(), nullable=False),
    sa.Column('id_number_masked', sa.String(length=24), nullable=True),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('phone_bidx', sa.String(length=64), nullable=True),
    sa.Column('phone_valid', sa.Boolean(), nullable=False),
    sa.Column('phone_masked', sa.String(length=16), nullable=True),
    sa.Column('origin', sa.String(length=100), nullable=True),
    sa.Column('arrival_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('address_text', sa.String(length=255), nullable=True),
    sa.Column('address_id', sa.Integer(), nullable=True),
    sa.Column('transport', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('issues', sa.JSON(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('match_rule', sa.String(length=24), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('known_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('managed_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('controlled_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('closed_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('pack_version', sa.String(length=64), nullable=True),
    sa.Column('rule', sa.String(length=64), nullable=True),
    sa.Column('decision_category', sa.String(length=32), nullable=True),
    sa.Column('measure_code', sa.String(length=48), nullable=True),
    sa.Column('decision', sa.JSON(), nullable=True),
    sa.Column('verification_task_id', sa.Integer(), nullable=True),
    sa.Column('outcome_code', sa.String(length=32), nullable=True),
    sa.Column('measure_id', sa.Integer(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['address_id'], ['address.id'], name=op.f('fk_lead_address_id_address')),
    sa.ForeignKeyConstraint(['batch_id'], ['lead_batch.id'], name=op.f('fk_lead_batch_id_lead_batch')),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_lead_measure_id_measure')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_lead_person_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_lead_unit_id_unit')),
    sa.ForeignKeyConstraint(['verification_task_id'], ['task.id'], name=op.f('fk_lead_verification_task_id_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead')),
    sa.UniqueConstraint('content_hash', name=op.f('uq_lead_content_hash')),
    sa.UniqueConstraint('source_ref', 'channel', name='uq_lead_source_ref_channel')
    )
    op.create_index(op.f('ix_lead_batch_id'), 'lead', ['batch_id'], unique=False)
    op.create_index(op.f('ix_lead_id_number_bidx'), 'lead', ['id_number_bidx'], unique=False)
    op.create_index(op.f('ix_lead_name_key'), 'lead', ['name_key'], unique=False)
    op.create_index(op.f('ix_lead_person_id'), 'lead', ['person_id'], unique=False)
    op.create_index(op.f('ix_lead_phone_bidx'), 'lead', ['phone_bidx'], unique=False)
    op.create_index(op.f('ix_lead_received_at'), 'lead', ['received_at'], unique=False)
    op.create_index(op.f('ix_lead_status'), 'lead', ['status'], unique=False)
    op.create_index(op.f('ix_lead_unit_id'), 'lead', ['unit_id'], unique=False)
    op.create_index(op.f('ix_lead_unit_path'), 'lead', ['unit_path'], unique=False)
    op.create_table('assist_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('answered_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['lead.id'], name=op.f('fk_assist_request_lead_id_lead')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_assist_request_person_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_assist_request_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assist_request'))
    )
    op.create_index('ix_assist_request_direction_status', 'assist_request', ['direction', 'status'], unique=False)
    op.create_index(op.f('ix_assist_request_lead_id'), 'assist_request', ['lead_id'], unique=False)
    op.create_index(op.f('ix_assist_request_person_id'), 'assist_request', ['person_id'], unique=False)
    op.create_index(op.f('ix_assist_request_status'), 'assist_request', ['status'], unique=False)
    op.create_index(op.f('ix_assist_request_unit_id'), 'assist_request', ['unit_id'], unique=False)
    op.create_index(op.f('ix_assist_request_unit_path'), 'assist_request', ['unit_path'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_assist_request_unit_path'), table_name='assist_request')
    op.drop_index(op.f('ix_assist_request_unit_id'), table_name='assist_request')
    op.drop_index(op.f('ix_assist_request_status'), table_name='assist_request')
    op.drop_index(op.f('ix_assist_request_person_id'), table_name='assist_request')
    op.drop_index(op.f('ix_assist_request_lead_id'), table_name='assist_request')
    op.drop_index('ix_assist_request_direction_status', table_name='assist_request')
    op.drop_table('assist_request')
    op.drop_index(op.f('ix_lead_unit_path'), table_name='lead')
    op.drop_index(op.f('ix_lead_unit_id'), table_name='lead')
    op.drop_index(op.f('ix_lead_status'), table_name='lead')
    op.drop_index(op.f('ix_lead_received_at'), table_name='lead')
    op.drop_index(op.f('ix_lead_phone_bidx'), table_name='lead')
    op.drop_index(op.f('ix_lead_person_id'), table_name='lead')
    op.drop_index(op.f('ix_lead_name_key'), table_name='lead')
    op.drop_index(op.f('ix_lead_id_number_bidx'), table_name='lead')
    op.drop_index(op.f('ix_lead_batch_id'), table_name='lead')
    op.drop_table('lead')
    op.drop_index(op.f('ix_measure_unit_path'), table_name='measure')
    op.drop_index(op.f('ix_measure_unit_id'), table_name='measure')
    op.drop_index(op.f('ix_measure_status'), table_name='measure')
    op.drop_index(op.f('ix_measure_started_at'), table_name='measure')
    op.drop_index(op.f('ix_measure_person_id'), table_name='measure')
    op.drop_index(op.f('ix_measure_lead_id'), table_name='measure')
    op.drop_table('measure')
    op.drop_index(op.f('ix_risk_area_region_code'), table_name='risk_area')
    op.drop_index(op.f('ix_risk_area_name_key'), table_name='risk_area')
    op.drop_table('risk_area')
    op.drop_table('lead_batch')
