"""python-diameter's node, stopping as soon as its peers have said goodbye.

The library's ``Node.stop`` sends every connected peer a Disconnect-Peer-Request (DPR) and
then looks once a second whether all have answered (DPA) and closed; its connection thread
sees the stop at its next wake-up (``wakeup_interval``), its statistics thread within 2 s,
and each connection's reader and writer threads within 5 s, when their queues time out: they
are not daemon threads, so a process that stopped its node still waits for them to exit.
This node takes the same steps in the same order (DPR/DPA with every peer, then the
sockets, then the applications) and waits on each step's own event instead: a node whose
peers answer at once is stopped in milliseconds.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from typing import Any

from diameter.node import Node as StackNode
from diameter.node.peer import DISCONNECT_REASON_UNKNOWN, PEER_CLOSED, PEER_READY_STATES

POLL_SECONDS = 0.01  # how often the peers' goodbyes are looked for while stopping


class Node(StackNode):
    """A python-diameter ``Node`` whose ``stop`` returns once its peers are gone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._halt = threading.Event()  # set by stop: wakes the statistics thread

    def stop(self, wait_timeout: int = 5, force: bool = False) -> None:
        """DPR to every ready peer (unless ``force``), then close: waits at most
        ``wait_timeout`` seconds for their DPAs, as the library does."""
        if self._started and not self._stopping:
            if not force:
                self._say_goodbye(wait_timeout)
            self._halt.set()
            # the connection thread closes what is left and ends once woken from select
            self._connection_thread.stop()
            self._wake()
            self._connection_thread.join(self.wakeup_interval + 1)
        # everything already done: the library's own stop finds no peer to wait for
        super().stop(wait_timeout=0, force=force)

    def _say_goodbye(self, wait_timeout: float) -> None:
        for conn in list(self.connections.values()):
            if conn.state in PEER_READY_STATES:
                self.send_dpr(conn)
        deadline = time.monotonic() + wait_timeout
        while self.connections and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)

    def _wake(self) -> None:
        """Wake the connection thread from its select (an id no connection has)."""
        os.write(self.interrupt_write, bytes(6))

    def close_connection_socket(self, conn: Any,
                                disconnect_reason: int = DISCONNECT_REASON_UNKNOWN) -> None:
        super().close_connection_socket(conn, disconnect_reason)
        _end_workers(conn)

    def _collect_stats(self, _thread: Any) -> None:
        # the library's loop, waiting on the stop rather than sleeping 2 s between looks
        since = time.time()
        while not self._halt.wait(2):
            if time.time() - since >= 60:
                since = time.time()
                snapshot = dataclasses.asdict(self.statistics)
                snapshot["timestamp"] = int(time.time())
                self.statistics_history.append(snapshot)


class _Nothing:
    """Queued to a closed connection's writer: it writes no bytes, sees it is stopped and
    ends."""

    def as_bytes(self) -> bytes:
        return b""


def _end_workers(conn: Any) -> None:
    """A closed connection's reader and writer threads wait up to 5 s on their queues before
    they see the stop; an empty item on each wakes them now."""
    if conn.state != PEER_CLOSED:
        return
    reads, writes = (getattr(conn, name, None)
                     for name in ("_read_buffer_queue", "_write_msg_queue"))
    if reads is not None and writes is not None:
        reads.put(b"")
        writes.put(_Nothing())
