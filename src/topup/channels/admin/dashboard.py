"""The console's first page: top-ups and sales per day by channel and method, the lines by
status, and data sold against data used, over the last 30 days (days in UTC). Read from the
replica when there is one (docs/replica.md)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from topup.channels.admin.charts import Chart, columns
from topup.channels.admin.labels import DATA_SERIES
from topup.channels.admin.pages import page
from topup.channels.portal.web import PortalRoute, Web, allowed
from topup.charging import reports as data_reports
from topup.orders import reports as sales_reports
from topup.orders.reports import DaySales
from topup.subscribers import lines as line_svc

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
DAYS = 30


def _days(now: datetime) -> tuple[datetime, list[str]]:
    first = datetime.combine(now.date() - timedelta(days=DAYS - 1), time(), now.tzinfo)
    return first, [(first + timedelta(days=i)).date().isoformat() for i in range(DAYS)]


def _per_day(rows: list[DaySales], key: str, value: Any) -> list[tuple[str, dict[str, int]]]:
    """One series per value of ``key`` (channel or method), largest first."""
    series: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        series[getattr(r, key)][r.day] += value(r)
    ranked = sorted(series.items(), key=lambda kv: -sum(kv[1].values()))
    return [(name, dict(values)) for name, values in ranked if sum(values.values())]


def _currency(rows: list[DaySales], wanted: str | None) -> str | None:
    """The currency to chart: the one asked for, else the one with the most orders."""
    counts = Counter[str]()
    for r in rows:
        counts[r.currency] += r.count
    if wanted in counts:
        return wanted
    return counts.most_common(1)[0][0] if counts else None


@router.get("/admin")
def dashboard(currency: str | None = Query(None, max_length=3),
              w: Web = Depends(allowed("dashboard.read"))) -> Response:
    """The figures of the last 30 days."""
    since, days = _days(w.now)
    with w.db.unit(readonly=True, replica=True) as uow:
        as_of = uow.as_of
        sales = sales_reports.daily_sales(uow, since)
        statuses = line_svc.count_by_status(uow)
        sold = data_reports.data_sold_per_day(uow, since)
        used = data_reports.data_used_per_day(uow, since)
    chosen = _currency(sales, currency)
    mine = [r for r in sales if r.currency == chosen]
    topups = [r for r in mine if r.kind == "topup"]
    charts: dict[str, Chart] = {
        "topups": columns(days, _per_day(topups, "channel", lambda r: r.amount), stacked=True),
        "sales": columns(days, _per_day(mine, "method", lambda r: r.fee + (
            r.amount if r.kind == "plan" else 0)), stacked=True),
        "data": columns(days, [("sold", sold), ("used", used)], stacked=False),
    }
    totals = {"topups": sum(r.amount for r in topups), "orders": sum(r.count for r in mine),
              "plans": sum(r.amount for r in mine if r.kind == "plan"),
              "fees": sum(r.fee for r in mine),
              "sold": sum(sold.values()), "used": sum(used.values())}
    return page(w, "admin/dashboard.html", "dashboard", charts=charts, totals=totals,
                statuses=statuses, currency=chosen, lines_total=sum(statuses.values()),
                currencies=sorted({r.currency for r in sales}), first_day=days[0],
                data_series=DATA_SERIES, as_of=as_of,
                rows=sorted(mine, key=lambda r: (r.day, r.kind, r.channel, r.method),
                            reverse=True))
