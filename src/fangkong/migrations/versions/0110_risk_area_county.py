"""risk areas by county code: county_code and places on risk_area; existing rows resolved

Each stored row's region (its `region_code` when that is a county of today, else its `region_name`)
is resolved to a GB/T 2260 county and the places inside it, as `intake.areas.locate` reads a new row.
Rows that name no single county (鼓楼区 alone, 本市) are kept as they were, with no county: they match
nobody until someone fixes where they lie (the risk-area page marks them). Nothing is deleted.

Revision ID: 0110
Revises: 0100
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0110"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_area", schema=None) as batch_op:
        batch_op.add_column(sa.Column("county_code", sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column("places", sa.JSON(), nullable=True))
        batch_op.alter_column("region_name", existing_type=sa.String(length=100), type_=sa.String(length=255),
                              existing_nullable=False)
        batch_op.alter_column("name_key", existing_type=sa.String(length=100), type_=sa.String(length=255),
                              existing_nullable=False)
        batch_op.create_index(batch_op.f("ix_risk_area_county_code"), ["county_code"], unique=False)
    _resolve_rows()
    with op.batch_alter_table("risk_area", schema=None) as batch_op:
        batch_op.alter_column("places", existing_type=sa.JSON(), nullable=False)


def _resolve_rows() -> None:
    from fangkong.intake.areas import locate

    bind = op.get_bind()
    area = sa.table("risk_area", sa.column("id", sa.Integer), sa.column("region_code", sa.String),
                    sa.column("region_name", sa.String), sa.column("name_key", sa.String),
                    sa.column("level", sa.String), sa.column("start_at", sa.String),
                    sa.column("county_code", sa.String), sa.column("places", sa.JSON))
    rows = bind.execute(sa.select(area.c.id, area.c.region_code, area.c.region_name, area.c.name_key,
                                  area.c.level, area.c.start_at).order_by(area.c.id)).all()
    taken = {(r.name_key, r.level, r.start_at) for r in rows}
    for r in rows:
        where = locate(region_name=r.region_name, region_code=r.region_code)
        if where.issues and r.region_code:  # a code that is no county (a prefix like 3101): read the name
            where = locate(region_name=r.region_name)
        if where.issues or where.county_code is None:
            bind.execute(area.update().where(area.c.id == r.id).values(places=[]))
            continue
        key = where.key
        if (key, r.level, r.start_at) in taken and key != r.name_key:
            # two old rows for one area ("南京市鼓楼区" and "南京鼓楼区"): both kept; the later keeps its old key
            bind.execute(area.update().where(area.c.id == r.id).values(county_code=where.county_code,
                                                                        places=list(where.places)))
            continue
        taken.discard((r.name_key, r.level, r.start_at))
        taken.add((key, r.level, r.start_at))
        bind.execute(area.update().where(area.c.id == r.id).values(county_code=where.county_code,
                                                                    places=list(where.places), name_key=key))


def downgrade() -> None:
    """Drops the county and places; keys go back to the normalised text where that clashes with no row
    (the wider text columns stay wide: narrowing could cut text)."""
    from fangkong.kernel.jurisdictions.regions import region_key

    bind = op.get_bind()
    area = sa.table("risk_area", sa.column("id", sa.Integer), sa.column("region_name", sa.String),
                    sa.column("name_key", sa.String), sa.column("level", sa.String), sa.column("start_at", sa.String))
    rows = bind.execute(sa.select(area.c.id, area.c.region_name, area.c.name_key, area.c.level,
                                  area.c.start_at).order_by(area.c.id)).all()
    taken = {(r.name_key, r.level, r.start_at) for r in rows}
    for r in rows:
        key = region_key(r.region_name)[:100]
        if (key, r.level, r.start_at) not in taken:
            taken.discard((r.name_key, r.level, r.start_at))
            taken.add((key, r.level, r.start_at))
            bind.execute(area.update().where(area.c.id == r.id).values(name_key=key))
    with op.batch_alter_table("risk_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_area_county_code"))
        batch_op.drop_column("places")
        batch_op.drop_column("county_code")
