"""testing tables: group_member, employer_headcount, sampling_hours, tube, tube_sample, tube_result,
pool_follow_up, case_candidate

Revision ID: 0200
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0200"
down_revision = "0002"
branch_labels = ("testing",)
depends_on = None


def upgrade() -> None:
    op.create_table('employer_headcount',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('group_code', sa.String(length=48), nullable=False),
    sa.Column('declared', sa.Integer(), nullable=False),
    sa.Column('declared_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('declared_by', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['place.id'], name=op.f('fk_employer_headcount_employer_id_place')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_employer_headcount_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employer_headcount')),
    sa.UniqueConstraint('employer_id', 'group_code', name='uq_employer_headcount_employer_group')
    )
    op.create_index(op.f('ix_employer_headcount_employer_id'), 'employer_headcount', ['employer_id'], unique=False)
    op.create_index(op.f('ix_employer_headcount_unit_id'), 'employer_headcount', ['unit_id'], unique=False)
    op.create_index(op.f('ix_employer_headcount_unit_path'), 'employer_headcount', ['unit_path'], unique=False)
    op.create_table('sampling_hours',
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('opens', sa.String(length=5), nullable=False),
    sa.Column('closes', sa.String(length=5), nullable=False),
    sa.Column('days', sa.String(length=7), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_sampling_hours_place_id_place'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('place_id', name=op.f('pk_sampling_hours'))
    )
    op.create_table('tube',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('pool_size', sa.Integer(), nullable=False),
    sa.Column('sampling_point_id', sa.Integer(), nullable=True),
    sa.Column('test_type', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('collected_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('closed_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('opened_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('opened_by', sa.String(length=64), nullable=False),
    sa.Column('via', sa.String(length=8), nullable=False),
    sa.Column('result', sa.String(length=8), nullable=True),
    sa.Column('reported_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('lab', sa.String(length=100), nullable=True),
    sa.Column('pool_actions_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['sampling_point_id'], ['place.id'], name=op.f('fk_tube_sampling_point_id_place')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_tube_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tube')),
    sa.UniqueConstraint('barcode', name=op.f('uq_tube_barcode'))
    )
    op.create_index(op.f('ix_tube_collected_at'), 'tube', ['collected_at'], unique=False)
    op.create_index(op.f('ix_tube_result'), 'tube', ['result'], unique=False)
    op.create_index(op.f('ix_tube_sampling_point_id'), 'tube', ['sampling_point_id'], unique=False)
    op.create_index(op.f('ix_tube_unit_id'), 'tube', ['unit_id'], unique=False)
    op.create_index(op.f('ix_tube_unit_path'), 'tube', ['unit_path'], unique=False)
    op.create_table('case_candidate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('tube_id', sa.Integer(), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('collected_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('reported_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_case_candidate_person_id_person')),
    sa.ForeignKeyConstraint(['tube_id'], ['tube.id'], name=op.f('fk_case_candidate_tube_id_tube')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_case_candidate_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_candidate')),
    sa.UniqueConstraint('person_id', 'tube_id', name='uq_case_candidate_person_tube')
    )
    op.create_index(op.f('ix_case_candidate_person_id'), 'case_candidate', ['person_id'], unique=False)
    op.create_index(op.f('ix_case_candidate_unit_id'), 'case_candidate', ['unit_id'], unique=False)
    op.create_index(op.f('ix_case_candidate_unit_path'), 'case_candidate', ['unit_path'], unique=False)
    op.create_table('group_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('group_code', sa.String(length=48), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=True),
    sa.Column('test_dates', sa.JSON(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('enrolled_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('frequency_days', sa.Integer(), nullable=True),
    sa.Column('last_negative_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('next_due_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['place.id'], name=op.f('fk_group_member_employer_id_place')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_group_member_person_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_group_member_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_member')),
    sa.UniqueConstraint('person_id', 'group_code', name='uq_group_member_person_group')
    )
    op.create_index(op.f('ix_group_member_employer_id'), 'group_member', ['employer_id'], unique=False)
    op.create_index('ix_group_member_group_employer', 'group_member', ['group_code', 'employer_id'], unique=False)
    op.create_index(op.f('ix_group_member_measure_id'), 'group_member', ['measure_id'], unique=False)
    op.create_index(op.f('ix_group_member_next_due_at'), 'group_member', ['next_due_at'], unique=False)
    op.create_index(op.f('ix_group_member_person_id'), 'group_member', ['person_id'], unique=False)
    op.create_index('ix_group_member_unit_due', 'group_member', ['unit_path', 'next_due_at'], unique=False)
    op.create_index(op.f('ix_group_member_unit_id'), 'group_member', ['unit_id'], unique=False)
    op.create_index(op.f('ix_group_member_unit_path'), 'group_member', ['unit_path'], unique=False)
    op.create_table('pool_follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tube_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('measure_id', sa.Integer(), nullable=True),
    sa.Column('retest_task_id', sa.Integer(), nullable=True),
    sa.Column('retest_due_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('created_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('resolved_by_tube_id', sa.Integer(), nullable=True),
    sa.Column('released_at', fangkong.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_path', sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_pool_follow_up_person_id_person')),
    sa.ForeignKeyConstraint(['resolved_by_tube_id'], ['tube.id'], name=op.f('fk_pool_follow_up_resolved_by_tube_id_tube')),
    sa.ForeignKeyConstraint(['retest_task_id'], ['task.id'], name=op.f('fk_pool_follow_up_retest_task_id_task')),
    sa.ForeignKeyConstraint(['tube_id'], ['tube.id'], name=op.f('fk_pool_follow_up_tube_id_tube')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_pool_follow_up_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pool_follow_up')),
    sa.UniqueConstraint('tube_id', 'person_id', name='uq_pool_follow_up_tube_person')
    )
    op.create_index(op.f('ix_pool_follow_up_person_id'), 'pool_follow_up', ['person_id'], unique=False)
    op.create_index(op.f('ix_pool_follow_up_status'), 'pool_follow_up', ['status'], unique=False)
    op.create_index(op.f('ix_pool_follow_up_tube_id'), 'pool_follow_up', ['tube_id'], unique=False)
    op.create_index(op.f('ix_pool_follow_up_unit_id'), 'pool_follow_up', ['unit_id'], unique=False)
    op.create_index(op.f('ix_pool_follow_up_unit_path'), 'pool_follow_up', ['unit_path'], unique=False)
    op.create_table('tube_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tube_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=8), nullable=False),
    sa.Column('ct_values', sa.JSON(), nullable=True),
    sa.Column('lab', sa.String(length=100), nullable=True),
    sa.Column('reported_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('received_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('via', sa.String(length=8), nullable=False),
    sa.Column('received_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tube_id'], ['tube.id'], name=op.f('fk_tube_result_tube_id_tube'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tube_result')),
    sa.UniqueConstraint('tube_id', 'version', name='uq_tube_result_tube_version')
    )
    op.create_table('tube_sample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tube_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('collected_at', fangkong.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_tube_sample_person_id_person')),
    sa.ForeignKeyConstraint(['tube_id'], ['tube.id'], name=op.f('fk_tube_sample_tube_id_tube'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tube_sample')),
    sa.UniqueConstraint('tube_id', 'person_id', name='uq_tube_sample_tube_person')
    )
    op.create_index(op.f('ix_tube_sample_person_id'), 'tube_sample', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_tube_sample_person_id'), table_name='tube_sample')
    op.drop_table('tube_sample')
    op.drop_table('tube_result')
    op.drop_index(op.f('ix_pool_follow_up_unit_path'), table_name='pool_follow_up')
    op.drop_index(op.f('ix_pool_follow_up_unit_id'), table_name='pool_follow_up')
    op.drop_index(op.f('ix_pool_follow_up_tube_id'), table_name='pool_follow_up')
    op.drop_index(op.f('ix_pool_follow_up_status'), table_name='pool_follow_up')
    op.drop_index(op.f('ix_pool_follow_up_person_id'), table_name='pool_follow_up')
    op.drop_table('pool_follow_up')
    op.drop_index(op.f('ix_group_member_unit_path'), table_name='group_member')
    op.drop_index(op.f('ix_group_member_unit_id'), table_name='group_member')
    op.drop_index('ix_group_member_unit_due', table_name='group_member')
    op.drop_index(op.f('ix_group_member_person_id'), table_name='group_member')
    op.drop_index(op.f('ix_group_member_next_due_at'), table_name='group_member')
    op.drop_index(op.f('ix_group_member_measure_id'), table_name='group_member')
    op.drop_index('ix_group_member_group_employer', table_name='group_member')
    op.drop_index(op.f('ix_group_member_employer_id'), table_name='group_member')
    op.drop_table('group_member')
    op.drop_index(op.f('ix_case_candidate_unit_path'), table_name='case_candidate')
    op.drop_index(op.f('ix_case_candidate_unit_id'), table_name='case_candidate')
    op.drop_index(op.f('ix_case_candidate_person_id'), table_name='case_candidate')
    op.drop_table('case_candidate')
    op.drop_index(op.f('ix_tube_unit_path'), table_name='tube')
    op.drop_index(op.f('ix_tube_unit_id'), table_name='tube')
    op.drop_index(op.f('ix_tube_sampling_point_id'), table_name='tube')
    op.drop_index(op.f('ix_tube_result'), table_name='tube')
    op.drop_index(op.f('ix_tube_collected_at'), table_name='tube')
    op.drop_table('tube')
    op.drop_table('sampling_hours')
    op.drop_index(op.f('ix_employer_headcount_unit_path'), table_name='employer_headcount')
    op.drop_index(op.f('ix_employer_headcount_unit_id'), table_name='employer_headcount')
    op.drop_index(op.f('ix_employer_headcount_employer_id'), table_name='employer_headcount')
    op.drop_table('employer_headcount')
