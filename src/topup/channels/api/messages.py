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
    "login_taken": "该邮箱或手机号已注册",
    "reset_code_invalid": "验证码错误或已过期",
    "invalid_iccid": "ICCID 无效",
    "invalid_msisdn": "手机号码无效",
    "line_not_found": "未找到该号码",
    "user_not_found": "未找到该账号",
    "bind_failed": "号码与卡密不匹配",
    "line_already_bound": "该号码已绑定到其他账户",
    "illegal_transition": "不允许此状态变更",
    "line_not_usable": "该号码当前无法充值或使用",
    "group_not_found": "未找到该共享组",
    "invalid_group": "共享组信息无效",
    "line_in_group": "该号码已在一个共享组中",
    "line_not_in_group": "该号码不在此共享组中",
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
    "invalid_quote": "报价无效",
    "rates_not_found": "该国家或地区暂无资费信息",
    "invalid_comparison": "无法比较这些套餐",
    "invalid_trip": "行程无效",
    "trip_too_complex": "行程过于复杂，请分段规划",
    "unknown_promo_code": "优惠码无效",
    "promo_code_not_applicable": "此优惠码不适用于本订单",
    "promotion_unavailable": "优惠刚刚用完，请查看新价格",
    "invalid_campaign": "活动设置无效",
    "campaign_not_found": "找不到该活动",
    "promotion_error": "优惠请求被拒绝",
    "invalid_invite": "邀请码无效",
    "help_error": "帮助中心拒绝了该请求",
    "help_article_not_found": "找不到该帮助文章",
    "invalid_help_article": "帮助文章无效",
    "topup_out_of_limits": "充值金额超出限额",
    "invalid_amount": "金额无效",
    "currency_mismatch": "币种不一致",
    "usage_record_conflict": "用量记录编号已被其他记录使用",
    "invalid_usage": "用量记录无效",
    "charging_request_conflict": "计费请求与会话冲突",
    "charging_session_closed": "计费会话已结束",
    "invalid_charging_request": "计费请求无效",
    "charging_session_not_found": "未找到计费会话",
    "esim_seal_broken": "无法读取 eSIM 确认码",
    "esim_bad_profile_row": "eSIM 配置文件无效",
    "esim_bad_progress_info": "下载进度报告无效",
    "esim_not_sold": "该套餐不能作为新 eSIM 购买",
    "esim_profile_not_found": "未找到该 eSIM 配置文件",
    "smdp_callback_refused": "SM-DP+ 回调被拒绝",
    "esim_out_of_stock": "该套餐的 eSIM 暂时售罄",
    "account_exists": "该邮箱已注册，请先登录再购买",
    "smdp_refused": "eSIM 服务商拒绝了请求",
    "smdp_unavailable": "暂时无法连接 eSIM 服务商",
    "internal_error": "服务器内部错误",
    "bank_statement_rejected": "银行对账单被拒绝",
    "bank_review_item_not_found": "未找到待审核的银行款项",
    "bank_review_not_resolvable": "无法以此方式处理该银行款项",
    "bank_transfer_error": "银行转账处理失败",
    "receipt_not_found": "未找到收据",
    "receipt_not_issuable": "订单尚未支付，无法开具收据",
    "voucher_error": "充值卡操作失败",
    "voucher_invalid": "充值卡密码无效，请核对后重新输入",
    "voucher_used": "该充值卡已被使用",
    "voucher_expired": "该充值卡已过期",
    "voucher_blocked": "该充值卡已被冻结，请联系售卡方",
    "voucher_inactive": "该充值卡尚未激活，请联系售卡方",
    "voucher_busy": "该充值卡正在充值中",
    "voucher_locked": "充值卡尝试次数过多，请稍后再试",
    "voucher_not_found": "未找到该序列号的充值卡",
    "voucher_batch_not_found": "未找到该充值卡批次",
    "invalid_voucher_batch": "充值卡批次信息无效",
    "voucher_state_conflict": "充值卡或批次当前状态不允许此操作",
    "weak_card_secret": "卡密过于简单，容易被猜到",
    "voucher_sale_key_reused": "该销售编号已用于另一张充值卡",
    "agent_not_found": "未找到该代理商",
    "tier_not_found": "未找到该佣金等级",
    "terminal_not_found": "未找到该终端",
    "invalid_agent": "代理商信息无效",
    "agent_suspended": "该代理商已被暂停",
    "not_agent_staff": "此账号不能代表该代理商操作",
    "float_insufficient": "代理商预付款余额不足",
    "float_funding_conflict": "该充值参考号已用于其他金额",
    "card_of_another_agent": "该卡已分配给其他代理商",
    "kyc_required": "需要购买人的身份证件",
    "invalid_kyc": "身份证件信息无效",
    "signature_invalid": "请求签名缺失或错误",
    "timestamp_out_of_window": "请求时间戳已过期或超前",
    "nonce_replayed": "该请求已收到过（随机数重复）",
    "terminal_disabled": "该终端已停用",
    "notification_error": "通知处理失败",
    "notification_not_found": "未找到该通知",
    "notification_not_retryable": "该通知正在发送或已发送，不能重试",
    "invalid_notification_preferences": "通知设置无效",
    "delivery_failed": "通知发送失败",
    "delivery_failed_temporarily": "通知暂时无法发送，稍后重试",
    "delivery_failed_permanently": "通知无法送达",
    "request_too_large": "请求内容过大",
    "headers_too_large": "请求头过大",
    "request_too_complex": "请求内容结构过于复杂",
    "invalid_characters": "请求中含有无效字符",
    "invalid_request": "请求格式错误",
    "value_out_of_range": "数值超出允许范围",
    "currency_not_offered": "不支持该币种",
    "currency_not_for_line": "该号码不接受此币种",
    "amount_out_of_range": "金额超出允许范围",
    "auto_topup_not_found": "该号码未设置自动充值",
    "invalid_auto_topup": "自动充值设置无效",
    # support tickets (support/errors.py)
    "support_error": "客服请求被拒绝",
    "ticket_not_found": "未找到该咨询",
    "invalid_ticket": "咨询内容无效",
    "invalid_assignee": "该账号不能处理工单",
    "ticket_closed": "该工单已关闭",
    "inbound_refused": "该邮件不属于任何工单",
    # a conflict between two transactions, retried until the tries ran out (db/retry.py)
    "transaction_conflict": "服务繁忙，请稍后重试",
}


# Problems whose own detail may carry a provider's address or exception text: the caller gets
# this fixed sentence instead, and the real detail goes to the server log.
GENERIC_DETAILS: dict[str, dict[str, str]] = {
    "provider_unavailable": {
        "en": "the payment provider could not be reached; try again",
        "zh-CN": "暂时无法连接支付服务商，请稍后重试",
    },
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


def generic_detail(code: str, language: str) -> str | None:
    """The fixed detail that replaces a problem's own, or None when its own may be shown."""
    texts = GENERIC_DETAILS.get(code)
    return None if texts is None else texts.get(language, texts["en"])
