"""SMS text on the wire: GSM 03.38 or UCS-2, and long texts split with a concatenation UDH.

- A text that fits the GSM 03.38 default alphabet (with its extension table: ``€ [ ] { } ^ ~
  \\ |``) goes as ``data_coding`` 0, one septet per octet as SMPP carries it (the SMSC packs
  them): 160 characters in one SMS, 153 per part when split (an escaped character counts two
  and is never cut in half).
- Anything else (Chinese, emoji) goes as UCS-2, ``data_coding`` 8, big-endian UTF-16: 70 code
  units in one SMS, 67 per part (a surrogate pair is never cut in half).
- Parts carry the 8-bit concatenation UDH ``05 00 03 <ref> <total> <seq>`` and ``esm_class``
  0x40 (UDHI). The reference is chosen by the caller from the outbox id, so a part re-sent
  after a crash joins the parts the phone already has.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_DEFAULT = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
               "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C,
                 "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
_BASIC = {ch: i for i, ch in enumerate(GSM_DEFAULT) if ch != "\x1b"}
_EXT_BACK = {v: k for k, v in GSM_EXTENSION.items()}

DC_GSM, DC_LATIN1, DC_UCS2 = 0x00, 0x03, 0x08
ESM_UDHI = 0x40
GSM_SINGLE, GSM_PART = 160, 153  # septets
UCS2_SINGLE, UCS2_PART = 140, 134  # octets


@dataclass(frozen=True)
class Encoded:
    """What ``submit_sm`` carries: one ``short_message`` per part."""

    data_coding: int
    esm_class: int
    parts: list[bytes]


def gsm_char(ch: str) -> bytes | None:
    """One character as GSM 03.38 septet(s), or None when the alphabet lacks it."""
    if ch in _BASIC:
        return bytes([_BASIC[ch]])
    if ch in GSM_EXTENSION:
        return bytes([0x1B, GSM_EXTENSION[ch]])
    return None


def _units(text: str) -> tuple[int, list[bytes]]:
    """The coding for ``text`` and the text as indivisible units (characters) in it."""
    gsm = [gsm_char(ch) for ch in text]
    if all(u is not None for u in gsm):
        return DC_GSM, [u for u in gsm if u is not None]
    return DC_UCS2, [ch.encode("utf-16-be") for ch in text]


def _pack(units: list[bytes], size: int) -> list[bytes]:
    chunks: list[bytes] = []
    current = b""
    for unit in units:
        if len(current) + len(unit) > size:
            chunks.append(current)
            current = b""
        current += unit
    return [*chunks, current] if current or not chunks else chunks


def encode(text: str, ref: int) -> Encoded:
    """``text`` as one SMS or as concatenated parts with reference ``ref`` (0-255)."""
    coding, units = _units(text)
    single, part = (GSM_SINGLE, GSM_PART) if coding == DC_GSM else (UCS2_SINGLE, UCS2_PART)
    whole = b"".join(units)
    if len(whole) <= single:
        return Encoded(coding, 0, [whole])
    chunks = _pack(units, part)
    if len(chunks) > 255:
        raise ValueError("text too long for one concatenated SMS")
    udh = bytes([0x05, 0x00, 0x03, ref & 0xFF, len(chunks)])
    return Encoded(coding, ESM_UDHI, [udh + bytes([i]) + c for i, c in enumerate(chunks, 1)])


@dataclass(frozen=True)
class Concat:
    """Where a part belongs: reference, total parts, this part's number."""

    ref: int
    total: int
    seq: int


def split_udh(payload: bytes) -> tuple[Concat | None, bytes]:
    """Strip a user data header; return its concatenation info (8- or 16-bit ref), if any."""
    if not payload:
        return None, payload
    length = payload[0]
    header, body = payload[1:1 + length], payload[1 + length:]
    i = 0
    while i + 1 < len(header):
        iei, ie_len = header[i], header[i + 1]
        data = header[i + 2:i + 2 + ie_len]
        if iei == 0x00 and ie_len == 3:
            return Concat(data[0], data[1], data[2]), body
        if iei == 0x08 and ie_len == 4:
            return Concat((data[0] << 8) | data[1], data[2], data[3]), body
        i += 2 + ie_len
    return None, body


def decode(payload: bytes, data_coding: int) -> str:
    """The text of a ``short_message`` (without UDH) in the given coding."""
    if data_coding == DC_UCS2:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding in (DC_LATIN1,):
        return payload.decode("latin-1")
    if data_coding == DC_GSM:
        return _decode_gsm(payload)
    return payload.decode("latin-1")


def _decode_gsm(payload: bytes) -> str:
    out: list[str] = []
    escape = False
    for octet in payload:
        if escape:
            out.append(_EXT_BACK.get(octet, " "))
            escape = False
        elif octet == 0x1B:
            escape = True
        else:
            out.append(GSM_DEFAULT[octet & 0x7F])
    return "".join(out)
