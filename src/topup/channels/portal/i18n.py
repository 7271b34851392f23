"""Languages of the portal: gettext catalogues (Babel) loaded at run time, and the choice of
language from the user's profile, a cookie, or Accept-Language.

English is the source language: msgids are the English texts. ``locale/zh_CN/LC_MESSAGES/``
holds the Chinese, one ``.po`` per section (``messages.po`` for the traveller pages,
``admin.po`` for the console, ``pos.po`` for the agent POS); they are read with Babel, merged
and compiled in memory on first use, so a fresh clone needs no build step. ``N_`` marks a
text for extraction where it is defined and translated where it is shown.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGS = ("en", "zh-CN")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
BABEL_LOCALES = {"en": "en", "zh-CN": "zh_CN"}
LANG_COOKIE = "topup_lang"


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it here."""
    return message


def catalogue_path(lang: str) -> Path:
    """Where the traveller pages' .po file of ``lang`` lives."""
    return LOCALE_DIR / BABEL_LOCALES[lang] / "LC_MESSAGES" / "messages.po"


def catalogue_paths(lang: str) -> list[Path]:
    """Every .po file of ``lang``, ``messages.po`` first."""
    folder = catalogue_path(lang).parent
    others = sorted(p for p in folder.glob("*.po") if p.name != "messages.po")
    return [catalogue_path(lang), *others]


def catalogue(lang: str) -> Catalog:
    """The sections' catalogues of ``lang`` merged into one (a later file cannot redefine a
    text an earlier one translates: sections share the traveller pages' words)."""
    merged: Catalog | None = None
    for path in catalogue_paths(lang):
        with path.open("rb") as fh:
            part = read_po(fh, locale=BABEL_LOCALES[lang])
        if merged is None:
            merged = part
            continue
        for message in part:
            if message.id and message.id not in merged:
                merged[message.id] = message
    assert merged is not None
    return merged


@lru_cache(maxsize=4)
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of ``lang`` (English needs none: msgids are English)."""
    if lang == DEFAULT:
        return NullTranslations()
    catalog = catalogue(lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def normalise(tag: str | None) -> str | None:
    """``zh-CN`` for any Chinese tag, ``en`` for any English one, else None."""
    low = (tag or "").strip().lower().replace("_", "-")
    if low.startswith("zh"):
        return "zh-CN"
    if low.startswith("en"):
        return "en"
    return None


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header (q-values respected)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = normalise(tag)
        if lang and q > 0:
            ranked.append((-q, index, lang))
    return sorted(ranked)[0][2] if ranked else DEFAULT


@dataclass(frozen=True)
class Translator:
    """Texts of one language: ``gettext("Hello %(name)s", name=…)`` fills in the values."""

    lang: str

    @property
    def locale(self) -> str:
        """The Babel locale name (``en``, ``zh_CN``) for dates, numbers and money."""
        return BABEL_LOCALES[self.lang]

    def gettext(self, message: str, **values: object) -> str:
        text = translations(self.lang).gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = translations(self.lang).ngettext(singular, plural, n)
        return text % {"num": n, **values}


def translator(lang: str | None) -> Translator:
    """A Translator for ``lang`` (anything unknown is English)."""
    return Translator(normalise(lang) or DEFAULT)
