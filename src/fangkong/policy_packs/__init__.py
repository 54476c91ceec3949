"""Policy packs shipped with Fangkong (政策包数据), read with importlib.resources."""

from __future__ import annotations

from importlib import resources

DEFAULT_PACK = "default.yaml"


def read_pack_text(name: str = DEFAULT_PACK) -> str:
    """The text of a bundled pack file (UTF-8)."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
