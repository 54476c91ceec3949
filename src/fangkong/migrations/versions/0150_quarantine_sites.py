"""control: quarantine sites, rooms and room stays (issue #12); unit.population (rooms per 10,000)

Revision ID: 0150
Revises: 0125
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0150"
down_revision = "0125"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quarantine_site',
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('contacts', sa.String(length=255), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_quarantine_site_place_id_place')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_quarantine_site_unit_id_unit')),
    sa.PrimaryKeyConstraint('place_id', name=op.f('pk_quarantine_site'))
    )
    with op.batch_alter_table('quarantine_site', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_site_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_quarantine_site_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quarantine_site_unit_path'), ['unit_path'], unique=False)

    op.create_table('site_room',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('building', sa.String(length=20), nullable=False),
    sa.Column('floor', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('beds', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['place.id'], name=op.f('fk_site_room_site_id_place')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_site_room_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_room')),
    sa.UniqueConstraint('site_id', 'building', 'number', name='uq_site_room_number')
    )
    with op.batch_alter_table('site_room', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_room_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_room_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_room_unit_path'), ['unit_path'], unique=False)

    op.create_table('room_stay',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('household', sa.String(length=64), nullable=True),
    sa.Column('bed', sa.Integer(), nullable=False),
    sa.Column('from_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('arrived_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('until_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=32), nullable=True),
    sa.Column('needs_cleaning', sa.Boolean(), nullable=False),
    sa.Column('cleaned_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('transport_task_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_room_stay_measure_id_measure')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_room_stay_person_id_person')),
    sa.ForeignKeyConstraint(['room_id'], ['site_room.id'], name=op.f('fk_room_stay_room_id_site_room')),
    sa.ForeignKeyConstraint(['site_id'], ['place.id'], name=op.f('fk_room_stay_site_id_place')),
    sa.ForeignKeyConstraint(['transport_task_id'], ['task.id'], name=op.f('fk_room_stay_transport_task_id_task')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_room_stay_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_stay'))
    )
    with op.batch_alter_table('room_stay', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_room_stay_measure_id'), ['measure_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_room_stay_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_room_stay_room_id'), ['room_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_room_stay_site_id'), ['site_id'], unique=False)
        batch_op.create_index('ix_room_stay_site_open', ['site_id', 'until_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_room_stay_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_room_stay_unit_path'), ['unit_path'], unique=False)
        batch_op.create_index('uq_room_stay_open_bed', ['room_id', 'bed'], unique=True, sqlite_where=sa.text('until_at IS NULL'), postgresql_where=sa.text('until_at IS NULL'))

    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('population', sa.Integer(), nullable=True))
    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('household', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('contact_of', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_measure_household'), ['household'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_contact_of'), ['contact_of'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_contact_of'))
        batch_op.drop_index(batch_op.f('ix_measure_household'))
        batch_op.drop_column('contact_of')
        batch_op.drop_column('household')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('population')

    with op.batch_alter_table('room_stay', schema=None) as batch_op:
        batch_op.drop_index('uq_room_stay_open_bed', sqlite_where=sa.text('until_at IS NULL'), postgresql_where=sa.text('until_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_room_stay_unit_path'))
        batch_op.drop_index(batch_op.f('ix_room_stay_unit_id'))
        batch_op.drop_index('ix_room_stay_site_open')
        batch_op.drop_index(batch_op.f('ix_room_stay_site_id'))
        batch_op.drop_index(batch_op.f('ix_room_stay_room_id'))
        batch_op.drop_index(batch_op.f('ix_room_stay_person_id'))
        batch_op.drop_index(batch_op.f('ix_room_stay_measure_id'))

    op.drop_table('room_stay')
    with op.batch_alter_table('site_room', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_room_unit_path'))
        batch_op.drop_index(batch_op.f('ix_site_room_unit_id'))
        batch_op.drop_index(batch_op.f('ix_site_room_site_id'))

    op.drop_table('site_room')
    with op.batch_alter_table('quarantine_site', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_site_unit_path'))
        batch_op.drop_index(batch_op.f('ix_quarantine_site_unit_id'))
        batch_op.drop_index(batch_op.f('ix_quarantine_site_status'))

    op.drop_table('quarantine_site')
