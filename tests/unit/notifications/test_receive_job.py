"""The receive job keeps the worker going while the SMSC is unreachable."""

from __future__ import annotations

import logging

import pytest

from topup.notifications.errors import TemporaryFailure
from topup.notifications.receipts import ReceiveJob


class Flaky:
    def __init__(self, results: list[int | None]) -> None:
        self.results = results

    def attach(self, handler: object) -> None:
        return None

    def poll(self) -> int:
        result = self.results.pop(0)
        if result is None:
            raise TemporaryFailure("SMPP bind to 127.0.0.1:2775 failed: refused")
        return result


def test_a_link_down_is_logged_once_and_polling_resumes(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    job = ReceiveJob(Flaky([None, None, None, 3, 0]), interval=1)
    with caplog.at_level(logging.WARNING):
        got = [job.run(None) for _ in range(5)]  # type: ignore[arg-type]
    assert got == [0, 0, 0, 3, 0]
    assert [r.getMessage() for r in caplog.records] == [
        "receiving stopped: SMPP bind to 127.0.0.1:2775 failed: refused (reconnecting)",
        "receiving again"]
