"""Delivery receipts as SMSCs write them, and how parts sum up to a message's state."""

from __future__ import annotations

from datetime import UTC, datetime

from topup.notifications.interfaces import Receipt
from topup.notifications.receipts import receipt_ids, summary
from topup.notifications.senders.smpp_receipts import is_receipt, parse_receipt


def test_the_appendix_b_text_form() -> None:
    text = ("id:0123456789 sub:001 dlvrd:001 submit date:2611220800 done date:2611220801 "
            "stat:DELIVRD err:000 text:Your top-up")
    assert parse_receipt(text) == Receipt("0123456789", "DELIVRD", None,
                                          datetime(2026, 11, 22, 8, 1, tzinfo=UTC))


def test_tlvs_win_states_spelled_in_full_and_errors_kept() -> None:
    assert parse_receipt("id:abc stat:DELIVRD", receipted_id="xyz", message_state=5) == \
        Receipt("xyz", "UNDELIV")
    assert parse_receipt("ID:7 STAT:UNDELIVERABLE ERR:034").state == "UNDELIV"  # type: ignore[union-attr]
    assert parse_receipt("id:7 stat:UNDELIV err:034").error_code == "034"  # type: ignore[union-attr]
    assert parse_receipt("id:7 stat:WHATEVER").state == "UNKNOWN"  # type: ignore[union-attr]
    assert parse_receipt("stat:DELIVRD") is None


def test_receipt_bits_of_esm_class() -> None:
    assert is_receipt(0x04) and is_receipt(0x20) and is_receipt(0x44)
    assert not is_receipt(0x00) and not is_receipt(0x40)


def test_ids_are_looked_up_in_hex_and_decimal() -> None:
    assert receipt_ids("255") == ["255", "ff", "FF"]
    assert receipt_ids("1A") == ["1A", "26"]
    assert receipt_ids("smsc-1") == ["smsc-1"]


def test_a_message_is_delivered_only_when_every_part_is() -> None:
    assert summary(["DELIVRD"], 1) == "DELIVRD"
    assert summary(["DELIVRD", "SUBMITTED"], 2) == "SUBMITTED"
    assert summary(["DELIVRD"], 2) == "SUBMITTED"
    assert summary(["DELIVRD", "EXPIRED"], 2) == "EXPIRED"
    assert summary(["ENROUTE", "DELIVRD"], 2) == "ENROUTE"
