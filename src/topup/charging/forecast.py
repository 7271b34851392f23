"""How long a line's data lasts at its recent pace — pure arithmetic, no database.

The **pace** is a weighted average of the bytes used per whole day over the last ``WINDOW``
days before today (today is not over, so it would pull the pace down). Days before the plan
started are left out (use on an older plan says little about this one); a day without use in
the window counts as zero. The most recent day weighs ``n``, the one before ``n - 1``, … the
oldest ``1``: a traveller who just arrived somewhere and streams more is seen quickly, one
busy day a week ago is not forgotten. Fewer than ``MIN_DAYS`` days to look at is not enough
history: the forecast says so instead of guessing.

What is left is the data the traveller can still use (``remaining``): open charging sessions
hold part of the balance, and what they hold is already out of it.

Every figure is an integer; ``days_left`` is rounded down (the data lasts *at least* that many
whole days at that pace), ``plan_days`` to the nearest day (as countdowns are shown) and
``shortfall`` rounded up (bytes still missing at the plan's end).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

WINDOW = 7
MIN_DAYS = 2
DAY = 86_400
HORIZON = 3650  # days: data lasting longer than this has no date worth showing

# What a forecast can say
NO_PLAN = "no_plan"  # nothing with data on the line: nothing to forecast
TOO_LITTLE_HISTORY = "too_little_history"  # fewer than MIN_DAYS days since the plan began
OUTLASTS_PLAN = "outlasts_plan"  # the data lasts past the plan's end (or no use at all)
RUNS_OUT_FIRST = "runs_out_first"  # the data runs out before the plan ends
STATES = (NO_PLAN, TOO_LITTLE_HISTORY, OUTLASTS_PLAN, RUNS_OUT_FIRST)


@dataclass(frozen=True)
class Forecast:
    """What the line's data will do at its pace (``state`` is one of ``STATES``).

    ``pace``: bytes a day (rounded down), None without enough history; ``days_left``: whole
    days the data lasts at that pace, None when the pace is zero or unknown; ``plan_days``:
    days until the plan ends, to the nearest (None: no end); ``runs_out_at``: when the data
    is gone at that pace (None beyond ``HORIZON`` days); ``shortfall``: bytes missing to reach the
    plan's end (0 when none are); ``history_days``: how many days the pace was taken over.
    """

    state: str
    remaining: int
    pace: int | None
    days_left: int | None
    plan_days: int | None
    runs_out_at: datetime | None
    ends_at: datetime | None
    shortfall: int
    history_days: int


def history(daily: Mapping[date, int], today: date, started: date | None,
            window: int = WINDOW) -> list[int]:
    """Use per whole day, oldest first: the ``window`` days before ``today``, none before
    ``started`` (the day the plan began; that day itself counts)."""
    days = [today - timedelta(days=back) for back in range(window, 0, -1)]
    return [int(daily.get(d, 0)) for d in days if started is None or d >= started]


def weighted(days: list[int]) -> tuple[int, int]:
    """The weighted sum of ``days`` (oldest first; the newest weighs most) and the sum of
    the weights: the pace is their quotient, kept as a fraction to stay exact."""
    return sum(w * used for w, used in enumerate(days, start=1)), len(days) * (len(days) + 1) // 2


def forecast(daily: Mapping[date, int], remaining: int, now: datetime, *,
             started: date | None, ends_at: datetime | None, has_plan: bool = True,
             window: int = WINDOW, min_days: int = MIN_DAYS) -> Forecast:
    """The forecast at ``now`` from use per day (``daily``, by UTC date), the data left, the
    day the plan began and when it ends."""
    remaining = max(0, int(remaining))
    # to the nearest day, as the page's countdown says it ("3 days left" at 2 days 23 hours)
    plan_days = (None if ends_at is None
                 else max(0, (int((ends_at - now).total_seconds()) + DAY // 2) // DAY))
    if not has_plan:
        return Forecast(NO_PLAN, remaining, None, None, None, None, None, 0, 0)
    days = history(daily, now.date(), started, window)
    if len(days) < min_days:
        return Forecast(TOO_LITTLE_HISTORY, remaining, None, None, plan_days, None, ends_at, 0,
                        len(days))
    total, weights = weighted(days)
    pace = total // weights
    if total == 0:
        return Forecast(OUTLASTS_PLAN, remaining, 0, None, plan_days, None, ends_at, 0,
                        len(days))
    days_left = remaining * weights // total
    # remaining / (total / weights) days, exactly: seconds rounded down
    runs_out_at = (now + timedelta(seconds=remaining * weights * DAY // total)
                   if days_left <= HORIZON else None)
    if ends_at is None or runs_out_at is None or runs_out_at >= ends_at:
        return Forecast(OUTLASTS_PLAN, remaining, pace, days_left, plan_days, runs_out_at,
                        ends_at, 0, len(days))
    seconds = int((ends_at - now).total_seconds())
    needed = -(-total * seconds // (weights * DAY))  # use until the end, rounded up
    return Forecast(RUNS_OUT_FIRST, remaining, pace, days_left, plan_days, runs_out_at,
                    ends_at, max(1, needed - remaining), len(days))
