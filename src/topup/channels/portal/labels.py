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

# Why an auto-renewal failed (orders/renewals.py REASONS), as the notices say it.
RENEWAL_REASONS = {
    "no_funds": N_("your balance does not cover the price and no card is saved"),
    "declined": N_("your saved card was declined"),
    "plan_off_sale": N_("the plan is no longer on sale"),
    "line_blocked": N_("the line cannot be topped up now"),
    "refused": N_("the renewal was refused"),
}

NOTICES = {
    "registered": N_("Welcome! Your account is ready. Bind your SIM or eSIM to start."),
    "bound": N_("The line is now bound to your account."),
    "bind_first": N_("Bind a line first."),
    "auto_renew_on": N_("Auto-renew is on."),
    "auto_renew_off": N_("Auto-renew is off."),
    "auto_topup_on": N_("Auto top-up is on."),
    "auto_topup_off": N_("Auto top-up is off."),
    "voucher": N_("The voucher was redeemed."),
    "language": N_("Language saved."),
    "preferences": N_("Notification settings saved."),
    "logged_out": N_("You have logged out."),
    "code_sent": N_("If the account exists, an 8-digit code is on its way by SMS or e-mail."),
    "password_reset": N_("Your password was changed. Please log in."),
    # the console
    "frozen": N_("The line is frozen."),
    "unfrozen": N_("The line is unfrozen."),
    "credited": N_("The wallet was credited."),
    "resent": N_("The message is queued to be sent again."),
    "plan_saved": N_("The plan is saved."),
    "help_saved": N_("The article is saved."),
    "help_published": N_("The article is published."),
    "help_unpublished": N_("The article is hidden from readers."),
    "help_reverted": N_("The article is back to the shipped text."),
    "staff_created": N_("The login is created."),
    "staff_disabled": N_("The login is disabled."),
    "staff_enabled": N_("The login is enabled again."),
    # the console's vouchers, agents, bank review and refunds
    "batch_created": N_("The batch is created. Make its cards when the printer is ready."),
    "batch_activated": N_("The batch is active: its cards can be redeemed."),
    "batch_blocked": N_("The batch is blocked."),
    "batch_unblocked": N_("The batch is unblocked."),
    "cards_blocked": N_("The cards in the range are blocked."),
    "cards_unblocked": N_("The cards in the range are unblocked."),
    "agent_created": N_("The agent is created."),
    "agent_suspended": N_("The agent is suspended."),
    "agent_activated": N_("The agent is active again."),
    "agent_staff_added": N_("The staff login is added."),
    "agent_staff_removed": N_("The staff login is removed."),
    "float_funded": N_("The float is funded."),
    "float_already_funded": N_("This payment funded the float before; nothing was added."),
    "terminal_disabled": N_("The terminal is disabled."),
    "terminal_enabled": N_("The terminal is enabled again."),
    "tier_saved": N_("The commission tier is saved."),
    "review_resolved": N_("The payment is resolved."),
    "refunded": N_("The refund is paid back."),
    "refund_recorded": N_("The refund paid out by hand is recorded."),
    "plan_returned": N_("The plan went back to the wallet."),
    # the agent's point of sale
    "pos_sold": N_("Sold. Here is the receipt."),
    # shared data (groups of lines)
    "group_created": N_("The group is ready. Add your lines to it."),
    "group_joined": N_("The line is in the group: it uses the group's plans now."),
    "group_cap": N_("The cap is saved."),
    "group_left": N_("The line is out of the group. What it used stays in its history."),
}
