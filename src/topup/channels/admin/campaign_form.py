"""The console's campaign form: the fields each kind of campaign shows, what staff typed read
into a ``CampaignSpec`` (percentages as ``12.5``, amounts in major units, times in UTC), and
the store's refusals (``InvalidCampaign``) put next to the field they name, in the staff's
language.

The store checks a definition whole and says what is wrong in English; ``DETAILS`` gives each
of its sentences a console sentence that is translated. A sentence the table does not know
(a newer check) is shown with the translated title and the English detail, never dropped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from topup.channels.admin.pages import money_field
from topup.channels.portal.i18n import N_, Translator
from topup.channels.portal.messages import error_text
from topup.channels.portal.web import Form, Web
from topup.errors import TopupError
from topup.money import Money
from topup.promotions.rules import Scope
from topup.promotions.store import MAX_TIERS, SALE_CHANNELS, CampaignSpec

KINDS = {
    "discount": N_("Limited-time discount"), "spend_save": N_("Spend and save"),
    "code": N_("Promo codes"), "bonus": N_("Top-up bonus"), "cashback": N_("Cashback"),
}
KIND_HINTS = {
    "discount": N_("A percentage off, or a sale price, on chosen plans for a while."),
    "spend_save": N_("Spend a set amount, save a set amount (tiers), optionally again for "
                     "every further multiple."),
    "code": N_("A percentage or an amount off for whoever enters a code; shared codes or "
               "batches of single-use codes."),
    "bonus": N_("Extra wallet credit on a top-up, by tiers or as a percentage."),
    "cashback": N_("A percentage of what was paid, credited once the refund window closes."),
}
STATES = {"active": N_("Running"), "paused": N_("Paused"), "ended": N_("Ended")}
REDEMPTION_STATES = {"held": N_("Held (order not paid yet)"), "applied": N_("Applied"),
                     "released": N_("Released (order not paid)"),
                     "reversed": N_("Reversed (refunded)")}
# What each kind's form shows (besides name, window, currency, scope and limits).
RULE_FIELDS = {
    "discount": ("percent", "prices"),
    "spend_save": ("tiers", "repeat", "cap"),
    "code": ("percent", "amount_off", "min_spend", "cap"),
    "bonus": ("tiers", "percent", "cap"),
    "cashback": ("percent", "cap"),
}
# The store's field names -> the form's (the rest are the same).
FIELD_OF = {"percent_bp": "percent", "kind": "", "state": "", "campaign": ""}
DETAILS: tuple[tuple[str, str], ...] = (
    (r"kind is one of", N_("Choose one of the kinds of campaign.")),
    (r"a name has 1 to 120", N_("Give the campaign a name of 1 to 120 characters.")),
    (r"a campaign ends after it starts", N_("The campaign must end after it starts.")),
    (r"percent_bp is 1 to 10000", N_("Enter a percentage from 0.01 to 100.")),
    (r"\w+ is a whole number of minor units",
     N_("Enter an amount above zero that is not larger than the largest amount allowed.")),
    (r"\w+ is 1 to 1,000,000,000", N_("Enter a whole number from 1 to 1,000,000,000.")),
    (r"at most \d+ tiers", N_("Give at most 10 tiers, each from a different amount.")),
    (r"amounts are in the campaign's currency",
     N_("Amounts are in the campaign's currency: choose it.")),
    (r"a discount takes a percentage or sale prices",
     N_("A discount needs a percentage or at least one sale price.")),
    (r"spend-and-save needs its tiers", N_("Spend and save needs at least one tier.")),
    (r"a code takes a percentage or an amount off",
     N_("Give either a percentage or an amount off, not both.")),
    (r"a top-up bonus needs tiers or a percentage",
     N_("A top-up bonus needs tiers or a percentage.")),
    (r"cashback is a percentage", N_("Cashback needs a percentage.")),
    (r"plan discounts do not apply to top-ups",
     N_("A plan discount cannot apply to top-ups: untick top-ups.")),
    (r"a top-up bonus applies to top-ups", N_("A top-up bonus applies to top-ups: tick them.")),
    (r"channels are among", N_("Choose channels from the list.")),
    (r"zones are zone codes", N_("Zones are zone codes such as JP or ASIA.")),
    (r"a code has 4 to 40", N_("A code has 4 to 40 letters and digits.")),
    (r"that code exists already", N_("That code exists already.")),
    (r"\d+ to \d+ codes, a prefix",
     N_("Make 1 to 10,000 codes at a time, with a prefix of at most 12 letters.")),
    (r"only a code campaign has codes", N_("Only a promo code campaign has codes.")),
    (r"an ended campaign cannot start again", N_("An ended campaign cannot start again.")),
)
TIME_EXAMPLE = "2026-12-24T18:00"
HOUR = timedelta(hours=1)


def store_text(t: Translator, exc: TopupError) -> str:
    """The store's refusal in ``t``'s language (see the module)."""
    for pattern, message in DETAILS:
        if re.match(pattern, exc.detail):
            return t.gettext(message)
    text = error_text(t, exc)
    return text if exc.detail in text else f"{text} ({exc.detail})"


def refuse(w: Web, form: Form, exc: TopupError, default: str = "name") -> None:
    """Show the store's refusal next to the field it names (``default`` when it names none
    the form has)."""
    named = str(exc.extra.get("field") or "")
    target = FIELD_OF.get(named, named)
    known = {"name", "starts_at", "ends_at", "currency", "percent", "amount_off", "prices",
             "tiers", "cap", "min_spend", "scope", "total_limit", "per_customer_limit",
             "budget", "code", "max_uses", "count", ""}
    form.fail(target if target in known else default, store_text(w.t, exc))


def defaults(w: Web, kind: str) -> dict[str, str]:
    """A new campaign's form: from the next hour, for a week, in the default currency."""
    start = w.now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + HOUR
    end = start + timedelta(days=7)
    values = {"kind": kind, "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
              "ends_at": end.strftime("%Y-%m-%dT%H:%M"),
              "currency": w.db.settings.default_currency}
    if kind == "bonus":
        values["topups"] = "on"
    return values


