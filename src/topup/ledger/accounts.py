"""The chart of accounts: every kind of ledger account, named once, with its meaning.

An account's ``kind`` says what its balance means. Each kind below is a constant (use it, not
a string) registered with:

- its **holder**: a line (customer accounts), a traveller (their points), an agent, or the
  operator (``op:…`` accounts,
  opened with ``ledger.operator_account``);
- its **normal side**: the side its balance usually stands on (a wallet is owed to the
  traveller: credit; a clearing account is money due from a provider: debit). Balances in
  ``topup`` are read credit-normal (credits minus debits), so a debit-normal account usually
  shows a negative number;
- whether it **may go negative**: a line's or an agent's account may not (the schema refuses
  any debit beyond its credits: ``no_overdraft``); operator accounts may;
- its **report group** (asset, liability, equity, revenue, expense, memo). An account in a unit
  that is not money (data, voice, SMS) is a memo quantity whatever its kind's group;
- whether it is **reserved**: named for the promotions to come (issue 15), nothing books to it
  yet.

Clearing is one kind per payment method: ``clearing:<method>`` (``clearing:stripe``,
``clearing:voucher``), built by ``clearing_kind(method)``.

``ledger.open_account`` and ``ledger.operator_account`` refuse a kind that is not in the
chart (``UnknownAccountKind``: a programming error), and ``check_books`` reports an account
whose kind is not, so a kind cannot appear without its meaning. ``docs/ledger.md`` carries the
table ``chart_table()`` prints (``topup ledger chart``); a test keeps the two equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from topup.ledger.errors import AccountKindMisused, UnknownAccountKind

Side = Literal["debit", "credit"]
Group = Literal["asset", "liability", "equity", "revenue", "expense", "memo"]
Holder = Literal["line", "agent", "customer", "operator"]
GROUPS: tuple[Group, ...] = ("asset", "liability", "equity", "revenue", "expense", "memo")


@dataclass(frozen=True)
class AccountKind:
    """One entry of the chart of accounts."""

    name: str
    holder: Holder
    normal: Side
    group: Group
    meaning: str
    reserved: bool = False
    per_method: bool = False  # a family: one kind ``<name>:<method>`` per payment method

    @property
    def may_go_negative(self) -> bool:
        """Only operator accounts may: line and agent accounts are ``no_overdraft``."""
        return self.holder == "operator"


CHART: dict[str, AccountKind] = {}


def _kind(name: str, holder: Holder, normal: Side, group: Group, meaning: str, *,
          reserved: bool = False, per_method: bool = False) -> str:
    assert name not in CHART, f"account kind {name!r} defined twice"
    CHART[name] = AccountKind(name, holder, normal, group, meaning, reserved, per_method)
    return name


# --- accounts of lines and agents (never below zero) ---------------------------------------
WALLET = _kind(
    "wallet", "line", "credit", "liability",
    "A line's money in one currency: owed to the traveller until spent or refunded.")
BUCKET = _kind(
    "bucket", "line", "credit", "memo",
    "The data, voice or SMS allowance of one plan purchase, drawn down by usage until the "
    "bucket ends.")
POINTS = _kind(
    "points", "customer", "credit", "memo",
    "A traveller's loyalty points (积分): earned on payments, spent as part payment of an "
    "order, expired after a year without use.")
AGENT_FLOAT = _kind(
    "agent_float", "agent", "credit", "liability",
    "A retail agent's prepaid float: raised by fundings and commission, drawn down by the "
    "agent's sales.")

# --- operator: money in ---------------------------------------------------------------------
CLEARING = _kind(
    "clearing", "operator", "debit", "asset",
    "Money a payment method collected, due from its provider until settled (for vouchers: a "
    "card's face on its way to the order it pays).", per_method=True)
MANUAL_CREDIT = _kind(
    "manual_credit", "operator", "debit", "asset",
    "Value staff credited to wallets by hand with a reason (cash taken at a desk, goodwill).")
AGENT_FLOAT_SALES = _kind(
    "agent_float_sales", "operator", "debit", "asset",
    "What agents paid, or owe, for the float credited to them.")
VOUCHER_SALES = _kind(
    "voucher_sales", "operator", "debit", "asset",
    "What distributors paid, or owe, for activated voucher batches.")

# --- operator: owed to others ---------------------------------------------------------------
DEFERRED_REVENUE = _kind(
    "deferred_revenue", "operator", "credit", "liability",
    "Prices of plans bought and not yet ended: earned when the bucket ends, back to the "
    "wallet if the plan is taken back.")
VOUCHER_LIABILITY = _kind(
    "voucher_liability", "operator", "credit", "liability",
    "Face value of vouchers sold or activated and neither redeemed nor expired: owed to the "
    "card holders.")
UNALLOCATED = _kind(
    "unallocated", "operator", "credit", "liability",
    "Late payments for a line that changed hands since, kept by order until finance pays "
    "them back.")
POINTS_LIABILITY = _kind(
    "points_liability", "operator", "credit", "liability",
    "Loyalty points travellers earned and may still redeem: owed until redeemed or expired "
    "(in the points unit, the other side of every traveller's points account).")
CASHBACK_LIABILITY = _kind(
    "cashback_liability", "operator", "credit", "liability",
    "Cashback granted on orders, owed until the refund window closes and it is credited to "
    "the wallet.", reserved=True)

# --- operator: earned and spent ---------------------------------------------------------------
REVENUE = _kind(
    "revenue", "operator", "credit", "revenue",
    "Plan prices earned when their bucket ends, whatever was used.")
REVENUE_USAGE = _kind(
    "revenue_usage", "operator", "credit", "revenue",
    "Usage charged to the wallet outside any plan (out of bundle).")
FEE_REVENUE = _kind(
    "fee_revenue", "operator", "credit", "revenue",
    "Fees charged on top of an order's amount.")
BREAKAGE = _kind(
    "breakage", "operator", "credit", "revenue",
    "Value that expired unused: the allowances of ended buckets, the face of expired "
    "vouchers.")
COMMISSION_EXPENSE = _kind(
    "commission_expense", "operator", "debit", "expense",
    "Commission paid into agents' floats on their sales.")
PROMOTION_EXPENSE = _kind(
    "promotion_expense", "operator", "debit", "expense",
    "Value the operator gives away: campaigns' discounts, bonuses and cashback, points spent "
    "as payment, and the difference between a plan voucher's face and the plan's price.")
FX = _kind(
    "fx", "operator", "credit", "equity",
    "The currency position of converted top-ups: credited in the currency paid, debited in "
    "the currency credited; across currencies it nets to the exchange result.")

# --- operator: allowances (units that are not money) ----------------------------------------
SUPPLY = _kind(
    "supply", "operator", "debit", "memo",
    "The allowances plans hand out: debited when a bucket is issued, credited when a plan is "
    "taken back.")
CONSUMED = _kind(
    "consumed", "operator", "credit", "memo",
    "Allowances the network reported used.")

_METHOD = re.compile(r"[a-z][a-z0-9_]{0,31}")


def clearing_kind(method: str) -> str:
    """The clearing kind of a payment method (``clearing:stripe``)."""
    kind = f"{CLEARING}:{method}"
    entry(kind)
    return kind


def entry(kind: str) -> AccountKind:
    """The chart's entry for ``kind``; raises UnknownAccountKind when it has none."""
    found = CHART.get(kind)
    if found is not None and not found.per_method:  # a family is only ever ``name:method``
        return found
    family, sep, method = kind.partition(":")
    found = CHART.get(family)
    if sep and found is not None and found.per_method and _METHOD.fullmatch(method):
        return found
    raise UnknownAccountKind(f"account kind {kind!r} is not in the chart of accounts "
                             "(topup.ledger.accounts)")


