"""SMPP 3.4 delivery receipts: the ``deliver_sm`` an SMSC sends back about a message it took.

The text form (SMPP 3.4 appendix B, followed by nearly every SMSC) is
``id:<id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000
text:…``; SMPP 3.4 also defines the TLVs ``receipted_message_id`` and ``message_state``,
which win when present. Some SMSCs spell the states in full (``DELIVERED``) and some send the
id in decimal where ``submit_sm_resp`` had it in hex; both are normalised or looked up by the
caller (``delivery.receipt_ids``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from topup.notifications.interfaces import Receipt

ESM_TYPE_MASK = 0x3C
ESM_DELIVERY_RECEIPT = 0x04  # "SMSC Delivery Receipt" in esm_class bits 5-2
ESM_INTERMEDIATE = 0x20  # "Intermediate Delivery Notification"

# message_state TLV values (SMPP 3.4 §5.2.28).
STATES_BY_NUMBER = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV",
                    6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD"}
_SPELLED = {"DELIVERED": "DELIVRD", "UNDELIVERABLE": "UNDELIV", "ACCEPTED": "ACCEPTD",
            "REJECTED": "REJECTD", "EXPIRED": "EXPIRED", "DELETED": "DELETED",
            "ENROUTE": "ENROUTE", "UNKNOWN": "UNKNOWN"}
KNOWN = frozenset(STATES_BY_NUMBER.values())
_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err)\s*:\s*(\S+)", re.I)


def is_receipt(esm_class: int) -> bool:
    """Whether a ``deliver_sm`` is a receipt (final or intermediate), not a traveller's SMS."""
    kind = esm_class & ESM_TYPE_MASK
    return kind in (ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE)


def _state(raw: str) -> str:
    word = raw.strip().upper()
    if word in KNOWN:
        return word
    return _SPELLED.get(word, "UNKNOWN")


def _when(raw: str | None) -> datetime | None:
    """``YYMMDDhhmm[ss]`` as UTC (receipts carry no zone; SMSCs commonly run on UTC)."""
    if not raw or not raw.isdigit() or len(raw) not in (10, 12):
        return None
    try:
        return datetime.strptime(raw, "%y%m%d%H%M%S" if len(raw) == 12 else "%y%m%d%H%M"
                                 ).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_receipt(text: str, receipted_id: str | None = None,
                  message_state: int | None = None) -> Receipt | None:
    """The receipt in a ``deliver_sm``; None when it names no message id."""
    fields = {k.lower(): v for k, v in _FIELD.findall(text or "")}
    message_id = (receipted_id or "").strip() or fields.get("id", "").strip()
    if not message_id:
        return None
    if message_state in STATES_BY_NUMBER:
        state = STATES_BY_NUMBER[message_state]
    else:
        state = _state(fields.get("stat", "UNKNOWN"))
    err = fields.get("err")
    return Receipt(message_id, state, err if err and err.strip("0") else None,
                   _when(fields.get("done date")))
