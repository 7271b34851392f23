"""Top-ups that complete at once, applied many to a transaction by the database's writer.

A staff credit is a ``TopUp`` command; ``TOPUPS.apply`` takes a whole batch of them:
1. one read of their Idempotency-Keys (a key already answered is a replay), one of their
   lines, one of recent same-amount orders of those lines;
2. each command validated exactly as ``create_order`` validates it (same functions): a
   refusal fails that command alone, before anything is written;
3. the accepted ones written with one multi-row statement per table: the orders (fulfilled
   at once), their events (one each, as ``move_order`` keeps them), audit entries, ledger
   transfers, account totals summed per account under row locks taken in id order, line
   validity, the stored answers.

A command outside the common case (a line whose status changes, a converted currency, a
same-amount order within the duplicate window, a key sent twice in one batch, an account
near its range) goes after them through the reference path, ``create_order`` under
``idempotency.run_in`` in a savepoint: the same rows and the same answer, one at a time.
tests/integration/test_topup_batches.py holds the two paths to the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from topup.audit.tables import audit_log
from topup.catalog.pricing import learn_topup_limit, topup_limit_reads
from topup.db.bulk import Query, among, insert_rows, pipelined, read_together, send
from topup.db.dialect import next_ids, taken_ids
from topup.db.group import Kind
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.ledger import service as ledger
from topup.ledger.accounts import MANUAL_CREDIT
from topup.ledger.tables import MAX_TOTAL, transfers
from topup.orders.idempotency import (
    Outcome,
    answer_of,
    encode_body,
    run_in,
    stored_answers,
    stored_read,
)
from topup.orders.methods import check_method
from topup.orders.model import LIVE_STATES, Order, OrderRequest
from topup.orders.service import create_order, fulfilled, price_request
from topup.orders.tables import idempotency_keys, order_events, orders
from topup.subscribers import lines as line_svc
from topup.subscribers.errors import LineNotFound
from topup.subscribers.lines import Line
from topup.subscribers.tables import lines as lines_table


@dataclass(frozen=True)
class TopUp:
    """One staff credit with its Idempotency-Key; ``render`` makes the API's answer body."""

    owner_id: int
    key: str
    path: str
    digest: str
    actor_id: int | None
    line_id: int
    request: OrderRequest
    render: Callable[[Order], Any]

    @property
    def kind(self) -> Kind:
        return TOPUPS


@dataclass
class _Accepted:
    index: int
    cmd: TopUp
    line: Line
    # The operator account the money comes from and the wallet it goes to: -1 until opened,
    # 0 for a command whose accounts are not the usual two (the reference path opens them).
    source: int
    wallet: int
    quote: dict[str, Any] | None = None  # the price quote the order stores (``create_order``'s)


class _TopUps:
    """The batch kind of ``TopUp`` commands."""

    def apply(self, uow: UnitOfWork, commands: Sequence[TopUp]) -> list[Any]:
        out: list[Any] = [None] * len(commands)
        later: list[int] = []
        fast, aside = _screen(uow, list(commands), out, later)
        fast, ids = _lock_and_range(uow, fast, aside, later)
        if fast:
            for item, outcome in zip(fast, _write(uow, fast, ids), strict=True):
                out[item.index] = outcome
        for i in sorted(later):
            out[i] = _reference(uow, commands[i])
        return out

    def __repr__(self) -> str:
        return "TOPUPS"


TOPUPS = _TopUps()


def _reference(uow: UnitOfWork, cmd: TopUp) -> Outcome | TopupError:
    """One command the way a lone request does it, under a savepoint."""

    def work(u: UnitOfWork) -> tuple[int, Any]:
        line = line_svc.get_line(u, cmd.line_id)
        return 201, cmd.render(create_order(u, cmd.actor_id, line, cmd.request))

    try:
        with uow.savepoint():
            return run_in(uow, cmd.owner_id, cmd.key, "POST", cmd.path, cmd.digest, work)
    except TopupError as exc:
        return exc


