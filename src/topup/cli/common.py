"""What every ``topup`` sub-command shares: the consoles, the one-line refusal, the database
from the environment, one unit of work, and the acting admin."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from rich.console import Console

from topup import bootstrap
from topup.db.uow import Database, UnitOfWork
from topup.errors import TopupError

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")
AS_HELP = "Admin e-mail, for the audit log"


def fail(message: str) -> typer.Exit:
    """Print one line on stderr; the caller raises the returned Exit(1)."""
    err.print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(1)


@contextmanager
def opened(migrate: bool = True) -> Iterator[Database]:
    """The Database from the environment, migrated to the newest schema."""
    db = bootstrap.database()
    try:
        if migrate:
            from topup.db.migrate import upgrade  # alembic only for commands that migrate

            upgrade(db.engine)
        yield db
    finally:
        db.dispose()


def in_unit(db: Database, work: Callable[[UnitOfWork], T]) -> T:
    """Run ``work`` in one unit of work (again after a serialization failure or a deadlock:
    the commands' work only writes to the database); a refusal becomes one line and exit 1."""
    try:
        return db.transact(work, what=getattr(work, "__qualname__", "command"))
    except TopupError as exc:
        raise fail(exc.detail) from None


def run(work: Callable[[UnitOfWork], T]) -> T:
    """Run ``work`` in one unit of work on the configured database; refusals exit 1."""
    with opened() as db:
        return in_unit(db, work)


def admin_id(db: Database, login: str) -> int:
    """The id of the admin acting (for the audit log); exit 1 when ``login`` is not one."""
    from topup.subscribers.auth import find_by_login

    with db.unit(readonly=True) as uow:
        row = find_by_login(uow, login)
    if row is None or row.role != "admin":
        raise fail(f"{login} is not an admin login")
    return int(row.id)
