"""The printer file of a voucher batch, sent to the staff's browser as its cards are made.

The console streams the CSV (the columns of ``topup vouchers generate``) straight from the
generator to the download: the PINs are never written on the server, and the download is the
batch's one and only export. A thread runs ``vouchers.generate`` with this sink; the response
reads what it hands over through a small queue, so memory stays bounded for any batch.

A chunk's rows are handed over only when the next chunk (or the end) shows that its unit of
work committed, so the file never holds a PIN that is not stored. If the browser stops
reading, the next chunk is rolled back and the run ends: the batch stays incomplete (it can be
neither activated nor sold) and must be blocked, as after a failed CLI run. When the file is
complete, the audit log records its name and SHA-256 next to the generator's own entry.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from topup.audit.service import record as audit
from topup.db.uow import Database
from topup.vouchers import service as vouchers
from topup.vouchers.export import COLUMNS, file_stem, rows
from topup.vouchers.generate import CardChunk
from topup.vouchers.service import BatchView

# A browser that reads nothing for this long has gone away: the run stops.
ABANDON_SECONDS = 120
DEPTH = 2  # chunks waiting for the browser at most
# Smaller than the CLI's chunks: the first bytes reach the browser after two of them.
CHUNK = 5000
_DONE = None


class DownloadAbandoned(Exception):
    """Raised in the generating thread when the browser stopped reading the file."""


def _csv(rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


class CsvDownload:
    """A ``CardSink`` whose CSV goes to one HTTP response (see the module)."""

    def __init__(self, batch: BatchView) -> None:
        self.name = f"{file_stem(batch)}.csv"
        self.digest = hashlib.sha256()
        self.size = 0
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=DEPTH)
        self._gone = threading.Event()
        self._held = _csv([COLUMNS])
        self._has_rows = False
        self.finished = threading.Event()  # the generating thread has ended

    def write(self, cards: CardChunk) -> None:
        # Called inside chunk N's unit of work: chunk N-1 has committed, chunk N not yet.
        if self._has_rows:
            self._send(self._held)
            self._held = b""
        self._held += _csv(rows(cards))
        self._has_rows = True

    def close(self) -> list[Path]:
        if self._held:
            self._send(self._held)
            self._held = b""
        return []  # nothing on disk

    def _send(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self._put(data)

    def _put(self, item: bytes | BaseException | None) -> None:
        for _ in range(ABANDON_SECONDS):
            if self._gone.is_set():
                break
            try:
                self._queue.put(item, timeout=1)
                return
            except queue.Full:
                continue
        raise DownloadAbandoned("the browser stopped reading the printer file")

    def finish(self, error: BaseException | None) -> None:
        """The generating thread's last word: done, or why it stopped."""
        with contextlib.suppress(DownloadAbandoned):  # nobody is listening any more
            self._put(error)

    def first(self) -> bytes:
        """The first piece of the file; raises the run's refusal (generated before, being
        generated elsewhere…) before any byte goes out, so that it can be shown as a page."""
        item = self._queue.get(timeout=ABANDON_SECONDS)
        if isinstance(item, BaseException):
            raise item
        if item is None:
            raise RuntimeError("the voucher run ended without a file")
        return item

    def body(self, first: bytes) -> Iterator[bytes]:
        """The whole file for the response; an error part-way aborts the download, so the
        browser shows it as failed instead of saving a short file."""
        try:
            yield first
            while (item := self._queue.get(timeout=ABANDON_SECONDS)) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._gone.set()


def _run(db: Database, batch: BatchView, sink: CsvDownload, actor_id: int) -> None:
    try:
        done = vouchers.generate(db, batch.id, [sink], actor_id=actor_id, chunk=CHUNK)
        db.transact(lambda uow: audit(
            uow, actor_id, "voucher_batch.download", f"voucher_batch:{batch.id}",
            cards=done.generated, bytes=sink.size,
            files=[{"name": sink.name, "sha256": sink.digest.hexdigest()}]),
            what="voucher file audit")
        sink.finish(_DONE)
    except BaseException as exc:  # handed to the response, which shows or raises it
        sink.finish(exc)
    finally:
        sink.finished.set()


def start(db: Database, batch: BatchView, actor_id: int) -> tuple[CsvDownload, bytes]:
    """Start generating ``batch`` for a download; the sink and the file's first piece."""
    sink = CsvDownload(batch)
    threading.Thread(target=_run, args=(db, batch, sink, actor_id), daemon=True,
                     name=f"voucher-batch-{batch.id}").start()
    return sink, sink.first()
