"""What a line's pages show, gathered from the services in one read: balances, live plans
with what is left, the data gauge, the expiry, the usage chart, and the auto top-up rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from topup.catalog import service as catalog
from topup.channels.portal.charts import DAYS, Bar, Gauge, bars, gauge
from topup.charging.buckets import line_buckets
from topup.charging.service import daily_totals
from topup.charging.sessions import live_sessions
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.money import Money
from topup.orders import autotopup
from topup.orders.autotopup import AutoTopup
from topup.payments.saved.service import StoredMethod, list_methods
from topup.subscribers import lines as line_svc
from topup.subscribers.auth import User
from topup.subscribers.lines import Line


@dataclass(frozen=True)
class PlanLeft:
    """One live plan on a line and what remains of it."""

    name: str
    zone: str
    valid_from: datetime | None
    expires_at: datetime | None
    units: dict[str, dict[str, int]]  # unit -> {"total", "remaining"}


@dataclass(frozen=True)
class InUse:
    """The line's open charging sessions (a phone online now): how many, the data the
    network has set aside for them (already left out of what remains) and used in them."""

    sessions: int
    held: int
    used: int


@dataclass(frozen=True)
class LineView:
    """A line as its owner's pages show it."""

    line: Line
    balances: list[Money]
    plans: list[PlanLeft]
    data: Gauge
    ends_at: datetime | None  # when the soonest plan ends, else the line's validity
    in_use: InUse | None = None  # None: no open charging session

    @property
    def title(self) -> str:
        """The number when the line has one, else the ICCID."""
        return f"+{self.line.msisdn}" if self.line.msisdn else self.line.iccid


def balances(uow: UnitOfWork, line: Line) -> list[Money]:
    """Every wallet of the line; the line's own currency first, shown even when empty."""
    found = {cur: Money(b.available, cur) for cur, b in ledger.wallets(uow, line.id).items()}
    found.setdefault(line.currency, Money(0, line.currency))
    return [found[line.currency]] + [m for cur, m in sorted(found.items()) if cur != line.currency]


def line_view(uow: UnitOfWork, line: Line, lang: str) -> LineView:
    """Balances, live plans, the data gauge and the soonest end of the line."""
    plans, names = [], {}
    left = total = 0
    for b in line_buckets(uow, line.id):
        if b.plan_id not in names:
            names[b.plan_id] = catalog.get_plan(uow, b.plan_id).name(lang)
        plans.append(PlanLeft(names[b.plan_id], b.zone_code, b.valid_from, b.expires_at,
                              b.units))
        if "data" in b.units:
            left += b.units["data"]["remaining"]
            total += b.units["data"]["total"]
    ends = min((p.expires_at for p in plans if p.expires_at), default=line.valid_until)
    live = live_sessions(uow, line.id)
    in_use = InUse(len(live), sum(s.held.get("data", 0) for s in live),
                   sum(s.used.get("data", 0) for s in live)) if live else None
    return LineView(line, balances(uow, line), plans, gauge(left, total), ends, in_use)


def usage_bars(uow: UnitOfWork, line: Line, now: datetime, zone: tzinfo) -> list[Bar]:
    """Daily data use of the last 30 days (today included) in the viewer's zone."""
    today = now.astimezone(zone).date()
    since = now - timedelta(days=DAYS + 1)
    return bars(daily_totals(uow, line.id, "data", since, zone), today)


def owned_line(uow: UnitOfWork, user: User, line_id: int) -> Line:
    """The line if ``user`` holds it; LineNotFound (404) otherwise — also for staff, whose
    tools live in the admin console, not here."""
    return line_svc.get_line(uow, line_id, owner=user.id)


@dataclass(frozen=True)
class AutoTopupPanel:
    """The line page's auto top-up section: the rule (if any), the cards it may charge, the
    form's values and errors, and the bounds it is checked against."""

    rule: AutoTopup | None
    cards: list[tuple[int, str]]  # (saved method id, "Visa *4242")
    card: str | None  # the rule's card, as shown
    low: Money
    high: Money
    most_per_day: int


def card_label(method: StoredMethod) -> str:
    """``Visa *4242``: brand and last four, never more of the card."""
    name = (method.brand or method.provider).replace("_", " ").title()
    return f"{name} *{method.last4}" if method.last4 else name


def auto_topup_panel(uow: UnitOfWork, line: Line, user: User, providers: set[str]
                     ) -> AutoTopupPanel:
    """What the auto top-up section shows: ``providers`` can charge saved cards here."""
    rule = autotopup.find_auto_topup(uow, line.id)
    mine = list_methods(uow, user.id)
    cards = [(m.id, card_label(m)) for m in mine if m.provider in providers]
    shown = next((card_label(m) for m in mine if rule and m.id == rule.method_id), None)
    low, high = catalog.topup_limit(uow, line.home_country, line.currency)
    return AutoTopupPanel(rule, cards, shown, Money(low, line.currency),
                          Money(high, line.currency), autotopup.count_ceiling(uow))
