"""Alembic environment: runs on the engine handed over by ``topup.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from topup.db.schema import metadata

config = context.config
engine = config.attributes.get("engine") or create_engine(
    str(config.get_main_option("sqlalchemy.url")))

with engine.connect() as connection:
    if connection.dialect.name == "sqlite":
        # SQLite cannot ALTER most things in place; batch mode copies tables instead.
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=True, transaction_per_migration=True)
    else:
        context.configure(connection=connection, target_metadata=metadata,
                          transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
