"""Commission arithmetic and KYC masking/hashing, without a database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.agents import kyc
from topup.agents.commission import commission_of
from topup.agents.errors import InvalidKyc


@given(st.integers(0, 10**12), st.integers(0, 10000))
def test_commission_rounds_down_and_never_exceeds_the_sale(amount: int, bp: int) -> None:
    c = commission_of(amount, bp)
    assert 0 <= c <= amount
    assert c * 10000 <= amount * bp < (c + 1) * 10000


def test_commission_examples_and_refusals() -> None:
    assert commission_of(100_00, 150) == 150
    assert commission_of(33_33, 150) == 49
    assert commission_of(1, 9999) == 0
    for amount, bp in ((-1, 100), (100, -1), (100, 10001)):
        with pytest.raises(ValueError):
            commission_of(amount, bp)


def test_numbers_are_normalised_masked_and_refused_when_odd() -> None:
    assert kyc.normalise_number(" e 1234-5678 ") == "E12345678"
    assert kyc.normalise_number("110101.19900307/4518") == "110101199003074518"
    assert kyc.mask("E12345678") == "****5678"
    for bad in ("", "1234", "E1234567$", "x" * 41):
        with pytest.raises(InvalidKyc):
            kyc.normalise_number(bad)


def test_the_hash_is_keyed_and_separates_document_types() -> None:
    h = kyc.id_hash("key-1", "passport", "E12345678")
    assert h == kyc.id_hash("key-1", "passport", "E12345678") and len(h) == 64
    assert h != kyc.id_hash("key-2", "passport", "E12345678")
    assert h != kyc.id_hash("key-1", "national_id", "E12345678")
    assert "12345678" not in h
