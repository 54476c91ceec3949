"""api_token: creator, its permissions at creation, read-only and named-operation scopes

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table otherwise
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ceiling", sa.Text(), nullable=True))
        batch.add_column(sa.Column("read_only", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("operations", sa.String(length=500), nullable=True))
        batch.create_foreign_key(op.f("fk_api_token_created_by_id_app_user"), "app_user",
                                 ["created_by_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_constraint(op.f("fk_api_token_created_by_id_app_user"), type_="foreignkey")
        batch.drop_column("operations")
        batch.drop_column("read_only")
        batch.drop_column("ceiling")
        batch.drop_column("created_by_id")
