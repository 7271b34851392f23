"""Every template in use exists in en and zh-CN for each of its channels and renders with the
params its callers send; amounts and dates follow the reader's locale."""

from __future__ import annotations

from typing import Any

import pytest

from topup.notifications.errors import PermanentFailure
from topup.notifications.rendering import LANGUAGES, TEMPLATES, render
from topup.notifications.senders.sms_encoding import gsm_char

FULFILLED = {"order_id": 7, "kind": "topup", "renewal": False, "amount": 100_00,
             "currency": "CNY", "credited_amount": 100_00, "credited_currency": "CNY",
             "balance": 250_00, "balance_currency": "CNY", "plan_name": None,
             "valid_until": "2027-05-21T08:00:00+00:00", "number": "+66891234567"}
PLAN = {"plan_en": "Thailand 7 days 10 GB", "plan_zh": "泰国 7天 10GB",
        "expires_at": "2026-11-25T08:00:00+00:00"}
AUTO = {"amount": 50_00, "currency": "CNY", "threshold": 10_00, "max_per_day": 3,
        "max_amount_per_day": 150_00}
FORECAST = {"days_left": 2, "plan_days": 9, "pace_bytes": 2**30, "remaining_bytes": 2 * 2**30,
            "shortfall_bytes": 7 * 2**30, "plan_en": "Thailand 7 days 10 GB",
            "plan_zh": "泰国 7天 10GB", "amount": 49_00, "currency": "CNY",
            "link": "https://shop.example.com/lines/3"}
LIFECYCLE = {"number": "+66891234567", "suspend_at": "2026-11-29T08:00:00+00:00",
             "link": "https://shop.example.com/lines/3"}
# The params each caller sends (auth, orders, vouchers.limits, channels.sms, jobs, renewals).
PARAMS: dict[str, dict[str, Any]] = {
    "password_reset": {"code": "493817", "minutes": 10},
    "order_fulfilled": FULFILLED,
    "voucher_redeemed": FULFILLED,
    "selfservice_reply": {"text": "Balance: CN¥88.00", "keyword": "BAL"},
    "voucher_lockout": {"key": "voucher:line:3", "channel": "ussd", "line_id": 3, "ip": None,
                        "terminal_id": None, "actor_id": None, "locked_seconds": 900},
    "plan_expiring": PLAN,
    "renewal_upcoming": PLAN,
    "renewal_failed": {**PLAN, "reason": "insufficient funds", "reason_code": "no_funds",
                       "next_attempt_at": "2026-11-22T09:00:00+00:00"},
    "renewal_given_up": {**PLAN, "reason": "insufficient funds", "reason_code": "no_funds",
                         "next_attempt_at": None},
    "data_used": {"percent": 80, "total_bytes": 10 * 2**30, "remaining_bytes": 2 * 2**30},
    "low_balance": {"amount": 5_00, "currency": "CNY"},
    "data_forecast": {**FORECAST, "suggestion": "plan"},
    "line_grace": LIFECYCLE,
    "line_suspending": LIFECYCLE,
    # esim.store
    "esim_ready": {"order_id": 7, "iccid": "8999000000000000013",
                   "activation_code": "LPA:1$smdp.example.com$DEMO-1$$1",
                   "qr": "LPA:1$smdp.example.com$DEMO-1$$1",
                   "ios_link": "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=x",
                   "smdp_address": "smdp.example.com", "matching_id": "DEMO-1",
                   "plan_name": "Japan 7 days 10 GB", "confirmation": True,
                   "portal_url": "https://shop.example.com/lines/3"},
    "esim_confirmation": {"order_id": 7, "iccid": "8999000000000000013",
                          "confirmation_code": "482913"},
    "esim_low_stock": {"profile_type": "demo-asia", "zone": "ASIA", "available": 3,
                       "threshold": 20},
    "auto_topup_done": FULFILLED,
    "auto_topup_failed": {**AUTO, "reason": "declined"},
    "auto_topup_capped": {**AUTO, "resume_at": "2026-11-23T08:00:00+00:00"},
    # support.notices (the e-mail's params carry reply_to as well)
    "ticket_reply": {"ticket_id": 12, "link": "https://shop.example.com/tickets/12",
                     "body": "We found your payment.", "subject": "Top-up missing",
                     "auto": True, "order_id": 7, "reply_to": "help+t12-0123@example.com"},
    "ticket_payment_late": {"ticket_id": 12, "link": "https://shop.example.com/tickets/12",
                            "order_id": 7, "amount": 88_00, "currency": "CNY",
                            "payment_ref": "sandbox:pay_123", "reply_to": "h@example.com"},
}
CASES = [(name, channel, lang) for name, channels in TEMPLATES.items()
         for channel in channels for lang in LANGUAGES]


@pytest.mark.parametrize(("name", "channel", "lang"), CASES)
def test_every_template_renders_in_both_languages(name: str, channel: str, lang: str) -> None:
    out = render(name, channel, lang, PARAMS[name], operator="TravelSIM",
                 timezone="Asia/Shanghai")
    assert out.text.strip() and "{{" not in out.text and "None" not in out.text
    if channel == "email":
        assert out.subject and "\n" not in out.subject
        assert f'<html lang="{lang}">' in out.html and "TravelSIM" in out.html
    if name != "selfservice_reply":  # its text arrives written in the caller's language
        chinese = any("\u4e00" <= c <= "\u9fff" for c in out.text + out.subject)
        assert chinese == (lang == "zh-CN")


