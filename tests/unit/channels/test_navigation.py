"""USSD navigation replayed from the inputs alone: both gateway conventions for a code dialled
with a PIN, back and main, invalid inputs, language choice, and nothing past a closing screen."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from topup.channels.ussd.navigation import BACK, MAIN, Position, inputs_of, walk

PIN = "1234567890123452"


class Tree:
    """A small menu: main (1 ends, 2 → list of 3 → 1 confirms), 5 → languages."""

    def accepts(self, path: tuple[str, ...], entry: str) -> bool:
        return {(): entry in ("1", "2", "5"), ("2",): entry in ("1", "2", "3")}.get(
            path, path[:1] == ("2",) and len(path) == 2 and entry == "1")

    def is_end(self, path: tuple[str, ...]) -> bool:
        return path == ("1",) or len(path) == 3

    def language_choice(self, path: tuple[str, ...], entry: str) -> str | None:
        return {"1": "en", "2": "zh-CN"}.get(entry) if path == ("5",) else None


def go(*inputs: str) -> Position:
    return walk(list(inputs), Tree(), "en")


def test_a_pin_dialled_with_the_code_in_either_convention() -> None:
    assert inputs_of(f"*123*{PIN}#", "") == [PIN]
    assert inputs_of("*123#", PIN) == [PIN]
    assert inputs_of(f"*123*{PIN}#", f"{PIN}*1") == [PIN, "1"], "an echo is not doubled"
    assert inputs_of("*384*12#", "2*1") == ["2", "1"], "short groups belong to the code"
    assert inputs_of("*123#", "") == []
    assert inputs_of("*123#", " 2 * 1 ") == ["2", "1"]


def test_positions() -> None:
    assert go() == Position((), "en")
    assert go("2", "3") == Position(("2", "3"), "en")
    assert go("2", "3", BACK) == Position(("2",), "en")
    assert go("2", "3", MAIN) == Position((), "en")
    assert go("9") == Position((), "en", invalid=True)
    assert go("2", "9") == Position(("2",), "en", invalid=True)
    assert go("2", "9", "1") == Position(("2", "1"), "en"), "a later good input clears it"
    assert go(BACK) == Position((), "en", invalid=True), "no way back from the main menu"
    assert go("5", "2") == Position((), "zh-CN", language_changed=True)
    assert go("5", "2", "2") == Position(("2",), "zh-CN")
    assert go("5", BACK) == Position((), "en")
    assert go("1", "2") == Position(("1",), "en", overrun=True)
    assert go("2", "1", "1", "1") == Position(("2", "1", "1"), "en", overrun=True)


@given(st.lists(st.sampled_from(["1", "2", "3", "5", "9", BACK, MAIN]), max_size=12))
def test_main_always_returns_to_the_main_menu(inputs: list[str]) -> None:
    pos = go(*inputs, MAIN)
    assert pos.overrun or (pos.path == () and not pos.invalid)


@given(st.lists(st.sampled_from(["2", "3", "9", BACK]), max_size=8), st.sampled_from("123"))
def test_back_undoes_one_accepted_step(prefix: list[str], entry: str) -> None:
    before = go(*prefix)
    after = go(*prefix, entry, BACK)
    if Tree().accepts(before.path, entry) and not Tree().is_end((*before.path, entry)):
        assert after.path == before.path and after.language == before.language
