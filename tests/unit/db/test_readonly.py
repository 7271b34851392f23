"""A read-only unit of work is refused every write by the database itself, on both back ends,
and a connection used read-only is writable again for the next unit."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.ledger.tables import accounts


def test_a_read_only_unit_cannot_write(db: Database) -> None:
    with pytest.raises(DBAPIError), db.unit(readonly=True) as uow:
        assert uow.readonly
        uow.conn.execute(accounts.insert().values(
            key="op:x", unit="money:CNY", kind="manual_credit", no_overdraft=False,
            debits_posted=0, credits_posted=0, debits_pending=0, credits_pending=0,
            created_at=uow.now))
    with db.unit() as uow:  # the same pooled connection, writable again
        assert not uow.readonly
        made = ledger.wallet(uow, 7, "CNY")
    with db.unit(readonly=True) as uow:
        assert uow.conn.execute(select(accounts.c.id).where(
            accounts.c.key == "op:x")).first() is None
        assert ledger.wallet(uow, 7, "CNY") == made


def test_an_account_not_made_yet_reads_as_absent_and_zero(db: Database) -> None:
    with db.unit(readonly=True) as uow:
        wallet = ledger.wallet(uow, 8, "USD")
        assert wallet == ledger.ABSENT
        assert ledger.balance(uow, wallet).posted == 0
        assert ledger.balance(uow, wallet).available == 0
    with db.unit(readonly=True) as uow:  # nothing was made
        assert uow.conn.execute(select(accounts.c.id).where(
            accounts.c.line_id == 8)).first() is None
