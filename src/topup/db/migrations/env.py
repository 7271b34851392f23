"""Alembic environment: runs on the engine handed over by ``topup.db.migrate``."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from topup.db.schema import metadata

config = context.config
engine = config.attributes.get("engine") or create_engine(
    str(config.get_main_option("sqlalchemy.url")))



def _check_foreign_keys(raw: Any) -> None:
    broken = raw.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")


with engine.connect() as connection:
    if connection.dialect.name == "sqlite":
        # SQLite cannot ALTER most things in place; batch mode copies tables instead. Copying
        # a table that others reference needs foreign keys off (settable only outside a
        # transaction, so on the driver's connection); they are checked again at the end.
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(connection=connection, target_metadata=metadata,
                              render_as_batch=True, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
            _check_foreign_keys(raw)
        finally:
            raw.execute("PRAGMA foreign_keys=ON")
    else:
        context.configure(connection=connection, target_metadata=metadata,
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
