"""PINs: the check digit catches every single-digit typo, typing is forgiving, and the stored
hash depends on the server's key."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from topup.vouchers import pins
from topup.vouchers.errors import WrongPin
from topup.vouchers.pins import PinHasher, grouped, new_pin, new_pins, normalise, pin_hash

lengths = st.integers(min_value=14, max_value=16)


@given(lengths)
def test_new_pins_have_their_length_and_a_valid_check_digit(length: int) -> None:
    pin = new_pin(length)
    assert len(pin) == length and pin.isdigit() and luhn.is_valid(pin)


def test_new_pins_are_not_repeated() -> None:
    pins = {new_pin() for _ in range(20_000)}
    assert len(pins) == 20_000


@pytest.mark.parametrize("length", [14, 15, 16])
def test_pins_made_in_bulk_are_as_good_as_one_by_one(length: int) -> None:
    pins = new_pins(50_000, length)
    assert len(pins) == 50_000 and len(set(pins)) == 50_000
    assert all(len(p) == length and p.isdigit() and luhn.is_valid(p) for p in pins)
    # Every digit shows up in every place (leading zeros kept): no place is stuck.
    assert all(len({p[i] for p in pins}) == 10 for i in range(length))


def test_bulk_pins_reach_both_ends_and_throw_away_unfair_draws(
        monkeypatch: pytest.MonkeyPatch) -> None:
    space = 10 ** 15
    fair = (1 << 64) // space * space  # words from here up would favour low bodies
    feed = iter([array("Q", [0, space - 1, fair, (1 << 64) - 1, 7 * space + 1234]).tobytes(),
                 array("Q", [5, 6]).tobytes()])
    monkeypatch.setattr(pins.secrets, "token_bytes", lambda n: next(feed))
    bodies = [f"{b:015d}" for b in (0, space - 1, 1234, 5, 6)]
    assert new_pins(5) == [b + luhn.calc_check_digit(b) for b in bodies]


@pytest.mark.parametrize("length", [13, 17])
def test_other_lengths_are_refused(length: int) -> None:
    with pytest.raises(ValueError):
        new_pin(length)
    with pytest.raises(ValueError):
        new_pins(10, length)


@settings(max_examples=300)
@given(lengths.flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1),
                                           st.integers(1, 9))))
def test_every_single_digit_typo_is_caught_before_any_lookup(case: tuple[int, int, int]) -> None:
    length, where, shift = case
    pin = new_pin(length)
    typo = pin[:where] + str((int(pin[where]) + shift) % 10) + pin[where + 1:]
    with pytest.raises(WrongPin) as exc:
        normalise(typo)
    assert exc.value.extra == {"typo": True}


@given(st.sampled_from([" ", "-", " - ", "  "]))
def test_spaces_and_dashes_are_ignored(sep: str) -> None:
    pin = new_pin(16)
    assert normalise(grouped(pin).replace(" ", sep)) == pin
    assert normalise(f"  {pin}\n") == pin


def test_full_width_digits_are_read_as_digits() -> None:
    pin = new_pin(15)
    wide = pin.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert normalise(wide) == pin


@pytest.mark.parametrize("raw", ["", "abc", "1234", "12345678901234567", "1234567890123x"])
def test_malformed_pins_are_typos(raw: str) -> None:
    with pytest.raises(WrongPin):
        normalise(raw)


def test_the_hash_is_keyed_and_stable() -> None:
    pin = new_pin()
    assert PinHasher("k1")(pin) == pin_hash("k1", pin)
    more = new_pins(100)
    assert PinHasher("k1").many(more) == [pin_hash("k1", p) for p in more]
    assert pin_hash("k1", pin) != pin_hash("k2", pin)
    assert len(pin_hash("k1", pin)) == 64 and pin not in pin_hash("k1", pin)


def test_grouped_in_fours() -> None:
    assert grouped("12345678901234") == "1234 5678 9012 34"
