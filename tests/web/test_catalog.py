"""Every English message of the web pages has a Chinese translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from fangkong.kernel.i18n import translations

WEB = Path(__file__).resolve().parents[2] / "src" / "fangkong" / "kernel" / "web"


def web_msgids() -> list[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = extract_from_dir(
        str(WEB), method_map=[("**.html", "jinja2"), ("**.py", "python")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}, keywords=keywords)
    return sorted({m[2] if isinstance(m[2], str) else m[2][0] for m in found})


def test_every_web_message_is_translated() -> None:
    ids = web_msgids()
    assert len(ids) > 80  # the extraction found the templates
    zh = translations("zh_CN")
    missing = [m for m in ids if zh.gettext(m) == m]
    assert missing == []
    for m in ids:
        assert set(re.findall(r"%\(\w+\)s", m)) == set(re.findall(r"%\(\w+\)s", zh.gettext(m))), m
