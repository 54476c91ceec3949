"""Translations (Babel). Message ids are English; `zh_CN` is the default UI language.

The `.po` catalogs are compiled in memory at first use (Babel's `write_mo`), so there is no build
step and no compiled `.mo` file in the repository.
"""

from __future__ import annotations

import os
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


@lru_cache(maxsize=4)
def translations(locale: str) -> NullTranslations:
    """All `*.po` files of a locale merged (one file per module keeps edits apart)."""
    files = sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))
    if not files:
        return NullTranslations()
    merged: Translations | None = None
    for po in files:
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        buf = BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        part = Translations(fp=buf)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    assert merged is not None
    return merged


def normalise_locale(value: str | None) -> str:
    """`zh`, `zh-CN`, `zh_CN.UTF-8` → `zh_CN`; `en*` → `en`; anything else → default."""
    if not value:
        return DEFAULT_LOCALE
    v = value.split(".")[0].replace("-", "_").lower()
    if v.startswith("en"):
        return "en"
    if v.startswith("zh"):
        return "zh_CN"
    return DEFAULT_LOCALE


def cli_locale() -> str:
    """The command line speaks Chinese unless LC_ALL / LC_MESSAGES / LANG asks for English (`en_*`).

    `C`, `C.UTF-8` and `POSIX` name no language (CI and containers set them): they get the default.
    """
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        v = os.environ.get(var)
        if v:
            return "en" if v.lower().startswith("en") else DEFAULT_LOCALE
    return DEFAULT_LOCALE


def gettext(message: str, locale: str | None = None) -> str:
    return translations(locale or cli_locale()).gettext(message)


def _(message: str) -> str:
    """Translate for the command line (help texts, messages)."""
    return gettext(message, cli_locale())
