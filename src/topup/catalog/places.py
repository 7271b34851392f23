"""Names of countries and regions in a traveller's language.

A zone's name is the operator's (``zones.name_en`` / ``name_zh``, set with the zone); a
country no zone of its own names (one only a region covers) is named by CLDR's territory names
(Babel), which exist in English and Chinese. A code nothing names stays a code.
"""

from __future__ import annotations

from functools import cache

from babel import Locale
from sqlalchemy import select

from topup.catalog.tables import zones
from topup.db.uow import UnitOfWork

__all__ = ["country_name", "is_chinese", "place_names"]


def is_chinese(lang: str) -> bool:
    """True for zh, zh-CN, zh_CN (any Chinese tag): the zones' ``name_zh`` applies."""
    return (lang or "").strip().lower().replace("_", "-").startswith("zh")


@cache
def _territories(chinese: bool) -> dict[str, str]:
    found = Locale.parse("zh_CN" if chinese else "en").territories
    return {str(k): str(v) for k, v in found.items()}


def country_name(code: str, lang: str) -> str:
    """CLDR's name of country ``code`` in ``lang`` (the code itself when CLDR has none)."""
    cc = (code or "").strip().upper()
    return _territories(is_chinese(lang)).get(cc, cc)


def place_names(uow: UnitOfWork, lang: str, codes: list[str] | None = None) -> dict[str, str]:
    """The name in ``lang`` of each of ``codes`` (zones and countries; None: every zone),
    the operator's zone name first, else CLDR's country name, else the code. Read once per
    unit of work (a page names the same zones again and again)."""
    key = ("zone_names", is_chinese(lang))
    if key not in uow.memo:
        column = zones.c.name_zh if is_chinese(lang) else zones.c.name_en
        rows = uow.conn.execute(select(zones.c.code, column))
        uow.memo[key] = {str(code): str(name) for code, name in rows}
    named: dict[str, str] = dict(uow.memo[key])  # type: ignore[call-overload]
    if codes is None:
        return named
    return {c: named.get(c) or country_name(c, lang) for c in codes}
