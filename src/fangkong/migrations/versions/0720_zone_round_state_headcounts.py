"""zones: a round target's state as one small integer (coverage per grid from one covering index),
and the headcounts a community declares for households where the registry is thin

Revision ID: 0720
Revises: 0710
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db
from fangkong.kernel.scoped import PathString

revision = "0720"
down_revision = "0710"
branch_labels = None
depends_on = None

#: bits of `round_target.state` (zones/models.py: TARGET_*)
_STATE = ("(CASE WHEN sampled_at IS NOT NULL THEN 1 ELSE 0 END) + (CASE WHEN result IS NOT NULL THEN 2 ELSE 0 END)"
          " + (CASE WHEN result = 'positive' THEN 4 ELSE 0 END) + (CASE WHEN excluded IS NOT NULL THEN 8 ELSE 0 END)"
          " + (CASE WHEN pool_positive_at IS NOT NULL THEN 16 ELSE 0 END)")


def upgrade() -> None:
    T = fangkong.kernel.db.UTCDateTime
    with op.batch_alter_table("round_target") as batch:
        batch.add_column(sa.Column("state", sa.Integer(), nullable=False, server_default="0"))
    op.execute(f"UPDATE round_target SET state = {_STATE}")
    op.drop_index("ix_round_target_round_unit", table_name="round_target")
    op.create_index("ix_round_target_round_unit_state", "round_target", ["round_id", "unit_id", "state"])
    op.create_table(
        "zone_declared_headcount",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address_id", sa.Integer(),
                  sa.ForeignKey("address.id", name="fk_zone_declared_headcount_address_id_address"), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("declared_at", T(), nullable=False),
        sa.Column("declared_by", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id", name="fk_zone_declared_headcount_unit_id_unit"),
                  nullable=False),
        sa.Column("unit_path", PathString, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_zone_declared_headcount"),
        sa.UniqueConstraint("address_id", name="uq_zone_declared_headcount_address_id"),
    )
    op.create_index("ix_zone_declared_headcount_unit_id", "zone_declared_headcount", ["unit_id"])
    op.create_index("ix_zone_declared_headcount_unit_path", "zone_declared_headcount", ["unit_path"])


def downgrade() -> None:
    op.drop_table("zone_declared_headcount")
    op.drop_index("ix_round_target_round_unit_state", table_name="round_target")
    op.create_index("ix_round_target_round_unit", "round_target", ["round_id", "unit_id"])
    with op.batch_alter_table("round_target") as batch:
        batch.drop_column("state")
