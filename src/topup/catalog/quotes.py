"""The one price service: what a plan or a money top-up costs, in a currency, at a moment,
through a channel, for a customer, with a promo code. Every channel asks ``price`` and shows
its ``Quote``; an order stores the quote it was confirmed with (``Quote.to_json``), so the
summary, the charge and the receipt are the same numbers.

A quote lists every adjustment by name, in the order they apply:

1. ``list_price``: the plan's price in the currency (``plan_prices``), or the top-up amount;
2. discounts (each a negative amount, named by the campaign that grants it, ``ref`` naming
   the campaign: ``campaign:<id>``), as the promotions engine stacks them
   (``promotions.pricing``);
3. ``fee``: the channel's and payment method's fee (``catalog.fees``), when one applies, on
   the price after discounts.

Benefits credited rather than taken off (a top-up bonus) are the quote's ``credits``: they do
not change what is paid.

``subtotal`` (list price plus discounts) is what the order buys; ``total`` (subtotal plus
fee) is what the payer pays. All amounts are integer minor units of the quote's currency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from topup.catalog.errors import InvalidQuote
from topup.catalog.fees import fee_for
from topup.catalog.service import Plan, ensure_on_sale, price_of
from topup.money import MAX_AMOUNT, CurrencyMismatch, Money, check_amount, check_currency
from topup.promotions import pricing as promotions
from topup.promotions.engine import Priced
from topup.promotions.rules import Item

if TYPE_CHECKING:
    from topup.db.uow import UnitOfWork

__all__ = ["DISCOUNT", "FEE", "LIST_PRICE", "Adjustment", "Credit", "Quote", "price"]

LIST_PRICE = "list_price"
DISCOUNT = "discount"
FEE = "fee"
KINDS = (LIST_PRICE, DISCOUNT, FEE)
VERSION = 1  # of the JSON form; a reader refuses a version it does not know
CHANNEL_MAX = 16  # as long as ``orders.channel``


@dataclass(frozen=True)
class Adjustment:
    """One line of a quote: its ``kind`` (list_price, discount or fee), a stable ``name``
    (``list_price``, ``fee``; a discount is named by what grants it) and a signed amount in
    minor units (a discount is negative)."""

    kind: str
    name: str
    amount: int
    ref: str | None = None  # what grants a discount: ``campaign:<id>``

    def __post_init__(self) -> None:
        if self.kind not in KINDS or not self.name or len(self.name) > 80:
            raise InvalidQuote(f"not a quote line: {self.kind!r} {self.name!r}")
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise InvalidQuote("a quote line's amount is an integer of minor units")
        low, high = {LIST_PRICE: (1, MAX_AMOUNT), DISCOUNT: (-MAX_AMOUNT, -1),
                     FEE: (1, MAX_AMOUNT)}[self.kind]
        if not low <= self.amount <= high:
            raise InvalidQuote(f"a {self.kind} line is from {low} to {high}, not {self.amount}")

    def json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "amount": self.amount, "ref": self.ref}


@dataclass(frozen=True)
class Credit:
    """A benefit credited to the wallet rather than taken off the price (a top-up bonus):
    ``kind``, the granting campaign's ``name`` and ``ref``, and its amount (minor units)."""

    kind: str
    name: str
    amount: int
    ref: str

    def json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "amount": self.amount, "ref": self.ref}


