"""A line entering grace is told when it is suspended and how to restore it; a day before
suspension it is told again, once per stay in grace; a restored line is not."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import make_line
from tests.integration.forecast_world import buy
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.jobs.lifecycle import advance_lines, expire_buckets
from topup.jobs.notices import send_suspension_notices
from topup.jobs.reminders import send_reminders
from topup.notifications.rendering import render
from topup.notifications.service import queued_for
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.subscribers import lines

MSISDN = "66811114444"


def notices(db: Database) -> list[tuple[str, dict[str, object]]]:
    with db.unit() as uow:
        return [(m["template"], m["params"]) for m in queued_for(uow, f"+{MSISDN}")
                if m["template"].startswith("line_")]


def test_grace_and_the_day_before_suspension_are_told_with_how_to_restore(
        catalogue: Database, clock: FrozenClock) -> None:
    db = catalogue
    line = make_line(db, country="TH", msisdn=MSISDN)
    buy(db, line, "TH-30D-20GB")  # 99 CNY: the wallet is left empty
    clock.advance(days=31)
    expire_buckets(db)
    assert advance_lines(db)["grace"] == 1
    [(kind, told)] = notices(db)
    grace_days = db.settings.grace_days
    assert kind == "line_grace" and told["number"] == f"+{MSISDN}"
    assert told["suspend_at"] == (clock.now + timedelta(days=grace_days)).isoformat()
    assert str(told["link"]).endswith(f"/lines/{line.id}")
    sms = render("line_grace", "sms", "zh-CN", told, operator="T").text
    assert "充值或购买套餐即可恢复" in sms and str(told["link"]) in sms
    assert send_suspension_notices(db) == 0, "not the day before yet"
    clock.advance(days=grace_days - 1, minutes=1)
    send_reminders(db)  # the reminders sweep sends it (with the empty wallet's low_balance)
    assert send_suspension_notices(db) == 0, "once"
    assert [k for k, _ in notices(db)] == ["line_grace", "line_suspending"]
    assert notices(db)[1][1]["suspend_at"] == told["suspend_at"]
    clock.advance(days=1)
    assert advance_lines(db)["suspended"] == 1


def test_a_line_restored_in_grace_is_not_told_of_suspension(
        catalogue: Database, clock: FrozenClock) -> None:
    db = catalogue
    line = make_line(db, country="TH", msisdn=MSISDN)
    buy(db, line, "TH-30D-20GB")
    clock.advance(days=31)
    expire_buckets(db)
    advance_lines(db)
    with db.unit() as uow:
        create_order(uow, None, lines.get_line(uow, line.id), OrderRequest(
            kind="topup", method="manual", channel="api", amount=20_00, reason="back",
            confirm_duplicate=True))
        assert lines.get_line(uow, line.id).status == "active"
    clock.advance(days=db.settings.grace_days - 1, minutes=1)
    assert send_suspension_notices(db) == 0
    assert [k for k, _ in notices(db)] == ["line_grace"]


def test_many_lines_are_told_as_one_line_is(db: Database) -> None:
    """``notify_lines`` (the sweep's) writes the rows ``notify_line`` writes, quiet hours
    and all."""
    from tests.factories import make_user
    from topup.notifications.preferences import set_preferences
    from topup.notifications.recipients import notify_line, notify_lines
    from topup.notifications.tables import outbox

    user = make_user(db)
    bound = make_line(db, msisdn="66811115555", secret="8642")
    bare = make_line(db, msisdn=MSISDN)
    with db.unit() as uow:
        lines.bind(uow, user.id, bound.iccid, "8642", "127.0.0.1")
        set_preferences(uow, user.id, quiet_hours="00:00-23:59", timezone="UTC")
    with db.unit() as uow:
        for line in (bound, bare):
            notify_line(uow, line.id, "line_grace", {"line": line.id})
        assert notify_lines(uow, [(bound.id, {"line": bound.id}),
                                  (bare.id, {"line": bare.id})], "line_grace") == 3
        rows = [{k: v for k, v in r._mapping.items() if k != "id"}
                for r in uow.conn.execute(outbox.select().order_by(outbox.c.id))]
    assert len(rows) == 6 and rows[:3] == rows[3:]
    assert any(r["next_attempt_at"] > r["created_at"] for r in rows if r["channel"] == "sms")
