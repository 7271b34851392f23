"""The SQLite writer queue hands the write slot over in arrival order and gives up in time."""

from __future__ import annotations

import threading
import time

import pytest

from topup.db.writer import DatabaseBusy, WriterQueue


def test_writers_get_their_turn_in_arrival_order() -> None:
    queue = WriterQueue()
    queue.acquire(1)
    order: list[int] = []
    threads = []
    for n in range(6):
        t = threading.Thread(target=lambda n=n: (queue.acquire(5), order.append(n),
                                                  queue.release()))
        t.start()
        threads.append(t)
        time.sleep(0.02)  # let each one queue before the next arrives
    queue.release()
    for t in threads:
        t.join(5)
    assert order == list(range(6))


def test_a_writer_that_waits_too_long_is_told_the_service_is_busy() -> None:
    queue = WriterQueue()
    queue.acquire(1)
    with pytest.raises(DatabaseBusy):
        queue.acquire(0.05)
    queue.release()
    queue.acquire(0.05)  # the timed-out waiter left the queue: the slot is free again
    queue.release()
