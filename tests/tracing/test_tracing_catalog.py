"""Every English message of the tracing pages and commands has a Chinese translation with the same
placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from fangkong.kernel.i18n import translations

TRACING = Path(__file__).resolve().parents[2] / "src" / "fangkong" / "tracing"


def test_every_tracing_message_is_translated() -> None:
    found = extract_from_dir(
        str(TRACING), method_map=[("**.html", "jinja2"), ("**.py", "python")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}, keywords={**DEFAULT_KEYWORDS, "N_": None})
    ids = sorted({m[2] if isinstance(m[2], str) else m[2][0] for m in found})
    assert len(ids) > 60  # the extraction found the templates
    zh = translations("zh_CN")
    assert [m for m in ids if zh.gettext(m) == m] == []
    for m in ids:
        assert set(re.findall(r"%\(\w+\)s", m)) == set(re.findall(r"%\(\w+\)s", zh.gettext(m))), m
