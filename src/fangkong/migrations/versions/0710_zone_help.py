"""zones: help requests of sealed households, special needs, positive pools of round targets

Revision ID: 0710
Revises: 0700
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db
from fangkong.kernel.scoped import PathString

revision = "0710"
down_revision = "0700"
branch_labels = None
depends_on = None


def _scoped(table: str) -> list[sa.Column]:
    return [sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id", name=f"fk_{table}_unit_id_unit"),
                      nullable=False),
            sa.Column("unit_path", PathString, nullable=False)]


def _scoped_indexes(table: str) -> None:
    op.create_index(f"ix_{table}_unit_id", table, ["unit_id"])
    op.create_index(f"ix_{table}_unit_path", table, ["unit_path"])


def upgrade() -> None:
    T = fangkong.kernel.db.UTCDateTime
    with op.batch_alter_table("round_target") as batch:
        batch.add_column(sa.Column("pool_positive_at", T(), nullable=True))
    op.create_table(
        "zone_help_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("zone_id", sa.Integer(), sa.ForeignKey("zone.id", name="fk_zone_help_request_zone_id_zone"),
                  nullable=True),
        sa.Column("person_id", sa.Integer(),
                  sa.ForeignKey("person.id", name="fk_zone_help_request_person_id_person"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("due_at", T(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("hospital", sa.String(200), nullable=True),
        sa.Column("served_at", T(), nullable=True),
        sa.Column("served_by", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(500), nullable=True),
        sa.Column("token", sa.String(32), nullable=False),
        *_scoped("zone_help_request"),
        sa.PrimaryKeyConstraint("id", name="pk_zone_help_request"),
        sa.UniqueConstraint("token", name="uq_zone_help_request_token"),
    )
    op.create_index("ix_zone_help_request_zone_id", "zone_help_request", ["zone_id"])
    op.create_index("ix_zone_help_request_person_id", "zone_help_request", ["person_id"])
    op.create_index("ix_zone_help_request_status", "zone_help_request", ["status"])
    _scoped_indexes("zone_help_request")
    op.create_table(
        "zone_special_need",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(),
                  sa.ForeignKey("person.id", name="fk_zone_special_need_person_id_person"), nullable=False),
        sa.Column("need", sa.String(24), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("recorded_at", T(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        *_scoped("zone_special_need"),
        sa.PrimaryKeyConstraint("id", name="pk_zone_special_need"),
        sa.UniqueConstraint("person_id", "need", name="uq_zone_special_need_person_need"),
    )
    op.create_index("ix_zone_special_need_person_id", "zone_special_need", ["person_id"])
    _scoped_indexes("zone_special_need")


def downgrade() -> None:
    op.drop_table("zone_special_need")
    op.drop_table("zone_help_request")
    with op.batch_alter_table("round_target") as batch:
        batch.drop_column("pool_positive_at")
