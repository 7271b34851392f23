"""How ``topup serve`` runs uvicorn: httptools' C parser on uvloop, the head bounded.

The app refuses a request line and headers past ``TOPUP_MAX_HEADER_BYTES`` with 431
(channels/api/limits.py). Before that, the parser itself must not buffer an endless head:
``BoundedHead`` counts the bytes of URL and headers it has taken and closes the connection
with 400 once they pass ``HEAD_FACTOR`` times the setting, so memory stays bounded however
the head arrives (in one read or a byte at a time).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from topup.config import load_settings

HEAD_FACTOR = 4


class BoundedHead(HttpToolsProtocol):
    """uvicorn's httptools protocol with a hard bound on the request head it buffers."""

    max_head = 0  # read from the settings once per process

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not BoundedHead.max_head:
            BoundedHead.max_head = HEAD_FACTOR * load_settings().max_header_bytes
        self._head = 0

    def on_message_begin(self) -> None:
        self._head = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head += len(name) + len(value) + 4
        super().on_header(name, value)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head > self.max_head and not self.transport.is_closing():
            self.send_400_response("Request head too large.")
