"""lead (received_at, unit_path) and group_member (unit_path, next_due_at, active, group_code) indexes

The daily clearance (日产日清) reads the leads received on one day inside one unit's subtree: the
day bounds the range, and the unit path is checked inside the same index entries, so a district's
page never visits another district's rows. It replaces the single-column index (any query on
`received_at` alone uses the new one's prefix), so intake writes no extra index.

group_member: (unit_path, next_due_at) becomes (unit_path, next_due_at, active, group_code), again in
place of the old one: the compliance summary (应检尽检汇总) is one grouped statement over the members,
and with every column it reads in the index it scans the index alone (no lookup of 1,000,000 rows);
lists keep using the same leading columns. Needs the testing tables (0200).

Revision ID: 0140
Revises: 0100
"""
from __future__ import annotations

from alembic import op

revision = "0140"
down_revision = "0100"
branch_labels = None
depends_on = ("0200",)


def upgrade() -> None:
    op.create_index("ix_lead_received_unit", "lead", ["received_at", "unit_path"], unique=False)
    op.drop_index("ix_lead_received_at", table_name="lead")
    op.create_index("ix_group_member_unit_due_active", "group_member",
                    ["unit_path", "next_due_at", "active", "group_code"], unique=False)
    op.drop_index("ix_group_member_unit_due", table_name="group_member")


def downgrade() -> None:
    op.create_index("ix_group_member_unit_due", "group_member", ["unit_path", "next_due_at"], unique=False)
    op.drop_index("ix_group_member_unit_due_active", table_name="group_member")
    op.create_index("ix_lead_received_at", "lead", ["received_at"], unique=False)
    op.drop_index("ix_lead_received_unit", table_name="lead")
