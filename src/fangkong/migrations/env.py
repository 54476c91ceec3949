"""Alembic environment: the engine comes from the caller (fangkong.kernel.db.migrate) or settings."""

from __future__ import annotations

from alembic import context

from fangkong.kernel.db import Base, get_engine
from fangkong.registry import import_all_models

import_all_models()
config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or get_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
