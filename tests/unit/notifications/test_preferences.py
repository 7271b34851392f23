"""Quiet hours in the customer's time zone: when an SMS may go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.notifications.errors import InvalidPreferences
from topup.notifications.preferences import Preferences, check_timezone, parse_window

NIGHT = Preferences(1, quiet_start=22 * 60, quiet_end=7 * 60, timezone="Asia/Shanghai")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_window_across_midnight() -> None:
    # 23:30 Shanghai is 15:30 UTC: quiet until 07:00 Shanghai, 23:00 UTC.
    assert NIGHT.quiet_until(utc(2026, 11, 22, 15, 30)) == utc(2026, 11, 22, 23, 0)
    # 06:59 Shanghai the next morning: still quiet, ending a minute later.
    assert NIGHT.quiet_until(utc(2026, 11, 22, 22, 59)) == utc(2026, 11, 22, 23, 0)
    assert NIGHT.quiet_until(utc(2026, 11, 22, 23, 0)) is None
    assert NIGHT.quiet_until(utc(2026, 11, 22, 13, 59)) is None  # 21:59 Shanghai


def test_a_window_within_a_day_and_none_at_all() -> None:
    nap = Preferences(1, quiet_start=13 * 60, quiet_end=14 * 60 + 30, timezone="UTC")
    assert nap.quiet_until(utc(2026, 1, 1, 13, 0)) == utc(2026, 1, 1, 14, 30)
    assert nap.quiet_until(utc(2026, 1, 1, 14, 30)) is None
    assert Preferences(1).quiet_until(utc(2026, 1, 1, 3, 0)) is None


def test_daylight_saving_changes_move_the_end_with_local_time() -> None:
    paris = Preferences(1, quiet_start=22 * 60, quiet_end=7 * 60, timezone="Europe/Paris")
    # The night the clocks go back (25 Oct 2026): 07:00 is then UTC+1.
    assert paris.quiet_until(utc(2026, 10, 24, 23, 0)) == utc(2026, 10, 25, 6, 0)
    assert paris.quiet_until(utc(2026, 10, 23, 23, 0)) == utc(2026, 10, 24, 5, 0)


def test_windows_and_zones_are_checked() -> None:
    assert parse_window("22:00-07:30") == (1320, 450)
    assert parse_window(" 9:05 - 17:00 ") == (545, 1020)
    for bad in ("22-07", "24:00-07:00", "10:00-10:00", "", "07:00"):
        with pytest.raises(InvalidPreferences):
            parse_window(bad)
    assert check_timezone("Asia/Bangkok") == "Asia/Bangkok"
    with pytest.raises(InvalidPreferences):
        check_timezone("Mars/Olympus")


ZONES = st.sampled_from(["UTC", "Asia/Shanghai", "Europe/London", "America/New_York",
                         "Australia/Lord_Howe", "Asia/Kathmandu"])
MINUTES = st.integers(0, 1439)


@given(MINUTES, MINUTES, ZONES,
       st.datetimes(datetime(2024, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)))
def test_a_deferred_sms_goes_at_the_first_minute_out_of_quiet_hours(
        start: int, end: int, zone: str, at: datetime) -> None:
    if start == end:
        return
    prefs = Preferences(1, quiet_start=start, quiet_end=end, timezone=zone)
    until = prefs.quiet_until(at)
    if until is None:
        return
    assert at < until <= at + timedelta(hours=25)
    assert prefs.quiet_until(until) is None
