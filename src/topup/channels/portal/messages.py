"""What a traveller reads when a service refuses: one sentence per error ``code``, in the
page's language.

Chinese reuses the API's titles (``channels/api/messages.ZH``), English the error class's
``title``; a few refusals get a sentence of their own because the title alone does not say
what to do (a frozen line, limits, lockouts). Input errors add their detail in English.
"""

from __future__ import annotations

from babel.dates import format_timedelta

from topup.channels.api.messages import ZH
from topup.channels.portal.i18n import N_, Translator
from topup.errors import InvalidInput, TopupError
from topup.money import Money

LINE_STATES = {
    "frozen": N_("This line is frozen, so it cannot be topped up or used. Please contact "
                 "customer support to have the freeze lifted."),
    "terminated": N_("This line has been terminated and can no longer be topped up."),
}
FALLBACK = N_("Something went wrong. Please try again.")
WAITS = ("account_locked", "rate_limited", "voucher_locked")


def blocked(t: Translator, line_status: str) -> str | None:
    """Why a line in ``line_status`` cannot be topped up, or None when it can."""
    text = LINE_STATES.get(line_status)
    return t.gettext(text) if text else None


def _limits(t: Translator, exc: TopupError) -> str | None:
    cur, low, high = (exc.extra.get(k) for k in ("currency", "min_amount", "max_amount"))
    if not isinstance(cur, str) or not isinstance(low, int) or not isinstance(high, int):
        return None
    return t.gettext("A top-up must be between %(min)s and %(max)s.",
                     min=Money(low, cur).format(t.locale), max=Money(high, cur).format(t.locale))


def _wait(t: Translator, exc: TopupError) -> str | None:
    seconds = exc.extra.get("retry_after")
    if not isinstance(seconds, int):
        return None
    span = format_timedelta(max(seconds, 60), granularity="minute", threshold=1.5,
                            locale=t.locale)
    return t.gettext("Too many attempts. Please try again in %(time)s.", time=span)


PROMO_REFUSALS = {
    "not_live": N_("This code is not valid now, for this way of buying or for your account."),
    "no_items": N_("This code does not apply to what you are buying."),
    "min_spend": N_("This code needs a larger purchase."),
    "used_up": N_("This code has been used up."),
    "budget": N_("This offer has run out."),
    "not_here": N_("Codes cannot be used with this payment."),
}


def _promo(t: Translator, exc: TopupError) -> str:
    if exc.code == "unknown_promo_code":
        return t.gettext("This promo code does not exist. Check the spelling.")
    text = PROMO_REFUSALS.get(str(exc.extra.get("reason", "")))
    return t.gettext(text) if text else t.gettext("This code cannot be used for this order.")


def _special(t: Translator, exc: TopupError) -> str | None:
    if exc.code in ("unknown_promo_code", "promo_code_not_applicable"):
        return _promo(t, exc)
    if exc.code == "line_not_usable":
        return blocked(t, str(exc.extra.get("line_status", "")))
    if exc.code == "topup_out_of_limits":
        return _limits(t, exc)
    if exc.code in WAITS:
        return _wait(t, exc)
    if exc.code == "forbidden":
        return t.gettext("This page is not available to your account.")
    if exc.code == "insufficient_funds":
        return t.gettext("The wallet balance is too low. Top up first, or choose another "
                         "payment method.")
    if exc.code == "duplicate_suspected":
        return t.gettext("The same order was made for this line a few minutes ago. Check "
                         "your balance; tick the box below to really pay again.")
    return None


def error_text(t: Translator, exc: TopupError) -> str:
    """The sentence to show for ``exc`` in ``t``'s language."""
    special = _special(t, exc)
    if special:
        return special
    if t.lang == "zh-CN":
        return ZH.get(exc.code) or t.gettext(FALLBACK)
    if isinstance(exc, InvalidInput) and exc.detail and exc.detail != exc.title:
        return f"{exc.title}: {exc.detail}"
    return exc.title or t.gettext(FALLBACK)


def field_of(exc: TopupError) -> str | None:
    """The form field an error is about, when the service said so."""
    found = exc.extra.get("field")
    return found if isinstance(found, str) else None
