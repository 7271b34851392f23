"""Confirmations queued with the order that caused them, as the customer's preferences say:
a top-up credited, a plan bought, a voucher redeemed; quiet hours hold the SMS back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_line, make_user
from tests.integration.notifications.conftest import row, run_outbox
from tests.integration.vouchers.conftest import make_batch
from topup.catalog import service as catalog
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.notifications import service
from topup.notifications.delivery import claim
from topup.notifications.preferences import set_preferences
from topup.notifications.senders.console import ConsoleSender
from topup.orders.errors import InvalidOrder
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.subscribers import auth
from topup.subscribers import lines as line_svc
from topup.vouchers.service import RedeemContext, redeem

MSISDN = "66891234567"


def traveller(db: Database, language: str = "en") -> tuple[auth.User, line_svc.Line]:
    user = make_user(db)
    line = make_line(db, country="TH", msisdn=MSISDN, secret="2468")
    with db.unit() as uow:
        user = auth.update_profile(uow, user.id, language=language)
        bound = line_svc.bind(uow, user.id, line.iccid, "2468")
        assert bound is not None
    return user, bound


def credit(db: Database, line: line_svc.Line, amount: int = 200_00, channel: str = "admin"
           ) -> int:
    with db.unit() as uow:
        return create_order(uow, None, line, OrderRequest(
            kind="topup", method="manual", channel=channel, amount=amount, currency="CNY",
            reason="cash desk")).id


def outbox_of(db: Database, recipient: str) -> list[dict]:
    with db.unit(readonly=True) as uow:
        return service.queued_for(uow, recipient)


def test_a_top_up_queues_an_email_and_an_sms_in_the_customers_language(db: Database) -> None:
    user, line = traveller(db, "zh-CN")
    order_id = credit(db, line)
    [mail] = outbox_of(db, str(user.email))
    [sms] = outbox_of(db, f"+{MSISDN}")
    for m in (mail, sms):
        assert (m["template"], m["language"], m["state"]) == ("order_fulfilled", "zh-CN", "queued")
        assert m["user_id"] == user.id
    assert mail["params"]["order_id"] == order_id and mail["params"]["kind"] == "topup"
    assert mail["params"]["credited_amount"] == 200_00 and mail["params"]["balance"] == 200_00
    assert sms["quiet"] is True and mail["quiet"] is False


def test_a_refused_order_queues_nothing(db: Database) -> None:
    user, line = traveller(db)
    with pytest.raises(InvalidOrder), db.unit() as uow:
        create_order(uow, None, line, OrderRequest(kind="topup", method="manual",
                                                   channel="admin", amount=100_00,
                                                   currency="CNY", reason=" "))
    assert outbox_of(db, str(user.email)) == [] and outbox_of(db, f"+{MSISDN}") == []


def test_a_plan_bought_in_chinese_names_the_plan_in_chinese(catalogue: Database) -> None:
    db = catalogue
    user, line = traveller(db, "zh-CN")
    credit(db, line)
    with db.unit() as uow:
        plan = catalog.get_plan_by_code(uow, "TH-7D-10GB")
        create_order(uow, user.id, line, OrderRequest(kind="plan", method="wallet",
                                                      channel="api", plan_id=plan.id))
    mails = outbox_of(db, str(user.email))
    assert [m["params"]["kind"] for m in mails] == ["topup", "plan"]
    params = mails[1]["params"]
    assert params["plan_name"] == "泰国 7天 10GB" and params["amount"] == 49_00
    assert params["balance"] == 151_00


def test_switches_pick_the_channels_and_sms_keywords_get_no_second_sms(db: Database) -> None:
    user, line = traveller(db)
    with db.unit() as uow:
        set_preferences(uow, user.id, email=False)
    credit(db, line)
    assert outbox_of(db, str(user.email)) == [] and len(outbox_of(db, f"+{MSISDN}")) == 1
    with db.unit() as uow:
        set_preferences(uow, user.id, email=True, sms=False)
    credit(db, line, 50_00)
    assert len(outbox_of(db, str(user.email))) == 1 and len(outbox_of(db, f"+{MSISDN}")) == 1
    with db.unit() as uow:
        set_preferences(uow, user.id, sms=True)
    credit(db, line, 60_00, channel="sms")  # the keyword reply already confirms it
    assert len(outbox_of(db, str(user.email))) == 2 and len(outbox_of(db, f"+{MSISDN}")) == 1


def test_quiet_hours_hold_the_sms_until_they_end_but_not_the_email(
        db: Database, clock: FrozenClock) -> None:
    user, line = traveller(db)
    with db.unit() as uow:
        set_preferences(uow, user.id, quiet_hours="22:00-07:00", timezone="Asia/Bangkok")
    clock.now = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # 23:30 in Bangkok
    credit(db, line)
    [sms] = outbox_of(db, f"+{MSISDN}")
    morning = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 07:00 in Bangkok
    assert sms["next_attempt_at"] == morning
    console = {"email": ConsoleSender("email"), "sms": ConsoleSender("sms")}
    assert run_outbox(db, console) == 1
    assert row(db, sms["id"]).state == "queued"
    clock.now = morning
    assert run_outbox(db, console) == 1
    assert row(db, sms["id"]).state == "sent"


def test_quiet_hours_chosen_after_queueing_still_hold_the_sms(db: Database,
                                                              clock: FrozenClock) -> None:
    user, line = traveller(db)
    clock.now = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # 21:00 in Bangkok
    credit(db, line)
    with db.unit() as uow:
        set_preferences(uow, user.id, quiet_hours="20:00-08:00", timezone="Asia/Bangkok")
    claimed = claim(db, "w", 10)
    assert [c.channel for c in claimed] == ["email"]
    [sms] = outbox_of(db, f"+{MSISDN}")
    assert sms["state"] == "queued"
    assert sms["next_attempt_at"] == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_a_voucher_redeemed_is_confirmed_with_the_voucher_template(db: Database) -> None:
    user, line = traveller(db)
    made = make_batch(db, count=1, face=30_00)
    redeem(db, made.pins[0], line.id, RedeemContext(channel="api", actor_id=user.id))
    [mail] = outbox_of(db, str(user.email))
    assert mail["template"] == "voucher_redeemed"
    assert mail["params"]["credited_amount"] == 30_00


def test_a_line_without_customer_gets_an_sms_in_the_operators_language(db: Database) -> None:
    line = make_line(db, country="TH", msisdn=MSISDN)
    credit(db, line)
    [sms] = outbox_of(db, f"+{MSISDN}")
    assert sms["language"] == db.settings.default_language and sms["user_id"] is None
    assert sms["next_attempt_at"] - sms["created_at"] == timedelta(0)