@dataclass(frozen=True)
class Quote:
    """What something costs: the list price, every discount, the fee, and their total.

    ``item`` is ``plan`` (with ``plan_id`` and ``plan_code``) or ``topup``. ``at`` and
    ``channel`` say when and where it was asked; ``customer_id`` and ``code`` who asked and
    with which promo code. Refuses lines that do not add up to a total of zero or more.
    """

    currency: str
    item: str
    list_price: Adjustment
    discounts: tuple[Adjustment, ...]
    fee: Adjustment | None
    at: datetime
    channel: str
    plan_id: int | None = None
    plan_code: str | None = None
    customer_id: int | None = None
    code: str | None = None
    credits: tuple[Credit, ...] = ()
    points_used: int = 0  # loyalty points the ``points`` discount line stands for

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", check_currency(self.currency))
        if self.item not in ("plan", "topup") or (self.item == "plan") != (self.plan_id
                                                                          is not None):
            raise InvalidQuote("a quote is for a plan (with its id) or a top-up")
        if self.list_price.kind != LIST_PRICE or (self.fee and self.fee.kind != FEE) or any(
                d.kind != DISCOUNT for d in self.discounts):
            raise InvalidQuote("a quote's lines are in the order list price, discounts, fee")
        if self.at.tzinfo is None:
            raise InvalidQuote("a quote's moment is timezone-aware")
        if self.subtotal < 0:
            raise InvalidQuote("discounts never take a price below zero")

    @property
    def lines(self) -> tuple[Adjustment, ...]:
        """Every adjustment in the order it applies: list price, discounts, fee."""
        return (self.list_price, *self.discounts, *((self.fee,) if self.fee else ()))

    @property
    def subtotal(self) -> int:
        """The list price less every discount: what the order buys (minor units)."""
        return self.list_price.amount + sum(d.amount for d in self.discounts)

    @property
    def fee_amount(self) -> int:
        return self.fee.amount if self.fee else 0

    @property
    def total(self) -> int:
        """What the payer pays: the sum of every line (minor units)."""
        return sum(line.amount for line in self.lines)

    def money(self, amount: int) -> Money:
        """``amount`` minor units in the quote's currency."""
        return Money(amount, self.currency)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form: plain types only, the lines in order, totals spelled out
        (so a reader without this class sees the same numbers). Who asked is left out: an
        order names its customer, and a quote's form is the same for any asker it prices
        the same."""
        out = {
            "v": VERSION, "currency": self.currency, "item": self.item,
            "plan_id": self.plan_id, "plan_code": self.plan_code, "channel": self.channel,
            "at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "code": self.code,
            "lines": [line.json() for line in self.lines],
            "subtotal": self.subtotal, "fee": self.fee_amount, "total": self.total,
        }
        # credited on top, not part of the price (a bonus, cashback)
        out["credits"] = [c.json() for c in self.credits]
        out["points"] = self.points_used
        return out

    def granted(self) -> dict[int, int]:
        """Minor units each campaign gives this quote (discounts and credits), by id."""
        given: dict[int, int] = {}
        for ref, amount in [*((d.ref, -d.amount) for d in self.discounts),
                            *((c.ref, c.amount) for c in self.credits)]:
            if ref is not None and ref.startswith("campaign:"):
                cid = int(ref.removeprefix("campaign:"))
                given[cid] = given.get(cid, 0) + amount
        return given

    @property
    def discount_total(self) -> int:
        """What the discounts take off, as a positive number of minor units."""
        return -sum(d.amount for d in self.discounts)

    @property
    def credit_total(self) -> int:
        return sum(c.amount for c in self.credits)

    def dumps(self) -> str:
        """``to_json`` as canonical text (sorted keys, no spaces): equal quotes, equal text."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Quote:
        """The quote ``to_json`` wrote; ``InvalidQuote`` when its numbers do not add up."""
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise InvalidQuote("not a quote this version can read")
        try:
            lines = [Adjustment(str(x["kind"]), str(x["name"]), x["amount"], x.get("ref"))
                     for x in data["lines"]]
            credits = tuple(Credit(str(x["kind"]), str(x["name"]), int(x["amount"]),
                                   str(x["ref"])) for x in data.get("credits", ()))
            quote = cls(
                currency=data["currency"], item=data["item"], list_price=lines[0],
                discounts=tuple(x for x in lines if x.kind == DISCOUNT),
                fee=next((x for x in lines if x.kind == FEE), None),
                at=datetime.fromisoformat(str(data["at"]).replace("Z", "+00:00")),
                channel=str(data["channel"]), plan_id=data.get("plan_id"),
                plan_code=data.get("plan_code"), code=data.get("code"), credits=credits,
                points_used=int(data.get("points", 0)))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InvalidQuote(f"not a quote: {exc}") from exc
        if quote.lines != tuple(lines) or (data.get("subtotal"), data.get("fee"),
                                           data.get("total")) != (
                quote.subtotal, quote.fee_amount, quote.total):
            raise InvalidQuote("the quote's totals do not add up to its lines")
        return quote


