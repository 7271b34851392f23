"""The chart of accounts: every kind named once with its meaning, kinds outside it refused
where accounts are opened and reported by ``check_books``, and docs/ledger.md carrying the
chart's own table."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from topup.db.uow import Database
from topup.ledger import accounts as chart
from topup.ledger import service as ledger
from topup.ledger.accounts import (
    BREAKAGE,
    BUCKET,
    CHART,
    GROUPS,
    REVENUE,
    WALLET,
    clearing_kind,
    group_of,
)
from topup.ledger.errors import AccountKindMisused, UnknownAccountKind
from topup.ledger.invariants import check_books
from topup.ledger.tables import accounts

CNY = ledger.money_unit("CNY")
DOC = Path(__file__).parents[3] / "docs" / "ledger.md"
BEGIN, END = "<!-- chart of accounts: begin -->\n", "<!-- chart of accounts: end -->"


def count_accounts(db: Database) -> int:
    with db.unit(readonly=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(accounts)).scalar_one())


def test_each_kind_has_a_side_a_group_and_a_one_sentence_meaning() -> None:
    for name, k in CHART.items():
        assert k.name == name and name == name.lower()
        assert k.normal in ("debit", "credit") and k.group in GROUPS
        assert k.meaning[0].isupper() and k.meaning.endswith(".")
        assert k.meaning.count(". ") == 0, f"{name}: one sentence"
        assert k.may_go_negative == (k.holder == "operator")
    assert {k.holder for k in CHART.values()} == {"line", "customer", "agent", "operator"}


def test_the_kinds_promotions_use_are_named_and_only_the_unused_one_reserved() -> None:
    assert CHART["cashback_liability"].reserved  # cashback is paid from promotion_expense
    for name in ("points_liability", "cashback_liability"):
        assert CHART[name].group == "liability"
    for name in ("promotion_expense", "points_liability", "points", "commission_expense",
                 "fee_revenue", "fx"):
        assert not CHART[name].reserved


def test_an_operator_account_of_a_kind_outside_the_chart_is_refused(db: Database) -> None:
    before = count_accounts(db)
    with db.unit() as uow:
        with pytest.raises(UnknownAccountKind, match="'revenu' is not in the chart"):
            ledger.operator_account(uow, "revenu", CNY)
        with pytest.raises(UnknownAccountKind):
            ledger.operator_account(uow, "clearing", CNY)  # a family needs its method
        with pytest.raises(UnknownAccountKind):
            ledger.operator_account(uow, "clearing:Stripe Live", CNY)
        with pytest.raises(AccountKindMisused, match="not an operator account kind"):
            ledger.operator_account(uow, WALLET, CNY)
        assert ledger.operator_account(uow, REVENUE, CNY) > 0
    assert count_accounts(db) == before + 1, "a refused kind opens nothing"


def test_open_account_takes_its_overdraft_rule_from_the_chart(db: Database) -> None:
    with db.unit() as uow:
        with pytest.raises(UnknownAccountKind):
            ledger.open_account(uow, "line:1:purse:money:CNY", CNY, "purse", line_id=1)
        with pytest.raises(AccountKindMisused, match="may not go below zero"):
            ledger.open_account(uow, "line:1:odd:money:CNY", CNY, WALLET, no_overdraft=False)
        with pytest.raises(AccountKindMisused, match="may go below zero"):
            ledger.open_account(uow, "op:odd:money:CNY", CNY, REVENUE, no_overdraft=True)
        bucket = ledger.open_account(uow, "bucket:1:data", "data", BUCKET, line_id=1)
        row = uow.conn.execute(select(accounts).where(accounts.c.id == bucket)).one()
        assert row.no_overdraft is True


def test_clearing_is_one_kind_per_payment_method() -> None:
    assert clearing_kind("stripe") == "clearing:stripe"
    assert chart.entry("clearing:voucher") is CHART["clearing"]
    with pytest.raises(UnknownAccountKind):
        clearing_kind("")


def test_accounts_in_units_other_than_money_are_memo() -> None:
    assert group_of(BREAKAGE, CNY) == "revenue"
    assert group_of(BREAKAGE, "data") == "memo"


def test_check_books_reports_an_account_whose_kind_left_the_chart(db: Database) -> None:
    with db.unit() as uow:
        acct = ledger.operator_account(uow, REVENUE, CNY)
        wallet = ledger.wallet(uow, 7, "CNY")
    with db.unit() as uow:
        uow.conn.execute(update(accounts).where(accounts.c.id == acct).values(kind="mystery"))
        uow.conn.execute(update(accounts).where(accounts.c.id == wallet)
                         .values(no_overdraft=False))
        found = sorted((p.what, p.detail) for p in check_books(uow.conn))
        assert found == [
            ("account against its chart entry",
             f"account {wallet} (line:7:wallet:money:CNY): a 'wallet' account may not go "
             "below zero"),
            ("account kind not in the chart",
             f"account {acct} (op:revenue:money:CNY): account kind 'mystery' is not in the "
             "chart of accounts (topup.ledger.accounts)"),
        ]
        # put back, so that the fixture's own check of the books passes
        uow.conn.execute(update(accounts).where(accounts.c.id == acct).values(kind=REVENUE))
        uow.conn.execute(update(accounts).where(accounts.c.id == wallet)
                         .values(no_overdraft=True))


def test_the_chart_in_docs_ledger_md_is_the_chart_itself() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "## Chart of accounts" in text
    assert BEGIN in text and END in text, f"{DOC} lost its chart markers"
    table = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert table == chart.chart_table(), (
        f"{DOC} and topup.ledger.accounts disagree: paste the output of `topup ledger chart` "
        "between the markers")
