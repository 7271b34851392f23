"""Bodies of the agent, POS and terminal APIs, and the one place that renders them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from topup.agents.agents import Agent, Tier
from topup.agents.kyc import KycEntry, KycRecord
from topup.agents.statements import Statement, TerminalReport
from topup.agents.terminals import Terminal
from topup.agents.topups import Sale, TopupSale
from topup.agents.voucher_sales import VoucherSale
from topup.channels.api.schemas import MoneyOut, PriceQuoteOut
from topup.money import Money

ID_TYPE_DOC = "passport, national_id, residence_permit or driving_licence"


def money_out(money: Money) -> MoneyOut:
    return MoneyOut(amount=money.amount, currency=money.currency, display=money.text())


class KycIn(BaseModel):
    id_type: str | None = Field(None, description=ID_TYPE_DOC)
    id_number: str | None = Field(None, max_length=60,
                                  description="As printed; stored only masked and hashed")


class KycOut(BaseModel):
    id_type: str
    id_masked: str = Field(..., description="**** and the last four characters")
    country: str = Field(..., description="Whose rule asked for the ID")


class SaleOut(BaseModel):
    id: int
    kind: str = Field(..., description="topup or voucher")
    agent_id: int
    terminal_id: int | None
    order_id: int | None
    voucher_serial: str | None
    line_id: int | None
    amount: MoneyOut = Field(..., description="What left the float for the sale")
    commission: MoneyOut = Field(..., description="Credited to the float")
    tender: str | None = Field(None, description="cash or card, for terminal sales")
    created_at: datetime


class TopupSaleOut(SaleOut):
    order_state: str
    credited: MoneyOut | None = Field(None, description="What the line's wallet received, "
                                      "when its currency differs from the agent's")
    float_balance: MoneyOut
    kyc: KycOut | None = None
    quote: PriceQuoteOut | None = Field(None, description="The price quote the top-up's "
                                                          "order was made with")


class VoucherSaleOut(SaleOut):
    voucher_state: str
    face: MoneyOut
    expires_at: datetime
    float_balance: MoneyOut


class AgentOut(BaseModel):
    id: int
    kind: str
    name: str
    parent_id: int | None
    tier: str
    country: str
    currency: str
    state: str
    created_at: datetime
    float_balance: MoneyOut | None = None


class TierOut(BaseModel):
    code: str
    name: str
    topup_bp: int = Field(..., description="Basis points of each top-up (100 = 1 %)")
    voucher_bp: int = Field(..., description="Basis points of each voucher sale")


class TerminalOut(BaseModel):
    id: int
    agent_id: int
    key_id: str = Field(..., description="Sent as X-Terminal-Key")
    label: str
    state: str
    created_at: datetime
    last_seen_at: datetime | None


class TerminalCredentialsOut(TerminalOut):
    secret: str = Field(..., description="Shown this once; the server cannot show it again")


class StatementOut(BaseModel):
    agent_id: int
    currency: str
    date: date
    opening: int
    funded: int
    fundings: int
    topups: int
    topup_count: int
    vouchers: int
    voucher_count: int
    commission: int
    other_in: int
    other_out: int
    money_in: int
    money_out: int
    closing: int
    reconciles: bool = Field(..., description="opening + money_in - money_out == closing")


class TerminalReportOut(BaseModel):
    terminal_id: int
    key_id: str
    agent_id: int
    currency: str
    date: date
    topup_count: int
    topups: int
    voucher_count: int
    vouchers: int
    commission: int
    float_debited: int
    by_tender: dict[str, int] = Field(..., description="Float debited per tender (cash, card)")
    sales: list[SaleOut]


class KycRecordOut(BaseModel):
    id: int
    sale_id: int
    line_id: int | None
    country: str
    id_type: str
    id_masked: str
    created_at: datetime


def agent_out(agent: Agent, balance: Money | None = None) -> AgentOut:
    return AgentOut(**{k: getattr(agent, k) for k in AgentOut.model_fields
                       if k != "float_balance"},
                    float_balance=money_out(balance) if balance is not None else None)


def tier_out(tier: Tier) -> TierOut:
    return TierOut(code=tier.code, name=tier.name, topup_bp=tier.topup_bp,
                   voucher_bp=tier.voucher_bp)


def terminal_out(t: Terminal) -> TerminalOut:
    return TerminalOut(id=t.id, agent_id=t.agent_id, key_id=t.key_id, label=t.label,
                       state=t.state, created_at=t.created_at, last_seen_at=t.last_seen_at)


def sale_fields(s: Sale) -> dict[str, object]:
    return {"id": s.id, "kind": s.kind, "agent_id": s.agent_id, "terminal_id": s.terminal_id,
            "order_id": s.order_id, "voucher_serial": s.voucher_serial, "line_id": s.line_id,
            "amount": money_out(Money(s.amount, s.currency)),
            "commission": money_out(Money(s.commission, s.currency)), "tender": s.tender,
            "created_at": s.created_at}


def kyc_out(entry: KycEntry | None) -> KycOut | None:
    if entry is None:
        return None
    return KycOut(id_type=entry.id_type, id_masked=entry.id_masked, country=entry.country)


def topup_sale_out(done: TopupSale) -> TopupSaleOut:
    o = done.order
    credited = Money(o.credit_amount, o.credit_currency) if o.credit_currency and \
        o.credit_amount else None
    return TopupSaleOut(**sale_fields(done.sale), order_state=o.state,  # type: ignore[arg-type]
                        credited=money_out(credited) if credited else None,
                        float_balance=money_out(done.float_balance), kyc=kyc_out(done.kyc),
                        quote=PriceQuoteOut(**o.quote) if o.quote else None)


def voucher_sale_out(done: VoucherSale) -> VoucherSaleOut:
    v = done.voucher
    return VoucherSaleOut(**sale_fields(done.sale), voucher_state=v.state,  # type: ignore[arg-type]
                          face=money_out(v.face), expires_at=v.expires_at,
                          float_balance=money_out(done.float_balance))


def statement_out(st: Statement) -> StatementOut:
    fields = {k: getattr(st, k) for k in StatementOut.model_fields if k != "date"}
    return StatementOut(date=st.day, **fields)


def terminal_report_out(r: TerminalReport) -> TerminalReportOut:
    return TerminalReportOut(
        terminal_id=r.terminal_id, key_id=r.key_id, agent_id=r.agent_id, currency=r.currency,
        date=r.day, topup_count=r.topup_count, topups=r.topups, voucher_count=r.voucher_count,
        vouchers=r.vouchers, commission=r.commission, float_debited=r.float_debited,
        by_tender=dict(r.by_tender),
        sales=[SaleOut(**sale_fields(s)) for s in r.sales])  # type: ignore[arg-type]


def kyc_record_out(r: KycRecord) -> KycRecordOut:
    return KycRecordOut(id=r.id, sale_id=r.sale_id, line_id=r.line_id, country=r.country,
                        id_type=r.id_type, id_masked=r.id_masked, created_at=r.created_at)
