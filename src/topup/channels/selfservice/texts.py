"""Channel-level texts in en and zh-CN, in one place for USSD, SMS (and the IVR's prompt list).

USSD shows at most 182 GSM characters, or 80 when the text needs UCS-2 (any Chinese), so every
text here is short; ``fits_ussd`` is the check. English texts keep to the GSM 03.38 alphabet.
"""

from __future__ import annotations

from topup.errors import TopupError

LANGUAGES = ("en", "zh-CN")

TEXTS: dict[str, dict[str, str]] = {
    "unknown_caller": {
        "en": "Sorry, this number is not registered for this service.",
        "zh-CN": "抱歉，该号码未开通此服务。"},
    "line_blocked": {
        "en": "This line cannot be topped up or used now. Please contact customer service.",
        "zh-CN": "该号码当前无法充值或使用，请联系客服。"},
    "main_menu": {
        "en": "{operator}\n1 Balance\n2 Buy a plan\n3 Redeem voucher\n4 Top up by card\n"
              "5 Language",
        "zh-CN": "{operator}\n1 余额查询\n2 购买套餐\n3 充值卡充值\n4 银行卡充值\n5 语言/Language"},
    "language_menu": {
        "en": "Language/语言\n1 English\n2 中文\n0 Back",
        "zh-CN": "Language/语言\n1 English\n2 中文\n0 返回"},
    "language_set": {"en": "Language: English", "zh-CN": "语言：中文"},
    "invalid_choice": {"en": "Invalid choice.", "zh-CN": "输入有误。"},
    "back": {"en": "0 Back", "zh-CN": "0 返回"},
    "confirm": {"en": "1 Confirm", "zh-CN": "1 确认"},
    "balance": {"en": "Balance: {money}", "zh-CN": "余额：{money}"},
    "data_left": {"en": "Data: {data} left, expires {date}",
                  "zh-CN": "流量：剩余{data}，{date}到期"},
    "no_data": {"en": "Data: no active plan", "zh-CN": "流量：无有效套餐"},
    "valid_until": {"en": "Line valid until {date}", "zh-CN": "号码有效期至{date}"},
    "auto_renew_on": {"en": "Auto-renew: on", "zh-CN": "自动续费：已开启"},
    "auto_renew_off": {"en": "Auto-renew: off", "zh-CN": "自动续费：未开启"},
    "plans_header": {"en": "Choose a plan:", "zh-CN": "选择套餐："},
    "no_plans": {"en": "No plans are on sale for your line now.",
                 "zh-CN": "暂无适合您号码的套餐。"},
    "plan_confirm": {
        "en": "{plan}\nPrice {price}{fee}\nPaid from your balance of {balance}",
        "zh-CN": "{plan}\n价格{price}{fee}\n从余额{balance}中支付"},
    "fee": {"en": " + fee {fee}", "zh-CN": "+手续费{fee}"},
    "plan_bought": {
        "en": "Done: {plan} is active. Balance {balance}.",
        "zh-CN": "购买成功：{plan}已生效。余额{balance}。"},
    "insufficient": {
        "en": "Not enough balance: {needed} needed, you have {balance}. Please top up first.",
        "zh-CN": "余额不足：需{needed}，当前{balance}。请先充值。"},
    "pin_prompt": {"en": "Enter the voucher PIN:", "zh-CN": "请输入充值卡密码："},
    "voucher_money": {
        "en": "Voucher {serial} redeemed: {amount} added. Balance {balance}.",
        "zh-CN": "充值卡{serial}充值成功，到账{amount}，余额{balance}。"},
    "voucher_plan": {
        "en": "Voucher {serial} redeemed: {plan} is active.",
        "zh-CN": "充值卡{serial}充值成功：{plan}已生效。"},
    "voucher_invalid": {
        "en": "Wrong PIN. Please check the digits and try again.",
        "zh-CN": "卡密错误，请核对后重试。"},
    "voucher_used": {"en": "This voucher has already been used.", "zh-CN": "该充值卡已被使用。"},
    "voucher_expired": {"en": "This voucher has expired.", "zh-CN": "该充值卡已过期。"},
    "voucher_blocked": {
        "en": "This voucher is blocked. Please ask the seller.",
        "zh-CN": "该充值卡已被冻结，请联系售卡方。"},
    "voucher_inactive": {
        "en": "This card has not been activated yet. Please ask the seller.",
        "zh-CN": "该充值卡尚未激活，请联系售卡方。"},
    "voucher_busy": {
        "en": "This voucher is being redeemed right now. Check your balance in a minute.",
        "zh-CN": "该充值卡正在充值中，请稍后查询余额。"},
    "voucher_locked": {
        "en": "Too many wrong PINs. Please try again later.",
        "zh-CN": "错误次数过多，请稍后再试。"},
    "no_card": {
        "en": "No saved card for this number. Save a card in the app first.",
        "zh-CN": "该号码没有已保存的银行卡，请先在App中添加。"},
    "cards_header": {"en": "Pay with:", "zh-CN": "选择银行卡："},
    "amount_presets": {"en": "Top-up amount:", "zh-CN": "充值金额："},
    "amount_entry": {"en": "Enter the amount in {currency}:",
                     "zh-CN": "请输入充值金额（{currency}）："},
    "topup_confirm": {
        "en": "Top up {amount} by {card}{fee}\nTotal {total}",
        "zh-CN": "用{card}充值{amount}{fee}\n合计{total}"},
    "topup_done": {
        "en": "Paid: {amount} added. Balance {balance}.",
        "zh-CN": "支付成功，到账{amount}，余额{balance}。"},
    "topup_declined": {
        "en": "The card payment did not go through. Nothing was charged.",
        "zh-CN": "银行卡支付未成功，未扣款。"},
    "topup_pending": {
        "en": "Your payment is being processed. Check your balance in a few minutes.",
        "zh-CN": "支付处理中，请稍后查询余额。"},
    "card_unavailable": {
        "en": "Card payments are not available now. Please try later.",
        "zh-CN": "暂时无法使用银行卡支付，请稍后再试。"},
    "amount_refused": {"en": "This amount is not accepted.", "zh-CN": "该金额不在可充值范围内。"},
    "plan_unavailable": {"en": "This plan is no longer on sale.", "zh-CN": "该套餐已停售。"},
    "error": {
        "en": "Sorry, that did not work. Please try again later.",
        "zh-CN": "抱歉，操作未成功，请稍后再试。"},
    "renew_on": {
        "en": "Auto-renew is on. Send RENEW OFF to stop it.",
        "zh-CN": "已开启自动续费。发送“关闭续费”或RENEW OFF可关闭。"},
    "renew_off": {
        "en": "Auto-renew is off. Send RENEW ON to switch it on again.",
        "zh-CN": "已关闭自动续费。发送“开启续费”或RENEW ON可重新开启。"},
    "check_genuine": {
        "en": "Card {serial} is genuine and unused, worth {amount}. Redeem it once you have paid.",
        "zh-CN": "卡号{serial}为正品且未使用，面值{amount}。付款后请尽快充值。"},
    "check_used": {
        "en": "Card {serial} has already been used. Do not pay for it.",
        "zh-CN": "卡号{serial}已被使用，请勿购买。"},
    "check_void": {
        "en": "Card {serial} is expired or blocked. Do not pay for it.",
        "zh-CN": "卡号{serial}已过期或已停用，请勿购买。"},
    "check_unknown": {
        "en": "No card has serial {serial}. If you typed it right, it is not genuine.",
        "zh-CN": "不存在卡号{serial}。如输入无误，该卡为假卡。"},
    "check_missing": {
        "en": "Send CHECK followed by the serial number printed on the card.",
        "zh-CN": "请发送“验卡”加卡上印的卡号。"},
    "auto_topup_off": {
        "en": "Auto top-up is off. Set it up again on your line's page in the app.",
        "zh-CN": "已关闭自动充值。如需重新开启，请在App的号码页面设置。"},
    "pin_missing": {
        "en": "Send TOPUP and the voucher PIN, for example TOPUP 1234567890123456.",
        "zh-CN": "请发送“充值”加充值卡密码，例如：充值1234567890123456。"},
    "sms_help": {
        "en": "{operator}: send BAL for your balance, TOPUP <PIN> to redeem a voucher, "
              "RENEW ON or RENEW OFF for auto-renew, AUTO OFF to stop auto top-up.",
        "zh-CN": "{operator}：发送“余额”查询余额，“充值+卡密”使用充值卡，"
                 "“开启续费”或“关闭续费”设置自动续费，“关闭自动充值”停止自动充值。"},
}

