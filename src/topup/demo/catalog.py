"""A realistic demo catalogue: destinations travellers go to, regions, plans, prices and rates.

Plans come from ``plans.csv`` (next to this module) through the importer, which keeps the file
honest; zones, presets, limits and out-of-bundle rates are literals here. Every step is an
upsert or a replacement, so seeding twice leaves the same catalogue.
"""

from __future__ import annotations

import csv
import io
from importlib import resources

from topup.catalog.fx import set_fx_rate
from topup.catalog.importer import import_plans_csv
from topup.catalog.service import (
    set_fee_rule,
    set_oob_rate,
    set_presets,
    set_topup_limit,
    upsert_zone,
)
from topup.db.uow import UnitOfWork

COUNTRIES: dict[str, tuple[str, str]] = {
    "TH": ("Thailand", "泰国"), "MY": ("Malaysia", "马来西亚"), "VN": ("Vietnam", "越南"),
    "ID": ("Indonesia", "印度尼西亚"), "PH": ("Philippines", "菲律宾"),
    "JP": ("Japan", "日本"), "KR": ("South Korea", "韩国"), "SG": ("Singapore", "新加坡"),
    "HK": ("Hong Kong", "中国香港"), "MO": ("Macao", "中国澳门"), "TW": ("Taiwan", "中国台湾"),
    "FR": ("France", "法国"), "DE": ("Germany", "德国"), "IT": ("Italy", "意大利"),
    "ES": ("Spain", "西班牙"), "GB": ("United Kingdom", "英国"), "US": ("United States", "美国"),
    "AU": ("Australia", "澳大利亚"), "CN": ("Chinese mainland", "中国大陆"),
}

_EUROPE = ["AT", "BE", "CH", "CZ", "DE", "DK", "ES", "FI", "FR", "GB", "GR", "HU", "IE", "IT",
           "NL", "NO", "PL", "PT", "SE"]
_SEA = ["ID", "KH", "LA", "MY", "PH", "SG", "TH", "VN"]
_ASIA = [*_SEA, "CN", "HK", "JP", "KR", "MO", "TW"]

REGIONS: dict[str, tuple[str, str, list[str]]] = {
    "EU": ("Europe", "欧洲", _EUROPE),
    "SEA": ("South-East Asia", "东南亚", _SEA),
    "ASIA": ("Asia", "亚洲", _ASIA),
    "HKMO": ("Hong Kong & Macao", "港澳", ["HK", "MO"]),
    "GLOBAL": ("Global", "全球", sorted({*COUNTRIES, *_EUROPE, *_ASIA, "AE", "CA", "NZ", "TR"})),
}

# Preset top-ups in major units; JPY has no minor unit, the others have 100.
PRESETS: dict[str, list[int]] = {
    "CNY": [50, 100, 200, 500], "USD": [10, 20, 50, 100], "EUR": [10, 20, 50, 100],
    "GBP": [10, 20, 50, 100], "HKD": [50, 100, 200, 500], "THB": [300, 500, 1000, 2000],
    "JPY": [1000, 3000, 5000, 10000], "SGD": [10, 20, 50, 100],
}

# (zone, currency, min, max) in minor units: GLOBAL for everyone, tighter where regulated.
LIMITS: list[tuple[str, str, int, int]] = [
    ("GLOBAL", "CNY", 10_00, 5000_00), ("GLOBAL", "USD", 1_00, 1000_00),
    ("GLOBAL", "EUR", 1_00, 1000_00), ("GLOBAL", "GBP", 1_00, 800_00),
    ("GLOBAL", "HKD", 10_00, 8000_00), ("GLOBAL", "THB", 50_00, 30000_00),
    ("GLOBAL", "JPY", 100, 150_000), ("GLOBAL", "SGD", 2_00, 1500_00),
    ("CN", "CNY", 10_00, 2000_00), ("JP", "JPY", 500, 50_000),
    ("TH", "THB", 100_00, 10000_00), ("US", "USD", 5_00, 500_00),
    ("SEA", "USD", 2_00, 500_00), ("EU", "EUR", 5_00, 500_00),
]

MIB = 1024 * 1024
# Out-of-bundle rates: minor units per MiB of data, per minute of voice, per SMS.
_GLOBAL_RATES = {  # currency: (data, voice, sms)
    "CNY": (100, 200, 100), "USD": (15, 30, 15), "EUR": (14, 28, 14), "GBP": (12, 24, 12),
    "HKD": (110, 220, 110), "THB": (500, 1000, 500), "JPY": (20, 40, 20), "SGD": (20, 40, 20),
}
_LOCAL_RATES = {  # (zone, currency): (data, voice, sms)
    ("CN", "CNY"): (30, 15, 10), ("TH", "CNY"): (50, 100, 50), ("TH", "THB"): (100, 500, 300),
    ("ASIA", "CNY"): (60, 150, 80), ("ASIA", "USD"): (9, 22, 12),
    ("EU", "EUR"): (8, 20, 10), ("EU", "CNY"): (60, 160, 80),
}


# (channel, method, currency, fixed minor units, basis points): a hotline fee, shown to the
# caller before confirming, and a card surcharge in one currency as an example.
FEES: list[tuple[str, str, str, int, int]] = [
    ("ivr", "*", "CNY", 2_00, 0), ("ivr", "*", "USD", 30, 0), ("ivr", "*", "EUR", 30, 0),
    ("*", "stripe", "GBP", 0, 150),
]


# Rates for topping up a wallet while paying in another currency (illustrative, not live).
FX_RATES: list[tuple[str, str, str]] = [
    ("USD", "CNY", "7.10"), ("EUR", "CNY", "7.70"), ("GBP", "CNY", "9.00"),
    ("HKD", "CNY", "0.91"), ("CNY", "THB", "4.90"), ("USD", "EUR", "0.92"),
]


def _plans_csv() -> list[dict[str, str]]:
    text = resources.files("topup.demo").joinpath("plans.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _seed_rates(uow: UnitOfWork) -> None:
    table = {("GLOBAL", cur): r for cur, r in _GLOBAL_RATES.items()} | _LOCAL_RATES
    for (zone, currency), (data, voice, sms) in table.items():
        set_oob_rate(uow, zone, currency, "data", data, MIB)
        set_oob_rate(uow, zone, currency, "voice", voice, 60)
        set_oob_rate(uow, zone, currency, "sms", sms, 1)


def seed_catalog(uow: UnitOfWork) -> None:
    """Load the demo zones, plans, presets, top-up limits and rates; safe to run again."""
    for code, (name_en, name_zh) in COUNTRIES.items():
        upsert_zone(uow, code, "country", name_en, name_zh, [code])
    for code, (name_en, name_zh, countries) in REGIONS.items():
        upsert_zone(uow, code, "region", name_en, name_zh, countries)
    import_plans_csv(uow, _plans_csv())
    for currency, majors in PRESETS.items():
        scale = 1 if currency == "JPY" else 100
        set_presets(uow, currency, [m * scale for m in majors])
    for zone, currency, low, high in LIMITS:
        set_topup_limit(uow, zone, currency, low, high)
    _seed_rates(uow)
    for channel, method, currency, fixed, rate_bp in FEES:
        set_fee_rule(uow, channel, method, currency, fixed, rate_bp)
    for base, quote, rate in FX_RATES:
        set_fx_rate(uow, base, quote, rate)
