"""Receiving provider notifications: verify over the raw body first, then settle, then ack.

A verified notification about a payment we do not know is acknowledged and ignored (it is
not ours); a forged or stale one raises ``InvalidNotification`` and credits nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from topup.db.uow import Database
from topup.orders.errors import OrderNotFound
from topup.payments.interfaces import Ack, PaymentProvider
from topup.payments.settlement import settle

log = logging.getLogger("topup.payments")


def receive(db: Database, provider: PaymentProvider, headers: Mapping[str, str], body: bytes
            ) -> Ack:
    """Handle one notification exactly once, whatever order or how often it arrives."""
    note = provider.parse_notification(headers, body)
    if note.status is None:
        return note.ack
    try:
        settle(db, provider, f"{provider.name}:{note.status.provider_ref}", note.status,
               "webhook")
    except OrderNotFound:
        log.warning("%s notification %s names no order of ours", provider.name, note.event_id)
    return note.ack
