"""Scratch cards sold at the counter and at terminals: the face value leaves the float once,
the tier's voucher commission comes back into it, the card becomes redeemable, and the
statement shows the sale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from tests.integration.agents.conftest import VOUCHER_BP, Counter, make_kiosk
from topup.db.uow import Database
from topup.subscribers.lines import Line
from topup.vouchers import service as vouchers
from topup.vouchers.generate import Card


@dataclass
class Sink:
    cards: list[Card] = field(default_factory=list)

    def write(self, cards: Sequence[Card]) -> None:
        self.cards.extend(cards)

    def close(self) -> list[Path]:
        return []


def cards(db: Database, count: int = 3, face: int = 100_00, currency: str = "CNY",
          agent_id: int | None = None) -> list[Card]:
    """A generated batch, not activated: its cards become live one by one as they are sold."""
    with db.unit() as uow:
        batch = vouchers.create_batch(uow, vouchers.BatchSpec(
            count=count, face_amount=face, currency=currency, agent_id=agent_id,
            distributor=None if agent_id else "Retail network",
            expires_at=uow.now + timedelta(days=365)), None)
    sink = Sink()
    vouchers.generate(db, batch.id, [sink], actor_id=None)
    return sink.cards


def sell(counter: Counter, agent_id: int, serial: str, key: str = "k") -> object:
    return counter.api.post("/api/v1/pos/vouchers", counter.logins[agent_id], key=key,
                            json={"serial": serial})


def test_a_card_sold_at_the_counter(counter: Counter, line: Line) -> None:
    shop = counter.agent()
    counter.fund(shop, 250_00)
    card, second, third = cards(counter.db)
    r = sell(counter, shop, card.serial)
    assert r.status_code == 201, r.text
    sale = r.json()
    earned = 100_00 * VOUCHER_BP // 10000
    assert (sale["kind"], sale["voucher_serial"], sale["voucher_state"]) == (
        "voucher", card.serial, "active")
    assert sale["commission"]["amount"] == earned
    assert counter.float_of(shop) == 250_00 - 100_00 + earned
    again = sell(counter, shop, card.serial, key="another-key")  # the same card again
    assert again.status_code == 201 and again.json()["id"] == sale["id"]
    assert counter.float_of(shop) == 250_00 - 100_00 + earned, "nothing moved twice"
    other = counter.agent("Other shop")
    counter.fund(other, 500_00)
    r = sell(counter, other, card.serial)
    assert r.status_code == 409 and counter.float_of(other) == 500_00
    assert sell(counter, shop, second.serial, key="k2").status_code == 201
    r = sell(counter, shop, third.serial, key="k3")  # 53.00 left: too little for 100.00
    assert r.status_code == 422 and r.json()["code"] == "float_insufficient"
    with counter.db.unit(readonly=True) as uow:
        assert vouchers.get_voucher(uow, third.serial).state != "active"
    done = vouchers.redeem(counter.db, card.pin, line.id,
                           vouchers.RedeemContext(channel="api"))
    assert done.credited is not None and done.credited.amount == 100_00
    assert counter.wallet(line.id) == 100_00
    st = counter.api.client.get("/api/v1/pos/statement", headers=counter.logins[shop]).json()
    assert (st["vouchers"], st["voucher_count"], st["commission"]) == (200_00, 2, 2 * earned)
    assert st["reconciles"] and st["other_out"] == 0


def test_cards_of_other_stock_or_currency_are_refused(counter: Counter) -> None:
    chain = counter.agent("Seven Stars", kind="chain")
    member = counter.agent("Seven Stars Wan Chai", parent_id=chain)
    outsider = counter.agent("Other shop")
    for a in (member, outsider):
        counter.fund(a, 500_00)
    (chain_card,) = cards(counter.db, count=1, agent_id=chain)
    r = sell(counter, outsider, chain_card.serial)
    assert r.status_code == 403 and r.json()["code"] == "card_of_another_agent"
    assert sell(counter, member, chain_card.serial).status_code == 201, "the chain's stock"
    (baht,) = cards(counter.db, count=1, currency="THB", face=500_00)
    r = sell(counter, outsider, baht.serial, key="thb")
    assert r.status_code == 422 and r.json()["code"] == "currency_mismatch"
    r = sell(counter, outsider, "1234", key="nope")
    assert r.status_code == 404
    assert counter.float_of(outsider) == 500_00


def test_a_terminal_sells_a_card(counter: Counter) -> None:
    operator = counter.agent("Airport Kiosks", kind="kiosk_operator")
    counter.fund(operator, 300_00)
    kiosk = make_kiosk(counter, operator)
    (card,) = cards(counter.db, count=1, face=50_00)
    r = kiosk.post("/vouchers", {"serial": card.serial, "tender": "card"})
    assert r.status_code == 201, r.text
    assert r.json()["terminal_id"] == kiosk.terminal_id and r.json()["tender"] == "card"
    rep = kiosk.get("/reconciliation").json()
    assert (rep["voucher_count"], rep["vouchers"], rep["by_tender"]) == (1, 50_00,
                                                                         {"card": 50_00})
    assert rep["commission"] == 50_00 * VOUCHER_BP // 10000
