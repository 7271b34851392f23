"""One event loop for every test client of the test process, as a server has one for its life.

Starlette's ``TestClient``, used outside a ``with`` block, starts a thread with a new event
loop for each request and stops it afterwards (twice a request: the call, then the answer).
``Client`` hands the requests of every client to one loop on one thread instead, started by
the first request and stopped at the end of the session (``stop``, from tests/conftest.py).
A client used in a ``with`` block (the app's lifespan) keeps its own loop for the block.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi.testclient import TestClient

_lock = threading.Lock()
_running: tuple[ExitStack, BlockingPortal] | None = None


class Client(TestClient):
    """A ``TestClient`` whose requests run on the process's one event loop."""

    @contextmanager
    def _portal_factory(self) -> Iterator[BlockingPortal]:
        yield self.portal if self.portal is not None else _portal(self.async_backend)


def _portal(backend: dict[str, object]) -> BlockingPortal:
    global _running
    with _lock:
        if _running is None:
            stack = ExitStack()
            portal = stack.enter_context(start_blocking_portal(**backend))  # type: ignore[arg-type]
            _running = stack, portal
        return _running[1]


def stop() -> None:
    """Stop the loop (its thread would otherwise keep the process from exiting)."""
    global _running
    with _lock:
        if _running is not None:
            _running[0].close()
            _running = None
