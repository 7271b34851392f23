"""Splitting an amount across an order's items exactly, in minor units.

A discount given on a whole order (spend-and-save, a promo code, points) is shared by its items
in proportion to what each still costs, so that a refund of one item returns what that item
really cost. The shares are whole minor units that add up to the amount exactly: each item
first gets the whole part of its proportional share, and the minor units left over go one each
to the items with the largest remainders, ties to the larger item, then to the earlier one. No
share exceeds what its item costs, so no item goes below zero.
"""

from __future__ import annotations

from collections.abc import Sequence


def apportion(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` split across ``weights`` (what each item costs now, minor units), in
    proportion, each share at most its weight; ``amount`` may not exceed their sum."""
    if amount < 0 or any(w < 0 for w in weights):
        raise ValueError("amounts and weights are not negative")
    total = sum(weights)
    if amount > total:
        raise ValueError(f"cannot share {amount} across items costing {total}")
    if amount == 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    left = amount - sum(shares)
    # remainders compared exactly: amount * w mod total
    order = sorted(range(len(weights)),
                   key=lambda i: (-(amount * weights[i] % total), -weights[i], i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def percent_of(amount: int, basis_points: int) -> int:
    """``basis_points`` / 10,000 of ``amount``, rounded down to a whole minor unit (a
    discount never gives away a fraction the operator did not offer)."""
    if amount < 0 or not 0 <= basis_points <= 10_000:
        raise ValueError("a non-negative amount and 0..10000 basis points")
    return amount * basis_points // 10_000