def price(uow: UnitOfWork, item: Plan | Money | int, currency: str, at: datetime,
          channel: str, *, customer: int | None = None, code: str | None = None,
          method: str | None = None, offers: promotions.Offers = "all",
          points: int = 0, agent: int | None = None) -> Quote:
    """The quote for ``item`` (a plan, or a top-up amount as ``Money`` or minor units of
    ``currency``) in ``currency`` at ``at`` through ``channel``.

    A plan must be on sale at ``at`` (``PlanNotOnSale``) and priced in ``currency``
    (``PriceNotAvailable``). The live campaigns ``offers`` allows take their part
    (``promotions.pricing``: ``all`` for a sale, ``bonus`` for a prepaid top-up, ``none`` for
    a staff credit); ``customer`` is who asks, ``code`` a promo code (``PromoCodeNotFound``,
    ``PromoCodeNotApplicable``). ``method`` names the payment method when it is known; its
    fee for the channel, on the price after discounts, is then a line of the quote.
    """
    cur = check_currency(currency)
    where = (channel or "").strip()
    if not where or len(where) > CHANNEL_MAX:
        raise InvalidQuote(f"a channel is 1 to {CHANNEL_MAX} characters", field="channel")
    promo = (code or "").strip() or None
    if isinstance(item, Money | int):
        money = item if isinstance(item, Money) else Money(item, cur)
        if money.currency != cur:
            raise CurrencyMismatch(f"a top-up in {money.currency} quoted in {cur}")
        check_amount(money.amount)
        listed, plan_id, plan_code, kind = money.amount, None, None, "topup"
        wanted = Item("topup", listed)
    else:
        ensure_on_sale(item, at)
        listed, plan_id, plan_code, kind = price_of(item, cur).amount, item.id, item.code, "plan"
        wanted = Item("plan", listed, plan_id=item.id, zone=item.zone_code)
    base = Adjustment(LIST_PRICE, LIST_PRICE, listed)
    priced, _ = promotions.offer(uow, wanted, cur, at, where, customer, promo, offers,
                                 points, agent)
    discounts, credits = _from_engine(priced)
    subtotal = listed + sum(d.amount for d in discounts)
    charged = fee_for(uow, where, method, Money(subtotal, cur)) if method and subtotal else 0
    return Quote(currency=cur, item=kind, list_price=base, discounts=discounts,
                 fee=Adjustment(FEE, FEE, charged) if charged else None, at=at, channel=where,
                 plan_id=plan_id, plan_code=plan_code, customer_id=customer,
                 code=promotions.normal_code(promo) if promo else None, credits=credits,
                 points_used=priced.points_used)


def _from_engine(priced: Priced) -> tuple[tuple[Adjustment, ...], tuple[Credit, ...]]:
    """The engine's reductions as discount lines and its credits, each naming its campaign
    (``points`` for the points spent)."""
    discounts = tuple(Adjustment(DISCOUNT, a.name[:80], -a.amount,
                                 f"campaign:{a.campaign_id}" if a.campaign_id else "points")
                      for a in priced.adjustments if a.amount)
    credits = tuple(Credit(c.kind, c.name[:80], c.amount, f"campaign:{c.campaign_id}")
                    for c in priced.credits)
    return discounts, credits
