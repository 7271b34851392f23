"""Rendering outbox rows into text: Jinja2 templates in en and zh-CN, amounts and dates
formatted by Babel for the message's locale.

Files live in ``templates/<language>/``: ``<name>.subject.txt``, ``<name>.txt`` and
``<name>.html`` for e-mail (the HTML extends ``_layout.html`` and is auto-escaped),
``<name>.sms.txt`` for SMS. Outbox params stay locale-neutral (minor units, ISO dates); the
filters ``money`` and ``date`` format them here, in the reader's language and time zone.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from babel.dates import format_date, format_datetime
from babel.units import format_unit
from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)

from topup.money import Money
from topup.notifications.errors import PermanentFailure

LANGUAGES = ("en", "zh-CN")
# Every template in use, and the channels it exists for (tests check each file exists).
TEMPLATES: dict[str, tuple[str, ...]] = {
    "password_reset": ("email", "sms"),
    "order_fulfilled": ("email", "sms"),
    "voucher_redeemed": ("email", "sms"),
    "selfservice_reply": ("sms",),  # SMS keyword replies: params["text"] is the reply
    "voucher_lockout": ("email",),  # operator alert
    # Reminders and auto-renew outcomes (jobs.reminders, orders.renewals).
    "plan_expiring": ("email", "sms"),
    "renewal_upcoming": ("email", "sms"),
    "renewal_failed": ("email", "sms"),
    "renewal_given_up": ("email", "sms"),
    "data_used": ("email", "sms"),
    "low_balance": ("email", "sms"),
    # The data forecast (jobs.forecasts): the data runs out before the plan ends.
    "data_forecast": ("email", "sms"),
    # The line lifecycle (jobs.notices): grace entered, suspension tomorrow; how to restore.
    "line_grace": ("email", "sms"),
    "line_suspending": ("email", "sms"),
    # The eSIM store (esim.store): the activation code with its QR code, the confirmation
    # code apart from it, and the operator's low-stock alert.
    "esim_ready": ("email",),
    "esim_confirmation": ("email",),
    "esim_low_stock": ("email",),
    # Auto top-up (orders.autotopup_runs): a top-up made, one refused or declined, the cap.
    "auto_topup_done": ("email", "sms"),
    "auto_topup_failed": ("email", "sms"),
    "auto_topup_capped": ("email", "sms"),
    # Support tickets (support.notices): a staff answer; a late payment being looked at.
    "ticket_reply": ("email", "sms"),
    "ticket_payment_late": ("email", "sms"),
}
QR_CID = "qr@topup"
"""The Content-ID of the QR code an e-mail carries when its params hold ``qr`` (a payload)."""
EMAIL_PARTS = ("subject.txt", "txt", "html")


@dataclass(frozen=True)
class Rendered:
    """A message's text: subject and HTML are empty for SMS."""

    text: str
    subject: str = ""
    html: str = ""
    images: tuple[tuple[str, bytes], ...] = ()  # (Content-ID, PNG) shown by the HTML part


def _locale(language: str) -> str:
    return "zh_CN" if language == "zh-CN" else "en"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _filters(language: str, timezone: str) -> dict[str, Any]:
    locale, zone = _locale(language), _zone(timezone)

    def money(amount: int, currency: str) -> str:
        return Money(int(amount), currency).format(locale)

    def moment(value: str | datetime) -> datetime:
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)

    def day(value: str | datetime | date | None) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str | datetime):
            value = moment(value).date()
        return str(format_date(value, "medium", locale=locale))

    def when(value: str | datetime | None) -> str:
        if value is None or value == "":
            return ""
        return str(format_datetime(moment(value), "short", tzinfo=zone, locale=locale))

    def data(octets: int) -> str:
        gib = int(octets) / 2**30
        if gib >= 1:
            return str(format_unit(round(gib, 1), "digital-gigabyte", "short", locale=locale))
        mib = round(int(octets) / 2**20)
        return str(format_unit(mib, "digital-megabyte", "short", locale=locale))

    return {"money": money, "date": day, "when": when, "data": data}


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one Jinja environment: HTML auto-escaped, a missing param is an error."""
    return Environment(
        loader=PackageLoader("topup.notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined, keep_trailing_newline=False,
        trim_blocks=True, lstrip_blocks=True,
    )


def template_file(name: str, language: str, part: str) -> str:
    """The path of one template part inside ``templates/``."""
    return f"{language}/{name}.{part}"


def _render(name: str, language: str, part: str, context: dict[str, Any]) -> str:
    env = environment()
    try:
        template = env.get_template(template_file(name, language, part))
        filters = _filters(language, str(context.get("timezone", "UTC")))
        return template.render(**context, **filters).strip()
    except TemplateNotFound as exc:
        raise PermanentFailure(f"no template {name!r} for {part} in {language}") from exc
    except (TemplateError, TypeError, ValueError, KeyError) as exc:
        raise PermanentFailure(f"template {name!r} ({language}) failed: {exc}") from exc


def render(name: str, channel: str, language: str, params: dict[str, Any], *,
           operator: str, timezone: str = "UTC") -> Rendered:
    """The text of one message; ``PermanentFailure`` when the template is missing or its
    params do not fit (retrying would not help)."""
    if name not in TEMPLATES or channel not in TEMPLATES[name]:
        raise PermanentFailure(f"no {channel} template named {name!r}")
    lang = language if language in LANGUAGES else "en"
    context = {**params, "operator": operator, "language": lang, "timezone": timezone}
    if channel == "sms":
        return Rendered(text=_render(name, lang, "sms.txt", context))
    subject = " ".join(_render(name, lang, "subject.txt", context).split())
    images = _qr_image(params.get("qr"))
    html = _render(name, lang, "html", {
        **context, "subject": subject, "qr_src": f"cid:{QR_CID}" if images else None})
    return Rendered(text=_render(name, lang, "txt", context) + "\n", subject=subject,
                    html=html, images=images)


def _qr_image(payload: Any) -> tuple[tuple[str, bytes], ...]:
    """The QR code of ``payload`` as a PNG to embed (none when there is no payload)."""
    if not isinstance(payload, str) or not payload:
        return ()
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="png", scale=6, border=4)
    return ((QR_CID, out.getvalue()),)
