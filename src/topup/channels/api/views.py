"""Rendering domain objects into API bodies (one place, shared by every router)."""

from __future__ import annotations

from typing import Any

from topup.catalog import service as catalog
from topup.catalog.quotes import Quote as PriceQuote
from topup.channels.api.schemas import (
    BalanceOut,
    BucketOut,
    BucketUnitOut,
    GroupMemberOut,
    GroupOut,
    LineDetailOut,
    LineOut,
    OrderOut,
    PlanOut,
    PriceQuoteOut,
    UsageOut,
)
from topup.charging.buckets import BucketView, line_buckets
from topup.charging.groups import pool
from topup.charging.service import UsageRecord
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.money import Money
from topup.orders.model import Order
from topup.subscribers.groups import Group
from topup.subscribers.lines import Line, get_line


def line_out(line: Line) -> LineOut:
    return LineOut(id=line.id, iccid=line.iccid, msisdn=line.msisdn, kind=line.kind,  # type: ignore[arg-type]
                   status=line.status, currency=line.currency, home_country=line.home_country,
                   auto_renew=line.auto_renew, valid_until=line.valid_until,
                   activation_code=line.activation_code)


def line_detail(uow: UnitOfWork, line: Line, lang: str) -> LineDetailOut:
    """Balances per currency and every live bucket with remaining / total."""
    balances = [
        BalanceOut(currency=cur, balance=b.posted, available=b.available,
                   display=Money(b.posted, cur).text())
        for cur, b in ledger.wallets(uow, line.id).items()
    ]
    buckets = bucket_outs(uow, line_buckets(uow, line.id), lang)
    return LineDetailOut(**line_out(line).model_dump(), balances=balances, buckets=buckets)


def bucket_outs(uow: UnitOfWork, views: list[BucketView], lang: str) -> list[BucketOut]:
    """Buckets with their plan's code and name in ``lang``."""
    plans: dict[int, Any] = {}
    out = []
    for b in views:
        if b.plan_id not in plans:
            plans[b.plan_id] = catalog.get_plan(uow, b.plan_id)
        plan = plans[b.plan_id]
        out.append(BucketOut(
            id=b.id, plan_id=b.plan_id, plan_code=plan.code, plan_name=plan.name(lang),
            zone=b.zone_code, valid_from=b.valid_from, expires_at=b.expires_at,
            units={u: BucketUnitOut(**v) for u, v in b.units.items()}, group_id=b.group_id))
    return out


def group_out(uow: UnitOfWork, group: Group, lang: str) -> GroupOut:
    """A group with its pool (the running shared plans) and each line's part of it."""
    found = pool(uow, group.id)
    members = []
    for m in found.members:
        line = get_line(uow, m.line_id)
        members.append(GroupMemberOut(line_id=line.id, iccid=line.iccid, msisdn=line.msisdn,
                                      cap_bytes=m.cap_bytes, used_bytes=m.used,
                                      held_bytes=m.held, member=m.member))
    return GroupOut(id=group.id, name=group.name, created_at=group.created_at,
                    total_bytes=found.total, remaining_bytes=found.remaining,
                    buckets=bucket_outs(uow, found.buckets, lang), members=members)


def plan_out(plan: Any, lang: str, quote: PriceQuote | None = None) -> PlanOut:
    """A plan; with ``quote``, its price now as the price service quoted it."""
    return PlanOut(
        id=plan.id, code=plan.code, name=plan.name(lang), name_en=plan.name_en,
        name_zh=plan.name_zh, zone=plan.zone_code, countries=list(plan.countries),
        kind=plan.kind, data_bytes=plan.data_bytes, voice_seconds=plan.voice_seconds,
        sms_count=plan.sms_count, validity_days=plan.validity_days,
        validity_start=plan.validity_start, renew_on=plan.renew_on, prices=dict(plan.prices),
        quote=PriceQuoteOut(**quote.to_json()) if quote else None)


def order_out(order: Order) -> OrderOut:
    return OrderOut(
        id=order.id, line_id=order.line_id, kind=order.kind, plan_id=order.plan_id,
        amount=order.amount, fee=order.fee, total=order.total.amount, currency=order.currency,
        display=order.money.text(), credit_currency=order.credit_currency,
        credit_amount=order.credit_amount, fx_rate=order.fx_rate,
        method=order.method, channel=order.channel, state=order.state, renewal=order.renewal,
        next_action=order.next_action, created_at=order.created_at, paid_at=order.paid_at,
        fulfilled_at=order.fulfilled_at, group_id=order.group_id,
        quote=PriceQuoteOut(**order.quote) if order.quote else None)


def usage_out(rec: UsageRecord) -> UsageOut:
    return UsageOut(**{k: getattr(rec, k) for k in UsageOut.model_fields})
