"""SMS keywords: each inbound message does its work and queues exactly one reply SMS through
the outbox, in the sender's language; a message the SMSC delivers twice is answered once."""

from __future__ import annotations

from typing import Any

from tests.integration.channels.conftest import (
    ANON_MSISDN,
    MSISDN,
    SMS_TOKEN,
    World,
    voucher_pins,
)
from topup.channels.sms.keywords import handle_inbound
from topup.subscribers import auth
from topup.subscribers import lines as line_svc

HELP_EN = ("topup: send BAL for your balance, TOPUP <PIN> to redeem a voucher, RENEW ON or "
           "RENEW OFF for auto-renew, AUTO OFF to stop auto top-up.")


def replies(world: World, recipient: str = MSISDN) -> list[tuple[str, str, str]]:
    return [(m["template"], m["language"], m["params"]["text"])
            for m in world.outbox(recipient) if m["template"] == "selfservice_reply"]


def test_bal_answers_with_the_line_summary(world: World) -> None:
    world.credit(20_00)
    reply = handle_inbound(world.db, MSISDN, "bal")
    assert reply == ("Balance: CN¥20.00\nData: no active plan\nLine valid until 2027-05-21\n"
                     "Auto-renew: off")
    assert replies(world) == [("selfservice_reply", "en", reply)]
    message = world.outbox()[0]
    assert (message["channel"], message["recipient"], message["state"]) == (
        "sms", MSISDN, "queued")


def test_renew_on_and_off_change_the_line_with_the_reply(world: World) -> None:
    assert handle_inbound(world.db, MSISDN, "  renew   on ") == (
        "Auto-renew is on. Send RENEW OFF to stop it.")
    assert world.refreshed().auto_renew is True
    assert handle_inbound(world.db, MSISDN, "RENEWOFF") == (
        "Auto-renew is off. Send RENEW ON to switch it on again.")
    assert world.refreshed().auto_renew is False
    assert handle_inbound(world.db, MSISDN, "开启续费").startswith("Auto-renew is on"), \
        "an account's language wins over the keyword's"
    assert world.refreshed().auto_renew is True
    assert len(replies(world)) == 3


def test_topup_pin_credits_once_and_says_so(world: World) -> None:
    pins = voucher_pins(world, 2, face=30_00)
    spaced = " ".join(pins[0][i:i + 4] for i in range(0, len(pins[0]), 4))
    first = handle_inbound(world.db, MSISDN, f"topup {spaced}")
    assert first.startswith("Voucher ") and first.endswith(": CN¥30.00 added. Balance CN¥30.00.")
    assert handle_inbound(world.db, MSISDN, f"TOPUP {pins[0]}") == (
        "This voucher has already been used.")
    zh = handle_inbound(world.db, ANON_MSISDN, f"充值{pins[1]}")
    assert zh.startswith("充值卡") and zh.endswith("充值成功，到账¥30.00，余额¥30.00。")
    assert world.wallet() == 30_00 and world.wallet(world.anon) == 30_00
    assert [r[1] for r in replies(world)] == ["en", "en"]
    assert replies(world, ANON_MSISDN) == [("selfservice_reply", "zh-CN", zh)]
    assert handle_inbound(world.db, MSISDN, "TOPUP") == (
        "Send TOPUP and the voucher PIN, for example TOPUP 1234567890123456.")


def test_an_sms_delivered_twice_is_answered_and_done_once(world: World) -> None:
    pin = voucher_pins(world, 1)[0]
    first = handle_inbound(world.db, MSISDN, f"TOPUP {pin}", message_id="smsc-0001")
    again = handle_inbound(world.db, MSISDN, f"TOPUP {pin}", message_id="smsc-0001")
    assert again == first and first.endswith("Balance CN¥50.00.")
    renew = handle_inbound(world.db, MSISDN, "RENEW ON", message_id="smsc-0002")
    assert handle_inbound(world.db, MSISDN, "RENEW ON", message_id="smsc-0002") == renew
    assert world.wallet() == 50_00
    assert [r[2] for r in replies(world)] == [first, renew]
    other = handle_inbound(world.db, ANON_MSISDN, "BAL", message_id="smsc-0001")
    assert other.startswith("Balance: CN¥0.00"), "message ids are per sender"


def test_languages_help_and_strangers(world: World) -> None:
    assert handle_inbound(world.db, ANON_MSISDN, "hello?") == HELP_EN
    assert handle_inbound(world.db, ANON_MSISDN, "余额") == (
        "余额：¥0.00\n流量：无有效套餐\n自动续费：未开启")
    assert handle_inbound(world.db, ANON_MSISDN, "ＢＡＬ") == (
        "Balance: CN¥0.00\nData: no active plan\nAuto-renew: off"), "full-width letters"
    with world.db.unit() as uow:
        auth.update_profile(uow, world.user.id, language="zh-CN")
    assert handle_inbound(world.db, MSISDN, "help") == (
        "topup：发送“余额”查询余额，“充值+卡密”使用充值卡，“开启续费”或“关闭续费”设置自动续费，"
        "“关闭自动充值”停止自动充值。")
    stranger = "+66899999999"
    assert handle_inbound(world.db, stranger, "BAL") == (
        "Sorry, this number is not registered for this service.")
    assert replies(world, stranger) == [
        ("selfservice_reply", "en", "Sorry, this number is not registered for this service.")]
    with world.db.unit() as uow:
        line_svc.freeze(uow, world.anon.id, actor=world.admin.id, reason="fraud check")
    assert handle_inbound(world.db, ANON_MSISDN, "RENEW ON") == (
        "This line cannot be topped up or used now. Please contact customer service.")
    assert world.refreshed(world.anon).auto_renew is False


def post(world: World, form: dict[str, str], token: str | None = SMS_TOKEN) -> Any:
    headers = {"X-Gateway-Token": token} if token else {}
    return world.api.client.post("/api/v1/sms/inbound", data=form, headers=headers)


def test_the_inbound_webhook_of_an_sms_gateway(world: World) -> None:
    form = {"from": MSISDN, "text": "RENEW ON", "id": "gw-77"}
    assert post(world, form, token=None).status_code == 401
    assert post(world, form, token="wrong").status_code == 401
    r = post(world, form)
    assert r.status_code == 200 and r.json() == {
        "reply": "Auto-renew is on. Send RENEW OFF to stop it."}
    assert post(world, form).json() == r.json()
    assert world.refreshed().auto_renew is True and len(replies(world)) == 1
    assert post(world, {"text": "BAL"}).status_code == 422
