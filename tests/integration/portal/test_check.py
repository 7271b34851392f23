"""/check, without logging in, and the SMS keyword CHECK: genuine and unused (with its value),
used, blocked and unknown serials get the same answers on both, each counted per address or
sender (too many: a wait), in English and Chinese."""

from __future__ import annotations

import re
from dataclasses import replace

from tests.factories import make_line
from tests.integration.portal.conftest import Browser
from tests.integration.vouchers.conftest import make_batch
from topup.channels.sms.keywords import handle_inbound
from topup.db.uow import Database
from topup.vouchers import service as vouchers
from topup.vouchers.batches import block_range


def verdict(b: Browser, serial: str) -> str:
    page = b.get("/check", params={"serial": serial})
    found = re.search(r'data-verdict="([a-z]+)"', page.text)
    assert found, page.text[:400]
    return found.group(1)


def cards(db: Database) -> dict[str, str]:
    made = make_batch(db, count=3, face=50_00)
    line = make_line(db)
    vouchers.redeem(db, made.pins[1], line.id, vouchers.RedeemContext(channel="api"))
    with db.unit() as uow:
        block_range(uow, made.cards[2].serial, made.cards[2].serial, None, "reported stolen")
    return {"genuine": made.cards[0].serial, "used": made.cards[1].serial,
            "blocked": made.cards[2].serial, "unknown": "9999-9999"}


def test_anyone_checks_a_card_without_logging_in(db: Database) -> None:
    serials = cards(db)
    b = Browser(db, {})
    shown = {name: verdict(b, serial) for name, serial in serials.items()}
    assert shown == {"genuine": "genuine", "used": "used", "blocked": "blocked",
                     "unknown": "unknown"}
    page = b.get("/check", params={"serial": serials["genuine"]}).text
    assert "Genuine and unused" in page and "CN¥50.00" in page
    zh = Browser(db, {}, "zh-CN").get("/check", params={"serial": serials["used"]}).text
    assert "已被使用" in zh and "请勿付款购买" in zh


def test_the_check_is_limited_per_address(db: Database) -> None:
    serial = cards(db)["genuine"]
    b = Browser(db, {})
    for _ in range(db.settings.voucher_checks_per_ip - 4):  # cards() checked nothing
        assert b.get("/check", params={"serial": serial}).status_code == 200
    for _ in range(4):
        b.get("/check", params={"serial": serial})
    locked = b.get("/check", params={"serial": serial})
    assert locked.status_code == 429 and 'data-verdict' not in locked.text


def test_the_sms_keyword_gives_the_same_answers(db: Database) -> None:
    serials = cards(db)
    nobody = "+85290000001"  # any sender: no account, no line needed
    assert "is genuine and unused, worth CN¥50.00" in handle_inbound(
        db, nobody, f"check {serials['genuine']}")
    assert "has already been used" in handle_inbound(db, nobody, f"CHECK {serials['used']}")
    assert "expired or blocked" in handle_inbound(db, nobody, f"check {serials['blocked']}")
    assert "No card has serial" in handle_inbound(db, nobody, "check 9999-9999")
    assert "为正品且未使用" in handle_inbound(db, nobody, f"验卡 {serials['genuine']}")
    limited = replace(db.settings, voucher_checks_per_ip=2)
    tight = Database(db.engine, limited, db.clock)
    handle_inbound(tight, "+85290000002", "check 9999-9999")
    handle_inbound(tight, "+85290000002", "check 9999-9999")
    assert "No card" not in handle_inbound(tight, "+85290000002", "check 9999-9999")