def check_operator(kind: str) -> None:
    """Refuse ``kind`` for an operator account unless the chart says the operator holds it."""
    if entry(kind).holder != "operator":
        raise AccountKindMisused(f"{kind!r} is not an operator account kind")


def no_overdraft(kind: str, asked: bool | None) -> bool:
    """Whether an account of ``kind`` is kept from going below zero, as the chart says;
    ``asked`` (a caller's explicit wish) must agree."""
    refused = not entry(kind).may_go_negative
    if asked is not None and asked != refused:
        raise AccountKindMisused(
            f"a {kind!r} account {'may not' if refused else 'may'} go below zero")
    return refused


def group_of(kind: str, unit: str) -> Group:
    """The report group of an account: its kind's, except memo for units that are not money."""
    return entry(kind).group if unit.startswith("money:") else "memo"


def chart_table() -> str:
    """The chart as a Markdown table (the one in docs/ledger.md)."""
    rows = ["| kind | holder | normal side | may go negative | group | meaning |",
            "| --- | --- | --- | --- | --- | --- |"]
    for k in CHART.values():
        name = f"`{k.name}:<method>`" if k.per_method else f"`{k.name}`"
        meaning = f"*Reserved (nothing books to it yet).* {k.meaning}" if k.reserved \
            else k.meaning
        rows.append(f"| {name} | {k.holder} | {k.normal} | "
                    f"{'yes' if k.may_go_negative else 'no'} | {k.group} | {meaning} |")
    return "\n".join(rows) + "\n"
