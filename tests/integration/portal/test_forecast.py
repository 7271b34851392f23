"""The line page's data forecast and, for a line in grace or suspended, how to restore it."""

from __future__ import annotations

from tests.integration.forecast_world import buy, use_daily
from tests.integration.portal.conftest import Shop, open_shop, use
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.jobs.lifecycle import advance_lines, expire_buckets
from topup.ledger import service as ledger

MIB = 1024**2


def test_the_line_page_says_how_long_the_data_lasts_and_what_to_buy(
        shop: Shop, clock: FrozenClock) -> None:
    b, line = shop.browser, shop.line
    buy(shop.db, line)
    use_daily(shop.db, clock, line, 1)
    b.login(shop.email)
    early = b.get(f"/lines/{line.id}")
    assert 'data-state="too_little_history"' in early.text
    assert "Not enough use yet to say how long your data lasts" in early.text
    use_daily(shop.db, clock, line, 9, tag="e")
    b.login(shop.email)
    page = b.get(f"/lines/{line.id}")
    assert 'data-state="runs_out_first" data-days="10"' in page.text
    assert "At your pace (about 1 GB a day) your data lasts about 10 days." in page.text
    assert "Your plan ends in 20 days." in page.text
    assert "about 10 GB more is needed" in page.text
    assert "Buy Thailand 7 days 10 GB for CN¥49.00" in page.text
    b.submit("/settings", "/settings/language", {"language": "zh-CN"})
    text = b.get(f"/lines/{line.id}").text
    assert "按您的使用速度（每天约 1 GB），流量约可用 10 天。" in text
    assert "套餐还有 20 天结束。" in text
    assert "购买“泰国 7天 10GB”，¥49.00" in text


def test_a_quiet_week_lasts_past_the_plans_end(shop: Shop, clock: FrozenClock) -> None:
    buy(shop.db, shop.line)
    clock.advance(days=3)
    shop.browser.login(shop.email)
    page = shop.browser.get(f"/lines/{shop.line.id}").text
    assert 'data-state="outlasts_plan"' in page
    assert "at this pace your data lasts past the plan&#39;s end" in page


def test_a_line_in_grace_says_when_it_is_suspended_and_how_to_restore_it(
        db: Database, clock: FrozenClock) -> None:
    shop = open_shop(db)
    enter_grace(db, clock, shop)
    shop.browser.login(shop.email)
    page = shop.browser.get(f"/lines/{shop.line.id}").text
    assert 'id="line-restore" data-status="grace"' in page
    assert "It will be suspended on" in page and 'id="restore-topup"' in page
    shop.browser.submit("/settings", "/settings/language", {"language": "zh-CN"})
    page = shop.browser.get(f"/lines/{shop.line.id}").text
    assert "此号码处于宽限期" in page and "请在此之前充值或购买套餐以恢复" in page


def enter_grace(db: Database, clock: FrozenClock, shop: Shop) -> None:
    """The one-day plan ends and the money left over is drawn out of bundle: grace."""
    buy(db, shop.line, "TH-1D-1GB")
    clock.advance(days=2)
    expire_buckets(db)
    with db.unit() as uow:
        left = ledger.wallets(uow, shop.line.id)["CNY"].available
    use(db, shop.line, (left // 50 + 1) * MIB, "drain")  # 0.50 CNY a MiB in Thailand
    assert advance_lines(db)["grace"] == 1


def test_a_failed_renewal_says_why_in_the_travellers_language(
        shop: Shop, clock: FrozenClock) -> None:
    from topup.orders import renewals
    from topup.subscribers import lines as line_svc

    buy(shop.db, shop.line, "TH-7D-10GB")  # the wallet is empty after it
    with shop.db.unit() as uow:
        line_svc.set_auto_renew(uow, shop.line.id, True)
    clock.advance(days=7, minutes=-30)
    renewals.take_up(shop.db)
    [bucket] = renewals.due(shop.db)
    assert renewals.renew(shop.db, bucket, renewals.Payers({}, {})).state == "retry"
    shop.browser.login(shop.email)
    page = shop.browser.get(f"/lines/{shop.line.id}").text
    assert 'id="renewal-failed" data-reason="no_funds" data-state="retry"' in page
    assert ("Renewing Thailand 7 days 10 GB failed: your balance does not cover the price "
            "and no card is saved.") in page and "We try again" in page
    shop.browser.submit("/settings", "/settings/language", {"language": "zh-CN"})
    zh = shop.browser.get(f"/lines/{shop.line.id}").text
    assert "套餐“泰国 7天 10GB”续订未成功：余额不足以支付套餐费用，且没有保存的银行卡。" in zh