def _screen(uow: UnitOfWork, cmds: list[TopUp], out: list[Any], later: list[int]
            ) -> tuple[list[_Accepted], set[int]]:
    """Replays and refusals answered, unusual cases set aside; the rest, validated. Also the
    accounts the set-aside ones will move, to lock them with the batch's (see ``_lock``)."""
    stored, by_id, twins = _read(uow, cmds)
    seen_keys: set[tuple[int, str]] = set()
    told: set[int] = set()  # lines whose confirmation in this batch is already written
    accepted: list[_Accepted] = []
    aside: list[_Accepted] = []
    for i, cmd in enumerate(cmds):
        who = (cmd.owner_id, cmd.key)
        if who in seen_keys:
            later.append(i)  # after the first one is written, it replays it
            continue
        seen_keys.add(who)
        try:
            if who in stored:
                out[i] = answer_of(stored[who], cmd.digest)
                continue
            item, simple = _validate(uow, i, cmd, by_id.get(cmd.line_id))
        except TopupError as exc:
            out[i] = exc
            continue
        twin = (cmd.line_id, int(cmd.request.amount or 0), item.line.currency)
        duplicate = not cmd.request.confirm_duplicate and twin in twins
        # A second confirmation of one line in one batch would state the final balance, not
        # its own: one line's later credits with somebody to tell take the reference path.
        notified = item.line.customer_id is not None or bool(item.line.msisdn)
        if not simple or duplicate or (notified and item.line.id in told):
            later.append(i)
            aside.append(item)
            continue
        twins.add(twin)
        if notified:
            told.add(item.line.id)
        accepted.append(item)
    _open_accounts(uow, accepted + aside)
    return accepted, {a for item in aside if item.wallet > 0 for a in (item.source, item.wallet)}


def _read(uow: UnitOfWork, cmds: list[TopUp]
          ) -> tuple[dict[tuple[int, str], Any], dict[int, Line], set[tuple[int, int, str]]]:
    """The batch's reads, sent together (one round trip on PostgreSQL, with BEGIN): the
    stored answers of its keys; its lines, locked (see ``_LINES``); (line, amount, currency)
    of live top-ups inside the duplicate window, for the lines of commands that did not
    confirm a duplicate; and the top-up limits of the (home country, currency) pairs recent
    batches' lines had, which validation then finds read (another pair reads its own)."""
    global _places
    checked = {c.line_id for c in cmds if not c.request.confirm_duplicate}
    reads = [stored_read({c.owner_id for c in cmds}, {c.key for c in cmds}),
             (_LINES, {"ids": sorted({c.line_id for c in cmds})})]
    if checked:
        since = uow.now - timedelta(seconds=uow.settings.duplicate_topup_window_seconds)
        reads.append((_TWINS, {"lines": sorted(checked), "since": since,
                               "live": list(LIVE_STATES)}))
    guesses = _places
    limits = [topup_limit_reads(*pair) for pair in guesses]
    answers = read_together(uow.conn, reads + [r for pair in limits for r in pair])
    ahead = answers[len(reads):]
    for pair, pair_reads in zip(guesses, limits, strict=True):
        learn_topup_limit(uow, *pair, ahead[:len(pair_reads)])
        ahead = ahead[len(pair_reads):]
    keys, found, *recent = answers[:len(reads)]
    by_id = {r.id: Line.of(r) for r in found}
    seen = tuple(dict.fromkeys((line.home_country, line.currency) for line in by_id.values()))
    _places = tuple(dict.fromkeys(seen + guesses))[:_GUESSES]
    twins = {(int(r.line_id), int(r.amount), str(r.currency)) for rows in recent for r in rows}
    return stored_answers(keys), by_id, twins


_GUESSES = 8
_places: tuple[tuple[str | None, str], ...] = ()
"""(home country, currency) of recent batches' lines, newest first: the limits ``_read``
reads ahead (a guess only: validation reads any other pair itself)."""


def _lines(dialect: str) -> Any:
    query = select(lines_table).where(among(dialect, lines_table.c.id, "ids")).order_by(
        lines_table.c.id)
    return query.with_for_update(key_share=True) if dialect == "postgresql" else query


_LINES = Query(_lines)
"""The batch's lines, read first. On PostgreSQL their rows are locked in id order (FOR NO
KEY UPDATE: foreign keys to them still pass) before any account: every writer takes lines,
then accounts, each in id order, and a line's validity and status changes by another
process's batch wait for its COMMIT instead of crossing this one's."""

