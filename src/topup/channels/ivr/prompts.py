"""The hotline's prompt files: names, and what to record in each language.

A prompt is played by name, ``topup/<language>/<prompt>`` (``topup/en/balance-is``,
``topup/zh-CN/balance-is``), under Asterisk's sounds directory, in any format Asterisk plays
(``.wav``, ``.gsm``, ``.sln16``…; no extension in the name). Numbers, digits and dates are
spoken by Asterisk itself (``SAY NUMBER`` / ``SAY DIGITS`` / ``SAY DATETIME`` in the channel's
language), so those sounds come from Asterisk's own sound packages. ``prompt_list`` is the list
to hand to the voice talent; docs/offline-channels.md prints it.
"""

from __future__ import annotations

from topup.channels.selfservice.texts import language
from topup.money import minor_units

ROOT = "topup"

PROMPTS: dict[str, tuple[str, str]] = {
    "welcome": ("Welcome to the top-up hotline.", "欢迎致电充值热线。"),
    "main-menu": ("For your balance, press 1. To redeem a voucher, press 2. To top up with "
                  "your saved card, press 3. 中文服务请按9。",
                  "查询余额请按1，充值卡充值请按2，使用已保存的银行卡充值请按3。"
                  "For English, press 9."),
    "language-set": ("English.", "中文服务。"),
    "invalid-choice": ("Sorry, that is not a valid choice.", "对不起，您的输入有误。"),
    "balance-is": ("Your balance is", "您的余额为"),
    "data-left": ("Data remaining:", "剩余流量"),
    "megabytes": ("megabytes", "兆"),
    "data-expires": ("Your data expires on", "流量到期日为"),
    "no-data": ("You have no active data plan.", "您没有有效的流量套餐。"),
    "valid-until": ("Your line is valid until", "您的号码有效期至"),
    "enter-pin": ("Please enter the voucher PIN, then press the hash key.",
                  "请输入充值卡密码，以井号键结束。"),
    "voucher-credited": ("Your voucher has been redeemed. Added:", "充值成功，到账金额"),
    "voucher-plan-active": ("Your voucher has been redeemed and your plan is active.",
                            "充值成功，您的套餐已生效。"),
    "new-balance-is": ("Your new balance is", "您的新余额为"),
    "voucher-invalid": ("That PIN is not valid. Please check the digits.",
                        "卡密错误，请核对后重试。"),
    "voucher-used": ("This voucher has already been used.", "该充值卡已被使用。"),
    "voucher-expired": ("This voucher has expired.", "该充值卡已过期。"),
    "voucher-blocked": ("This voucher is blocked. Please ask the seller.",
                        "该充值卡已被冻结，请联系售卡方。"),
    "voucher-inactive": ("This card has not been activated yet. Please ask the seller.",
                         "该充值卡尚未激活，请联系售卡方。"),
    "voucher-busy": ("This voucher is being redeemed right now. Please check your balance "
                     "in a minute.", "该充值卡正在充值中，请稍后查询余额。"),
    "voucher-locked": ("Too many wrong PINs. Please try again later.",
                       "错误次数过多，请稍后再试。"),
    "no-saved-card": ("There is no saved card for this number. Please save a card in the app "
                      "first.", "该号码没有已保存的银行卡，请先在App中添加。"),
    "card-ending": ("Your card ending in", "您尾号为"),
    "enter-amount": ("Please enter the amount to top up in whole units, then press the hash "
                     "key.", "请输入充值金额的整数部分，以井号键结束。"),
    "amount-invalid": ("That amount is not accepted.", "该金额不在可充值范围内。"),
    "amount-is": ("You are topping up", "充值金额为"),
    "fee-is": ("The fee is", "手续费为"),
    "total-is": ("The total charged to your card is", "银行卡合计扣款"),
    "no-fee": ("There is no fee.", "无手续费。"),
    "confirm": ("To confirm, press 1. To cancel, press 2.", "确认请按1，取消请按2。"),
    "cancelled": ("Cancelled.", "已取消。"),
    "topup-done": ("Your top-up is complete.", "充值成功。"),
    "topup-pending": ("Your payment is being processed. Please check your balance in a few "
                      "minutes.", "支付处理中，请稍后查询余额。"),
    "card-declined": ("The card payment did not go through. Nothing was charged.",
                      "银行卡支付未成功，未扣款。"),
    "not-available": ("This service is not available right now.", "该服务暂时无法使用。"),
    "unknown-caller": ("Sorry, we do not recognise your number. Goodbye.",
                       "抱歉，无法识别您的号码，再见。"),
    "line-blocked": ("This line cannot be topped up now. Please contact customer service.",
                     "该号码当前无法充值，请联系客服。"),
    "error": ("Sorry, something went wrong. Please try again later.",
              "抱歉，系统繁忙，请稍后再试。"),
    "goodbye": ("Thank you for calling. Goodbye.", "感谢您的来电，再见。"),
}

# (major, minor) unit words to record per currency; a currency not listed needs its own.
CURRENCY_WORDS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "CNY": (("yuan", "元"), ("fen", "分")),
    "USD": (("US dollars", "美元"), ("cents", "美分")),
    "EUR": (("euros", "欧元"), ("cents", "欧分")),
    "GBP": (("pounds", "英镑"), ("pence", "便士")),
    "HKD": (("Hong Kong dollars", "港元"), ("cents", "仙")),
    "THB": (("baht", "泰铢"), ("satang", "萨当")),
    "JPY": (("yen", "日元"), ("", "")),
    "SGD": (("Singapore dollars", "新加坡元"), ("cents", "分")),
}

# Error codes to the prompt that explains them; any other refusal plays "error".
ERROR_PROMPTS: dict[str, str] = {
    "voucher_invalid": "voucher-invalid", "voucher_used": "voucher-used",
    "voucher_expired": "voucher-expired", "voucher_blocked": "voucher-blocked",
    "voucher_inactive": "voucher-inactive", "voucher_busy": "voucher-busy",
    "voucher_locked": "voucher-locked", "line_not_usable": "line-blocked",
    "topup_out_of_limits": "amount-invalid", "invalid_amount": "amount-invalid",
    "invalid_order": "amount-invalid", "payment_declined": "card-declined",
    "provider_unavailable": "not-available", "payment_method_unavailable": "not-available",
    "payment_method_not_found": "no-saved-card", "payment_method_not_usable": "not-available",
}


def prompt(name: str, lang: str) -> str:
    """The file name Asterisk plays for prompt ``name`` in ``lang``."""
    return f"{ROOT}/{language(lang)}/{name}"


def currency_prompt(currency: str, lang: str, *, minor: bool = False) -> str:
    """``cur-CNY`` (yuan) or ``cur-CNY-minor`` (fen), spoken after the number."""
    return prompt(f"cur-{currency}{'-minor' if minor else ''}", lang)


def prompt_list(currencies: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Every file to record: (name, English text, Chinese text), currencies included."""
    rows = [(name, en, zh) for name, (en, zh) in PROMPTS.items()]
    for cur in currencies:
        (major_en, major_zh), (minor_en, minor_zh) = CURRENCY_WORDS.get(
            cur, ((cur, cur), (f"{cur} minor unit", f"{cur} 辅币")))
        rows.append((f"cur-{cur}", major_en, major_zh))
        if minor_units(cur) > 0:
            rows.append((f"cur-{cur}-minor", minor_en, minor_zh))
    return rows
