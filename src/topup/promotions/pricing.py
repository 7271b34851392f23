"""The promotions a price gets: the catalogue's price service asks ``offer`` for one item.

Which campaigns an order may use depends on how it is paid (``Offers``): a sale (paid through
a provider or from the wallet) gets every kind; a top-up from a prepaid source (a scratch
card, an agent's float) only a top-up bonus (its value is fixed: nothing comes off it); a
staff credit none (it is a correction, not a sale). Campaigns live at the moment and what is
left of their limits are read once per unit of work per customer; the engine decides.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from topup.db.uow import UnitOfWork
from topup.promotions import points, store
from topup.promotions.engine import Priced, price_items
from topup.promotions.errors import PromoCodeNotApplicable
from topup.promotions.rules import Context, Item
from topup.promotions.store import normal_code

Offers = Literal["all", "bonus", "none"]
__all__ = ["OFFERED", "Offers", "normal_code", "offer"]
OFFERED: dict[str, frozenset[str]] = {
    "all": frozenset({"discount", "spend_save", "code", "bonus", "cashback"}),
    "bonus": frozenset({"bonus"}),
    "none": frozenset(),
}


def offer(uow: UnitOfWork, item: Item, currency: str, at: datetime, channel: str,
          customer: int | None, code: str | None, offers: Offers = "all",
          points_wanted: int = 0, agent: int | None = None) -> tuple[Priced, int | None]:
    """The engine's answer for ``item`` and the id of the promo code used (None: none).
    A code that exists but cannot be used here is refused (``PromoCodeNotApplicable``
    with its ``reason``); one that does not exist, ``PromoCodeNotFound``."""
    kinds = OFFERED[offers]
    if not kinds and not code:  # a staff credit: nothing to read
        return price_items([item], Context(at, currency, channel, customer), []), None
    live = [k for k in _live(uow, at) if k.campaign.kind in kinds and k.campaign.kind != "code"]
    programme = points.programme(uow) if offers == "all" else None
    if not live and not code and not (programme and points_wanted > 0):
        return price_items([item], Context(at, currency, channel, customer), []), None
    code_kept = code_row = None
    if code:
        code_kept, code_row = store.find_code(uow, code)
        if "code" not in kinds:
            raise PromoCodeNotApplicable(field="code", reason="not_here")
    kept = [*live, *([code_kept] if code_kept is not None else [])]
    ctx = Context(at=at, currency=currency, channel=channel, customer_id=customer,
                  first_purchase=_first_purchase(uow, customer), agent_id=agent)
    wanted = min(max(0, points_wanted), points.spendable(uow, customer)) if programme else 0
    priced = price_items([item], ctx, [k.campaign for k in live],
                         store.allowances(uow, kept, customer, code_row),
                         code=code_kept.campaign if code_kept is not None else None,
                         points=programme, points_wanted=wanted)
    if priced.code_refused is not None:
        raise PromoCodeNotApplicable(field="code", reason=priced.code_refused)
    if priced.total == 0 and code_kept is not None:  # an order is paid something
        raise PromoCodeNotApplicable(field="code", reason="free")
    return priced, int(code_row.id) if code_row is not None else None


def _live(uow: UnitOfWork, at: datetime) -> list[store.Kept]:
    key = ("promotions.live", at)
    if key not in uow.memo:
        uow.memo[key] = store.live(uow, at)
    return uow.memo[key]  # type: ignore[return-value]


def _first_purchase(uow: UnitOfWork, customer: int | None) -> bool:
    key = ("promotions.first_purchase", customer)
    if key not in uow.memo:
        uow.memo[key] = store.context_first_purchase(uow, customer)
    return bool(uow.memo[key])
