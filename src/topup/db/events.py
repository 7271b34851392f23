"""Domain events: published on a unit of work, handled inside its transaction before COMMIT.

An area publishes a fact (``uow.publish(OrderFulfilled(...))``) instead of calling the areas
that react to it; the handlers, ``(uow, event) -> None``, are registered here by the
composition root (``topup.handlers``, imported by ``topup.bootstrap``), never by this layer,
which knows no area. They run in the same transaction, so what they write (outbox rows,
receipts) exists if and only if the rest of the unit does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from topup.db.uow import UnitOfWork

Handler = Callable[["UnitOfWork", Any], None]
Handlers = dict[type, list[Handler]]

# Shared by every Database that is not given its own mapping; filled once, at import of the
# composition root, before any unit of work runs.
HANDLERS: Handlers = {}


class UnhandledEvent(LookupError):
    """An event nobody handles: the wiring was never imported. Raised rather than dropping
    the event, so a missing receipt or confirmation rolls its order back instead."""


def register(event_type: type, handler: Handler, handlers: Handlers = HANDLERS) -> None:
    """Add ``handler`` for ``event_type`` (registering the same one twice adds it once)."""
    found = handlers.setdefault(event_type, [])
    if handler not in found:
        found.append(handler)


def run_handlers(uow: UnitOfWork, handlers: Handlers) -> None:
    """Handle every event published on ``uow``, in order, and those the handlers publish in
    turn, until none is left."""
    while uow.events:
        event = uow.events.pop(0)
        found = handlers.get(type(event))
        if not found:
            raise UnhandledEvent(f"no handler for {type(event).__name__}; "
                                 "import topup.handlers (topup.bootstrap does)")
        for handler in found:
            handler(uow, event)
