"""The data forecast reminder: once per plan, when the data runs out within three days and
before the plan ends, with the plan that covers the rest."""

from __future__ import annotations

from tests.factories import make_line
from tests.integration.forecast_world import GB, buy, use_daily
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.jobs.forecasts import send_forecasts
from topup.jobs.reminders import send_reminders
from topup.notifications.service import queued_for

MSISDN = "66811113333"


def forecasts(db: Database) -> list[dict[str, object]]:
    with db.unit() as uow:
        return [m["params"] for m in queued_for(uow, f"+{MSISDN}")
                if m["template"] == "data_forecast"]


def test_two_gb_a_day_on_a_week_of_ten_is_told_once_with_the_add_on_to_buy(
        catalogue: Database, clock: FrozenClock) -> None:
    db = catalogue
    line = make_line(db, country="TH", msisdn=MSISDN)
    buy(db, line, "TH-7D-10GB")
    use_daily(db, clock, line, 2, amount=2 * GB)
    assert send_forecasts(db) == 0, "6 GB left last 3 days at 2 GB a day: not yet"
    use_daily(db, clock, line, 1, amount=2 * GB, tag="e")
    # 4 GB left: 2 days, and the plan ends in 4 (the empty wallet's low_balance goes too)
    assert send_reminders(db) == 2
    [told] = forecasts(db)
    assert (told["days_left"], told["plan_days"], told["pace_bytes"]) == (2, 4, 2 * GB)
    assert (told["remaining_bytes"], told["shortfall_bytes"]) == (4 * GB, 4 * GB)
    assert (told["suggestion"], told["plan_en"], told["amount"]) == (
        "plan", "Thailand data add-on 5 GB", 25_00)
    assert str(told["link"]).endswith(f"/lines/{line.id}")
    use_daily(db, clock, line, 1, amount=GB, tag="f")
    assert send_forecasts(db) == 0 and len(forecasts(db)) == 1, "once per plan"


def test_a_line_that_stopped_using_data_or_used_it_up_is_not_told(
        catalogue: Database, clock: FrozenClock) -> None:
    db = catalogue
    line = make_line(db, country="TH", msisdn=MSISDN)
    buy(db, line, "TH-7D-10GB")
    use_daily(db, clock, line, 3, amount=3 * GB)
    clock.advance(days=1)  # a day without use: not looked at
    assert send_forecasts(db) == 0
    use_daily(db, clock, line, 1, amount=1 * GB, tag="g")  # 10 GB used: nothing left
    assert send_forecasts(db) == 0 and forecasts(db) == []