_TWINS = Query(lambda dialect: select(orders.c.line_id, orders.c.amount, orders.c.currency).where(
    among(dialect, orders.c.line_id, "lines"), orders.c.kind == "topup",
    orders.c.created_at >= bindparam("since"), among(dialect, orders.c.state, "live")))


def _validate(uow: UnitOfWork, index: int, cmd: TopUp, line: Line | None
              ) -> tuple[_Accepted, bool]:
    """The checks of ``create_order``, and whether the batch can write the command itself
    (else the reference path does); its accounts when they are the usual two."""
    if line is None:
        raise LineNotFound()
    req = cmd.request
    line_svc.ensure_usable(line)
    priced, _ = price_request(uow, line, req)
    money = priced.money(priced.subtotal)
    check_method(req, money, None)
    usual = req.kind == "topup" and not req.credit_currency and money.currency == line.currency
    item = _Accepted(index, cmd, line, -1 if usual else 0, -1 if usual else 0,
                     priced.to_json())
    return item, usual and req.method == "manual" and line.status == "active"


def _open_accounts(uow: UnitOfWork, items: list[_Accepted]) -> None:
    """The two accounts of each usual command (-1 until known), opened in one order every
    writer follows — wallets by line, then operator accounts by shard — so that two
    processes creating the same new accounts never wait on each other in a circle."""
    usual = sorted((i for i in items if i.wallet == -1), key=lambda i: i.line.id)
    for item in usual:
        item.wallet = ledger.wallet(uow, item.line.id, item.line.currency)
    shards = uow.settings.ledger_shards
    for item in sorted(usual, key=lambda i: i.line.id % shards):
        item.source = ledger.operator_account(uow, MANUAL_CREDIT,
                                              ledger.money_unit(item.line.currency),
                                              line_id=item.line.id)


def _lock_and_range(uow: UnitOfWork, fast: list[_Accepted], aside: set[int],
                    later: list[int]) -> tuple[list[_Accepted], list[int]]:
    """Lock every account the batch moves, in id order, those of the commands set aside for
    the reference path too (so that two processes' writers never take shared operator
    accounts in crossing orders), and set aside the commands whose accounts would pass their
    range: the reference path refuses them precisely. With the locks, in the same round
    trip, the new orders' ids (one for each of ``fast``: those set aside leave a gap)."""
    if not fast and not aside:
        return fast, []
    held = {a.source for a in fast} | {a.wallet for a in fast} | aside
    reads = [(ledger.LOCK_ACCOUNTS, {"ids": sorted(held)})]
    if fast:
        reads.append(next_ids(orders, len(fast)))
    found, *taken = read_together(uow.conn, reads)
    totals = {r.id: r for r in found}
    debits, credits = _sums(fast)
    too_far = {a for a, d in debits.items() if totals[a].debits_posted + d > MAX_TOTAL}
    too_far |= {a for a, c in credits.items() if totals[a].credits_posted + c > MAX_TOTAL}
    keep = [a for a in fast if a.source not in too_far and a.wallet not in too_far]
    later.extend(a.index for a in fast if a.source in too_far or a.wallet in too_far)
    return keep, taken_ids(uow, taken[0], len(fast)) if fast else []


def _sums(fast: list[_Accepted]) -> tuple[dict[int, int], dict[int, int]]:
    debits: dict[int, int] = {}
    credits: dict[int, int] = {}
    for a in fast:
        amount = int(a.cmd.request.amount or 0)
        debits[a.source] = debits.get(a.source, 0) + amount
        credits[a.wallet] = credits.get(a.wallet, 0) + amount
    return debits, credits


def _write(uow: UnitOfWork, fast: list[_Accepted], ids: list[int]) -> list[Outcome]:
    """Every row of the accepted top-ups (their orders get ``ids``), one multi-row statement
    per table, sent without waiting for each (``pipelined``); then the confirmations, which
    read the new balances."""
    now = uow.now
    made = [_order(a, i, now) for a, i in zip(fast, ids, strict=False)]
    answers = [a.cmd.render(o) for a, o in zip(fast, made, strict=True)]
    with pipelined(uow.conn):
        until = _write_rows(uow, fast, made, answers)
    for a, o in zip(fast, made, strict=True):
        if a.line.customer_id is not None or a.line.msisdn:  # else nobody to tell
            fulfilled(uow, o, max(until, a.line.valid_until or until))
    return [Outcome(201, body, False, encode_body(body)) for body in answers]


