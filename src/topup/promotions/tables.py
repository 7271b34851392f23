"""Tables of campaigns, their promo codes and their redemptions.

Invariants held by the schema:
- a campaign's kind and state are from fixed lists; it ends after it starts;
- its counters never pass its limits (``uses`` ≤ ``total_limit``, ``spent`` ≤ ``budget``):
  the store raises them with a conditional UPDATE under the campaign's row lock, these CHECKs
  are the backstop;
- a campaign with a budget names its currency (a budget is money of one currency);
- a code is unique (stored in capitals) and its uses never pass its own limit;
- an order redeems a campaign at most once (``uq_redemptions_order_campaign``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

CAMPAIGN_KINDS = ("discount", "spend_save", "code", "bonus", "cashback")
CAMPAIGN_STATES = ("active", "paused", "ended")
REDEMPTION_STATES = ("held", "applied", "credited", "released", "reversed")


def _listed(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(120), nullable=False),
    Column("state", String(10), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("rule", JSON, nullable=False),  # ``rules.Campaign``'s rule fields
    Column("scope", JSON, nullable=False),  # ``rules.Scope`` as lists
    Column("total_limit", Integer, nullable=True),
    Column("per_customer_limit", Integer, nullable=True),
    Column("budget", BigInteger, nullable=True),
    Column("uses", Integer, nullable=False, default=0),
    Column("spent", BigInteger, nullable=False, default=0),
    Column("frees_code_on_refund", Boolean, nullable=False, default=False),
    Column("created_by", Id, ForeignKey("users.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(_listed("kind", CAMPAIGN_KINDS), name="kind"),
    CheckConstraint(_listed("state", CAMPAIGN_STATES), name="state"),
    CheckConstraint("ends_at > starts_at", name="window"),
    CheckConstraint("uses >= 0 AND (total_limit IS NULL OR uses <= total_limit)",
                    name="uses_within_limit"),
    CheckConstraint("spent >= 0 AND (budget IS NULL OR spent <= budget)",
                    name="spent_within_budget"),
    CheckConstraint("budget IS NULL OR currency IS NOT NULL", name="budget_has_currency"),
    CheckConstraint("(total_limit IS NULL OR total_limit > 0) AND "
                    "(per_customer_limit IS NULL OR per_customer_limit > 0)",
                    name="limits_positive"),
)
Index("ix_campaigns_live", campaigns.c.state, campaigns.c.ends_at)

promo_codes = Table(
    "promo_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("campaign_id", Id, ForeignKey("campaigns.id"), nullable=False),
    Column("code", String(40), nullable=False, unique=True),
    Column("max_uses", Integer, nullable=True),
    Column("uses", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("code = upper(code) AND length(code) >= 4", name="code_form"),
    CheckConstraint("uses >= 0 AND (max_uses IS NULL OR (max_uses > 0 AND uses <= max_uses))",
                    name="uses_within_limit"),
)
Index("ix_promo_codes_campaign", promo_codes.c.campaign_id, promo_codes.c.id)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("campaign_id", Id, ForeignKey("campaigns.id"), nullable=False),
    Column("code_id", Id, ForeignKey("promo_codes.id"), nullable=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("users.id"), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("order_id", "campaign_id", name="uq_redemptions_order_campaign"),
    CheckConstraint(_listed("state", REDEMPTION_STATES), name="state"),
    CheckConstraint("amount >= 0", name="amount_non_negative"),
)
referrals = Table(
    "referrals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("inviter_id", Id, ForeignKey("users.id"), nullable=False),
    Column("invitee_id", Id, ForeignKey("users.id"), nullable=False, unique=True),
    Column("state", String(10), nullable=False),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("credited_at", UTCDateTime, nullable=True),
    CheckConstraint("state IN ('pending', 'credited')", name="state"),
    CheckConstraint("inviter_id <> invitee_id", name="not_oneself"),
)
Index("ix_referrals_pending", referrals.c.state, referrals.c.id)
Index("ix_redemptions_customer", redemptions.c.campaign_id, redemptions.c.customer_id,
      redemptions.c.state)
