"""SMS on the wire: GSM 03.38 or UCS-2, one SMS or concatenated parts that join back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from topup.notifications.senders import sms_encoding as enc

GSM_TEXT = st.text(alphabet=enc.GSM_DEFAULT.replace("\x1b", "") + "".join(enc.GSM_EXTENSION))


def join(encoded: enc.Encoded) -> str:
    """What a phone shows: each part's header stripped, the texts joined in order."""
    texts = {}
    for part in encoded.parts:
        concat, body = enc.split_udh(part) if encoded.esm_class & enc.ESM_UDHI else (None, part)
        texts[concat.seq if concat else 1] = enc.decode(body, encoded.data_coding)
    return "".join(texts[i] for i in sorted(texts))


def test_a_short_gsm_text_is_one_sms_of_unpacked_septets() -> None:
    got = enc.encode("Top-up of €10 [ok] @ 5%", ref=1)
    assert (got.data_coding, got.esm_class) == (0, 0)
    assert got.parts == [b"Top-up of \x1be10 \x1b<ok\x1b> \x00 5%"]


def test_160_gsm_characters_fit_one_sms_and_161_need_two_parts() -> None:
    assert len(enc.encode("a" * 160, 9).parts) == 1
    two = enc.encode("a" * 161, 9)
    assert two.esm_class == 0x40 and [p[:6] for p in two.parts] == [
        b"\x05\x00\x03\x09\x02\x01", b"\x05\x00\x03\x09\x02\x02"]
    assert [len(p) - 6 for p in two.parts] == [153, 8]


def test_an_escaped_character_is_never_cut_between_parts() -> None:
    got = enc.encode("a" * 152 + "€" + "b" * 10, 3)
    assert got.parts[0].endswith(b"a") and got.parts[1][6:8] == b"\x1be"


def test_chinese_goes_as_ucs2_and_a_surrogate_pair_is_never_cut() -> None:
    short = enc.encode("您好，余额¥88.00", 0)
    assert short.data_coding == 8 and short.parts == ["您好，余额¥88.00".encode("utf-16-be")]
    text = "字" * 66 + "😀" + "尾" * 5  # 146 octets: two parts, the pair at the boundary
    long = enc.encode(text, 0)
    assert [len(p) - 6 for p in long.parts] == [132, 14]  # the emoji moved whole to part 2
    assert join(long) == text


@given(GSM_TEXT)
def test_any_gsm_text_joins_back_whole(text: str) -> None:
    got = enc.encode(text, 42)
    assert got.data_coding == 0 and join(got) == text
    limit = 160 if len(got.parts) == 1 else 159
    assert all(len(p) <= limit for p in got.parts)


@given(st.text(min_size=1).filter(lambda t: any(enc.gsm_char(c) is None for c in t)))
def test_any_other_text_goes_as_ucs2_and_joins_back_whole(text: str) -> None:
    got = enc.encode(text, 7)
    assert got.data_coding == 8 and join(got) == text
    assert all(len(p) <= 140 for p in got.parts)


def test_a_16_bit_reference_header_is_read_too() -> None:
    concat, body = enc.split_udh(b"\x06\x08\x04\x12\x34\x03\x02hi")
    assert concat == enc.Concat(0x1234, 3, 2) and body == b"hi"
