"""Where a USSD session stands, worked out from the inputs alone.

The gateway resends the whole input of the session with every request (``text`` is every
input so far joined by ``*``), so the server keeps no session state: it replays the inputs
against the menu each time. ``0`` goes back one screen and ``00`` to the main menu; an input
that is not an option on its screen is dropped (the screen is shown again, marked invalid);
a language choice is remembered for the rest of the session and returns to the main menu.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

BACK, MAIN = "0", "00"
PIN_MIN_DIGITS = 10  # a PIN typed with the code (``*123*PIN#``) is this long at least


class Menu(Protocol):
    """The shape of the menu, as navigation needs to know it."""

    def accepts(self, path: tuple[str, ...], entry: str) -> bool:
        """Whether ``entry`` is an option on the screen at ``path``."""
        ...

    def is_end(self, path: tuple[str, ...]) -> bool:
        """Whether the screen at ``path`` closes the session (an answer or an action)."""
        ...

    def language_choice(self, path: tuple[str, ...], entry: str) -> str | None:
        """The language ``entry`` picks on the screen at ``path``, if it is a language menu."""
        ...


@dataclass(frozen=True)
class Position:
    """The screen a session is on and how the last input moved it."""

    path: tuple[str, ...]
    language: str
    invalid: bool = False  # the last input was not an option: show the screen again
    language_changed: bool = False  # the last input chose a language
    overrun: bool = False  # inputs went on past a closing screen: do nothing


def looks_like_pin(entry: str) -> bool:
    """A voucher PIN typed in one go rather than a menu choice."""
    return entry.isdigit() and len(entry) >= PIN_MIN_DIGITS


def inputs_of(service_code: str, text: str) -> list[str]:
    """Every input of the session, oldest first.

    Gateways pass a code dialled with a PIN (``*123*PIN#``) in one of two ways: the whole
    string as ``serviceCode`` with an empty ``text``, or the base code as ``serviceCode`` and
    the PIN as the first input of ``text``. A long digit group at the end of the dialled code is
    taken as the first input; shorter groups are part of the operator's code (``*384*12#``).
    """
    groups = [g for g in service_code.strip().strip("#").split("*") if g]
    dialled = [groups[-1]] if len(groups) > 1 and looks_like_pin(groups[-1]) else []
    typed = [part.strip() for part in text.split("*")] if text.strip() else []
    if dialled and typed[:1] == dialled:  # a gateway that also echoes it in ``text``
        typed = typed[1:]
    return dialled + typed


def walk(inputs: Sequence[str], menu: Menu, language: str) -> Position:
    """Replay ``inputs`` from the main menu and say where they lead."""
    pos = Position((), language)
    for entry in inputs:
        if menu.is_end(pos.path):
            return Position(pos.path, pos.language, overrun=True)
        pos = _step(pos, entry, menu)
    return pos


def _step(pos: Position, entry: str, menu: Menu) -> Position:
    if entry == MAIN:
        return Position((), pos.language)
    if entry == BACK and pos.path:
        return Position(pos.path[:-1], pos.language)
    chosen = menu.language_choice(pos.path, entry)
    if chosen is not None:
        return Position((), chosen, language_changed=True)
    if menu.accepts(pos.path, entry):
        return Position((*pos.path, entry), pos.language)
    return Position(pos.path, pos.language, invalid=True)
