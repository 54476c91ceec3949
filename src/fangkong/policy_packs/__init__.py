"""Policy packs shipped with Fangkong (政策包数据), read with importlib.resources.

- `default.yaml`: 新型冠状病毒肺炎防控方案(第九版), 2022-06-28, with Jiangsu and city practice (active
  after `fangkong init`);
- `ershitiao.yaml`: 二十条, 2022-11-11 (no secondary contacts, high and low risk areas only);
- `xinshitiao.yaml`: 新十条, 2022-12-07 (home quarantine for close contacts, high-risk areas only, no
  area-wide testing, no checks of travellers' tests).

`fangkong init` stores all of them; only the default is activated.
"""

from __future__ import annotations

from importlib import resources

DEFAULT_PACK = "default.yaml"
#: every bundled pack file, the default first
BUNDLED_PACKS: tuple[str, ...] = (DEFAULT_PACK, "ershitiao.yaml", "xinshitiao.yaml")


def read_pack_text(name: str = DEFAULT_PACK) -> str:
    """The text of a bundled pack file (UTF-8)."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
