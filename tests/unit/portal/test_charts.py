"""The data gauge and the 30-day bars, and how sizes, money and languages are chosen and shown."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from topup.channels.portal.charts import CHART_HEIGHT, bars, gauge
from topup.channels.portal.i18n import negotiate
from topup.channels.portal.rendering import data_size
from topup.channels.portal.web import safe_next

GIB = 1024**3


def test_gauge_fraction_and_level() -> None:
    full = gauge(10 * GIB, 10 * GIB)
    assert full.fraction == 1.0 and full.dash == full.circumference and full.level == "ok"
    low = gauge(GIB, 10 * GIB)
    assert low.level == "low" and round(low.dash / low.circumference, 2) == 0.1
    assert gauge(0, 10 * GIB).level == "empty" and gauge(0, 0).dash == 0


@given(st.integers(min_value=-10, max_value=10**12), st.integers(min_value=0, max_value=10**12))
def test_gauge_never_leaves_its_ring(remaining: int, total: int) -> None:
    g = gauge(remaining, total)
    assert 0 <= g.fraction <= 1 and 0 <= g.dash <= g.circumference


def test_bars_cover_thirty_days_scaled_to_the_busiest() -> None:
    today = date(2026, 11, 22)
    drawn = bars({today: 2 * GIB, today - timedelta(days=3): GIB, today - timedelta(days=40): 1},
                 today)
    assert len(drawn) == 30 and drawn[0].day == today - timedelta(days=29)
    assert drawn[-1].day == today and drawn[-1].height == CHART_HEIGHT
    assert drawn[-4].height == CHART_HEIGHT / 2 and drawn[-2].height == 0
    assert all(b.y + b.height == CHART_HEIGHT for b in drawn)
    tiny = bars({today: 10**12, today - timedelta(days=1): 1}, today)
    assert tiny[-2].height == 1.0  # a day with some use stays visible
    assert all(b.height == 0 for b in bars({}, today))


def test_data_sizes_per_locale() -> None:
    assert data_size(10 * GIB, "en") == "10 GB"
    assert data_size(1536 * 1024 * 1024, "en") == "1.5 GB"
    assert data_size(5 * 1024 * 1024, "zh_CN") == "5 MB"
    assert data_size(1234 * GIB, "en") == "1,234 GB"
    assert data_size(512, "en") == "512 B"


def test_accept_language_negotiation() -> None:
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert negotiate("en-GB,en;q=0.9,zh-CN;q=0.8") == "en"
    assert negotiate("fr, zh;q=0.5, en;q=0.2") == "zh-CN"
    assert negotiate("zh;q=0, en") == "en"
    assert negotiate("de") == negotiate(None) == "en"


def test_next_targets_stay_on_this_site() -> None:
    assert safe_next("/lines/1?tab=usage") == "/lines/1?tab=usage"
    for bad in ("https://evil.example/", "//evil.example", "/\\evil", "", None):
        assert safe_next(bad) == "/"
