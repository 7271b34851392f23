"""Fees per channel and payment method (a hotline fee, a card surcharge), shown before the
payer confirms. The most specific rule wins: channel and method, then method, then channel,
then the catch-all; with no rule there is no fee."""

from __future__ import annotations

from sqlalchemy import delete, select

from topup.catalog.errors import InvalidCatalogEntry
from topup.catalog.tables import fee_rules
from topup.db.dialect import insert_ignore
from topup.db.uow import UnitOfWork
from topup.money import MAX_AMOUNT, Money, check_currency, offered_currency

ANY = "*"


def set_fee_rule(uow: UnitOfWork, channel: str, method: str, currency: str, fixed: int,
                 rate_bp: int) -> None:
    """Create or replace the fee for (channel, method, currency); ``'*'`` matches any."""
    if not 0 <= fixed <= MAX_AMOUNT or not 0 <= rate_bp <= 10000 or (fixed == 0 and rate_bp == 0):
        raise InvalidCatalogEntry(f"a fee has fixed 0..{MAX_AMOUNT} and 0..10000 basis points, "
                                  "not both 0")
    keys = {"channel": channel.strip() or ANY, "method": method.strip() or ANY,
            "currency": offered_currency(currency, uow.settings.currencies)}
    uow.conn.execute(delete(fee_rules).where(*(getattr(fee_rules.c, k) == v
                                               for k, v in keys.items())))
    uow.conn.execute(insert_ignore(uow, fee_rules, keys | {"fixed": fixed, "rate_bp": rate_bp},
                                   list(keys)))


def remove_fee_rule(uow: UnitOfWork, channel: str, method: str, currency: str) -> None:
    """Drop one fee rule."""
    uow.conn.execute(delete(fee_rules).where(
        fee_rules.c.channel == channel, fee_rules.c.method == method,
        fee_rules.c.currency == check_currency(currency)))


def fee_for(uow: UnitOfWork, channel: str, method: str, money: Money) -> int:
    """The fee in minor units for paying ``money`` by ``method`` through ``channel``."""
    rows = uow.conn.execute(select(fee_rules).where(
        fee_rules.c.currency == money.currency,
        fee_rules.c.channel.in_((channel, ANY)), fee_rules.c.method.in_((method, ANY)),
    )).all()
    if not rows:
        return 0
    best = max(rows, key=lambda r: (r.method != ANY, r.channel != ANY))
    # Rounded up to a whole minor unit, in integers only.
    return int(best.fixed) + -(-money.amount * int(best.rate_bp) // 10000)


def fee_rules_list(uow: UnitOfWork) -> list[dict[str, object]]:
    """Every fee rule, for the admin console."""
    rows = uow.conn.execute(select(fee_rules).order_by(
        fee_rules.c.currency, fee_rules.c.channel, fee_rules.c.method))
    return [dict(r._mapping) for r in rows]