@pytest.mark.parametrize("name", [n for n, ch in TEMPLATES.items() if "sms" in ch
                                  and n != "selfservice_reply"])
def test_english_sms_keep_to_the_gsm_alphabet(name: str) -> None:
    text = render(name, "sms", "en", PARAMS[name], operator="TravelSIM").text
    assert all(gsm_char(c) is not None for c in text), text


def test_amounts_and_dates_follow_the_locale() -> None:
    en = render("order_fulfilled", "sms", "en", FULFILLED, operator="T").text
    zh = render("order_fulfilled", "sms", "zh-CN", FULFILLED, operator="T").text
    assert "CN¥100.00 added to +66891234567. Balance CN¥250.00. Valid until May 21, 2027." in en
    assert "已充值¥100.00，余额¥250.00。有效期至2027年5月21日。" in zh
    used = render("data_used", "sms", "zh-CN", PARAMS["data_used"], operator="T").text
    assert "10 GB" in used and "2 GB" in used


def test_a_converted_top_up_shows_what_was_paid() -> None:
    params = {**FULFILLED, "currency": "USD", "amount": 14_00}
    text = render("order_fulfilled", "email", "en", params, operator="T").text
    assert "CN¥100.00 has been added" in text and "You paid $14.00." in text


def test_unknown_language_falls_back_to_english_and_bad_input_is_permanent() -> None:
    assert "reset code" in render("password_reset", "sms", "fr", PARAMS["password_reset"],
                                  operator="T").text
    with pytest.raises(PermanentFailure, match="no sms template"):
        render("voucher_lockout", "sms", "en", PARAMS["voucher_lockout"], operator="T")
    with pytest.raises(PermanentFailure, match="undefined"):
        render("password_reset", "email", "en", {"code": "1"}, operator="T")


def test_the_esim_mail_carries_its_qr_code_inline() -> None:
    out = render("esim_ready", "email", "en", PARAMS["esim_ready"], operator="TravelSIM")
    assert 'src="cid:qr@topup"' in out.html and out.images[0][0] == "qr@topup"
    assert out.images[0][1].startswith(b"\x89PNG")
    assert "LPA:1$smdp.example.com$DEMO-1$$1" in out.text and "confirmation_code" not in out.text
    plain = render("order_fulfilled", "email", "en", FULFILLED, operator="TravelSIM")
    assert plain.images == () and "cid:" not in plain.html


@pytest.mark.parametrize("reason", ["declined", "card_removed", "refused", "not_completed"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_auto_top_up_failure_says_why(reason: str, lang: str) -> None:
    for channel in ("sms", "email"):
        out = render("auto_topup_failed", channel, lang, {**AUTO, "reason": reason},
                     operator="T")
        assert "None" not in out.text and ("50.00" in out.text)
    off = "auto top-up is off" if lang == "en" else "自动充值已关闭"
    sms = render("auto_topup_failed", "sms", lang, {**AUTO, "reason": reason}, operator="T")
    assert (off in sms.text) == (reason == "card_removed")


def test_a_cap_without_a_money_limit_names_the_count_only() -> None:
    params = {**AUTO, "max_amount_per_day": None, "resume_at": "2026-11-23T08:00:00+00:00"}
    text = render("auto_topup_capped", "sms", "en", params, operator="T").text
    assert "(3 top-ups)" in text and "Nov 23, 2026" in text


@pytest.mark.parametrize("suggestion", ["plan", "topup", "covered", None])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_data_forecast_says_what_to_buy(suggestion: str | None, lang: str) -> None:
    params = {**FORECAST, "suggestion": suggestion}
    sms = render("data_forecast", "sms", lang, params, operator="T").text
    mail = render("data_forecast", "email", lang, params, operator="T")
    for text in (sms, mail.text):
        assert ("CN¥49.00" if lang == "en" else "¥49.00") in text or suggestion is None
        assert "https://shop.example.com/lines/3" in text
    assert ("about 2 days" if lang == "en" else "约可用2天") in sms
    named = "Thailand 7 days 10 GB" if lang == "en" else "泰国 7天 10GB"
    assert (named in sms) == (suggestion == "plan")
    assert 'href="https://shop.example.com/lines/3"' in mail.html


RENEWAL_REASONS = {
    "no_funds": ("your balance does not cover the price", "余额不足以支付套餐费用"),
    "declined": ("your saved card was declined", "保存的银行卡被拒付"),
    "daily_limit": ("as often as a day allows", "今天的续订次数已达上限"),
    "plan_off_sale": ("no longer on sale", "该套餐已停止销售"),
    "line_blocked": ("the line cannot be topped up now", "该号码当前无法充值"),
    "refused": ("the renewal was refused", "续订被拒绝"),
}


@pytest.mark.parametrize("code", RENEWAL_REASONS)
@pytest.mark.parametrize("name", ["renewal_failed", "renewal_given_up"])
def test_a_renewal_failure_says_why_in_the_readers_language(name: str, code: str) -> None:
    params = {**PARAMS[name], "reason": "the English detail", "reason_code": code}
    for lang, said in zip(LANGUAGES, RENEWAL_REASONS[code], strict=True):
        for channel in ("sms", "email"):
            out = render(name, channel, lang, params, operator="T")
            assert said in out.text and "English detail" not in out.text + out.html
    # a message queued before reasons had codes: its English detail, a generic Chinese one
    old = {k: v for k, v in params.items() if k != "reason_code"}
    assert "the English detail" in render(name, "sms", "en", old, operator="T").text
    assert "续订被拒绝" in render(name, "sms", "zh-CN", old, operator="T").text
