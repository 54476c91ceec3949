"""zones tables: zone, zone_address, zone_event, zone_resident, testing_round, round_target

Revision ID: 0700
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.kernel.db
from fangkong.kernel.scoped import PathString

revision = "0700"
down_revision = "0002"
branch_labels = ("zones",)
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
    op.create_table(
        "zone",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ref", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("starts_at", T(), nullable=False),
        sa.Column("level_since", T(), nullable=False),
        sa.Column("came_from_high", sa.Boolean(), nullable=False),
        sa.Column("ended_at", T(), nullable=True),
        sa.Column("drawn_by_id", sa.Integer(), nullable=True),
        sa.Column("drawn_by", sa.String(64), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("addresses", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("risk_area_id", sa.Integer(), nullable=True),
        *_scoped("zone"),
        sa.PrimaryKeyConstraint("id", name="pk_zone"),
        sa.UniqueConstraint("ref", name="uq_zone_ref"),
    )
    op.create_index("ix_zone_status", "zone", ["status"])
    _scoped_indexes("zone")
    op.create_table(
        "zone_address",
        sa.Column("zone_id", sa.Integer(), sa.ForeignKey("zone.id", name="fk_zone_address_zone_id_zone"),
                  nullable=False),
        sa.Column("address_id", sa.Integer(),
                  sa.ForeignKey("address.id", name="fk_zone_address_address_id_address"), nullable=False),
        *_scoped("zone_address"),
        sa.PrimaryKeyConstraint("zone_id", "address_id", name="pk_zone_address"),
    )
    op.create_index("ix_zone_address_address_id", "zone_address", ["address_id"])
    _scoped_indexes("zone_address")
    op.create_table(
        "zone_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("zone_id", sa.Integer(), sa.ForeignKey("zone.id", name="fk_zone_event_zone_id_zone"),
                  nullable=False),
        sa.Column("at", T(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_level", sa.String(8), nullable=True),
        sa.Column("to_level", sa.String(8), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_zone_event"),
    )
    op.create_index("ix_zone_event_zone_id", "zone_event", ["zone_id"])
    op.create_table(
        "zone_resident",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("zone_id", sa.Integer(), sa.ForeignKey("zone.id", name="fk_zone_resident_zone_id_zone"),
                  nullable=False),
        sa.Column("person_id", sa.Integer(),
                  sa.ForeignKey("person.id", name="fk_zone_resident_person_id_person"), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=True),
        sa.Column("started_at", T(), nullable=False),
        sa.Column("ended_at", T(), nullable=True),
        *_scoped("zone_resident"),
        sa.PrimaryKeyConstraint("id", name="pk_zone_resident"),
    )
    op.create_index("ix_zone_resident_zone_id", "zone_resident", ["zone_id"])
    op.create_index("ix_zone_resident_person_id", "zone_resident", ["person_id"])
    op.create_index("ix_zone_resident_zone_person", "zone_resident", ["zone_id", "person_id"])
    _scoped_indexes("zone_resident")
    op.create_table(
        "testing_round",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("zone_id", sa.Integer(), sa.ForeignKey("zone.id", name="fk_testing_round_zone_id_zone"),
                  nullable=True),
        sa.Column("level", sa.String(8), nullable=True),
        sa.Column("sampling", sa.String(16), nullable=False),
        sa.Column("started_at", T(), nullable=False),
        sa.Column("deadline_at", T(), nullable=False),
        sa.Column("targets", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("knocked_at", T(), nullable=True),
        *_scoped("testing_round"),
        sa.PrimaryKeyConstraint("id", name="pk_testing_round"),
    )
    op.create_index("ix_testing_round_zone_id", "testing_round", ["zone_id"])
    _scoped_indexes("testing_round")
    op.create_table(
        "round_target",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(),
                  sa.ForeignKey("testing_round.id", name="fk_round_target_round_id_testing_round"), nullable=False),
        sa.Column("person_id", sa.Integer(),
                  sa.ForeignKey("person.id", name="fk_round_target_person_id_person"), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=True),
        sa.Column("building_key", sa.String(255), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("excluded", sa.String(24), nullable=True),
        sa.Column("excluded_note", sa.String(200), nullable=True),
        sa.Column("sampled_at", T(), nullable=True),
        sa.Column("result", sa.String(8), nullable=True),
        sa.Column("resulted_at", T(), nullable=True),
        *_scoped("round_target"),
        sa.PrimaryKeyConstraint("id", name="pk_round_target"),
        sa.UniqueConstraint("round_id", "person_id", name="uq_round_target_round_person"),
    )
    op.create_index("ix_round_target_person_id", "round_target", ["person_id"])
    op.create_index("ix_round_target_round_unit", "round_target", ["round_id", "unit_id"])
    _scoped_indexes("round_target")


def downgrade() -> None:
    for table in ("round_target", "testing_round", "zone_resident", "zone_event", "zone_address", "zone"):
        op.drop_table(table)
