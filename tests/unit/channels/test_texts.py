"""The channel texts: both languages for every text, the same placeholders, English in the
GSM alphabet, USSD sizes (182 GSM characters, 80 in UCS-2), and SMS keyword parsing."""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import strategies as st

from topup.channels.selfservice.summary import data_text
from topup.channels.selfservice.texts import (
    ERROR_TEXT,
    LANGUAGES,
    TEXTS,
    fits_ussd,
    language,
    t,
    ussd_size,
)
from topup.channels.sms.keywords import parse

PLACEHOLDER = re.compile(r"{(\w+)}")
SAMPLE = {"operator": "topup", "money": "CN¥1000.00", "data": "10.25 GB", "date": "2026-11-29",
          "plan": "Thailand 7 days 10 GB", "price": "CN¥49.00", "fee": "", "balance": "CN¥1.00",
          "needed": "CN¥99.00", "serial": "100000000001", "amount": "CN¥50.00",
          "currency": "CNY", "card": "Visa *4242", "total": "CN¥50.00"}


def test_every_text_in_both_languages_with_the_same_placeholders() -> None:
    for key, versions in TEXTS.items():
        assert set(versions) == set(LANGUAGES), key
        assert set(PLACEHOLDER.findall(versions["en"])) == set(
            PLACEHOLDER.findall(versions["zh-CN"])), key
    assert set(ERROR_TEXT.values()) <= set(TEXTS)


def test_english_stays_in_the_gsm_alphabet_and_every_text_fits_a_ussd_screen() -> None:
    for key in TEXTS:
        for lang in LANGUAGES:
            body = t(key, lang, **SAMPLE)
            assert fits_ussd(body), (key, lang, ussd_size(body))
            if lang == "en" and key not in ("language_menu",):
                assert ussd_size(body)[1] == 182, f"{key} would switch the screen to UCS-2"


def test_ussd_sizes() -> None:
    assert ussd_size("a" * 182) == (182, 182) and fits_ussd("a" * 182)
    assert not fits_ussd("a" * 183)
    assert ussd_size("€") == (2, 182), "the extension table takes two septets"
    assert ussd_size("中" * 80) == (80, 80) and not fits_ussd("中" * 81)
    assert ussd_size("a" * 79 + "中") == (80, 80), "one Chinese character makes it UCS-2"


def test_languages_and_data() -> None:
    assert [language(x) for x in ("zh", "zh_CN", "zh-Hans", "ZH-cn", "en", "", None, "th")] == [
        "zh-CN", "zh-CN", "zh-CN", "zh-CN", "en", "en", "en", "en"]
    gib = 1024**3
    assert [data_text(n) for n in (10 * gib, gib * 19 // 2, 512 * 1024**2, 0)] == [
        "10 GB", "9.5 GB", "512 MB", "0 MB"]


def test_sms_keywords() -> None:
    assert parse("bal").keyword == "BAL" and parse(" Balance ").keyword == "BAL"
    assert parse("余额") == parse("余额").__class__("BAL", chinese=True)
    assert parse("renew off").keyword == "RENEW_OFF" and parse("R E N E W ON").keyword == "RENEW_ON"
    assert parse("关闭续费").keyword == "RENEW_OFF"
    assert {parse(x).keyword for x in ("auto off", "AUTOTOPUP OFF", "auto top-up off",
                                       "关闭自动充值", "取消 自动充值")} == {"AUTO_OFF"}
    assert parse("关闭自动充值").chinese and parse("auto on").keyword == "HELP"
    assert parse("Top-Up 1234-5678 9012 3456") == parse("TOPUP1234567890123456")
    assert parse("充值 1234567890123456").pin == "1234567890123456"
    assert not parse("what?").known and parse("what?").keyword == "HELP"
    assert parse("").keyword == "HELP"


@given(st.text(alphabet=string.digits, min_size=14, max_size=16),
       st.lists(st.sampled_from([" ", "  ", "\t", "-", "\u3000"]), min_size=0, max_size=4),
       st.sampled_from(["topup", "TOPUP", "TopUp", "top up", "ＴＯＰＵＰ", "充值"]))
def test_a_pin_survives_any_spacing_case_and_width(pin: str, gaps: list[str], word: str
                                                   ) -> None:
    body = pin
    for i, gap in enumerate(gaps):
        cut = (i + 1) * len(pin) // (len(gaps) + 1)
        body = body[:cut] + gap + body[cut:]
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in body) \
        if word == "ＴＯＰＵＰ" else body
    cmd = parse(f" {word} {wide} ")
    assert (cmd.keyword, cmd.pin) == ("TOPUP", pin)
