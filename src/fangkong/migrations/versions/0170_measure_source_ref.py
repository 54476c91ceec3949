"""control: measures taken over from another system keep the sender's reference (idempotent import)

Revision ID: 0170
Revises: 0160
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0170"
down_revision = "0160"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("measure") as batch:
        batch.add_column(sa.Column("source_ref", sa.String(length=64), nullable=True))
    op.create_index("ix_measure_source_ref", "measure", ["source_ref"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_measure_source_ref", table_name="measure")
    with op.batch_alter_table("measure") as batch:
        batch.drop_column("source_ref")
