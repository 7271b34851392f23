"""Claims and leases: racing workers never take the same message, a dead worker's lease
lapses and another takes over, a stopping worker hands back what it did not try."""

from __future__ import annotations

import io
import threading

from tests.integration.notifications.conftest import row, run_outbox
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.notifications import service
from topup.notifications.delivery import OutboxJob, claim, deliver
from topup.notifications.senders.console import ConsoleSender


def queue(db: Database, n: int, template: str = "password_reset") -> list[int]:
    with db.unit() as uow:
        return [service.enqueue(uow, "email", f"u{i}@example.com", template, "en",
                                {"code": f"{i:06d}", "minutes": 10}) for i in range(n)]


def test_racing_workers_never_claim_one_message_twice(db: Database) -> None:
    ids = queue(db, 40)
    taken: dict[str, list[int]] = {f"w{i}": [] for i in range(4)}

    def work(name: str) -> None:
        while batch := claim(db, name, 3):
            taken[name].extend(c.id for c in batch)

    threads = [threading.Thread(target=work, args=(name,)) for name in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    every = [i for got in taken.values() for i in got]
    assert sorted(every) == ids  # each exactly once
    assert all(row(db, i).state == "sending" and row(db, i).attempts == 1 for i in ids)


def test_a_lapsed_lease_passes_the_message_to_another_worker(db: Database,
                                                             clock: FrozenClock) -> None:
    [msg] = queue(db, 1)
    [mine] = claim(db, "w1", 10)
    out = io.StringIO()
    assert claim(db, "w2", 10) == []
    clock.advance(seconds=db.settings.notify_lease_seconds + 1)
    [theirs] = claim(db, "w2", 10)
    assert theirs.id == msg and theirs.attempts == 2
    # The first worker wakes up: the row is no longer its own, so it sends nothing.
    assert deliver(db, ConsoleSender("email", out), mine, "w1") == "lost"
    assert out.getvalue() == ""
    assert deliver(db, ConsoleSender("email", out), theirs, "w2") == "sent"
    assert out.getvalue().count("Subject: topup: your password reset code") == 1


def test_a_stopping_worker_hands_back_what_it_did_not_try(db: Database) -> None:
    ids = queue(db, 5)
    out = io.StringIO()
    asked = []

    def stop_after_two() -> bool:
        asked.append(1)
        return len(asked) > 2

    job = OutboxJob({"email": ConsoleSender("email", out)}, interval=1, batch=10,
                    worker="w", should_stop=stop_after_two)
    assert job.run(db) == 2
    states = [(row(db, i).state, row(db, i).attempts) for i in ids]
    assert states == [("sent", 1)] * 2 + [("queued", 0)] * 3


def test_a_message_that_cannot_be_rendered_is_dead_at_once(db: Database) -> None:
    with db.unit() as uow:
        bad = service.enqueue(uow, "email", "x@example.com", "no_such_template", "en", {})
        short = service.enqueue(uow, "sms", "+66891234567", "password_reset", "zh-CN", {})
    out = io.StringIO()
    run_outbox(db, {"email": ConsoleSender("email", out), "sms": ConsoleSender("sms", out)})
    assert row(db, bad).state == "dead" and "no_such_template" in row(db, bad).last_error
    missing = row(db, short)
    assert missing.state == "dead" and "'code' is undefined" in missing.last_error
    assert out.getvalue() == ""


def test_a_channel_without_a_sender_waits_for_one(db: Database, clock: FrozenClock) -> None:
    with db.unit() as uow:
        msg = service.enqueue(uow, "sms", "+66891234567", "password_reset", "en",
                              {"code": "1", "minutes": 5})
    run_outbox(db, {})
    waiting = row(db, msg)
    assert waiting.state == "queued" and "no sender for channel sms" in waiting.last_error
    clock.advance(seconds=30)
    out = io.StringIO()
    assert run_outbox(db, {"sms": ConsoleSender("sms", out)}) == 1
    assert "your password reset code is 1 (valid 5 min)" in out.getvalue()
