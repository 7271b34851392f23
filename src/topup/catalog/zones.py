"""Zones: countries (ISO 3166-1 alpha-2) and regions, and which countries each one covers.

Country codes are checked against CLDR's territory list (from Babel), less the codes that are
not countries (EU, UN, pseudo-locales…), so that a typo such as "UK" is refused.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from babel import Locale
from sqlalchemy import case, delete, insert, select, update

from topup.catalog.errors import InvalidCatalogEntry, UnknownZone
from topup.catalog.tables import ZONE_KINDS, zone_countries, zones
from topup.db.uow import UnitOfWork

_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})
_REGION_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{1,15}$")


@cache
def _countries() -> frozenset[str]:
    codes = [c for c in Locale("en").territories if isinstance(c, str)]
    return frozenset(c for c in codes if len(c) == 2 and c.isalpha()) - _NOT_COUNTRIES


def is_country(code: str) -> bool:
    """True when ``code`` is an ISO 3166-1 alpha-2 country code (upper case)."""
    return code in _countries()


def check_country(code: str) -> str:
    """Return the upper-cased country code, or raise ``InvalidCatalogEntry``."""
    cc = (code or "").strip().upper()
    if not is_country(cc):
        raise InvalidCatalogEntry(f"unknown country code {code!r}", field="country")
    return cc


def zone_kind(uow: UnitOfWork, code: str) -> str:
    """The kind ('country' or 'region') of zone ``code``; ``UnknownZone`` when there is none."""
    kind = uow.conn.execute(select(zones.c.kind).where(zones.c.code == code)).scalar()
    if kind is None:
        raise UnknownZone(f"no zone {code!r}", zone=code)
    return str(kind)


def _check_zone(code: str, kind: str, name_en: str, name_zh: str, countries: list[str]) -> set[str]:
    if kind not in ZONE_KINDS:
        raise InvalidCatalogEntry(f"zone kind must be one of {ZONE_KINDS}, not {kind!r}")
    if not all(0 < len(n.strip()) <= 120 for n in (name_en, name_zh)):
        raise InvalidCatalogEntry(
            f"zone {code!r} needs an English and a Chinese name of 1-120 characters"
        )
    covered = {check_country(c) for c in countries}
    if kind == "country":
        covered.add(check_country(code))
    elif not _REGION_CODE.match(code) or is_country(code):
        raise InvalidCatalogEntry(
            f"region code {code!r} must be 2-16 upper-case letters/digits and not a country code"
        )
    elif not covered:
        raise InvalidCatalogEntry(f"region {code!r} covers no country")
    return covered


def upsert_zone(
    uow: UnitOfWork, code: str, kind: str, name_en: str, name_zh: str, countries: list[str]
) -> None:
    """Create or update a zone and replace the countries it covers (a country covers itself)."""
    code = (code or "").strip().upper()
    covered = _check_zone(code, kind, name_en, name_zh, countries)
    values = {"kind": kind, "name_en": name_en.strip(), "name_zh": name_zh.strip()}
    found = uow.conn.execute(select(zones.c.kind).where(zones.c.code == code)).scalar()
    if found is None:
        uow.conn.execute(insert(zones).values(code=code, **values))
    else:
        uow.conn.execute(update(zones).where(zones.c.code == code).values(**values))
    uow.conn.execute(delete(zone_countries).where(zone_countries.c.zone_code == code))
    uow.conn.execute(
        insert(zone_countries), [{"zone_code": code, "country": c} for c in sorted(covered)]
    )
    uow.memo.clear()  # zones and prices read earlier in this unit are stale now


def zone_covers(uow: UnitOfWork, zone_code: str, country: str) -> bool:
    """True when zone ``zone_code`` covers ``country``."""
    row = uow.conn.execute(
        select(zone_countries.c.zone_code).where(
            zone_countries.c.zone_code == zone_code.strip().upper(),
            zone_countries.c.country == country.strip().upper(),
        )
    ).first()
    return row is not None


_KIND_ORDER = case((zones.c.kind == "country", 0), else_=1)


def zones_covering(uow: UnitOfWork, country: str) -> list[str]:
    """Codes of every zone covering ``country``: its own country zone first, then regions
    (read once per unit of work: a batch asks for the same few countries)."""
    cc = country.strip().upper()
    key = ("zones_covering", cc)
    if key not in uow.memo:
        rows = uow.conn.execute(
            select(zones.c.code)
            .join(zone_countries, zone_countries.c.zone_code == zones.c.code)
            .where(zone_countries.c.country == cc)
            .order_by(_KIND_ORDER, zones.c.code)
        )
        uow.memo[key] = [str(code) for code in rows.scalars()]
    return list(uow.memo[key])  # type: ignore[call-overload]


def countries_of(uow: UnitOfWork, zone_codes: list[str]) -> dict[str, tuple[str, ...]]:
    """The sorted countries covered by each of ``zone_codes``."""
    out: dict[str, list[str]] = {code: [] for code in zone_codes}
    rows = uow.conn.execute(
        select(zone_countries.c.zone_code, zone_countries.c.country)
        .where(zone_countries.c.zone_code.in_(zone_codes))
        .order_by(zone_countries.c.zone_code, zone_countries.c.country)
    )
    for zone_code, country in rows:
        out[zone_code].append(country)
    return {code: tuple(cs) for code, cs in out.items()}


def list_zones(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every zone (countries first, then regions, each by code) with the countries it covers."""
    rows = uow.conn.execute(select(zones).order_by(_KIND_ORDER, zones.c.code)).all()
    covered = countries_of(uow, [r.code for r in rows])
    return [
        {"code": r.code, "kind": r.kind, "name_en": r.name_en, "name_zh": r.name_zh,
         "countries": list(covered[r.code])}
        for r in rows
    ]


def country_name(code: str, lang: str) -> str:
    """The country's name in ``lang`` (zh-CN or en), from CLDR; the code when unknown."""
    locale = Locale.parse("zh_Hans_CN" if lang.lower().startswith("zh") else "en")
    return str(locale.territories.get(code, code))
