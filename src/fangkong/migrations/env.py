"""Alembic environment: the engine comes from the caller (fangkong.kernel.db.migrate) or settings."""

from __future__ import annotations

from alembic import context

from fangkong.kernel.db import Base, get_engine
from fangkong.registry import import_all_models

config = context.config
if config.attributes.get("kernel_only"):
    # scripts/regen_initial_migration.py: 0001 holds the kernel's tables only; capabilities own theirs
    import fangkong.kernel.models  # noqa: F401
else:
    import_all_models()
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
