"""Every user-facing message in code and templates has a Chinese translation (the UI is Chinese first)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from fangkong.kernel import i18n

SRC = Path(i18n.__file__).resolve().parent.parent

METHOD_MAP = [
    ("**/templates/**.html", "jinja2"),
    ("**.py", "python"),
]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "silent": "false"}}


def _extracted() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
        str(SRC), METHOD_MAP, options_map=OPTIONS, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def test_every_message_has_a_chinese_translation():
    zh = i18n.translations("zh_CN")
    missing = [f"{where}: {msgid!r}" for msgid, where in _extracted().items() if zh.gettext(msgid) == msgid]
    assert not missing, "messages without zh_CN translation:\n" + "\n".join(sorted(missing))


def test_locale_normalisation():
    assert i18n.normalise_locale("zh-CN") == "zh_CN"
    assert i18n.normalise_locale("zh_CN.UTF-8") == "zh_CN"
    assert i18n.normalise_locale("en_US") == "en"
    assert i18n.normalise_locale(None) == "zh_CN"
    assert i18n.normalise_locale("fr") == "zh_CN"


def test_cli_follows_lang(monkeypatch):
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert i18n.cli_locale() == "zh_CN"
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert i18n.cli_locale() == "en"
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert i18n.cli_locale() == "zh_CN"
    assert i18n.gettext("Error", "zh_CN") == "错误"
    assert i18n.gettext("Error", "en") == "Error"
