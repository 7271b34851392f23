"""Every text the web pages show (the portal, the console, the point of sale) has a Chinese
translation, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

import topup.channels as channels
from topup.channels.portal.i18n import catalogue, catalogue_path, translator

SECTIONS = ("portal", "admin", "pos")
ROOTS = [Path(channels.__file__).parent / name for name in SECTIONS]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def used_messages() -> set[str | tuple[str, ...]]:
    """Every msgid in the sections' code (``N_``, ``gettext``) and templates (``_``)."""
    found: set[str | tuple[str, ...]] = set()
    for root in ROOTS:
        if not root.is_dir():
            continue
        for _, _, message, _, _ in extract_from_dir(str(root), method_map=[
                ("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]):
            found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_the_extraction_sees_code_and_templates() -> None:
    used = used_messages()
    assert "Log in" in used  # a template
    assert "Auto-renew is on." in used  # an N_() notice in Python
    assert ("%(num)s day", "%(num)s days") in used  # a plural
    assert len(used) > 150


def test_every_message_has_a_chinese_translation() -> None:
    merged = catalogue("zh-CN")
    missing, broken = [], []
    for message in used_messages():
        key = message[0] if isinstance(message, tuple) else message
        entry = merged.get(key)
        strings = entry.string if entry else None
        texts = list(strings) if isinstance(strings, tuple) else [strings]
        if not entry or not all(texts):
            missing.append(key)
            continue
        wanted = set(PLACEHOLDER.findall(key))
        if any(set(PLACEHOLDER.findall(t or "")) != wanted for t in texts):
            broken.append(key)
    assert missing == [], f"add these to a .po file in {catalogue_path('zh-CN').parent}: {missing}"
    assert broken == [], f"placeholders differ from the English: {broken}"


def test_the_catalogue_is_read_at_run_time() -> None:
    zh = translator("zh-CN")
    assert zh.gettext("Log in") == "登录"
    assert zh.gettext("%(time)s left", time="5天") == "剩余 5天"
    assert zh.ngettext("%(num)s day", "%(num)s days", 7) == "7 天"
    assert translator("en").ngettext("%(num)s day", "%(num)s days", 1) == "1 day"
    assert translator("fr").gettext("Log in") == "Log in"
