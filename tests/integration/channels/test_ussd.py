"""The USSD menu as the operator's gateway drives it: form POSTs with sessionId, serviceCode,
phoneNumber and the whole input so far in ``text``; ``CON``/``END`` text/plain answers,
compared byte for byte."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.channels.conftest import (
    ANON_MSISDN,
    MSISDN,
    USSD_TOKEN,
    World,
    voucher_pins,
)
from topup.catalog.service import set_fee_rule
from topup.channels.api.app import create_app
from topup.channels.selfservice.texts import fits_ussd
from topup.subscribers import auth
from topup.subscribers import lines as line_svc

URL = "/api/v1/ussd"
MAIN_EN = "CON topup\n1 Balance\n2 Buy a plan\n3 Redeem voucher\n4 Top up by card\n5 Language"
MAIN_ZH = "CON topup\n1 余额查询\n2 购买套餐\n3 充值卡充值\n4 银行卡充值\n5 语言/Language"
PLANS_EN = ("CON Choose a plan:\n1 Thailand 1 day 1 GB CN¥9.90\n2 Thailand data add-on 5 GB "
            "CN¥25.00\n3 Thailand 7 days 10 GB CN¥49.00\n0 Back")


def ussd(world: World, text: str, *, session: str = "ATUid_1", code: str = "*123#",
         phone: str = MSISDN, client: TestClient | None = None,
         headers: dict[str, str] | None = None) -> Any:
    form = {"sessionId": session, "serviceCode": code, "phoneNumber": phone,
            "networkCode": "52001", "text": text}
    hdrs = {"X-Gateway-Token": USSD_TOKEN} if headers is None else headers
    return (client or world.api.client).post(URL, data=form, headers=hdrs)


def say(world: World, text: str, **kw: Any) -> str:
    r = ussd(world, text, **kw)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith(("CON ", "END ")) and fits_ussd(r.text[4:]), r.text
    return str(r.text)


def test_only_the_operators_gateway_may_call(world: World) -> None:
    assert ussd(world, "", headers={}).status_code == 401
    assert ussd(world, "", headers={"X-Gateway-Token": "guess"}).status_code == 401
    assert world.api.client.post(f"{URL}?token={USSD_TOKEN}", data={
        "sessionId": "s", "serviceCode": "*123#", "phoneNumber": MSISDN, "text": ""},
    ).status_code == 200, "gateways that only take a URL send the secret as a parameter"
    world.db.settings = replace(world.db.settings, ussd_gateway_ips=("10.20.0.0/16",))
    assert ussd(world, "").status_code == 403, "the test client is not in the allowlist"
    inside = TestClient(create_app(world.db), client=("10.20.3.4", 40000))
    assert say(world, "", client=inside) == MAIN_EN
    world.db.settings = replace(world.db.settings, ussd_gateway_token="")
    assert ussd(world, "", client=inside).status_code == 401, "no secret set: closed to all"


def test_balance_end_to_end(world: World) -> None:
    assert say(world, "") == MAIN_EN
    assert say(world, "1") == "END Balance: CN¥0.00\nData: no active plan"
    world.credit(100_00)
    assert say(world, "1", session="ATUid_2") == (
        "END Balance: CN¥100.00\nData: no active plan\nLine valid until 2027-05-21")


def test_strangers_and_blocked_lines_are_told_politely(world: World) -> None:
    assert say(world, "", phone="+66899999999") == (
        "END Sorry, this number is not registered for this service.")
    assert say(world, "", phone="not a number") == (
        "END Sorry, this number is not registered for this service.")
    with world.db.unit() as uow:
        line_svc.freeze(uow, world.line.id, actor=world.admin.id, reason="stolen phone")
    assert say(world, "1") == (
        "END This line cannot be topped up or used now. Please contact customer service.")


def test_buy_a_plan_from_the_wallet_once(world: World) -> None:
    world.credit(100_00)
    assert say(world, "2") == PLANS_EN
    assert say(world, "2*3") == ("CON Thailand 7 days 10 GB\nPrice CN¥49.00\n"
                                 "Paid from your balance of CN¥100.00\n1 Confirm\n0 Back")
    done = say(world, "2*3*1")
    assert done == "END Done: Thailand 7 days 10 GB is active. Balance CN¥51.00."
    assert say(world, "2*3*1") == done, "a gateway retry replays the answer"
    assert world.wallet() == 51_00
    assert say(world, "1", session="next") == (
        "END Balance: CN¥51.00\nData: 10 GB left, expires 2026-11-29\n"
        "Line valid until 2027-05-21")
    second = say(world, "2*3*1", session="another")
    assert second == "END Done: Thailand 7 days 10 GB is active. Balance CN¥2.00."
    assert say(world, "2*2*1", session="third") == (
        "END Not enough balance: CN¥25.00 needed, you have CN¥2.00. Please top up first.")
    assert world.wallet() == 2_00


def test_the_fee_rule_of_the_channel_is_shown_and_charged(world: World) -> None:
    world.credit(100_00)
    with world.db.unit() as uow:
        set_fee_rule(uow, "ussd", "wallet", "CNY", 50, 0)
    assert say(world, "2*1") == ("CON Thailand 1 day 1 GB\nPrice CN¥9.90 + fee CN¥0.50\n"
                                 "Paid from your balance of CN¥100.00\n1 Confirm\n0 Back")
    assert say(world, "2*1*1") == "END Done: Thailand 1 day 1 GB is active. Balance CN¥89.60."


def test_back_main_and_invalid_inputs(world: World) -> None:
    assert say(world, "2*0") == MAIN_EN
    assert say(world, "2*2*00") == MAIN_EN
    assert say(world, "2*2*0") == PLANS_EN
    assert say(world, "7") == "CON Invalid choice.\n" + MAIN_EN[4:]
    assert say(world, "2*9") == "CON Invalid choice.\n" + PLANS_EN[4:]
    assert say(world, "0") == "CON Invalid choice.\n" + MAIN_EN[4:]
    assert say(world, "1*1") == "END Invalid choice.", "nothing past a closing screen"


def test_language_for_the_session_and_for_the_account(world: World) -> None:
    assert say(world, "5") == "CON Language/语言\n1 English\n2 中文\n0 Back"
    assert say(world, "5*2") == "CON 语言：中文\n" + MAIN_ZH[4:]
    assert say(world, "5*2*1") == "END 余额：¥0.00\n流量：无有效套餐"
    with world.db.unit(readonly=True) as uow:
        assert auth.update_profile(uow, world.user.id).language == "zh-CN"
    assert say(world, "", session="later") == MAIN_ZH, "the account keeps the choice"
    assert say(world, "5*1", session="later") == "CON Language: English\n" + MAIN_EN[4:]
    anon = say(world, "5*2", phone=ANON_MSISDN)
    assert anon == "CON 语言：中文\n" + MAIN_ZH[4:]
    assert say(world, "", phone=ANON_MSISDN, session="s2") == MAIN_EN, "session only"


def test_every_screen_fits_one_ussd_page_in_both_languages(world: World) -> None:
    world.credit(20_00)
    pins = voucher_pins(world, 2)
    paths = ["", "1", "2", "2*1", "2*2", "2*3", "2*3*1", "3", "4", "5", "9", "2*7", "3*123",
             f"3*{pins[0]}", f"3*{pins[0]}", pins[1], "1*1", "2*1*1"]
    for n, (lang, path) in enumerate(itertools.product(("1", "2"), paths)):
        say(world, "*".join(p for p in (f"5*{lang}", path) if p), session=f"fit-{n}")


def test_a_voucher_in_one_go_or_through_the_menu_credits_once(world: World) -> None:
    pins = voucher_pins(world, 3)
    dialled = say(world, "", code=f"*123*{pins[0]}#", session="one-go")
    assert dialled.startswith("END Voucher ") and dialled.endswith(
        ": CN¥50.00 added. Balance CN¥50.00.")
    assert say(world, "", code=f"*123*{pins[0]}#", session="one-go") == dialled, "retry"
    assert say(world, "", code=f"*123*{pins[0]}#", session="again") == (
        "END This voucher has already been used.")
    assert say(world, pins[1], session="typed-first").endswith("Balance CN¥100.00.")
    assert say(world, "3") == "CON Enter the voucher PIN:\n0 Back"
    assert say(world, f"3*{pins[2]}", session="menu").endswith("Balance CN¥150.00.")
    assert world.wallet() == 150_00
    wrong = pins[2][:-1] + str((int(pins[2][-1]) + 1) % 10)
    assert say(world, f"3*{wrong}", session="typo") == (
        "END Wrong PIN. Please check the digits and try again.")
    assert world.wallet() == 150_00


def test_top_up_by_card_without_a_saved_card(world: World) -> None:
    assert say(world, "4") == "END No saved card for this number. Save a card in the app first."
    assert say(world, "4", phone=ANON_MSISDN) == (
        "END No saved card for this number. Save a card in the app first.")


def test_chinese_answers_in_full(world: World) -> None:
    world.credit(10_00)
    assert say(world, "5*2*2") == ("CON 选择套餐：\n1 泰国 1天 1GB ¥9.90\n"
                                   "2 泰国流量加油包 5GB ¥25.00\n3 泰国 7天 10GB ¥49.00\n0 返回")
    assert say(world, "5*2*2*3*1") == "END 余额不足：需¥49.00，当前¥10.00。请先充值。"
    assert say(world, "5*2*3*12345678901234") == "END 卡密错误，请核对后重试。"
    assert say(world, "5*2*4") == "END 该号码没有已保存的银行卡，请先在App中添加。"


def test_a_screen_too_long_for_one_page_is_cut_not_split(world: World) -> None:
    world.db.settings = replace(world.db.settings, operator_name="Travel SIM Top-up " * 12)
    menu = say(world, "")
    assert menu.startswith("CON Travel SIM Top-up Travel") and len(menu) == 4 + 182
    assert say(world, "5*2").startswith("CON 语言：中文\nTravel SIM"), "cut to 80 in UCS-2"