def _write_rows(uow: UnitOfWork, fast: list[_Accepted], made: list[Order], answers: list[Any]
                ) -> datetime:
    """The rows themselves (statements that return nothing); the line's new validity."""
    now = uow.now
    insert_rows(uow.conn, orders, _ORDER_COLUMNS, [
        (o.id, o.customer_id, o.line_id, o.amount, o.currency, o.reason, o.method, o.channel,
         a.cmd.actor_id, a.cmd.request.confirm_duplicate, o.quote)
        for a, o in zip(fast, made, strict=True)],
        same={"kind": "topup", "plan_id": None, "fee": 0, "credit_currency": None,
              "credit_amount": None, "fx_rate": None, "state": "fulfilled", "renewal": False,
              "created_at": now, "updated_at": now, "paid_at": now, "fulfilled_at": now})
    # one event per order: created, paid and fulfilled in this one transaction (move_order)
    insert_rows(uow.conn, order_events, ("order_id",), [(o.id,) for o in made],
                same={"at": now, "from_state": None, "to_state": "fulfilled",
                      "note": "manual_credit"})
    insert_rows(uow.conn, audit_log, ("actor_id", "target", "reason", "data"), [
        (a.cmd.actor_id, f"line:{o.line_id}", o.reason,
         {"order_id": o.id, "amount": o.amount, "currency": o.currency})
        for a, o in zip(fast, made, strict=True)],
        same={"at": now, "action": "order.manual_credit"})
    _move_money(uow, fast, made)
    insert_rows(uow.conn, idempotency_keys, ("owner_id", "key", "path", "request_hash",
                                              "response"), [
        (a.cmd.owner_id, a.cmd.key, a.cmd.path, a.cmd.digest, body)
        for a, body in zip(fast, answers, strict=True)],
        same={"method": "POST", "status_code": 201, "created_at": now})
    return _extend_validity(uow, fast)


_ORDER_COLUMNS = ("id", "customer_id", "line_id", "amount", "currency", "reason", "method",
                  "channel", "created_by", "confirmed_duplicate", "quote")


def _order(a: _Accepted, order_id: int, now: datetime) -> Order:
    """The order as ``create_order`` would return it, fulfilled at ``now``."""
    req = a.cmd.request
    return Order(
        id=order_id, customer_id=a.line.customer_id, line_id=a.line.id, kind="topup",
        plan_id=None, amount=int(req.amount or 0), fee=0, currency=a.line.currency,
        credit_currency=None, credit_amount=None, fx_rate=None, method=req.method,
        channel=req.channel, state="fulfilled", reason=(req.reason or "").strip() or None,
        payment_ref=None, next_action=None, bucket_id=None, renewal=False, created_at=now,
        paid_at=now, fulfilled_at=now, quote=a.quote)


def _move_money(uow: UnitOfWork, fast: list[_Accepted], made: list[Order]) -> None:
    """The ledger transfers, then each account's totals moved once by their sum."""
    insert_rows(uow.conn, transfers, ("idempotency_id", "debit_account_id",
                                      "credit_account_id", "unit", "amount", "ref"), [
        (f"order:{o.id}:fund", a.source, a.wallet, ledger.money_unit(o.currency), o.amount,
         f"order:{o.id}") for a, o in zip(fast, made, strict=True)],
        same={"kind": "posted", "pending_id": None, "timeout_at": None, "code": "topup",
              "created_at": uow.now})
    # their rows are locked and their range checked already (``_lock_and_range``)
    ledger.add_to_totals(uow, *_sums(fast))


def _extend_validity(uow: UnitOfWork, fast: list[_Accepted]) -> datetime:
    """A top-up keeps the line valid ``topup_validity_days`` from now (never shortens it);
    returns that date."""
    until = uow.now + timedelta(days=uow.settings.topup_validity_days)
    grow = {a.line.id for a in fast if a.line.valid_until is None or until > a.line.valid_until}
    if grow:  # locked already (``_LINES``)
        send(uow.conn, _EXTEND, {"ids": sorted(grow), "until": until})
    return until


_EXTEND = Query(lambda dialect: update(lines_table).where(
    among(dialect, lines_table.c.id, "ids")).values(valid_until=bindparam("until")))
