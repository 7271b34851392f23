"""Names the console shows for channels, payment methods and staff roles (msgids; an
unknown code is shown as it is)."""

from __future__ import annotations

from topup.channels.portal.i18n import N_

CHANNELS = {
    "web": N_("Web portal"), "api": N_("App / API"), "admin": N_("Console"),
    "cli": N_("Command line"), "finance": N_("Finance"), "autorenew": N_("Auto-renew"),
    "autotopup": N_("Auto top-up"),
    "ussd": N_("USSD"), "ivr": N_("Phone hotline"), "sms": N_("SMS"),
    "agent": N_("Agent"), "pos": N_("Agent"), "terminal": N_("Terminal"),
    "kiosk": N_("Kiosk"), "voucher": N_("Voucher"),
}

METHODS = {
    "wallet": N_("Wallet"), "voucher": N_("Voucher"), "manual": N_("Manual credit"),
    "agent": N_("Agent float"), "bank": N_("Bank transfer"), "sandbox": N_("Sandbox"),
    "stripe": N_("Card"), "stripe_checkout": N_("Card"), "paypal": N_("PayPal"),
    "alipay": N_("Alipay"),
    "wechatpay": N_("WeChat Pay"),
}

DATA_SERIES = {"sold": N_("Data sold"), "used": N_("Data used")}

ROLES = {"admin": N_("Administrator"), "support": N_("Support"), "finance": N_("Finance"),
         "customer": N_("Traveller"), "agent": N_("Agent staff"), "network": N_("Network"),
         "terminal": N_("Terminal")}
