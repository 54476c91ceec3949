"""control: check-in reminders (08:00 and 15:00), one per person and check-in slot

Revision ID: 0180
Revises: 0170
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0180"
down_revision = "0170"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkin_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('slot_start', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_checkin_reminder_person_id_person')),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_checkin_reminder_measure_id_measure')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_reminder')),
    sa.UniqueConstraint('person_id', 'slot_start', name='uq_checkin_reminder_slot'),
    )
    op.create_index(op.f('ix_checkin_reminder_measure_id'), 'checkin_reminder', ['measure_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_checkin_reminder_measure_id'), table_name='checkin_reminder')
    op.drop_table('checkin_reminder')
