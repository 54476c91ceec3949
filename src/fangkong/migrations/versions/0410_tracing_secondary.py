"""tracing_contact: first_contact_at, promoted_to_id, released_at, release_rule (secondary contacts
follow their close contact; venue co-visitors are their own tier)

Revision ID: 0410
Revises: 0400
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db

revision = "0410"
down_revision = "0400"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tracing_contact") as batch:
        batch.add_column(sa.Column("first_contact_at", fangkong.kernel.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("promoted_to_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("released_at", fangkong.kernel.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("release_rule", sa.String(length=64), nullable=True))
    # venue co-visitors were stored as close contacts: they are their own tier (场所同时段人员)
    op.execute("UPDATE tracing_contact SET tier = 'colocation' WHERE kind = 'colocation' AND category = 'colocation'")


def downgrade() -> None:
    op.execute("UPDATE tracing_contact SET tier = 'close' WHERE tier = 'colocation'")
    with op.batch_alter_table("tracing_contact") as batch:
        batch.drop_column("release_rule")
        batch.drop_column("released_at")
        batch.drop_column("promoted_to_id")
        batch.drop_column("first_contact_at")
