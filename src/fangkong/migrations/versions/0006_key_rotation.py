"""key_rotation: where a field-encryption key rotation stands (resumable re-encryption)

Revision ID: 0006
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.kernel.db import UTCDateTime

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_rotation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_key", sa.Integer(), nullable=False),
        sa.Column("to_key", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_rotation")),
    )
    op.create_index(op.f("ix_key_rotation_status"), "key_rotation", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_key_rotation_status"), table_name="key_rotation")
    op.drop_table("key_rotation")
