"""The data forecast on usage series whose answer is known by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from topup.charging import forecast as fc

MIB = 2**20
NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
ENDS = datetime(2026, 5, 31, tzinfo=UTC)  # 20 days and 12 hours after NOW


def days_before(*used: int) -> dict[date, int]:
    """Use per day, the last value for yesterday, the one before it for the day before…"""
    return {NOW.date() - timedelta(days=back): u for back, u in enumerate(reversed(used), 1)}


def test_a_steady_100_mib_a_day_lasts_ten_days_of_a_gib_less_24_mib():
    got = fc.forecast(days_before(*[100 * MIB] * 7), 1000 * MIB, NOW,
                      started=date(2026, 5, 1), ends_at=ENDS)
    assert got.state == fc.RUNS_OUT_FIRST
    assert got.pace == 100 * MIB and got.days_left == 10 and got.plan_days == 21  # 20.5
    assert got.runs_out_at == datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
    # 20.5 days at 100 MiB need 2050 MiB; 1000 are left
    assert got.shortfall == 1050 * MIB and got.history_days == 7


def test_yesterday_weighs_most():
    # only yesterday used 700 MB: 7 * 700 / (1 + 2 + … + 7) = 175 a day
    got = fc.forecast(days_before(0, 0, 0, 0, 0, 0, 700), 350, NOW, started=None,
                      ends_at=ENDS)
    assert got.pace == 175 and got.days_left == 2
    # the same 700 a week ago weighs 1/28: 25 a day
    early = fc.forecast(days_before(700, 0, 0, 0, 0, 0, 0), 350, NOW, started=None,
                        ends_at=ENDS)
    assert early.pace == 25 and early.days_left == 14


def test_days_before_the_plan_started_are_left_out():
    # the plan began three days ago; a heavy week before it does not count
    daily = days_before(9000, 9000, 9000, 9000, 30, 30, 30)
    got = fc.forecast(daily, 300, NOW, started=NOW.date() - timedelta(days=3), ends_at=ENDS)
    assert got.history_days == 3 and got.pace == 30 and got.days_left == 10


def test_today_does_not_count():
    daily = days_before(*[10] * 7) | {NOW.date(): 10_000}
    assert fc.forecast(daily, 100, NOW, started=None, ends_at=ENDS).pace == 10


def test_a_plan_started_yesterday_is_too_little_history():
    got = fc.forecast(days_before(*[100] * 7), 1000, NOW,
                      started=NOW.date() - timedelta(days=1), ends_at=ENDS)
    assert got.state == fc.TOO_LITTLE_HISTORY and got.pace is None and got.days_left is None
    assert got.plan_days == 21 and got.history_days == 1


def test_no_use_lasts_past_the_plans_end():
    got = fc.forecast({}, 5 * MIB, NOW, started=date(2026, 5, 1), ends_at=ENDS)
    assert got.state == fc.OUTLASTS_PLAN and got.pace == 0 and got.days_left is None
    assert got.shortfall == 0


def test_enough_data_for_the_rest_of_the_plan():
    got = fc.forecast(days_before(*[100] * 7), 2100, NOW, started=None, ends_at=ENDS)
    assert got.state == fc.OUTLASTS_PLAN and got.days_left == 21 and got.shortfall == 0


def test_nothing_left_runs_out_now():
    got = fc.forecast(days_before(*[100] * 7), 0, NOW, started=None, ends_at=ENDS)
    assert got.state == fc.RUNS_OUT_FIRST and got.days_left == 0 and got.runs_out_at == NOW
    assert got.shortfall == 2050


def test_the_plan_days_are_rounded_as_the_countdown_is():
    for hours, days in ((71, 3), (60, 3), (59, 2), (11, 0), (0, 0), (-5, 0)):
        got = fc.forecast({}, 1, NOW, started=None, ends_at=NOW + timedelta(hours=hours))
        assert got.plan_days == days, hours


def test_a_plan_without_end_and_a_line_without_plan():
    assert fc.forecast(days_before(*[100] * 7), 250, NOW, started=None,
                       ends_at=None).state == fc.OUTLASTS_PLAN
    got = fc.forecast({}, 0, NOW, started=None, ends_at=None, has_plan=False)
    assert got.state == fc.NO_PLAN and got.plan_days is None


series = st.lists(st.integers(min_value=0, max_value=10 * 2**30), min_size=7, max_size=7)


@given(used=series, remaining=st.integers(min_value=0, max_value=50 * 2**30))
def test_doubling_the_pace_halves_the_days(used: list[int], remaining: int):
    once = fc.forecast(days_before(*used), remaining, NOW, started=None, ends_at=None)
    twice = fc.forecast(days_before(*[2 * u for u in used]), remaining, NOW, started=None,
                        ends_at=None)
    if sum(used) == 0:
        assert once.days_left is None and twice.days_left is None
    else:
        assert once.days_left is not None and twice.days_left is not None
        assert twice.days_left == once.days_left // 2  # floor(x / 2) == floor(floor(x) / 2)


@given(used=series, remaining=st.integers(min_value=0, max_value=50 * 2**30),
       hours=st.integers(min_value=1, max_value=90 * 24))
def test_the_shortfall_is_what_the_pace_needs_beyond_what_is_left(
        used: list[int], remaining: int, hours: int):
    ends = NOW + timedelta(hours=hours)
    got = fc.forecast(days_before(*used), remaining, NOW, started=None, ends_at=ends)
    if got.state == fc.RUNS_OUT_FIRST:
        assert got.runs_out_at is not None and got.runs_out_at < ends and got.shortfall > 0
        # at the pace, what is left plus the shortfall lasts to the end, a byte less not
        total, weights = fc.weighted(fc.history(days_before(*used), NOW.date(), None))
        needed = total * hours * 3600
        assert (remaining + got.shortfall) * weights * fc.DAY >= needed
        assert (remaining + got.shortfall - 1) * weights * fc.DAY < needed
    else:
        assert got.state == fc.OUTLASTS_PLAN and got.shortfall == 0