def _time(w: Web, form: Form, name: str) -> datetime | None:
    raw = form.get(name).replace(" ", "T")
    try:
        found = datetime.fromisoformat(raw)
    except ValueError:
        form.fail(name, w.t.gettext("Enter a date and time in UTC such as %(example)s.",
                                    example=TIME_EXAMPLE.replace("T", " ")))
        return None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


def _percent(w: Web, form: Form) -> int | None:
    raw = form.get("percent").rstrip("%").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
        if not value.is_finite() or value * 100 != int(value * 100):
            raise InvalidOperation
    except InvalidOperation:
        value = Decimal(-1)
    if not 0 < value <= 100:
        form.fail("percent", w.t.gettext("Enter a percentage from 0.01 to 100, such as 15 or "
                                         "12.5."))
        return None
    return int(value * 100)


def _money(w: Web, form: Form, name: str, currency: str | None) -> int | None:
    if not form.get(name):
        return None
    if not currency:
        form.fail("currency", w.t.gettext("Amounts are in the campaign's currency: "
                                          "choose it."))
        return None
    return money_field(w, form, name, currency)


def limit_field(w: Web, form: Form, name: str) -> int | None:
    """A whole number of 1 to 10⁹ from the form (None when empty), or an error next to it."""
    raw = form.get(name).replace(",", "")
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 10**9:
        form.fail(name, w.t.gettext("Enter a whole number from 1 to 1,000,000,000."))
        return None
    return int(raw)


TIER = re.compile(r"^\s*([\d.,]+)\s*(?:[=:>,;]|->|→|\s)\s*([\d.,]+)\s*$")


