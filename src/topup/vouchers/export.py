"""The print shop's CSV: one row per card, written as the cards are generated.

Files are created new (never overwritten) and readable by their owner only, since they hold
the only clear copy of the PINs.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from itertools import repeat
from pathlib import Path

from topup.vouchers.generate import CardChunk
from topup.vouchers.views import BatchView

COLUMNS = ("serial", "pin", "face_value", "currency", "plan", "expires", "batch")


def rows(cards: CardChunk) -> Iterator[tuple[object, ...]]:
    """The CSV rows of a chunk, in ``COLUMNS`` order (the CLI's file and the console's
    download alike, so the print shop gets one format)."""
    tail = (cards.face.text(), cards.face.currency, cards.plan_name_en or "",
            cards.expires_at.date().isoformat(), cards.batch_id)
    return zip(cards.serials(), cards.pins, *(repeat(v) for v in tail), strict=False)


def create_private(path: Path) -> io.TextIOWrapper:
    """Open a new file for writing, mode 0600; FileExistsError when it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return open(fd, "w", encoding="utf-8", newline="")


class CsvSink:
    """Writes cards to ``path`` as CSV (UTF-8, a header row, any number of cards)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = create_private(path)
        self._csv = csv.writer(self._fh)
        self._csv.writerow(COLUMNS)

    def write(self, cards: CardChunk) -> None:
        self._csv.writerows(rows(cards))
        self._fh.flush()

    def close(self) -> list[Path]:
        if not self._fh.closed:
            self._fh.close()
        return [self.path]


def file_stem(batch: BatchView) -> str:
    """The name every export file of a batch starts with."""
    return f"voucher-batch-{batch.id}-{batch.serial_first}"
