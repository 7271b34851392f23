"""Topping up a line at the counter through the pages: a kiosk assistant types the number and
the amount, confirms, and hands over the receipt. The float falls by exactly the amount less
the tier's commission, the line's wallet rises by the amount, a confirmation sent twice sells
once, refusals show next to their field, and the buyer's ID is asked where a rule says so
(and kept only masked)."""

from __future__ import annotations

import re
import threading

from tests.factories import make_line
from tests.integration.agents.conftest import with_settings
from tests.integration.pos.conftest import (
    TIER_BP,
    Till,
    error_of,
    open_till,
    wallet,
)
from topup.agents import agents as agent_svc
from topup.agents import kyc
from topup.db.uow import Database
from topup.orders.service import line_orders
from topup.subscribers import lines as line_svc

CN = "+8613800138000"


def sales_today(till: Till) -> int:
    found = re.search(r'id="sales-count">([^<]*)<', till.get("/pos").text)
    assert found
    return int(found.group(1))


def test_a_topup_at_the_counter(till: Till) -> None:
    line = make_line(till.db, msisdn=CN, country="CN")
    page = till.topup_confirm("+86 138 0013 8000", "100")
    assert page.status_code == 200, page.text[:500]
    assert 'id="summary-line">+861******8000<' in page.text, "the number is masked"
    summary = page.text[page.text.index('id="sale-summary"'):page.text.index("</dl>")]
    assert CN.lstrip("+") not in summary
    assert 'data-status="provisioned"' in page.text and "CNY · CN" in page.text
    earned = 100_00 * TIER_BP // 10000  # 1.5 % = CN¥1.50
    assert f'id="summary-commission">CN¥{earned / 100:.2f}<' in page.text
    assert 'id="summary-float">CN¥401.50<' in page.text
    assert 'id="kyc"' not in page.text, "no rule asks for the buyer's ID here"
    done = till.confirm(page)
    assert done.status_code == 303 and done.headers["location"].startswith("/pos/sales/")
    assert wallet(till.db, line.id) == 100_00
    assert till.float_posted() == 500_00 - 100_00 + earned
    receipt = till.get(done.headers["location"])
    assert receipt.status_code == 200 and "Sold. Here is the receipt." in receipt.text
    assert 'id="receipt-line">+861******8000<' in receipt.text
    assert 'id="receipt-amount"><strong>CN¥100.00<' in receipt.text
    assert 'id="receipt-float">CN¥401.50<' in receipt.text
    assert 'id="receipt-state">Credited<' in receipt.text
    with till.db.unit(readonly=True) as uow:
        orders = line_orders(uow, line.id, limit=10)
        assert line_svc.get_line(uow, line.id).status == "active"
    assert [(o.method, o.channel, o.amount) for o in orders] == [("agent", "pos", 100_00)]
    home = till.get("/pos")
    assert 'id="float-balance">CN¥401.50<' in home.text
    assert 'id="sales-count">1<' in home.text and 'id="sales-total">CN¥100.00<' in home.text
    receipt_path = done.headers["location"].split("?")[0]
    assert f'href="{receipt_path}"' in home.text, "listed under the last sales"


def test_the_receipt_keeps_the_float_after_its_own_sale(db: Database) -> None:
    till = open_till(db, zone="Asia/Hong_Kong")
    make_line(db, msisdn=CN, country="CN")
    first = till.confirm(till.topup_confirm(CN, "100")).headers["location"]
    till.confirm(till.topup_confirm(CN, "50.50"))
    receipt = till.get(first).text
    assert 'id="receipt-float">CN¥401.50<' in receipt, "the float right after that sale"
    shown = re.search(r'id="receipt-time">([^<]*)<', receipt)
    assert shown and "4:00:00" in shown.group(1), "08:00 UTC in the seller's zone"
    assert shown.group(1).endswith("(Asia/Hong_Kong)")
    assert till.float_posted() == 500_00 - 150_50 + 150 + 50_50 * TIER_BP // 10000


def test_a_confirmation_sent_twice_sells_once(till: Till) -> None:
    line = make_line(till.db, msisdn=CN, country="CN")
    page = till.topup_confirm(CN, "200")
    first, again = till.confirm(page), till.confirm(page)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"], "the same receipt"
    assert wallet(till.db, line.id) == 200_00
    assert till.float_posted() == 500_00 - 200_00 + 200_00 * TIER_BP // 10000
    assert sales_today(till) == 1
    fresh = till.topup_confirm(CN, "200")  # a new confirmation is a new sale
    assert till.confirm(fresh).headers["location"] != first.headers["location"]
    assert wallet(till.db, line.id) == 400_00 and sales_today(till) == 2


