"""Scratch cards sold at the counter through the pages, and the daily statement: the card's
face value leaves the float once (less the voucher commission), the card goes live, refusals
show next to the serial; the statement's figures are the day's sales; a chain reads its
stores' statements and nobody reads another agent's."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.factories import make_line
from tests.integration.pos.conftest import (
    TIER_BP,
    VOUCHER_BP,
    Till,
    error_of,
    make_cards,
    open_till,
    wallet,
)
from topup.agents.floats import fund_float
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.vouchers import service as vouchers

CN = "+8613800138000"


def sell_card(till: Till, serial: str, page_path: str = "/pos/voucher") -> tuple[str, object]:
    page = till.get(page_path)
    key = re.search(r'name="sale_key" value="([^"]+)"', page.text)
    assert key
    r = till.post("/pos/voucher", page, {"serial": serial, "sale_key": key.group(1)})
    return key.group(1), r


def figure(html: str, row: str) -> str:
    found = re.search(rf'<tr id="st-{row}"><th scope="row">([^<]*)</th><td class="num">'
                      rf'(?:<strong>)?([^<]*)<', html)
    assert found, row
    return f"{found.group(1)} = {found.group(2)}"


def test_a_card_sold_at_the_counter(till: Till) -> None:
    (card,) = make_cards(till.db, count=1)
    _, sold = sell_card(till, card.serial, "/pos")  # from the first page's form
    assert sold.status_code == 303, getattr(sold, "text", "")[:500]
    earned = 100_00 * VOUCHER_BP // 10000
    assert till.float_posted() == 500_00 - 100_00 + earned
    receipt = till.get(sold.headers["location"]).text
    assert f'id="receipt-serial">{card.serial}<' in receipt
    assert 'id="receipt-kind">Voucher card<' in receipt
    assert f'id="receipt-float">CN¥{(400_00 + earned) / 100:.2f}<' in receipt
    with till.db.unit(readonly=True) as uow:
        assert vouchers.get_voucher(uow, card.serial).state == "active"
    line = make_line(till.db, msisdn=CN, country="CN")
    done = vouchers.redeem(till.db, card.pin, line.id, vouchers.RedeemContext(channel="api"))
    assert done.credited is not None and wallet(till.db, line.id) == 100_00


def test_a_card_form_sent_twice_sells_once(till: Till) -> None:
    card, second = make_cards(till.db, count=2)
    page = till.get("/pos/voucher")
    key = re.search(r'name="sale_key" value="([^"]+)"', page.text)
    assert key
    first = till.post("/pos/voucher", page, {"serial": card.serial, "sale_key": key.group(1)})
    again = till.post("/pos/voucher", page, {"serial": card.serial, "sale_key": key.group(1)})
    assert first.headers["location"] == again.headers["location"]
    once = 500_00 - 100_00 + 100_00 * VOUCHER_BP // 10000
    assert till.float_posted() == once
    stale = till.post("/pos/voucher", page, {"serial": second.serial,
                                             "sale_key": key.group(1)})
    assert stale.status_code == 422 and till.float_posted() == once
    assert error_of(stale.text, "serial").startswith("This form was already sent")
    fresh = re.search(r'name="sale_key" value="([^"]+)"', stale.text)
    assert fresh and fresh.group(1) != key.group(1), "a new form sells the new card"
    sold = till.post("/pos/voucher", stale, {"serial": second.serial, "sale_key": fresh.group(1)})
    assert sold.status_code == 303 and till.float_posted() == once - 100_00 + 300


def test_card_refusals_show_next_to_the_serial(db: Database) -> None:
    till = open_till(db, fund=50_00)
    other = open_till(db, "Harbour Shop")
    (card,) = make_cards(db, count=1)
    (theirs,) = make_cards(db, count=1, face=10_00, agent_id=other.agent_id)
    for serial, expected in (
            ("", "Enter the serial number printed on the card."),
            ("1234", "No voucher has this serial number"),
            (card.serial, "The float holds CN¥50.00; this sale needs CN¥100.00. Ask the "
                          "operator to fund the float first."),
            (theirs.serial, "This card was distributed to another agent")):
        _, r = sell_card(till, serial)
        assert r.status_code == 422, serial  # type: ignore[attr-defined]
        assert error_of(r.text, "serial") == expected  # type: ignore[attr-defined]
    assert till.float_posted() == 50_00


def test_the_statement_is_the_days_sales(db: Database, clock: FrozenClock) -> None:
    till = open_till(db)
    make_line(db, msisdn=CN, country="CN")
    (card,) = make_cards(db, count=1, face=50_00)
    clock.advance(days=1)  # a new day: the opening is yesterday's funding
    assert till.browser.login(till.email).status_code == 200  # the session idled out
    with db.unit() as uow:
        fund_float(uow, till.agent_id, 300_00, key="second", reason="bank", actor_id=None)
    till.confirm(till.topup_confirm(CN, "100"))
    till.confirm(till.topup_confirm(CN, "20.50"))
    sell_card(till, card.serial)
    page = till.get("/pos/statement")
    assert page.status_code == 200
    html = page.text
    commission = 100_00 * TIER_BP // 10000 + 20_50 * TIER_BP // 10000 + 50_00 * VOUCHER_BP // 10000
    assert figure(html, "opening") == "Opening float = CN¥500.00"
    assert figure(html, "funded") == "Fundings (1) = +CN¥300.00"
    assert figure(html, "topups") == "Top-ups sold (2) = −CN¥120.50"
    assert figure(html, "vouchers") == "Voucher cards sold (1) = −CN¥50.00"
    assert figure(html, "commission") == f"Commission earned = +CN¥{commission / 100:.2f}"
    closing = 500_00 + 300_00 - 120_50 - 50_00 + commission
    assert figure(html, "closing") == f"Closing float = CN¥{closing / 100:.2f}"
    assert closing == till.float_posted() and 'id="st-mismatch"' not in html
    listed = re.findall(r'<tr data-sale="(\d+)">', html)
    assert len(listed) == 3
    for sale_id in listed:
        assert till.get(f"/pos/sales/{sale_id}").status_code == 200
    yesterday = (clock() - timedelta(days=1)).date().isoformat()
    before = till.get(f"/pos/statement?date={yesterday}").text
    assert figure(before, "funded") == "Fundings (1) = +CN¥500.00"
    assert figure(before, "closing") == "Closing float = CN¥500.00"
    assert 'id="no-sales"' in before
    wrong = till.get("/pos/statement?date=22/11/2026")
    assert wrong.status_code == 422 and error_of(wrong.text, "date").startswith("Enter a date")


def test_a_chain_reads_its_stores_and_nobody_reads_another_agent(db: Database) -> None:
    chain = open_till(db, "Sunrise Stores", kind="chain", fund=0)
    store = open_till(db, "Sunrise Terminal 2", parent_id=chain.agent_id)
    stranger = open_till(db, "Harbour Shop")
    make_line(db, msisdn=CN, country="CN")
    sold = store.confirm(store.topup_confirm(CN, "100")).headers["location"].split("?")[0]
    page = chain.get("/pos/statement").text
    assert f'<option value="{store.agent_id}"' in page and "Sunrise Terminal 2" in page
    theirs = chain.get(f"/pos/statement?agent={store.agent_id}")
    assert theirs.status_code == 200 and "Top-ups sold (1)" in theirs.text
    assert chain.get(sold).status_code == 200, "a chain reads its stores' receipts"
    for till, path in ((stranger, f"/pos/statement?agent={store.agent_id}"),
                       (store, f"/pos/statement?agent={chain.agent_id}"),
                       (store, f"/pos/statement?agent={stranger.agent_id}"),
                       (store, "/pos/statement?agent=abc"),
                       (stranger, sold), (store, "/pos/sales/999999")):
        r = till.get(path)
        assert r.status_code == 404, path
        assert "Sunrise" not in r.text.split("<main", 1)[1], "nothing of the agent shows"
    assert "<select" not in store.get("/pos/statement").text, "a store has no stores"