def _tiers(w: Web, form: Form, currency: str | None) -> list[tuple[int, int]]:
    """One tier a line: ``100.00 = 10.00`` (spend and save, or top-up and bonus)."""
    lines = [line for line in form.values.get("tiers", "").splitlines() if line.strip()]
    if lines and not currency:
        form.fail("currency", w.t.gettext("Amounts are in the campaign's currency: "
                                          "choose it."))
        return []
    tiers: list[tuple[int, int]] = []
    for number, line in enumerate(lines[:MAX_TIERS + 1], start=1):
        found = TIER.match(line)
        try:
            if found is None or currency is None:
                raise ValueError
            tiers.append(_parsed(found.group(1), found.group(2), currency))
        except (ValueError, TopupError):
            form.fail("tiers", w.t.gettext(
                "Line %(n)s: write one tier a line as two amounts, such as %(example)s.",
                n=number, example="100.00 = 10.00"))
            return []
    return tiers


def _parsed(first: str, second: str, currency: str) -> tuple[int, int]:
    return (Money.parse(first.replace(",", ""), currency).amount,
            Money.parse(second.replace(",", ""), currency).amount)


def _prices(w: Web, form: Form, plans: list[Any], currency: str | None) -> dict[int, int]:
    prices: dict[int, int] = {}
    for plan in plans:
        name = f"price_{plan.id}"
        if form.get(name):
            amount = _money(w, form, name, currency)
            if amount is not None:
                prices[plan.id] = amount
    if any(f"price_{p.id}" in form.errors for p in plans):
        form.fail("prices", w.t.gettext("Check the sale prices marked below."))
    return prices


def _scope(w: Web, form: Form, plans: list[Any], zone_codes: set[str]) -> Scope:
    zones = {z.strip().upper() for z in re.split(r"[,\s]+", form.get("zones")) if z.strip()}
    unknown = sorted(zones - zone_codes)
    if unknown:
        form.fail("zones", w.t.gettext("No zone has the code %(codes)s.",
                                       codes=", ".join(unknown)))
    return Scope(
        plans=frozenset(p.id for p in plans if form.checked(f"plan_{p.id}")),
        zones=frozenset(zones),
        channels=frozenset(c for c in SALE_CHANNELS if form.checked(f"channel_{c}")),
        first_purchase_only=form.checked("first_purchase_only"),
        topups=form.checked("topups"))


def spec_of(w: Web, form: Form, plans: list[Any], zone_codes: set[str]) -> CampaignSpec | None:
    """The campaign the form describes, or None with the errors on the form."""
    kind = form.get("kind")
    fields = RULE_FIELDS.get(kind, ())
    currency = form.get("currency").upper() or None
    starts, ends = _time(w, form, "starts_at"), _time(w, form, "ends_at")
    values: dict[str, Any] = {
        "percent_bp": _percent(w, form) if "percent" in fields else None,
        "amount_off": _money(w, form, "amount_off", currency) if "amount_off" in fields
        else None,
        "prices": _prices(w, form, plans, currency) if "prices" in fields else {},
        "tiers": _tiers(w, form, currency) if "tiers" in fields else [],
        "repeat": "repeat" in fields and form.checked("repeat"),
        "cap": _money(w, form, "cap", currency) if "cap" in fields else None,
        "min_spend": (_money(w, form, "min_spend", currency) or 0) if "min_spend" in fields
        else 0,
        "scope": _scope(w, form, plans, zone_codes),
        "total_limit": limit_field(w, form, "total_limit"),
        "per_customer_limit": limit_field(w, form, "per_customer_limit"),
        "budget": _money(w, form, "budget", currency),
        "frees_code_on_refund": kind == "code" and form.checked("frees_code_on_refund"),
    }
    if not form.ok or starts is None or ends is None:
        return None
    return CampaignSpec(kind=kind, name=form.get("name"), starts_at=starts, ends_at=ends,
                        currency=currency, **values)
