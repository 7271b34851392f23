"""Catalog tables. Invariants live here, in the schema, as well as in the service.

- a zone is a country (its code is the ISO 3166-1 alpha-2 code) or a region ("EU", "GLOBAL");
  ``zone_countries`` says which countries a zone covers, and a country zone covers itself;
- a plan grants something (data, voice or SMS), for a positive number of days, and its sale
  window, when it has both ends, is not empty;
- prices, limits, presets and rates are positive integers of minor units; max >= min.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

ZONE_KINDS = ("country", "region")
PLAN_KINDS = ("day", "week", "month", "quarter", "year", "addon")
VALIDITY_STARTS = ("purchase", "first_use")
RENEW_ON = ("expiry", "data_out")
OOB_UNITS = ("data", "voice", "sms")

zones = Table(
    "zones",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("name_en", String(120), nullable=False),
    Column("name_zh", String(120), nullable=False),
    CheckConstraint(f"kind IN {ZONE_KINDS!r}", name="kind"),
    CheckConstraint("kind <> 'country' OR length(code) = 2", name="country_code"),
    CheckConstraint("length(code) >= 2", name="code_length"),
)

zone_countries = Table(
    "zone_countries",
    metadata,
    Column("zone_code", String(16), ForeignKey("zones.code", ondelete="CASCADE"),
           primary_key=True),
    Column("country", String(2), primary_key=True),
    CheckConstraint("length(country) = 2", name="country_length"),
    Index("ix_zone_countries_country", "country"),
)

plans = Table(
    "plans",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name_en", String(120), nullable=False),
    Column("name_zh", String(120), nullable=False),
    Column("zone_code", String(16), ForeignKey("zones.code"), nullable=False, index=True),
    Column("kind", String(8), nullable=False),
    Column("data_bytes", BigInteger, nullable=False, default=0),
    Column("voice_seconds", BigInteger, nullable=False, default=0),
    Column("sms_count", Integer, nullable=False, default=0),
    Column("validity_days", Integer, nullable=False),
    Column("validity_start", String(10), nullable=False, default="purchase"),
    # When auto-renew buys the plan again: at its end, or as soon as its data is used up.
    Column("renew_on", String(10), nullable=False, default="expiry", server_default="expiry"),
    Column("priority", Integer, nullable=False, default=100),
    Column("sale_from", UTCDateTime, nullable=True),
    Column("sale_until", UTCDateTime, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(f"kind IN {PLAN_KINDS!r}", name="kind"),
    CheckConstraint(
        "data_bytes >= 0 AND voice_seconds >= 0 AND sms_count >= 0", name="non_negative"
    ),
    CheckConstraint("data_bytes > 0 OR voice_seconds > 0 OR sms_count > 0", name="grants"),
    CheckConstraint("validity_days > 0", name="validity_positive"),
    CheckConstraint(f"validity_start IN {VALIDITY_STARTS!r}", name="validity_start"),
    CheckConstraint(f"renew_on IN {RENEW_ON!r}", name="renew_on"),
    CheckConstraint("priority >= 0", name="priority_non_negative"),
    CheckConstraint(
        "sale_from IS NULL OR sale_until IS NULL OR sale_from < sale_until", name="sale_window"
    ),
)

plan_prices = Table(
    "plan_prices",
    metadata,
    Column("plan_id", Id, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("length(currency) = 3", name="currency_length"),
)

topup_limits = Table(
    "topup_limits",
    metadata,
    Column("zone_code", String(16), ForeignKey("zones.code", ondelete="CASCADE"),
           primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("min_amount", BigInteger, nullable=False),
    Column("max_amount", BigInteger, nullable=False),
    CheckConstraint("min_amount > 0", name="min_positive"),
    CheckConstraint("max_amount >= min_amount", name="max_at_least_min"),
    CheckConstraint("length(currency) = 3", name="currency_length"),
)

topup_presets = Table(
    "topup_presets",
    metadata,
    Column("currency", String(3), primary_key=True),
    Column("amount", BigInteger, primary_key=True),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("length(currency) = 3", name="currency_length"),
)

oob_rates = Table(
    "oob_rates",
    metadata,
    Column("zone_code", String(16), ForeignKey("zones.code", ondelete="CASCADE"),
           primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("unit", String(8), primary_key=True),
    Column("rate", BigInteger, nullable=False),
    Column("per_quantity", BigInteger, nullable=False),
    CheckConstraint(f"unit IN {OOB_UNITS!r}", name="unit"),
    CheckConstraint("rate > 0", name="rate_positive"),
    CheckConstraint("per_quantity > 0", name="per_quantity_positive"),
    CheckConstraint("length(currency) = 3", name="currency_length"),
)

# Fees the payer pays on top of an order, per channel and payment method ('*' = any):
# fixed minor units plus rate_bp basis points of the amount, rounded up.
fee_rules = Table(
    "fee_rules",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("method", String(16), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("fixed", BigInteger, nullable=False),
    Column("rate_bp", Integer, nullable=False),
    CheckConstraint("fixed >= 0", name="fixed_non_negative"),
    CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_bp_range"),
    CheckConstraint("fixed > 0 OR rate_bp > 0", name="charges_something"),
    CheckConstraint("length(currency) = 3", name="currency_length"),
)

# Exchange rates for wallet top-ups paid in another currency: ``quote`` major units per one
# ``base`` major unit, kept as an exact fraction (rate_num / rate_den).
fx_rates = Table(
    "fx_rates",
    metadata,
    Column("base", String(3), primary_key=True),
    Column("quote", String(3), primary_key=True),
    Column("rate_num", BigInteger, nullable=False),
    Column("rate_den", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("rate_num > 0 AND rate_den > 0", name="rate_positive"),
    CheckConstraint("base <> quote", name="distinct_currencies"),
)
