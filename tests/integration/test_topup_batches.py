"""Staff credits committed many to a batch by the database's writer, through the real API.

Each test holds the writer busy (``writer_held``) while its requests arrive, so that they all
wait in its queue and form one batch; a COMMIT counter shows that they did. The fast path
(one read, multi-row writes) must leave exactly the rows the reference path
(``create_order`` under ``run_in``, one command at a time) leaves, and answer every command
of a mixed batch as a lone request would be answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import (
    WRITER_WAIT,
    Api,
    make_line,
    make_user,
    writer_commits,
    writer_held,
    writer_queued,
)
from topup.audit.tables import audit_log
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.ledger.accounts import MANUAL_CREDIT
from topup.ledger.tables import MAX_TOTAL, MAX_TRANSFER, accounts, transfers
from topup.notifications.tables import outbox
from topup.orders import topups
from topup.orders.model import OrderRequest
from topup.orders.tables import idempotency_keys, order_events, orders
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import Line
from topup.subscribers.tables import lines as lines_table


@dataclass
class Shop:
    api: Api
    staff: dict[str, str]

    @property
    def db(self) -> Database:
        return self.api.db

    def line(self, *, customer: bool = False, status: str = "active", msisdn: str | None = None
             ) -> Line:
        """A Thai CNY line, active (or ``status``), bound to a customer with an e-mail."""
        made = make_line(self.db, country="TH", currency="CNY", secret="7777", msisdn=msisdn)
        if customer:
            _, me = self.api.as_new()
            r = self.api.client.post("/api/v1/lines/bind", headers=me,
                                     json={"identifier": made.iccid, "secret": "7777"})
            assert r.status_code == 200, r.text
        with self.db.unit() as uow:
            line = line_svc.get_line(uow, made.id)
            if status in ("active", "frozen"):
                line = line_svc.activate_on_value(uow, line, None)
            if status == "frozen":
                line = line_svc.freeze(uow, line.id, actor=None, reason="fraud check")
        return line

    def credit(self, line_id: int, key: str, amount: int, **extra: Any) -> Any:
        return self.api.post(f"/api/v1/admin/lines/{line_id}/credit", self.staff, key=key,
                             json={"amount": amount, "currency": "CNY", "reason": "cash desk",
                                   **extra})

    def wallet(self, line_id: int) -> int:
        with self.db.unit(readonly=True) as uow:
            found = ledger.wallets(uow, line_id).get("CNY")
            return found.posted if found else 0


@pytest.fixture
def shop(api: Api, catalogue: Database) -> Iterator[Shop]:
    yield Shop(api, api.login(str(make_user(catalogue, "admin").email)))
    catalogue.writer.close()


def in_one_batch(db: Database, calls: list[Callable[[], Any]]) -> list[Any]:
    """Make every call from a thread of its own while the writer is held, wait until each
    one's command is queued, then let the writer take them all at once: one COMMIT."""
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        out[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    with writer_commits(db) as commits:
        with writer_held(db):
            for t in threads:
                t.start()
            deadline = time.monotonic() + WRITER_WAIT
            while writer_queued(db) < len(calls):
                assert time.monotonic() < deadline, f"only {writer_queued(db)} queued"
                time.sleep(0.005)
        for t in threads:
            t.join(WRITER_WAIT)
    assert commits == ["commit", "commit"], "the held batch, then all the calls in one"
    return out


def forget_recent_answers(db: Database) -> None:
    """As if the retries reached another server process: only the database knows answers."""
    db.caches.pop("idempotency", None)


def footprint(db: Database, line_id: int, key: str) -> dict[str, Any]:
    """Every row a credit left for a line, with its ids made comparable across lines."""
    with db.unit(readonly=True) as uow:
        order = uow.conn.execute(select(orders).where(orders.c.line_id == line_id)).one()
        oid, line_tag = str(order.id), f"line:{line_id}"

        def same(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: same(v) for k, v in value.items()}
            if isinstance(value, str):
                return value.replace(line_tag, "line:#").replace(f"order:{oid}", "order:#")
            return value

        def keyed(account_id: int) -> tuple[str, int, int, int, int]:
            a = uow.conn.execute(select(accounts).where(accounts.c.id == account_id)).one()
            name = a.key.rsplit(":", 1)[0] if a.key.startswith("op:") else a.key  # no shard
            return (same(name), a.debits_posted, a.credits_posted, a.debits_pending,
                    a.credits_pending)

        transfer = uow.conn.execute(select(transfers).where(
            transfers.c.ref == f"order:{oid}")).one()
        key_row = uow.conn.execute(select(idempotency_keys).where(
            idempotency_keys.c.key == key)).one()
        line = uow.conn.execute(select(lines_table).where(lines_table.c.id == line_id)).one()
        return {
            "order": {k: v for k, v in order._mapping.items()
                      if k not in ("id", "line_id", "customer_id")}
                     | {"has_customer": order.customer_id is not None},
            "events": [tuple(r) for r in uow.conn.execute(select(
                order_events.c.at, order_events.c.from_state, order_events.c.to_state,
                order_events.c.note).where(order_events.c.order_id == order.id)
                .order_by(order_events.c.id))],
            "audit": [(r.at, r.actor_id, r.action, same(r.target), r.reason,
                       {**r.data, "order_id": "#"}) for r in uow.conn.execute(
                select(audit_log).where(audit_log.c.target == line_tag))],
            "transfer": (same(transfer.idempotency_id), keyed(transfer.debit_account_id),
                         keyed(transfer.credit_account_id), transfer.unit, transfer.amount,
                         transfer.kind, transfer.code, same(transfer.ref),
                         transfer.created_at, transfer.pending_id, transfer.timeout_at),
            "line": (line.status, line.valid_until),
            "answer": (key_row.method, key_row.path.replace(f"/{line_id}/", "/#/"),
                       key_row.status_code,
                       {**key_row.response, "id": "#", "line_id": "#"}, key_row.created_at),
            "outbox": sorted((r.channel, r.template, r.language, r.state, r.quiet,
                              r.user_id is not None, r.created_at, r.next_attempt_at,
                              {**r.params, "order_id": "#", "number": "#"})
                             for r in uow.conn.execute(select(outbox))
                             if r.params.get("order_id") == order.id),
        }


TOLD = {  # who a line's confirmation goes to: (bound customer, own number) -> channels
    "customer and number": (True, True, {"email", "sms"}),
    "customer only": (True, False, {"email"}),
    "number only": (False, True, {"sms"}),
    "nobody": (False, False, set()),
}


@pytest.mark.parametrize("told", TOLD)
def test_the_fast_path_and_the_reference_path_leave_the_same_rows(
        shop: Shop, monkeypatch: pytest.MonkeyPatch, told: str) -> None:
    customer, number, channels = TOLD[told]
    fast = shop.line(customer=customer, msisdn="66812345001" if number else None)
    slow = shop.line(customer=customer, msisdn="66812345002" if number else None)
    validate, reference = topups._validate, topups._reference
    taken: list[int] = []

    def forced(uow: Any, index: int, cmd: topups.TopUp, line: Line | None) -> Any:
        item, simple = validate(uow, index, cmd, line)
        return item, simple and cmd.line_id != slow.id

    def spied(uow: Any, cmd: topups.TopUp) -> Any:
        taken.append(cmd.line_id)
        return reference(uow, cmd)

    monkeypatch.setattr(topups, "_validate", forced)
    monkeypatch.setattr(topups, "_reference", spied)
    a, b = in_one_batch(shop.db, [lambda: shop.credit(fast.id, "k-fast", 123_45),
                                  lambda: shop.credit(slow.id, "k-slow", 123_45)])
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert taken == [slow.id]
    assert {**a.json(), "id": 0, "line_id": 0} == {**b.json(), "id": 0, "line_id": 0}
    one, other = footprint(shop.db, fast.id, "k-fast"), footprint(shop.db, slow.id, "k-slow")
    assert {c[0] for c in one["outbox"]} == channels
    for part in one:
        assert one[part] == other[part], part


def test_a_first_credit_activates_a_provisioned_line_through_the_reference_path(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    active = shop.line(customer=True)
    new = shop.line(customer=True, status="provisioned")
    reference, taken = topups._reference, []
    monkeypatch.setattr(topups, "_reference",
                        lambda uow, cmd: taken.append(cmd.line_id) or reference(uow, cmd))
    a, b = in_one_batch(shop.db, [lambda: shop.credit(active.id, "k-active", 88_00),
                                  lambda: shop.credit(new.id, "k-new", 88_00)])
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert taken == [new.id]
    one, other = footprint(shop.db, active.id, "k-active"), footprint(shop.db, new.id, "k-new")
    assert other["line"][0] == "active"
    for part in one:
        assert one[part] == other[part], part


def test_a_mixed_batch_answers_each_credit_as_alone_and_moves_only_the_valid_ones(
        shop: Shop) -> None:
    db = shop.db
    db.settings = replace(db.settings, manual_credit_max={"CNY": 500_00})
    a, b, c, seen = (shop.line(customer=True) for _ in range(4))
    frozen = shop.line(status="frozen")
    earlier = shop.credit(seen.id, "seen", 100_00)
    assert earlier.status_code == 201
    forget_recent_answers(db)
    calls: dict[str, Callable[[], Any]] = {
        "a": lambda: shop.credit(a.id, "a", 100_00),
        "a-twin": lambda: shop.credit(a.id, "a-twin", 100_00),
        "b": lambda: shop.credit(b.id, "b", 200_00),
        "pair-70": lambda: shop.credit(b.id, "pair", 70_00),
        "pair-80": lambda: shop.credit(b.id, "pair", 80_00),
        "c": lambda: shop.credit(c.id, "c", 300_00),
        "twice-1": lambda: shop.credit(c.id, "twice", 50_00),
        "twice-2": lambda: shop.credit(c.id, "twice", 50_00),
        "frozen": lambda: shop.credit(frozen.id, "frozen", 100_00),
        "ceiling": lambda: shop.credit(a.id, "ceiling", 600_00),
        "usd": lambda: shop.api.post(f"/api/v1/admin/lines/{b.id}/credit", shop.staff,
                                     key="usd", json={"amount": 100_00, "currency": "USD",
                                                      "reason": "cash desk"}),
        "missing": lambda: shop.credit(999_999, "missing", 100_00),
        "seen-again": lambda: shop.credit(seen.id, "seen", 100_00),
        "seen-other": lambda: shop.credit(seen.id, "seen", 90_00),
        "seen-twin": lambda: shop.credit(seen.id, "seen-twin", 100_00),
    }
    got = dict(zip(calls, in_one_batch(db, list(calls.values())), strict=True))
    code = {name: (r.status_code, r.json().get("code")) for name, r in got.items()}

    assert code["b"] == code["c"] == (201, None)
    assert sorted([code["a"], code["a-twin"]]) == [(201, None), (409, "duplicate_suspected")]
    assert sorted([code["pair-70"], code["pair-80"]]) == [(201, None),
                                                          (422, "idempotency_key_reused")]
    assert code["frozen"] == (409, "line_not_usable")
    assert code["ceiling"] == (422, "topup_out_of_limits")
    assert code["usd"] == (422, "currency_not_for_line")
    assert code["missing"] == (404, "line_not_found")
    assert code["seen-other"] == (422, "idempotency_key_reused")
    assert code["seen-twin"] == (409, "duplicate_suspected")
    replayed = got["seen-again"]
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == earlier.json()
    twice = [got["twice-1"], got["twice-2"]]
    assert [r.status_code for r in twice] == [201, 201]
    assert twice[0].json() == twice[1].json(), "the key sent twice moved money once"
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in twice) == ["", "true"]

    fresh = [r for r in got.values()
             if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
    assert len(fresh) == 5  # a (or its twin), b, one of the pair, c, twice
    moved = {ln.id: 0 for ln in (a, b, c, seen, frozen)}
    for r in fresh:
        moved[r.json()["line_id"]] += r.json()["amount"]
    moved[seen.id] += 100_00  # the credit before the batch
    assert {ln: shop.wallet(ln) for ln in moved} == moved
    assert moved[a.id] == 100_00 and moved[c.id] == 350_00 and moved[frozen.id] == 0
    with db.unit(readonly=True) as uow:
        made = uow.conn.execute(select(orders.c.line_id)).scalars().all()
    assert sorted(made) == sorted([r.json()["line_id"] for r in fresh] + [seen.id])


def fill_wallet(db: Database, line_id: int, leave: int) -> None:
    """Credit a line's wallet (through real ledger transfers) up to ``leave`` short of the
    largest total an account may hold."""
    with db.unit() as uow:
        source = ledger.operator_account(uow, MANUAL_CREDIT, "money:CNY")
        wallet = ledger.wallet(uow, line_id, "CNY")
        left, n = MAX_TOTAL - leave, 0
        while left:
            step = min(left, MAX_TRANSFER)
            ledger.transfer(uow, f"test:fill:{line_id}:{n}", source, wallet, step, code="test")
            left, n = left - step, n + 1


def test_a_wallet_near_its_range_is_refused_alone_and_the_batch_commits(
        shop: Shop) -> None:
    near, other = shop.line(), shop.line()
    fill_wallet(shop.db, near.id, leave=50_00)
    too_much, fits, elsewhere = in_one_batch(shop.db, [
        lambda: shop.credit(near.id, "too-much", 100_00),
        lambda: shop.credit(near.id, "fits", 40_00),
        lambda: shop.credit(other.id, "elsewhere", 100_00)])
    assert too_much.status_code == 422 and too_much.json()["code"] == "amount_out_of_range"
    assert fits.status_code == elsewhere.status_code == 201
    assert shop.wallet(near.id) == MAX_TOTAL - 50_00 + 40_00
    assert shop.wallet(other.id) == 100_00
    with shop.db.unit(readonly=True) as uow:
        keys = set(uow.conn.execute(select(idempotency_keys.c.key)).scalars())
    assert keys == {"fits", "elsewhere"}, "the refused credit left no key behind"


@pytest.mark.postgres  # SQLite lets one transaction write at a time: batches never cross
@pytest.mark.parametrize("backend", ["postgres"])
def test_two_processes_writers_with_crossing_batches_answer_every_credit(
        shop: Shop, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Each batch credits one line the fast way and the other through the reference path.
    Both batches lock every account they will move (the reference path's too) in id order
    before writing, so on PostgreSQL the second waits for the first: no deadlock, no batch
    applied again command by command."""
    db = shop.db
    second = Database(db.engine, db.settings, db.clock)  # another server process's writer
    one, two = shop.line(), shop.line()
    staff = make_user(db, "admin")
    validate, write = topups._validate, topups._write

    def slow_write(uow: Any, fast: list[Any], ids: list[int]) -> Any:
        done = write(uow, fast, ids)
        time.sleep(0.2)  # both batches hold their fast path's locks before either goes on
        return done

    def forced(uow: Any, i: int, cmd: topups.TopUp, line: Line | None) -> Any:
        item, simple = validate(uow, i, cmd, line)
        return item, simple and not cmd.key.startswith("ref")

    monkeypatch.setattr(topups, "_validate", forced)
    monkeypatch.setattr(topups, "_write", slow_write)

    def credit(line: Line, key: str, amount: int) -> topups.TopUp:
        req = OrderRequest(kind="topup", method="manual", channel="admin", amount=amount,
                           reason="cash desk", confirm_duplicate=True)
        return topups.TopUp(staff.id, key, f"/credit/{line.id}", key, staff.id, line.id, req,
                            lambda order: {"id": order.id, "amount": order.amount})

    try:
        with writer_held(db), writer_held(second):
            futures = [db.writer.submit(credit(one, "fast-1", 100_00)),
                       db.writer.submit(credit(two, "ref-2", 200_00)),
                       second.writer.submit(credit(two, "fast-2", 300_00)),
                       second.writer.submit(credit(one, "ref-1", 400_00))]
        answers = [f.result(WRITER_WAIT) for f in futures]
    finally:
        second.writer.close()
    assert [(a.status, a.replayed, a.body["amount"]) for a in answers] == [
        (201, False, 100_00), (201, False, 200_00), (201, False, 300_00), (201, False, 400_00)]
    assert len({a.body["id"] for a in answers}) == 4
    assert shop.wallet(one.id) == 500_00 and shop.wallet(two.id) == 500_00
    assert "one by one" not in caplog.text, "a batch was rolled back (a deadlock?)"
