"""Wallet top-ups in another currency: conversion terms on orders (part of a submitted
order's immutable terms) and the operator's exchange rates.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The trigger helper and term list of 0006, extended.
fees = importlib.import_module("topup.db.migrations.versions.0006_fees")
FX_TERMS = (*fees.NEW_TERMS, "credit_currency", "credit_amount", "fx_rate")
FX_CHECK = ("(credit_currency IS NULL) = (credit_amount IS NULL) AND "
            "(credit_currency IS NULL) = (fx_rate IS NULL) AND "
            "(credit_amount IS NULL OR credit_amount > 0)")


def upgrade() -> None:
    # Plain ALTERs (not batch mode): copying the table on SQLite would drop its triggers.
    for ddl in ("credit_currency VARCHAR(3)", "credit_amount BIGINT"):
        op.execute(f"ALTER TABLE orders ADD COLUMN {ddl}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders ADD COLUMN fx_rate VARCHAR(40)")
        op.execute(f"ALTER TABLE orders ADD CONSTRAINT ck_orders_fx_terms CHECK ({FX_CHECK})")
    else:  # SQLite adds a CHECK only with a column: the last one carries it
        op.execute(f"ALTER TABLE orders ADD COLUMN fx_rate VARCHAR(40) "
                   f"CONSTRAINT ck_orders_fx_terms CHECK ({FX_CHECK})")
    fees._trigger(FX_TERMS)
    op.create_table(
        "fx_rates",
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("quote", sa.String(length=3), nullable=False),
        sa.Column("rate_num", sa.BigInteger(), nullable=False),
        sa.Column("rate_den", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", topup.db.metadata.UTCDateTime(), nullable=False),
        sa.CheckConstraint("rate_num > 0 AND rate_den > 0", name=op.f("ck_fx_rates_rate_positive")),
        sa.CheckConstraint("base <> quote", name=op.f("ck_fx_rates_distinct_currencies")),
        sa.PrimaryKeyConstraint("base", "quote", name=op.f("pk_fx_rates")),
    )


def downgrade() -> None:
    op.drop_table("fx_rates")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders DROP CONSTRAINT ck_orders_fx_terms")
    else:
        op.execute("DROP TRIGGER IF EXISTS orders_terms_immutable")
    for col in ("fx_rate", "credit_amount", "credit_currency"):
        op.execute(f"ALTER TABLE orders DROP COLUMN {col}")
    fees._trigger(fees.NEW_TERMS)
