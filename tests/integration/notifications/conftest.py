"""Fixtures for delivery tests: a real SMTP server and a real SMSC on loopback, senders
pointed at them, and a helper that runs the outbox job the way ``topup worker`` does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.notifications.peers import SmscPeer, SmtpPeer
from topup.db.uow import Database
from topup.notifications.delivery import OutboxJob
from topup.notifications.interfaces import Sender
from topup.notifications.senders.smpp import SmppConfig, SmppSender
from topup.notifications.senders.smtp import SmtpConfig, SmtpSender
from topup.notifications.tables import outbox


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    peer = SmtpPeer().start()
    yield peer
    peer.stop()


@pytest.fixture
def smsc() -> Iterator[SmscPeer]:
    peer = SmscPeer().start()
    yield peer
    peer.stop()


@pytest.fixture
def mailer(smtp: SmtpPeer) -> Iterator[SmtpSender]:
    sender = SmtpSender(SmtpConfig("127.0.0.1", smtp.port, sender="noreply@topup.example",
                                   sender_name="环球通 Travel", timeout=10))
    yield sender
    sender.close()


@pytest.fixture
def texter(smsc: SmscPeer) -> Iterator[SmppSender]:
    sender = SmppSender(SmppConfig("127.0.0.1", smsc.port, "topup", "secret",
                                   source_addr="TOPUP", response_timeout=5))
    yield sender
    sender.close()


def run_outbox(db: Database, senders: dict[str, Sender], *, worker: str = "test-worker",
               rounds: int = 10) -> int:
    """Run the outbox job until a round finds nothing due; the messages attempted."""
    job = OutboxJob(senders, interval=1, batch=10, worker=worker)
    total = 0
    for _ in range(rounds):
        done = job.run(db)
        total += done
        if done == 0:
            return total
    return total


def row(db: Database, outbox_id: int) -> Any:
    with db.unit(readonly=True) as uow:
        return uow.conn.execute(select(outbox).where(outbox.c.id == outbox_id)).one()
