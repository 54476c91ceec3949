"""tracing tables: tracing_case, tracing_case_place, tracing_contact, tracing_case_link

Revision ID: 0400
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0400"
down_revision = "0002"
branch_labels = ("tracing",)
depends_on = None


def upgrade() -> None:
    op.create_table('tracing_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('classification', sa.String(length=16), nullable=False),
    sa.Column('detection_channel', sa.String(length=24), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('sampled_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('onset_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('result_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('isolated_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('investigation_task_id', sa.Integer(), nullable=True),
    sa.Column('core_due_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('report_due_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('core_done_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('report_done_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('pack_version', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['investigation_task_id'], ['task.id'], name=op.f('fk_tracing_case_investigation_task_id_task')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_tracing_case_person_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_tracing_case_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracing_case')),
    sa.UniqueConstraint('candidate_id', name=op.f('uq_tracing_case_candidate_id'))
    )
    op.create_index(op.f('ix_tracing_case_created_at'), 'tracing_case', ['created_at'], unique=False)
    op.create_index(op.f('ix_tracing_case_person_id'), 'tracing_case', ['person_id'], unique=False)
    op.create_index(op.f('ix_tracing_case_status'), 'tracing_case', ['status'], unique=False)
    op.create_index(op.f('ix_tracing_case_unit_id'), 'tracing_case', ['unit_id'], unique=False)
    op.create_index(op.f('ix_tracing_case_unit_path'), 'tracing_case', ['unit_path'], unique=False)
    op.create_table('tracing_case_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_case_id', sa.Integer(), nullable=False),
    sa.Column('target_case_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['source_case_id'], ['tracing_case.id'], name=op.f('fk_tracing_case_link_source_case_id_tracing_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_case_id'], ['tracing_case.id'], name=op.f('fk_tracing_case_link_target_case_id_tracing_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracing_case_link')),
    sa.UniqueConstraint('source_case_id', 'target_case_id', name='uq_tracing_case_link_pair')
    )
    op.create_index('ix_tracing_case_link_source', 'tracing_case_link', ['source_case_id'], unique=False)
    op.create_index(op.f('ix_tracing_case_link_target_case_id'), 'tracing_case_link', ['target_case_id'], unique=False)
    op.create_table('tracing_case_place',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('visited_from', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('visited_until', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['tracing_case.id'], name=op.f('fk_tracing_case_place_case_id_tracing_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracing_case_place'))
    )
    op.create_index(op.f('ix_tracing_case_place_case_id'), 'tracing_case_place', ['case_id'], unique=False)
    op.create_table('tracing_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('via_contact_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('relation', sa.String(length=64), nullable=True),
    sa.Column('last_contact_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('venue_id', sa.Integer(), nullable=True),
    sa.Column('overlap_min', sa.Float(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('source_ref', sa.String(length=128), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('confirmed_by', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['tracing_case.id'], name=op.f('fk_tracing_contact_case_id_tracing_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_tracing_contact_person_id_person')),
    sa.ForeignKeyConstraint(['via_contact_id'], ['tracing_contact.id'], name=op.f('fk_tracing_contact_via_contact_id_tracing_contact')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracing_contact')),
    sa.UniqueConstraint('source_ref', name=op.f('uq_tracing_contact_source_ref'))
    )
    op.create_index(op.f('ix_tracing_contact_case_id'), 'tracing_contact', ['case_id'], unique=False)
    op.create_index(op.f('ix_tracing_contact_lead_id'), 'tracing_contact', ['lead_id'], unique=False)
    op.create_index(op.f('ix_tracing_contact_person_id'), 'tracing_contact', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_tracing_contact_person_id'), table_name='tracing_contact')
    op.drop_index(op.f('ix_tracing_contact_lead_id'), table_name='tracing_contact')
    op.drop_index(op.f('ix_tracing_contact_case_id'), table_name='tracing_contact')
    op.drop_table('tracing_contact')
    op.drop_index(op.f('ix_tracing_case_place_case_id'), table_name='tracing_case_place')
    op.drop_table('tracing_case_place')
    op.drop_index(op.f('ix_tracing_case_link_target_case_id'), table_name='tracing_case_link')
    op.drop_index('ix_tracing_case_link_source', table_name='tracing_case_link')
    op.drop_table('tracing_case_link')
    op.drop_index(op.f('ix_tracing_case_unit_path'), table_name='tracing_case')
    op.drop_index(op.f('ix_tracing_case_unit_id'), table_name='tracing_case')
    op.drop_index(op.f('ix_tracing_case_status'), table_name='tracing_case')
    op.drop_index(op.f('ix_tracing_case_person_id'), table_name='tracing_case')
    op.drop_index(op.f('ix_tracing_case_created_at'), table_name='tracing_case')
    op.drop_table('tracing_case')
