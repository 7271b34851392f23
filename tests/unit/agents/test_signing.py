"""The terminal signature, as specified in docs/agents.md (the worked example is checked here
against numbers computed with openssl, so the document and the code cannot drift apart)."""

from __future__ import annotations

import pytest

from topup.agents import signing
from topup.agents.errors import SignatureInvalid
from topup.agents.terminals import derive_secret

SECRET = "q9Vt1k3ZQm0yJb6sX2hF4nW8pL7rT5eD0aC1uG3iK9o"
BODY = b'{"msisdn":"+85261234567","amount":5000,"tender":"cash"}'
TS = 1795334400  # 2026-11-22 08:00:00 UTC
NONCE = "n7Gq2LxP0aVt9sKd"


def test_the_worked_example_of_the_docs() -> None:
    text = signing.string_to_sign(TS, NONCE, "post", "/api/v1/terminal/topups", BODY)
    assert text == ("1795334400\nn7Gq2LxP0aVt9sKd\nPOST\n/api/v1/terminal/topups\n"
                    "80621b6f019e2d4b7af94b083c7756eb5c76f4f344fb0346330c238a1ebb5068")
    assert signing.sign(SECRET, TS, NONCE, "POST", "/api/v1/terminal/topups", BODY) == (
        "e5e3903d46993c6678fd07a16ade432e3e6cad224119d1706ab0183db9470658")
    assert signing.sign(SECRET, TS, "Zx81_pQw-4mTy7Rb", "GET",
                        "/api/v1/terminal/reconciliation?date=2026-11-22", b"") == (
        "93c1484326948fce9019acd860fca8ffd2daababfa06247bfea9299a2ae024f9")


def headers(**changes: str) -> dict[str, str]:
    base = {"X-Terminal-Key": "tk_5f1c2a9e8b7d6c40", "X-Timestamp": str(TS), "X-Nonce": NONCE,
            "X-Signature": signing.sign(SECRET, TS, NONCE, "POST", "/p", BODY)}
    return {k: v for k, v in (base | changes).items() if v}


def test_every_signed_part_matters() -> None:
    req = signing.parse(headers(), "POST", "/p", BODY)
    assert signing.signature_matches(SECRET, req)
    variants = [
        signing.parse(headers(), "PUT", "/p", BODY),
        signing.parse(headers(), "POST", "/p?x=1", BODY),
        signing.parse(headers(), "POST", "/p", BODY + b" "),
        signing.parse(headers(**{"X-Timestamp": str(TS + 1)}), "POST", "/p", BODY),
        signing.parse(headers(**{"X-Nonce": NONCE + "x"}), "POST", "/p", BODY),
    ]
    assert not any(signing.signature_matches(SECRET, v) for v in variants)
    assert not signing.signature_matches(SECRET + "x", req)
    upper = signing.parse(headers(**{"X-Signature": req.signature.upper()}), "POST", "/p", BODY)
    assert signing.signature_matches(SECRET, upper), "hex digits in either case"


@pytest.mark.parametrize("bad", [
    {"X-Signature": ""}, {"X-Terminal-Key": ""}, {"X-Timestamp": "soon"},
    {"X-Timestamp": "-5"}, {"X-Nonce": "short"}, {"X-Nonce": "has spaces in it, sixteen+"},
    {"X-Nonce": "x" * 65}, {"X-Signature": "abc"}, {"X-Terminal-Key": "k"},
])
def test_malformed_headers_are_refused_before_any_lookup(bad: dict[str, str]) -> None:
    with pytest.raises(SignatureInvalid):
        signing.parse(headers(**bad), "POST", "/p", BODY)


def test_clock_window_is_inclusive_300_seconds() -> None:
    assert signing.within_window(TS - 300, TS) and signing.within_window(TS + 300, TS)
    assert not signing.within_window(TS - 301, TS) and not signing.within_window(TS + 301, TS)


def test_terminal_secrets_are_derived_per_key_salt_and_server_key() -> None:
    one = derive_secret("server-key", "tk_a", "salt-1")
    assert one == derive_secret("server-key", "tk_a", "salt-1") and len(one) == 43
    assert len({one, derive_secret("server-key", "tk_b", "salt-1"),
                derive_secret("server-key", "tk_a", "salt-2"),
                derive_secret("other-key", "tk_a", "salt-1")}) == 4
