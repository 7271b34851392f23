"""The print shop's CSV: one row per card, written as the cards are generated.

Files are created new (never overwritten) and readable by their owner only, since they hold
the only clear copy of the PINs.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

from topup.vouchers.generate import Card
from topup.vouchers.views import BatchView

COLUMNS = ("serial", "pin", "face_value", "currency", "plan", "expires", "batch")


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

    def write(self, cards: Sequence[Card]) -> None:
        self._csv.writerows(
            (c.serial, c.pin, c.face.text(), c.face.currency, c.plan_name_en or "",
             c.expires_at.date().isoformat(), c.batch_id) for c in cards)
        self._fh.flush()

    def close(self) -> list[Path]:
        if not self._fh.closed:
            self._fh.close()
        return [self.path]


def file_stem(batch: BatchView) -> str:
    """The name every export file of a batch starts with."""
    return f"voucher-batch-{batch.id}-{batch.serial_first}"
