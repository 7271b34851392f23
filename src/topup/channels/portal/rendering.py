"""The Jinja2 environment of the portal and its filters: money, dates, countdowns, data sizes
and percentages, each formatted for the page's language with Babel.

Filters read the page's ``t`` (a Translator) and ``tz`` (the viewer's time zone) from the
template context, so one environment serves every language at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    PackageLoader,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from topup.catalog.places import country_name
from topup.channels.portal.i18n import N_, Translator
from topup.money import Money
from topup.subscribers.staff import STAFF_ROLES

KIB = 1024
MIB = KIB * KIB
GIB = MIB * KIB


@dataclass(frozen=True)
class MenuItem:
    """One entry of the main menu; ``roles`` None means signed-out visitors see it."""

    href: str
    label: str  # an N_() msgid
    roles: frozenset[str] | None
    key: str


TRAVELLER = frozenset({"customer"})
WEB_ROLES = frozenset({"customer", "agent", *STAFF_ROLES})  # who may sign in to the pages
MENU: list[MenuItem] = [
    MenuItem("/", N_("My lines"), TRAVELLER, "home"),
    MenuItem("/store", N_("eSIM store"), None, "store"),
    MenuItem("/store", N_("eSIM store"), TRAVELLER, "store"),
    MenuItem("/plans", N_("Plans"), None, "plans"),
    MenuItem("/plans", N_("Plans"), TRAVELLER, "plans"),
    MenuItem("/trip", N_("Plan a trip"), None, "trip"),
    MenuItem("/trip", N_("Plan a trip"), TRAVELLER, "trip"),
    MenuItem("/topup", N_("Top up"), TRAVELLER, "topup"),
    MenuItem("/voucher", N_("Voucher"), TRAVELLER, "voucher"),
    MenuItem("/history", N_("History"), TRAVELLER, "history"),
    # a signed-in traveller's menu is long already: rates and the card check are a tap away
    # in the help centre (its "Tools" panel), as are their support requests
    MenuItem("/rates", N_("Rates"), None, "rates"),
    MenuItem("/check", N_("Check a card"), None, "check"),
    MenuItem("/help", N_("Help"), None, "help"),
    MenuItem("/help", N_("Help"), TRAVELLER, "help"),
    MenuItem("/login", N_("Log in"), None, "login"),
    MenuItem("/register", N_("Register"), None, "register"),
]
LAST = MenuItem("/settings", N_("Settings"), WEB_ROLES, "settings")  # always the last entry


def add_menu_item(item: MenuItem) -> None:
    """Let a later section (the admin console under /admin, the agent POS under /pos) put
    its entry in the menu, shown only to its roles."""
    if item not in MENU:
        MENU.append(item)


def menu_for(role: str | None) -> list[MenuItem]:
    """The menu a visitor with ``role`` sees (None: signed out)."""
    if role is None:
        return [m for m in MENU if m.roles is None]
    return [m for m in [*MENU, LAST] if m.roles is not None and role in m.roles]


def zone_of(name: str | None) -> tzinfo:
    """The viewer's time zone (UTC when unknown)."""
    try:
        return ZoneInfo(name) if name else UTC
    except (KeyError, ValueError):
        return UTC


def _t(ctx: Context) -> Translator:
    found: Translator = ctx["t"]
    return found


@pass_context
def money(ctx: Context, value: Money | None) -> str:
    """``CN¥100.00`` in English, ``¥100.00`` in Chinese; always with the currency."""
    return "" if value is None else value.format(_t(ctx).locale)


@pass_context
def money_of(ctx: Context, amount: int, currency: str) -> str:
    """Minor units of ``currency``, formatted."""
    return Money(int(amount), currency).format(_t(ctx).locale)


@pass_context
def when(ctx: Context, value: datetime | None) -> str:
    """A date and time in the viewer's zone and language."""
    if value is None:
        return ""
    return str(format_datetime(value, "medium", tzinfo=ctx.get("tz") or UTC,
                               locale=_t(ctx).locale))


@pass_context
def day(ctx: Context, value: datetime | None) -> str:
    """A date in the viewer's zone and language."""
    if value is None:
        return ""
    local = value.astimezone(ctx.get("tz") or UTC)
    return str(format_date(local.date(), "medium", locale=_t(ctx).locale))


@pass_context
def countdown(ctx: Context, until: datetime | None) -> str:
    """How long until ``until``: "5 days left", or "ended" once it has passed."""
    t = _t(ctx)
    if until is None:
        return ""
    left = until - ctx["now"]
    if left.total_seconds() <= 0:
        return t.gettext("ended")
    span = format_timedelta(left, granularity="minute", threshold=1.5, locale=t.locale)
    return t.gettext("%(time)s left", time=span)


def data_size(value: int, locale: str) -> str:
    """Bytes as GB, MB or KB (binary multiples, as operators count data) in ``locale``."""
    for size, unit in ((GIB, "GB"), (MIB, "MB"), (KIB, "KB")):
        if abs(value) >= size:
            number = Decimal(value) / Decimal(size)
            return f"{format_decimal(number, format='#,##0.##', locale=locale)} {unit}"
    return f"{format_decimal(value, locale=locale)} B"


@pass_context
def data(ctx: Context, value: int | None) -> str:
    """A data amount in the viewer's language."""
    return data_size(int(value or 0), _t(ctx).locale)


@pass_context
def percent(ctx: Context, value: float) -> str:
    """A share such as 0.42 as ``42%``."""
    return str(format_percent(value, locale=_t(ctx).locale))


@pass_context
def number(ctx: Context, value: int) -> str:
    """An integer with the language's grouping."""
    return str(format_decimal(value, locale=_t(ctx).locale))


@pass_context
def place(ctx: Context, code: str) -> str:
    """A zone's or country's name in the page's language (``places`` in the context)."""
    found = ctx.get("places")
    return found.name(code) if found is not None else country_name(code, _t(ctx).lang)


@pass_context
def place_list(ctx: Context, codes: list[str] | tuple[str, ...]) -> str:
    """Countries' names, sorted and joined as the page's language joins a list."""
    found = ctx.get("places")
    named = found.names(codes) if found is not None else sorted(
        country_name(c, _t(ctx).lang) for c in codes)
    return "、".join(named) if _t(ctx).lang == "zh-CN" else ", ".join(named)


LOADERS: list[BaseLoader] = [PackageLoader("topup.channels.portal", "templates")]
LOADER = ChoiceLoader(LOADERS)  # keeps this very list, so sections added later are found


def add_templates(package: str) -> None:
    """Let a section render its own templates (``<package>/templates``; name them
    ``<section>/<page>.html`` so that they cannot shadow another section's)."""
    if package not in {getattr(x, "package_name", None) for x in LOADERS}:
        LOADERS.append(PackageLoader(package, "templates"))


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The portal's templates, autoescaped, with the formatting filters."""
    env = Environment(loader=LOADER,
                      autoescape=select_autoescape(default=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(money=money, money_of=money_of, when=when, day=day,
                       countdown=countdown, data=data, percent=percent, number=number,
                       place=place, place_list=place_list)
    return env


def render(template: str, context: dict[str, Any]) -> str:
    """The page ``template`` filled with ``context`` (which carries ``t``, ``tz``, ``now``)."""
    t: Translator = context["t"]
    full = {"_": t.gettext, "gettext": t.gettext, "ngettext": t.ngettext, **context}
    return environment().get_template(template).render(full)