def test_refusals_show_next_to_their_field(till: Till) -> None:
    frozen = make_line(till.db, msisdn="+8613900139000", country="CN")
    make_line(till.db, msisdn=CN, country="CN")
    with till.db.unit() as uow:
        line_svc.freeze(uow, frozen.id, actor=None, reason="fraud check")
    home = till.get("/pos")

    def step_one(number: str, amount: str) -> str:
        r = till.post("/pos/topup", home, {"number": number, "amount": amount})
        assert r.status_code == 422, (r.status_code, r.text[:300])
        return r.text

    assert error_of(step_one("+85261234567", "100"), "number") == "Line not found"
    assert "frozen" in error_of(step_one("+8613900139000", "100"), "number")
    assert "between CN¥10.00 and CN¥2,000.00" in error_of(step_one(CN, "5"), "amount")
    low = step_one(CN, "600")
    assert error_of(low, "amount") == ("The float holds CN¥500.00; this sale needs CN¥600.00. "
                                       "Ask the operator to fund the float first.")
    both = step_one("", "ten")
    assert error_of(both, "number") and error_of(both, "amount").startswith("Enter an amount")
    assert 'value="ten"' in both, "what was typed stays in the form"
    with till.db.unit() as uow:
        agent_svc.set_state(uow, till.agent_id, "suspended", actor_id=None, reason="audit")
    suspended = step_one(CN, "100")
    assert "The agent is suspended" in suspended and not error_of(suspended, "number")
    assert till.float_posted() == 500_00 and sales_today(till) == 0


def test_a_refusal_at_the_last_step_returns_to_the_form(db: Database) -> None:
    till = open_till(db, fund=100_00)
    line = make_line(db, msisdn=CN, country="CN")
    page = till.topup_confirm(CN, "80")
    other = till.topup_confirm(CN, "80")  # a second window on the same float
    assert till.confirm(page).status_code == 303
    refused = till.confirm(other)
    assert refused.status_code == 422
    assert "this sale needs CN¥80.00" in error_of(refused.text, "amount")
    assert f'value="{CN.lstrip("+")}"' in refused.text and 'value="80"' in refused.text
    assert wallet(db, line.id) == 80_00


def test_the_buyer_id_is_asked_and_kept_masked(db: Database) -> None:
    strict = with_settings(db, kyc_countries=("CN",))
    till = open_till(strict)
    line = make_line(strict, msisdn=CN, country="CN")
    page = till.topup_confirm(CN, "100")
    assert 'id="kyc"' in page.text and "The rules of CN ask for the buyer" in page.text
    assert '<label for="f-id_type">' in page.text and '<label for="f-id_number">' in page.text
    missing = till.confirm(page)
    assert missing.status_code == 422 and 'id="kyc"' in missing.text
    assert error_of(missing.text, "id_number").startswith("The buyer's ID is required")
    bad = till.confirm(missing, id_type="passport", id_number="E1")
    assert bad.status_code == 422 and "Invalid ID document" in error_of(bad.text, "id_number")
    assert wallet(strict, line.id) == 0 and till.float_posted() == 500_00
    done = till.confirm(bad, id_type="passport", id_number="e1234-5678")
    assert done.status_code == 303, done.text[:500]
    again = till.confirm(bad, id_type="passport", id_number="e1234-5678")
    assert again.headers["location"] == done.headers["location"], "sold once"
    receipt = till.get(done.headers["location"]).text
    assert 'id="receipt-id">Passport ****5678<' in receipt
    with strict.unit(readonly=True) as uow:
        records = kyc.records(uow, till.agent_id)
    assert [(r.id_type, r.id_masked, r.country) for r in records] == [
        ("passport", "****5678", "CN")]
    assert wallet(strict, line.id) == 100_00
    with strict.unit(readonly=True) as uow:
        found = kyc.find_document(uow, "passport", "E12345678")
    assert [r.sale_id for r in found] == [records[0].sale_id]


def test_a_confirmation_sent_twice_at_once_sells_once(till: Till) -> None:
    line = make_line(till.db, msisdn=CN, country="CN")
    page = till.topup_confirm(CN, "300")
    barrier = threading.Barrier(2)
    answers: list[str] = []

    def press() -> None:
        barrier.wait()
        answers.append(till.confirm(page).headers.get("location", "refused"))

    presses = [threading.Thread(target=press) for _ in range(2)]
    for t in presses:
        t.start()
    for t in presses:
        t.join(timeout=60)
    assert len(answers) == 2 and answers[0] == answers[1] != "refused", answers
    assert wallet(till.db, line.id) == 300_00 and sales_today(till) == 1
    assert till.float_posted() == 500_00 - 300_00 + 300_00 * TIER_BP // 10000
