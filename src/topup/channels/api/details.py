"""The ``detail`` of a problem in Chinese, for the refusals a traveller meets.

A problem's ``detail`` is written in English by the service that refuses (it may name an id
or an amount); a caller asking for ``zh-CN`` gets instead the sentence below for its code,
filled from the problem's extra members where it names them (the limits of a top-up, the
seconds to wait, the field at fault). ``type``, ``code`` and the extra members stay as they
are, so a client keys on them whatever the language. Codes not listed here (staff, agents,
terminals, gateways) keep their English detail.
"""

from __future__ import annotations

from typing import Any

from topup.money import Money

ZH_DETAILS: dict[str, str] = {
    "not_found": "请求的地址不存在",
    "unauthenticated": "登录凭证无效或已过期，请重新登录",
    "forbidden": "您的账号无权执行此操作",
    "bad_credentials": "账号或密码错误，请核对后重新输入",
    "account_locked": "登录失败次数过多，账号暂时锁定，请稍后再试",
    "rate_limited": "尝试次数过多，请稍后再试",
    "validation_failed": "请求的参数或内容无效，请查看 errors 中列出的字段",
    "invalid_input": "输入的内容无效，请核对后重试",
    "login_taken": "该邮箱或手机号已注册，请直接登录",
    "reset_code_invalid": "验证码错误或已过期，请重新获取",
    "invalid_iccid": "ICCID 无效，请核对卡背面印的 19 至 20 位数字",
    "invalid_msisdn": "手机号码无效，请输入含国家代码的号码",
    "line_not_found": "未找到该号码，或它不属于您的账户",
    "bind_failed": "号码与卡密不匹配，请核对后重试",
    "line_already_bound": "该号码已绑定到其他账户",
    "line_not_usable": "该号码当前无法充值或使用（已冻结或已注销），请联系客服",
    "insufficient_funds": "余额不足，请先充值",
    "duplicate_suspected": "几分钟前已为该号码提交过相同订单；如确需再次购买，请确认后重新提交",
    "payment_method_unavailable": "该支付方式当前不可用，请换一种方式支付",
    "order_not_found": "未找到该订单",
    "idempotency_key_required": "请求缺少 Idempotency-Key 请求头",
    "plan_not_found": "未找到该套餐",
    "plan_not_on_sale": "该套餐当前不可购买",
    "price_not_available": "该套餐不支持此币种，请换一种币种",
    "unknown_promo_code": "优惠码不存在，请核对后重新输入",
    "promo_code_not_applicable": "此优惠码不适用于本订单",
    "promotion_unavailable": "优惠刚刚用完，价格已更新，请查看新价格",
    "invalid_amount": "金额无效",
    "topup_out_of_limits": "充值金额超出允许的范围",
    "currency_not_offered": "不支持该币种",
    "currency_not_for_line": "该号码不接受此币种",
    "receipt_not_found": "未找到该收据",
    "receipt_not_issuable": "订单尚未支付，暂时无法开具收据",
    "voucher_invalid": "充值卡密码无效，请核对后重新输入",
    "voucher_used": "该充值卡已被使用",
    "voucher_expired": "该充值卡已过期",
    "voucher_blocked": "该充值卡已被冻结，请联系售卡方",
    "voucher_inactive": "该充值卡尚未激活，请联系售卡方",
    "voucher_busy": "该充值卡正在充值中，请稍后查看结果",
    "voucher_locked": "充值卡尝试次数过多，请稍后再试",
    "auto_topup_not_found": "该号码未设置自动充值",
    "invalid_auto_topup": "自动充值设置无效，请核对金额和银行卡",
}


def _filled(code: str, extra: dict[str, Any]) -> str | None:
    """The sentence with the figures the problem carries, where it has them."""
    if code == "topup_out_of_limits":
        cur, low, high = (extra.get(k) for k in ("currency", "min_amount", "max_amount"))
        if isinstance(cur, str) and isinstance(low, int) and isinstance(high, int):
            return (f"充值金额须在 {Money(low, cur).format('zh_CN')} 至 "
                    f"{Money(high, cur).format('zh_CN')} 之间")
    if code in ("rate_limited", "account_locked", "voucher_locked"):
        wait = extra.get("retry_after")
        if isinstance(wait, int):
            return f"{ZH_DETAILS[code].removesuffix('，请稍后再试')}，请在 {wait} 秒后再试"
    if code == "invalid_input" and isinstance(extra.get("field"), str):
        return f"“{extra['field']}”的值无效，请核对后重试"
    return None


def detail_in(code: str, language: str, detail: str, extra: dict[str, Any] | None) -> str:
    """``detail`` in ``language``: the Chinese sentence of ``code`` when there is one."""
    if language != "zh-CN" or code not in ZH_DETAILS:
        return detail
    return _filled(code, extra or {}) or ZH_DETAILS[code]