# The user text of each error code the channels meet; other codes get the "error" text.
ERROR_TEXT: dict[str, str] = {
    "voucher_invalid": "voucher_invalid", "voucher_used": "voucher_used",
    "voucher_expired": "voucher_expired", "voucher_blocked": "voucher_blocked",
    "voucher_locked": "voucher_locked", "account_locked": "voucher_locked",
    "voucher_inactive": "voucher_inactive", "voucher_busy": "voucher_busy",
    "line_not_usable": "line_blocked", "line_not_found": "unknown_caller",
    "topup_out_of_limits": "amount_refused", "invalid_amount": "amount_refused",
    "invalid_order": "amount_refused",
    "plan_not_found": "plan_unavailable", "plan_not_on_sale": "plan_unavailable",
    "price_not_available": "plan_unavailable",
    "payment_declined": "topup_declined", "provider_unavailable": "card_unavailable",
    "payment_method_unavailable": "card_unavailable",
    "payment_method_not_found": "no_card", "payment_method_not_usable": "card_unavailable",
}


def language(tag: str | None) -> str:
    """``zh-CN`` for any Chinese tag (zh, zh_CN, zh-Hans…), else ``en``."""
    return "zh-CN" if (tag or "").strip().lower().startswith("zh") else "en"


def t(key: str, lang: str, **params: object) -> str:
    """The text ``key`` in ``lang`` with ``params`` filled in."""
    return TEXTS[key][language(lang)].format(**params)


def error_text(exc: TopupError, lang: str, **params: object) -> str:
    """What to tell a caller about a refusal, by its stable code."""
    return t(ERROR_TEXT.get(exc.code, "error"), lang, **params)


# GSM 03.38: the default alphabet (one septet each) and its extension table (two septets).
_GSM = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXT = "^{}\\[~]|€\f"
USSD_GSM_LIMIT = 182  # 160 octets of 7-bit characters
USSD_UCS2_LIMIT = 80  # 160 octets of 2-byte characters


def ussd_size(body: str) -> tuple[int, int]:
    """(length, limit) of a USSD body: GSM septets, or UTF-16 units when it needs UCS-2."""
    if all(c in _GSM or c in _GSM_EXT for c in body):
        return sum(2 if c in _GSM_EXT else 1 for c in body), USSD_GSM_LIMIT
    return len(body.encode("utf-16-le")) // 2, USSD_UCS2_LIMIT


def fits_ussd(body: str) -> bool:
    """Whether one USSD screen can show ``body`` whole."""
    size, limit = ussd_size(body)
    return size <= limit
