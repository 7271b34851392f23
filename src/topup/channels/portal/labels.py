"""Names the pages show for the services' codes (line states, order states, plan kinds) and
the one-line notices shown after a form succeeded (``?notice=<key>``: only these keys, so a
link cannot put words on the page). Every value is a msgid, translated where shown."""

from __future__ import annotations

from topup.channels.portal.i18n import N_

LINE_STATES = {
    "provisioned": N_("Not active yet"), "active": N_("Active"),
    "grace": N_("Grace period"), "suspended": N_("Suspended"), "frozen": N_("Frozen"),
    "terminated": N_("Terminated"),
}

ORDER_STATES = {
    "created": N_("Created"), "awaiting_payment": N_("Waiting for payment"),
    "paid": N_("Paid"), "fulfilled": N_("Credited"), "failed": N_("Payment failed"),
    "cancelled": N_("Cancelled"), "expired": N_("Expired"), "refunded": N_("Refunded"),
}

PLAN_KINDS = {
    "day": N_("Daily"), "week": N_("Weekly"), "month": N_("Monthly"),
    "quarter": N_("Quarterly"), "year": N_("Yearly"), "addon": N_("Add-on"),
}

KINDS = {"topup": N_("Top-up"), "plan": N_("Plan")}

NOTICES = {
    "registered": N_("Welcome! Your account is ready. Bind your SIM or eSIM to start."),
    "bound": N_("The line is now bound to your account."),
    "bind_first": N_("Bind a line first."),
    "auto_renew_on": N_("Auto-renew is on."),
    "auto_renew_off": N_("Auto-renew is off."),
    "voucher": N_("The voucher was redeemed."),
    "language": N_("Language saved."),
    "preferences": N_("Notification settings saved."),
    "logged_out": N_("You have logged out."),
    "code_sent": N_("If the account exists, a 6-digit code is on its way by SMS or e-mail."),
    "password_reset": N_("Your password was changed. Please log in."),
}
