"""The back-off curve of a throttle rule, card-secret strength and the one spelling of a login."""

from __future__ import annotations

import pytest

from topup.subscribers.errors import WeakCardSecret
from topup.subscribers.identity import canonical_login, check_card_secret
from topup.subscribers.throttle import Rule, key


def test_backoff_starts_at_the_free_count_doubles_and_is_capped() -> None:
    rule = Rule(free=5, window=3600, base=30, cap=900)
    assert [rule.backoff(n) for n in range(1, 11)] == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900]
    assert rule.backoff(10_000) == 900
    assert Rule(free=3, window=3600).backoff(50) == 0, "a budget has no back-off"


def test_long_keys_are_hashed_to_a_bounded_length() -> None:
    assert key("login:ip", "192.0.2.1") == "login:ip:192.0.2.1"
    long = key("login:pair", "2001:db8::1", "login:" + "x" * 400)
    assert long.startswith("login:pair:sha256:") and len(long) < 100


@pytest.mark.parametrize("spelling", ["+86 138 0013 8001", "(+86)13800138001",
                                      "＋８６１３８００１３８００１", "8613800138001"])
def test_every_spelling_of_a_phone_is_one_login(spelling: str) -> None:
    assert canonical_login(spelling) == "+8613800138001"


def test_mail_is_folded_and_lower_cased() -> None:
    assert canonical_login(" Ａnna@Example.COM ") == "anna@example.com"


@pytest.mark.parametrize("weak", ["", "1234", "abc1234", "00000000", "12345678", "98765432",
                                  "abcdefgh", "12121212", "xyzxyzxyz", "AbAbAbAb"])
def test_weak_card_secrets_are_refused(weak: str) -> None:
    with pytest.raises(WeakCardSecret):
        check_card_secret(weak, 8)


@pytest.mark.parametrize("strong", ["K7q-29xv", "48213377", "card-01-x7q", "31415926"])
def test_strong_card_secrets_pass(strong: str) -> None:
    check_card_secret(strong, 8)
