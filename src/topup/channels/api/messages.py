"""User-facing titles of problems in en and zh-CN, chosen from Accept-Language."""

from __future__ import annotations

from fastapi import Request

ZH: dict[str, str] = {
    "not_found": "未找到",
    "forbidden": "无权执行此操作",
    "unauthenticated": "请先登录",
    "bad_credentials": "账号或密码错误",
    "account_locked": "尝试次数过多，请稍后再试",
    "rate_limited": "尝试次数过多，请稍后再试",
    "invalid_input": "输入无效",
    "validation_failed": "请求无效",
    "email_taken": "该邮箱已注册",
    "phone_taken": "该手机号已注册",
    "reset_code_invalid": "验证码错误或已过期",
    "invalid_iccid": "ICCID 无效",
    "invalid_msisdn": "手机号码无效",
    "line_not_found": "未找到该号码",
    "bind_failed": "号码与卡密不匹配",
    "line_already_bound": "该号码已绑定到其他账户",
    "illegal_transition": "不允许此状态变更",
    "line_not_usable": "该号码当前无法充值或使用",
    "insufficient_funds": "余额不足",
    "duplicate_suspected": "几分钟前已为该号码提交过相同订单",
    "payment_method_unavailable": "该支付方式不可用",
    "invalid_order": "订单无效",
    "order_not_found": "未找到订单",
    "idempotency_key_reused": "幂等键已用于其他请求",
    "idempotency_key_required": "缺少 Idempotency-Key 请求头",
    "plan_not_found": "未找到套餐",
    "plan_not_on_sale": "该套餐当前不可购买",
    "price_not_available": "该套餐不支持此币种",
    "topup_out_of_limits": "充值金额超出限额",
    "invalid_amount": "金额无效",
    "currency_mismatch": "币种不一致",
    "usage_record_conflict": "用量记录编号已被其他记录使用",
    "invalid_usage": "用量记录无效",
    "internal_error": "服务器内部错误",
    "bank_statement_rejected": "银行对账单被拒绝",
    "bank_review_item_not_found": "未找到待审核的银行款项",
    "bank_review_not_resolvable": "无法以此方式处理该银行款项",
    "bank_transfer_error": "银行转账处理失败",
    "receipt_not_found": "未找到收据",
    "receipt_not_issuable": "订单尚未支付，无法开具收据",
}


def language_of(request: Request) -> str:
    """``zh-CN`` when the caller prefers Chinese, else ``en``."""
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def title_for(code: str, language: str, default: str) -> str:
    """The problem's title in ``language``."""
    return ZH.get(code, default) if language == "zh-CN" else default
