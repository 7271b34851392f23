"""What every console page shares: the section menu, the staff dependency, the reason field
that every action that changes something must carry, and paging."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from topup.channels.admin import labels
from topup.channels.admin.nav import sections_for
from topup.channels.portal.i18n import N_
from topup.channels.portal.messages import error_text
from topup.channels.portal.web import Form, Web
from topup.errors import TopupError
from topup.money import Money

REASON_MIN = 3
REASON_MAX = 500
REASON_NEEDED = N_("Give a reason of at least %(n)s characters (it goes into the audit log).")


def page(w: Web, template: str, section: str, status: int = 200, **extra: Any) -> HTMLResponse:
    """Render a console page with its section highlighted in the console's menu."""
    return w.page(template, status=status, sections=sections_for(w.me().role),
                  section=section, channels=labels.CHANNELS, methods=labels.METHODS,
                  roles=labels.ROLES, **extra)


def reason_of(w: Web, form: Form, name: str = "reason") -> str:
    """The form's reason, or an error next to the field when it is missing or too short."""
    reason = form.get(name)
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        form.fail(name, w.t.gettext(REASON_NEEDED, n=REASON_MIN))
    return reason


def positive_int(w: Web, form: Form, name: str) -> int | None:
    """A whole positive number from the form, or an error next to the field."""
    raw = form.get(name)
    if not raw.isdigit() or int(raw) <= 0:
        form.fail(name, w.t.gettext("Enter a whole number above zero."))
        return None
    return int(raw)


def money_field(w: Web, form: Form, name: str, currency: str) -> int | None:
    """An amount typed in major units (``25.50``) as minor units of ``currency``, or an error
    next to the field."""
    try:
        amount = Money.parse(form.get(name), currency).amount
    except TopupError:
        amount = 0
    if amount <= 0:
        form.fail(name, w.t.gettext("Enter an amount such as %(example)s.",
                                    example=Money(10000, currency).text()))
        return None
    return amount


def refusal(w: Web, exc: TopupError) -> str:
    """The refusal in the page's language, with the service's own words after it (English,
    with the figures staff need: which line of a file, which amounts, which state)."""
    text = error_text(w.t, exc)
    return text if exc.detail in text else f"{text} ({exc.detail})"
