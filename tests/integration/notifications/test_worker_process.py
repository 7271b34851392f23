"""``topup worker`` as a real process against a real SMTP server: killed with SIGKILL in the
middle of a delivery it loses nothing and sends nothing twice that the receiver cannot drop
by Message-ID; stopped with SIGTERM it finishes the message in hand and hands back the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.notifications.conftest import row
from tests.integration.notifications.peers import SmtpPeer
from topup.db.uow import Database
from topup.notifications import service

TOPUP = str(Path(sys.executable).parent / "topup")
LEASE = 3


def worker_env(db: Database, smtp: SmtpPeer, tmp_path: Path) -> dict[str, str]:
    return os.environ | {
        "TOPUP_DATABASE_URL": db.settings.database_url, "TOPUP_DATA_DIR": str(tmp_path),
        "TOPUP_SECRET_KEY": db.settings.secret_key, "TOPUP_EMAIL_BACKEND": "smtp",
        "TOPUP_SMTP_HOST": "127.0.0.1", "TOPUP_SMTP_PORT": str(smtp.port),
        "TOPUP_SMTP_TIMEOUT_SECONDS": "2", "TOPUP_NOTIFY_LEASE_SECONDS": str(LEASE),
        "TOPUP_WORKER_POLL_SECONDS": "1", "TOPUP_NOTIFY_BATCH_SIZE": "10",
    }


def five_messages(db: Database) -> list[int]:
    # The worker runs on the real clock: queue on it too, not on the test's frozen one.
    live = Database(db.engine, db.settings)
    with live.unit() as uow:
        return [service.enqueue(uow, "email", f"t{i}@example.com", "password_reset",
                                "zh-CN" if i % 2 else "en", {"code": f"{i:06d}", "minutes": 10})
                for i in range(5)]


def start_and_stall(env: dict[str, str], smtp: SmtpPeer) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([TOPUP, "worker"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    if not smtp.reached.wait(60):
        proc.kill()
        raise AssertionError(f"the worker never reached the stall: {proc.communicate()}")
    return proc


@pytest.mark.parametrize("stall", ["before_accept", "after_accept"])
def test_a_killed_worker_loses_nothing_and_the_next_one_finishes(
        db: Database, smtp: SmtpPeer, tmp_path: Path, stall: str) -> None:
    ids = five_messages(db)
    if stall == "after_accept":
        smtp.hold_data_at = 3  # the server stored message 3; its "250" is on the way
    else:
        smtp.hold_rcpt_at = 3  # message 3 is half-way through the envelope
    env = worker_env(db, smtp, tmp_path)
    proc = start_and_stall(env, smtp)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    smtp.release()
    assert [row(db, i).state for i in ids] == ["sent", "sent"] + ["sending"] * 3

    time.sleep(LEASE + 0.5)  # the dead worker's lease lapses
    done = subprocess.run([TOPUP, "worker", "--once"], env=env, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert [row(db, i).state for i in ids] == ["sent"] * 5

    seen = smtp.by_message_id()
    expected = {row(db, i).provider_message_id for i in ids}
    assert set(seen) == expected  # nothing lost
    copies = sorted(len(v) for v in seen.values())
    if stall == "before_accept":
        assert copies == [1] * 5  # nothing twice
    else:
        # Accepted but not yet recorded when the worker died: sent again with the same
        # Message-ID, so the receiver keeps one (the window docs/notifications.md states).
        assert copies == [1, 1, 1, 1, 2]
        assert len(seen[row(db, ids[2]).provider_message_id]) == 2


def test_sigterm_finishes_the_message_in_hand_and_hands_back_the_rest(
        db: Database, smtp: SmtpPeer, tmp_path: Path) -> None:
    ids = five_messages(db)
    smtp.hold_data_at = 2
    proc = start_and_stall(worker_env(db, smtp, tmp_path), smtp)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    smtp.release()
    out, errs = proc.communicate(timeout=60)
    assert proc.returncode == 0, errs.decode()
    assert "outbox: 2 handled" in out.decode()
    states = [(row(db, i).state, row(db, i).attempts) for i in ids]
    assert states == [("sent", 1)] * 2 + [("queued", 0)] * 3
    assert sorted(len(v) for v in smtp.by_message_id().values()) == [1, 1]
