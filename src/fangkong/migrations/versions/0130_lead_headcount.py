"""lead.headcount: 四个查清 人数 — persons at the address, household included, as the grid verified it

Revision ID: 0130
Revises: 0100
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0130"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lead") as batch:
        batch.add_column(sa.Column("headcount", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead") as batch:
        batch.drop_column("headcount")
