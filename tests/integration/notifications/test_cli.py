"""``topup worker --once`` and ``topup notifications`` as an operator uses them."""

from __future__ import annotations

import os
from pathlib import Path
from subprocess import CompletedProcess

from tests import cli_support
from tests.conftest import settings_for
from topup.db.engine import make_engine
from topup.db.migrate import upgrade
from topup.db.uow import Database
from topup.notifications import service
from topup.subscribers import auth


def setup(tmp_path: Path) -> tuple[dict[str, str], list[int]]:
    url = f"sqlite:///{tmp_path / 'topup.db'}"
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine, settings_for(tmp_path, url))
    with db.unit() as uow:
        auth.register(uow, email="li@example.com", phone=None, password="a-long-password")
        ids = [service.enqueue(uow, "sms", "+8613800138000", "password_reset", "zh-CN",
                               {"code": "246810", "minutes": 10}),
               service.enqueue(uow, "email", "ops@example.com", "no_such_template", "en", {})]
    engine.dispose()
    env = os.environ | {"TOPUP_DATABASE_URL": url, "TOPUP_DATA_DIR": str(tmp_path),
                        "TOPUP_SECRET_KEY": "test-secret-key"}
    return env, ids


def topup(env: dict[str, str], *args: str) -> CompletedProcess[str]:
    return cli_support.topup(*args, env=env)


def test_worker_once_then_dead_letters_listed_and_retried(tmp_path: Path) -> None:
    env, (sms, bad) = setup(tmp_path)
    run = topup(env, "worker", "--once")
    assert run.returncode == 0, run.stderr
    assert "SMS to: +8613800138000" in run.stdout and "验证码为246810" in run.stdout
    assert "outbox: 2 handled in 1 runs, 0 errors" in run.stdout
    dead = topup(env, "notifications", "list", "--dead")
    assert dead.returncode == 0 and "no_such_template" in dead.stdout
    assert "password_reset" not in dead.stdout
    again = topup(env, "notifications", "retry", str(bad))
    assert again.returncode == 0 and f"notification {bad} queued again" in again.stdout
    assert "queued" in topup(env, "notifications", "list", "--state", "queued").stdout
    sent = topup(env, "notifications", "retry", str(sms))
    assert sent.returncode == 1 and sent.stderr.strip() == f"error: notification {sms} is sent"
    missing = topup(env, "notifications", "retry", "999")
    assert missing.returncode == 1 and "no notification 999" in missing.stderr


def test_preferences_and_a_misconfigured_backend(tmp_path: Path) -> None:
    env, _ = setup(tmp_path)
    set_ = topup(env, "notifications", "prefs", "li@example.com", "--no-sms", "--quiet",
                 "22:00-07:00", "--timezone", "Asia/Shanghai")
    assert set_.returncode == 0, set_.stderr
    assert "e-mail on, SMS off, quiet hours 22:00-07:00 (Asia/Shanghai)" in set_.stdout
    off = topup(env, "notifications", "prefs", "li@example.com", "--sms", "--quiet", "off")
    assert "SMS on, quiet hours none (Asia/Shanghai)" in off.stdout
    bad = topup(env, "notifications", "prefs", "li@example.com", "--timezone", "Mars/Base")
    assert bad.returncode == 1 and "unknown time zone" in bad.stderr
    pigeon = topup(env | {"TOPUP_EMAIL_BACKEND": "pigeon"}, "worker", "--once")
    assert pigeon.returncode == 1
    assert "TOPUP_EMAIL_BACKEND is smtp or console, not 'pigeon'" in pigeon.stderr


def test_worker_once_says_when_another_worker_had_the_slot(tmp_path: Path) -> None:
    env, _ = setup(tmp_path)
    first = topup(env, "worker", "--once")  # as the server's embedded worker would
    assert first.returncode == 0, first.stderr
    assert "auto_renew: 0 handled in 1 runs, 0 errors" in first.stdout
    second = topup(env, "worker", "--once")
    assert second.returncode == 0, second.stderr
    assert "auto_renew: not run here, its slot was already taken by" in second.stdout
    assert "auto_renew: 0 handled" not in second.stdout
    assert "outbox: 0 handled in 1 runs, 0 errors" in second.stdout, "the outbox has no slots"
