"""``topup mail-in`` as an operator runs it (SQLite in a data folder): the SMTP receiver on
loopback takes an answer to a ticket e-mail and stops on SIGTERM; ``--stdin`` takes one
message from a mail server's pipe and refuses, with one line, what answers no ticket."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from tests.factories import make_user
from tests.integration.notifications.peers import free_port
from topup import bootstrap
from topup.config import load_settings
from topup.db.migrate import upgrade
from topup.support import mailin
from topup.support import service as support

TOPUP = str(Path(sys.executable).parent / "topup")


def _env(tmp_path: Path) -> dict[str, str]:
    env = os.environ | {"TOPUP_DATA_DIR": str(tmp_path / "var"),
                        "TOPUP_SMTP_FROM": "help@topup.example"}
    env.pop("TOPUP_DATABASE_URL", None)
    return env


def _ticket(tmp_path: Path) -> tuple[str, str, int]:
    """A traveller's ticket in the folder's database: (their e-mail, reply address, id)."""
    (tmp_path / "var").mkdir()
    db = bootstrap.database(load_settings(data_dir=tmp_path / "var",
                                          smtp_from="help@topup.example"))
    try:
        upgrade(db.engine)
        user = make_user(db)
        with db.unit() as uow:
            ticket = support.open_ticket(uow, user, "Hello", "Question")
        return str(user.email), mailin.reply_address(db.settings, ticket.id), ticket.id
    finally:
        db.dispose()


def _answer(sender: str, to: str, text: str, mid: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Message-ID"], msg["Subject"] = sender, to, mid, "Re: Hello"
    msg.set_content(text)
    return msg


def _said(tmp_path: Path, ticket_id: int) -> list[str]:
    db = bootstrap.database(load_settings(data_dir=tmp_path / "var"))
    try:
        with db.unit(readonly=True) as uow:
            return [m.body for m in support.messages(uow, ticket_id)]
    finally:
        db.dispose()


def test_the_receiver_takes_an_answer_and_stops_on_sigterm(tmp_path: Path) -> None:
    email, address, ticket_id = _ticket(tmp_path)
    port = free_port()
    proc = subprocess.Popen([TOPUP, "mail-in", "--host", "127.0.0.1", "--port", str(port)],
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=10)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "no receiver"
                time.sleep(0.2)
        with client:
            client.send_message(_answer(email, address, "By SMTP\n> quoted", "<cli-1@x>"))
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "listening on 127.0.0.1" in out and "stopped" in out
    assert _said(tmp_path, ticket_id) == ["Question", "By SMTP"]


def test_stdin_takes_one_message_and_refuses_strangers(tmp_path: Path) -> None:
    email, address, ticket_id = _ticket(tmp_path)
    good = _answer(email, address, "By pipe", "<cli-2@x>").as_bytes()
    done = subprocess.run([TOPUP, "mail-in", "--stdin"], env=_env(tmp_path), input=good,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert f"added to ticket {ticket_id}" in done.stdout.decode()
    stranger = _answer("mallory@example.com", address, "hi", "<cli-3@x>").as_bytes()
    refused = subprocess.run([TOPUP, "mail-in", "--stdin"], env=_env(tmp_path), input=stranger,
                             capture_output=True, timeout=120, check=False)
    assert refused.returncode == 1
    assert refused.stderr.decode().startswith("error: the sender is not the ticket's traveller")
    assert _said(tmp_path, ticket_id) == ["Question", "By pipe"]
