"""outbox_message: SMS, pushes and assist requests for the outside, held in a drill

Revision ID: 0010
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.kernel.db import UTCDateTime

revision = "0010"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=200), nullable=True),
        sa.Column("subject_type", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_outbox_message_person_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
    )
    op.create_index(op.f("ix_outbox_message_person_id"), "outbox_message", ["person_id"])
    op.create_index(op.f("ix_outbox_message_status"), "outbox_message", ["status"])
    op.create_index("ix_outbox_message_subject", "outbox_message", ["subject_type", "subject_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_message_subject", table_name="outbox_message")
    op.drop_index(op.f("ix_outbox_message_status"), table_name="outbox_message")
    op.drop_index(op.f("ix_outbox_message_person_id"), table_name="outbox_message")
    op.drop_table("outbox_message")
