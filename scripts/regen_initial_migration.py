"""Regenerate migrations/versions/0001 from the models (pre-release only: no deployed databases yet).

Usage: .venv/bin/python scripts/regen_initial_migration.py
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

VERSIONS = Path(__file__).resolve().parent.parent / "src/fangkong/migrations/versions"

with tempfile.TemporaryDirectory() as tmp:
    os.environ["FANGKONG_DATABASE_URL"] = f"sqlite:///{tmp}/regen.db"
    from alembic import command

    from fangkong.kernel.db import alembic_config, get_engine

    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    # later hand-written migrations (triggers …) are set aside while 0001 is generated against an empty database
    later = [(p, p.read_text()) for p in VERSIONS.glob("[0-9]*.py")]
    for p, _ in later:
        p.unlink()
    try:
        cfg = alembic_config(get_engine())
        cfg.attributes["kernel_only"] = True
        command.revision(cfg, message="kernel tables", autogenerate=True, rev_id="0001")
    finally:
        for p, body in later:
            p.write_text(body)
    new = next(VERSIONS.glob("0001_*.py"))
    text = re.sub(r"Create Date: .*\n", "", new.read_text())
    new.write_text(text.replace("Revises: \n", "Revises:\n"))
    print(f"wrote {new}")
