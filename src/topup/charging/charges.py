"""Charging requests applied many to a transaction by the database's writer.

A gateway's request is a ``Charge`` command (the Gy server and the HTTP API submit them);
``CHARGES.apply`` takes a whole batch:
1. one read each of the batch's sessions (locked on PostgreSQL, in id order), their answered
   requests, their open grants with the holds and each hold's pending transfer, the lines the
   sessions and the opening requests name, and those lines' buckets and accounts (locked, as
   the usage batch locks them);
2. each request answered in memory, in arrival order, exactly as ``sessions.charge`` answers
   it — the same checks in the same order, commits and holds drawn in the same order from
   running balances — so a session asked twice in one batch sees its first answer; a refusal
   fails that request alone, before anything of it is kept;
3. the rows written with one multi-row statement per table, ids taken for the new sessions,
   grants, transfers and holds in the order ``charge`` would have made them: the same rows,
   the same idempotency ids, each account's totals moved once by their sum.

Decided apart from its writing (``decide``, db/pipeline.py), a batch starts from what the
writer's decisions kept (``_Kept``, the writer's ``Memory``): the open sessions the batches
before left, with their grants and holds, and the books of their lines. Only what is not kept
is read (a session not seen since the memory began, a line's books, retransmitted answers),
and what the batch leaves is kept for the next.

A batch outside the common case (an identifier naming two lines, a line in a group that
shares its plans or a grant holding on a group's bucket, an amount or an account near its
range) is rolled back to a savepoint and applied request by request through the reference
path, ``charge`` under a savepoint each. tests/integration/test_charge_batches.py holds the
two paths to the same rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import or_, select, union
from sqlalchemy.orm import aliased

from topup.catalog import service as catalog
from topup.charging.batch import (
    ACCOUNTS,
    Books,
    accounts_where,
    buckets_where,
    eligible,
    fill_books,
    keep_totals,
)
from topup.charging.service import record_hash
from topup.charging.sessions import (
    HOLD_SLACK,
    MARGIN,
    OPENING,
    QUOTA,
    USED,
    VALIDITY,
    Answer,
    Ask,
    Granted,
    _check,
    _digest,
    _overall,
    admit,
    charge,
    expiry,
    grant_key,
    opening,
)
from topup.charging.tables import (
    HELD,
    buckets,
    charging_grants,
    charging_holds,
    charging_requests,
    charging_sessions,
    usage_records,
)
from topup.db.bulk import (
    Query,
    among,
    captured,
    insert_rows,
    pipelined,
    read_together,
    update_rows,
)
from topup.db.dialect import next_ids, taken_ids
from topup.db.group import Kind
from topup.db.pipeline import Decided, IdCounters, InFlight, Memory, Unsuited
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.ledger import accounts as kinds
from topup.ledger import service as ledger
from topup.ledger.tables import MAX_TOTAL, MAX_TRANSFER, accounts, transfers
from topup.subscribers.errors import LineNotFound
from topup.subscribers.lines import Line, find_line, get_line
from topup.subscribers.tables import line_group_members as members
from topup.subscribers.tables import lines as lines_table


@dataclass(frozen=True)
class Charge:
    """One request as a command for the database's writer (``Database.writer``). An opening
    request (``initial``, ``event``) names its line by id or by ``subscriber`` (ICCID, MSISDN
    or IMSI); its ``country`` falls back to the line's home country."""

    ref: str
    number: int
    request: str
    asks: tuple[Ask, ...]
    subscriber: str | None = None
    line_id: int | None = None
    country: str | None = None
    peer: tuple[str, str] | None = None

    @property
    def kind(self) -> Kind:
        return CHARGES


class _Unusual(Exception):
    """The batch holds something that only the reference path does identically."""


class _Charges:
    """The batch kind of ``Charge`` commands."""

    def apply(self, uow: UnitOfWork, commands: Sequence[Charge]) -> list[Any]:
        try:
            with uow.savepoint():
                return _Batch(uow, list(commands)).run()
        except _Unusual:
            return [_reference(uow, cmd) for cmd in commands]

    def decide(self, uow: UnitOfWork, commands: Sequence[Charge], busy: AbstractSet[Hashable],
               memory: Memory) -> Decided:
        """The batch answered and its rows built in ``uow`` (read-only) from what
        ``memory`` kept and the database, not written (db/pipeline.py): ids from
        ``memory.ids``; ``InFlight`` when a request's session or line is in ``busy``
        (``("session", ref)``, ``("line", id)``), raised before anything kept is changed;
        ``Unsuited`` for what only the reference path does (or a batch that would open an
        account). What the batch leaves is kept in ``memory``; one that raises otherwise may
        leave it half-changed, and goes the plain way, after which the writer forgets it."""
        batch = _Batch(uow, list(commands), memory=memory, busy=busy)
        try:
            with captured(uow.conn) as steps:
                outcomes = batch.run()
        except _Unusual as exc:
            raise Unsuited(str(exc)) from exc
        batch.remember(memory)
        return Decided(outcomes, steps, batch.keys())

    def __repr__(self) -> str:
        return "CHARGES"


CHARGES = _Charges()


def _reference(uow: UnitOfWork, cmd: Charge) -> Answer | TopupError:
    """One request the way a lone one is answered, under a savepoint."""
    try:
        with uow.savepoint():
            line = country = None
            if cmd.request in OPENING:
                if cmd.line_id is not None:
                    line = get_line(uow, cmd.line_id)
                elif cmd.subscriber:
                    line = find_line(uow, cmd.subscriber)
                country = cmd.country or (line.home_country if line else None)
            return charge(uow, cmd.ref, cmd.number, cmd.request, list(cmd.asks), line=line,
                          country=country, peer=cmd.peer)
    except TopupError as exc:
        return exc


# --- what the batch holds in memory -----------------------------------------------------
# Ids of rows made by the batch are None until ``_Batch._take_ids``; strings that name them
# (idempotency ids, record ids) are made when the rows are written.

class _Served(NamedTuple):
    """What the batch needs of a session's line."""

    id: int
    currency: str


@dataclass(eq=False, slots=True)
class _Session:
    id: int | None
    ref: str
    line: _Served
    country: str
    state: str
    last_number: int
    starved: bool
    reauth_at: datetime | None
    peer_host: str | None
    peer_realm: str | None
    new: bool = False
    changed: bool = False
    held: list[_Grant] = field(default_factory=list)  # open grants, oldest first
    used: dict[str, int] = field(default_factory=lambda: dict.fromkeys(USED, 0))
    expires_at: datetime | None = None  # as read
    was: tuple[str, bool, datetime | None] | None = None  # state, starved, reauth_at as read

    def moved(self, now: datetime) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        """The columns of a read session that its requests change, with their new values,
        but for ``last_number``, ``updated_at`` and the counters (always set): only these
        are written, so that no index on one that stays is touched."""
        names: list[str] = []
        values: list[Any] = []
        for name, now_is, was in zip(("state", "starved", "reauth_at"),
                                     (self.state, self.starved, self.reauth_at),
                                     self.was or (None, None, None), strict=True):
            if now_is != was:
                names.append(name)
                values.append(now_is)
        if (expires_at := expiry(now, self.expires_at)) is not None:
            names.append("expires_at")
            values.append(expires_at)
        return tuple(names), tuple(values)


@dataclass(eq=False, slots=True)
class _Pending:
    """A pending transfer a hold made, read or made in this batch."""

    id: int | None
    session: _Session
    debit: int
    credit: int
    unit: str
    amount: int
    code: str
    ref: str | None  # None: the session's (``charging:<session id>``)
    timeout_at: datetime | None  # past it, the hold can only be released
    resolved: bool
    grant: _Grant | None = None  # a new one's: its idempotency id is the grant's key
    name: str = ""  # and this


@dataclass(eq=False, slots=True)
class _Resolution:
    """A post (``amount`` > 0) or void of a pending transfer."""

    id: int | None
    pending: _Pending
    amount: int


@dataclass(eq=False, slots=True)
class _Hold:
    id: int | None
    grant: _Grant
    pending: _Pending
    bucket_id: int | None
    quantity: int
    rate: int | None
    per: int | None


@dataclass(eq=False, slots=True)
class _Grant:
    id: int | None
    session: _Session
    rating_group: int
    unit: str
    granted: int
    used: int | None
    final: bool
    state: str
    closed_at: datetime | None
    holds: list[_Hold] = field(default_factory=list)
    new: bool = False  # made by this batch (inserted whole), else closed by it (updated)


@dataclass(eq=False, slots=True)
class _Use:
    session: _Session
    grant: _Grant
    used: int
    from_buckets: int
    from_money: int
    charged: int


@dataclass
class _Totals:
    """Each account's change, summed over the batch."""

    debits: dict[int, int] = field(default_factory=dict)
    credits: dict[int, int] = field(default_factory=dict)
    debits_pending: dict[int, int] = field(default_factory=dict)
    credits_pending: dict[int, int] = field(default_factory=dict)

    @staticmethod
    def add(into: dict[int, int], account: int, amount: int) -> None:
        into[account] = into.get(account, 0) + amount

    def accounts(self) -> set[int]:
        return (self.debits.keys() | self.credits.keys() | self.debits_pending.keys()
                | self.credits_pending.keys())


# --- the batch's reads ------------------------------------------------------------------

def _served(d: str) -> Any:
    """The lines a batch serves: its sessions' and those its opening requests name."""
    named = select(lines_table.c.id).where(or_(
        among(d, lines_table.c.id, "ids"), among(d, lines_table.c.iccid, "idents"),
        among(d, lines_table.c.msisdn, "idents"), among(d, lines_table.c.imsi, "idents")))
    return union(select(charging_sessions.c.line_id).where(
        among(d, charging_sessions.c.ref, "refs")), named)


def _sessions(d: str) -> Any:
    query = select(
        *(charging_sessions.c[name] for name in (
            "id", "ref", "line_id", "country", "state", "last_number", "starved", "reauth_at",
            "peer_host", "peer_realm", "expires_at", *USED.values())),
        lines_table.c.currency).join(
        lines_table, lines_table.c.id == charging_sessions.c.line_id).where(
        among(d, charging_sessions.c.ref, "refs")).order_by(charging_sessions.c.id)
    return query.with_for_update(of=charging_sessions) if d == "postgresql" else query


_resolution = aliased(transfers)


def _grants(d: str) -> Any:
    """Open grants of the sessions, oldest first, each with its holds in order (a row
    each)."""
    return (
        select(charging_grants.c.id, charging_grants.c.session_id,
               charging_grants.c.rating_group, charging_grants.c.unit,
               charging_grants.c.granted, charging_grants.c.final,
               charging_holds.c.id.label("hold_id"), charging_holds.c.transfer_id,
               charging_holds.c.bucket_id, charging_holds.c.quantity, charging_holds.c.rate,
               charging_holds.c.per, transfers.c.debit_account_id,
               transfers.c.credit_account_id, transfers.c.unit.label("transfer_unit"),
               transfers.c.amount, transfers.c.code, transfers.c.ref,
               transfers.c.timeout_at,
               transfers.c.kind, _resolution.c.id.label("resolution"),
               buckets.c.group_id.label("shared_by"))
        .outerjoin(charging_holds, charging_holds.c.grant_id == charging_grants.c.id)
        .outerjoin(transfers, transfers.c.id == charging_holds.c.transfer_id)
        .outerjoin(_resolution, _resolution.c.pending_id == transfers.c.id)
        .outerjoin(buckets, buckets.c.id == charging_holds.c.bucket_id)
        .where(charging_grants.c.session_id.in_(select(charging_sessions.c.id).where(
            among(d, charging_sessions.c.ref, "refs"))), HELD)
        .order_by(charging_grants.c.id, charging_holds.c.id))


# One pass (one round trip on PostgreSQL), in this order: the sessions locked, the lines
# the opening requests name, whether a served line is in a group, the served lines'
# accounts locked (id order), their buckets, the sessions' open grants.
_SESSIONS = Query(_sessions)
_LINES = Query(lambda d: select(lines_table).where(or_(
    among(d, lines_table.c.id, "ids"), among(d, lines_table.c.iccid, "idents"),
    among(d, lines_table.c.msisdn, "idents"), among(d, lines_table.c.imsi, "idents"))))
_GROUPED = Query(lambda d: select(members.c.line_id).where(
    members.c.line_id.in_(_served(d)), members.c.left_at.is_(None)).limit(1))
_ACCOUNTS = Query(lambda d: accounts_where(d, accounts.c.line_id.in_(_served(d))))
_BUCKETS = Query(lambda d: buckets_where(buckets.c.line_id.in_(_served(d))))
_GRANTS = Query(_grants)
_REQUESTS = Query(lambda d: select(
    charging_requests.c.session_id, charging_requests.c.number,
    charging_requests.c.request_hash, charging_requests.c.answer).where(
    among(d, charging_requests.c.session_id, "ids"),
    among(d, charging_requests.c.number, "numbers")))
"""Answered requests among these sessions and numbers (a superset of the pairs wanted: a
row-value IN would scan the table on SQLite, this one walks the primary key)."""

# --- the batch's writes -----------------------------------------------------------------

_SESSION_COLUMNS = ("id", "ref", "line_id", "country", "state", "last_number", "starved",
                    "peer_host", "peer_realm", "reauth_at", *USED.values())
_SESSION_UPDATE = ("last_number", "updated_at", *USED.values())  # and what ``moved`` names
_GRANT_COLUMNS = ("id", "session_id", "rating_group", "unit", "granted", "used", "final",
                  "state", "closed_at")
_TRANSFER_COLUMNS = ("id", "idempotency_id", "debit_account_id", "credit_account_id", "unit",
                     "amount", "kind", "pending_id", "timeout_at", "code", "ref")
_HOLD_COLUMNS = ("id", "grant_id", "transfer_id", "bucket_id", "quantity", "rate", "per")
_USE_COLUMNS = ("record_id", "request_hash", "line_id", "unit", "quantity", "country",
                "occurred_at", "from_buckets", "from_money", "money_charged", "currency",
                "uncovered")
_REQUEST_COLUMNS = ("session_id", "number", "request_hash", "answer")


_VALIDITY_SECONDS = int(VALIDITY.total_seconds())


class _Account(NamedTuple):
    """An account's totals as a batch kept them (``books.totals`` holds rows like it)."""

    id: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int


KEEP_AT_MOST = 50_000
"""Open sessions or lines past which what the decisions kept is dropped and read again."""


@dataclass(eq=False)
class _Kept:
    """What the decided batches left (this kind's part of the writer's ``Memory``): the open
    sessions with their open grants, holds and pending transfers; the books (buckets, account
    totals, rates, zones) of every line they read; account ids asked of the ledger; the tables
    whose largest id was read (``IdCounters`` continues from it). A batch reads only what is
    not here."""

    sessions: dict[str, _Session] = field(default_factory=dict)
    books: Books = field(default_factory=Books)
    lines: set[int] = field(default_factory=set)  # whose buckets and accounts are in books
    account_ids: dict[tuple[str, str, int], int] = field(default_factory=dict)
    ids_read: set[str] = field(default_factory=set)


class _Batch:
    def __init__(self, uow: UnitOfWork, cmds: list[Charge], *, memory: Memory | None = None,
                 busy: AbstractSet[Hashable] = frozenset()) -> None:
        self.uow = uow
        self.cmds = cmds
        # decided apart from its writing (``_Charges.decide``): ids, and what was kept
        self.ids: IdCounters | None = memory.ids if memory is not None else None
        self.kept: _Kept | None = memory.part(CHARGES, _Kept) if memory is not None else None
        self.busy = busy
        self.now = uow.now
        self.hold_timeout = self.now + VALIDITY + MARGIN + HOLD_SLACK  # of every new hold
        self.sessions: dict[str, _Session] = {}
        self.answered: dict[tuple[str, int], tuple[str, Any]] = {}  # (ref, number) → stored
        self.by_id: dict[int, Line] = {}
        self.by_ident: dict[str, Line] = {}
        self.books = Books() if self.kept is None else self.kept.books
        self.books.starts = {}  # a kept bucket's start was written by the batch that made it
        # what the batch makes, in the order ``charge`` would make it
        self.new_sessions: list[_Session] = []
        self.new_grants: list[_Grant] = []
        self.closed_grants: list[_Grant] = []
        self.moves: list[_Pending | _Resolution] = []
        self.new_holds: list[_Hold] = []
        self.uses: list[_Use] = []
        self.requests: list[tuple[_Session, int, str, str]] = []  # the answer's text
        self.totals = _Totals()
        # see ``_operator``, ``_wallet``
        self.account_ids = {} if self.kept is None else self.kept.account_ids
        self.ids_read: list[str] = []  # tables whose largest id this batch read
        self.shards = uow.settings.ledger_shards  # the operator's accounts, per line

    def run(self) -> list[Any]:
        self._read()
        if self.busy and not self.busy.isdisjoint(self.keys()):
            raise InFlight()
        out: list[Any] = []
        for cmd in self.cmds:
            try:
                out.append(self._one(cmd))
            except TopupError as exc:
                out.append(exc)
        if self.requests:
            self._lock_and_range()
            self._take_ids()
            self._write()
        return out

    def keys(self) -> frozenset[Hashable]:
        """The sessions and lines the batch touches (read after ``_read``)."""
        keys: set[Hashable] = {("session", c.ref) for c in self.cmds}
        keys.update(("line", s.line.id) for s in self.sessions.values())
        keys.update(("line", line.id) for line in self.by_id.values())
        keys.update(("line", line.id) for line in self.by_ident.values())
        return frozenset(keys)

    def _account(self, account: int) -> int:
        """An account id ``ledger`` found; one not made yet (a read-only unit's ``ABSENT``)
        is made by the reference path."""
        if account == ledger.ABSENT and self.uow.readonly:
            raise _Unusual("an account not made yet")
        return account

    def _operator(self, kind: str, unit: str, line_id: int) -> int:
        """``ledger.operator_account`` of the line's shard, asked once per batch."""
        key = (kind, unit, line_id % self.shards)
        found = self.account_ids.get(key)
        if found is None:
            found = self.account_ids[key] = self._account(
                ledger.operator_account(self.uow, kind, unit, line_id=line_id))
        return found

    def _wallet(self, line: _Served) -> int:
        """``ledger.wallet`` of the line in its currency, asked once per batch."""
        key = ("wallet", line.currency, line.id)
        found = self.account_ids.get(key)
        if found is None:
            found = self.account_ids[key] = self._account(
                ledger.wallet(self.uow, line.id, line.currency))
        return found

    def _rate(self, country: str, currency: str, unit: str) -> tuple[int, int] | None:
        """``catalog.oob_rate``, asked once per batch (kept in the books, as the usage
        batch keeps it)."""
        rates, key = self.books.rates, (country, currency, unit)
        if key not in rates:
            rates[key] = catalog.oob_rate(self.uow, country, currency, unit)
        return rates[key]

    # --- reads ---------------------------------------------------------------------------
    def _read(self) -> None:
        conn, kept = self.uow.conn, self.kept
        refs = sorted({c.ref for c in self.cmds})
        if kept is not None:  # sessions kept are as the batches before left them
            self.sessions.update((ref, kept.sessions[ref]) for ref in refs
                                 if ref in kept.sessions)
            refs = [ref for ref in refs if ref not in self.sessions]
        opening_ids = sorted({c.line_id for c in self.cmds
                              if c.request in OPENING and c.line_id})
        idents = sorted({_ident(c.subscriber) for c in self.cmds if c.request in OPENING
                         and c.line_id is None and c.subscriber})
        if refs or opening_ids or idents:
            self._read_rows({"refs": refs, "ids": opening_ids, "idents": idents})
        # Only a number a session has reached can have been answered already.
        asked = sorted({(int(s.id or 0), c.number) for c in self.cmds
                        if (s := self.sessions.get(c.ref)) is not None
                        and isinstance(c.number, int) and c.number <= s.last_number})
        if asked:
            by_sid = {s.id: s.ref for s in self.sessions.values()}
            wanted = set(asked)
            stored, = read_together(conn, [(_REQUESTS, {
                "ids": sorted({i for i, _ in asked}), "numbers": sorted({n for _, n in asked})})])
            for q in stored:
                if (int(q.session_id), int(q.number)) in wanted:
                    self.answered[(by_sid[int(q.session_id)], int(q.number))] = (
                        str(q.request_hash), q.answer)

    def _read_rows(self, names: dict[str, list[Any]]) -> None:
        """The sessions ``refs`` names, the lines the opening requests name, and the books of
        the lines they serve but for those kept. Books read are kept from here on, but never
        those of a line the batch in flight writes (``InFlight`` before they are), so what is
        kept of a line is always as the decided batches left it. (An operator's account read
        by ``_lock_and_range`` may lag by the batch in flight, as any read would: its totals
        only bound the range check.)"""
        rows, named, grouped, totals, held, grants = read_together(self.uow.conn, [
            (_SESSIONS, names), (_LINES, names), (_GROUPED, names), (_ACCOUNTS, names),
            (_BUCKETS, names), (_GRANTS, names)])
        self._keep_lines(named, set(names["idents"]))
        for r in rows:
            self.sessions[str(r.ref)] = _Session(
                int(r.id), str(r.ref), _Served(int(r.line_id), str(r.currency)),
                str(r.country), str(r.state), int(r.last_number), bool(r.starved),
                r.reauth_at, r.peer_host, r.peer_realm,
                used={unit: int(getattr(r, name)) for unit, name in USED.items()},
                expires_at=r.expires_at, was=(str(r.state), bool(r.starved), r.reauth_at))
        if grouped:
            raise _Unusual("a line shares its group's plans")
        kept = self.kept
        if kept is None:
            fill_books(self.books, totals, held)
        else:
            served = {int(r.line_id) for r in rows} | {line.id for line in named}
            if any(("line", line) in self.busy for line in served):
                raise InFlight()  # its rows as read miss that batch's: keep none of them
            fill_books(self.books, [a for a in totals if a.id not in self.books.totals],
                       [b for b in held if int(b.line_id) not in kept.lines])
            kept.lines |= served
        self._keep_grants(grants, {int(r.id): self.sessions[str(r.ref)] for r in rows})

    def _keep_lines(self, rows: Sequence[Any], idents: set[str]) -> None:
        for row in rows:
            line = Line.of(row)
            self.by_id[line.id] = line
            for ident in (line.iccid, line.msisdn, line.imsi):
                if ident is None or ident not in idents:
                    continue
                if ident in self.by_ident and self.by_ident[ident].id != line.id:
                    raise _Unusual("an identifier names two lines")
                self.by_ident[ident] = line

    def _keep_grants(self, rows: Sequence[Any], by_sid: dict[int, _Session]) -> None:
        grant: _Grant | None = None
        for r in rows:
            if grant is None or grant.id != r.id:
                session = by_sid[int(r.session_id)]
                grant = _Grant(int(r.id), session, int(r.rating_group), str(r.unit),
                               int(r.granted), None, bool(r.final), "held", None)
                session.held.append(grant)
            if r.hold_id is None:
                continue
            if r.shared_by is not None:  # its use is counted for the line: the reference path
                raise _Unusual("a grant holds on a group's bucket")
            pending = _Pending(int(r.transfer_id), grant.session, int(r.debit_account_id),
                               int(r.credit_account_id), str(r.transfer_unit), int(r.amount),
                               str(r.code), r.ref, r.timeout_at,
                               r.kind != "pending" or r.resolution is not None)
            grant.holds.append(_Hold(int(r.hold_id), grant, pending,
                                     None if r.bucket_id is None else int(r.bucket_id),
                                     int(r.quantity), r.rate, r.per))

    # --- one request, as ``charge`` answers it -----------------------------------------
    def _one(self, cmd: Charge) -> Answer:
        line: Line | None = None
        country = None
        if cmd.request in OPENING:
            if cmd.line_id is not None:
                line = self.by_id.get(cmd.line_id)
                if line is None:
                    raise LineNotFound()
            elif cmd.subscriber:
                line = self.by_ident.get(_ident(cmd.subscriber))
                if line is None:
                    raise LineNotFound()
            country = cmd.country or (line.home_country if line else None)
        ref, number, kind, asks = cmd.ref, cmd.number, cmd.request, list(cmd.asks)
        _check(ref, number, kind, asks)
        digest = _digest(kind, asks, line.id if line else None, country)
        session = self.sessions.get(ref)
        replay = admit(ref, number, kind, digest,
                       (session.state, session.last_number) if session is not None else None,
                       self.answered.get((ref, number)) if session is not None else None)
        if replay is not None:
            return replay
        if session is None:
            opened, where = opening(kind, line, country, asks)
            session = self._open(ref, number, opened, where, cmd.peer)
        grants = [self._answer_ask(session, number, kind, ask) for ask in asks]
        if kind == "terminate":
            for open_grant in list(session.held):
                self._close(session, open_grant, 0)
        answer = Answer(ref, number, _overall(grants), tuple(grants))
        self._finish(session, number, kind, digest, answer)
        return answer

    def _open(self, ref: str, number: int, line: Line, country: str,
              peer: tuple[str, str] | None) -> _Session:
        session = _Session(None, ref, _Served(line.id, line.currency), country, "open",
                           number, False, None,
                           peer[0] if peer else None, peer[1] if peer else None, new=True)
        self.sessions[ref] = session
        self.new_sessions.append(session)
        return session

    def _answer_ask(self, session: _Session, number: int, kind: str, ask: Ask) -> Granted:
        for open_grant in [g for g in session.held if g.rating_group == ask.rating_group]:
            self._close(session, open_grant, ask.used)
        if kind == "terminate" or ask.requested == 0:
            return Granted(ask.rating_group, ask.unit, "success", 0, 0, False)
        want = ask.requested if ask.requested is not None else QUOTA[ask.unit]
        granted = self._hold(session, ask.rating_group, ask.unit, want)
        if kind != "event":
            return granted
        whole = granted.granted == want
        for held in [g for g in session.held if g.rating_group == ask.rating_group]:
            self._close(session, held, want if whole else 0)
        if whole:
            return Granted(ask.rating_group, ask.unit, "success", want, 0, False)
        result = "credit_limit_reached" if granted.result == "success" else granted.result
        return Granted(ask.rating_group, ask.unit, result, 0, 0, True)

    def _finish(self, session: _Session, number: int, kind: str, digest: str,
                answer: Answer) -> None:
        self.answered[(session.ref, number)] = (digest, answer)
        self.requests.append((session, number, digest, answer.as_text()))
        starved = any(g.final or g.result == "credit_limit_reached" for g in answer.grants)
        session.last_number = number
        session.starved = starved
        if not starved:
            session.reauth_at = None
        if kind in ("terminate", "event"):
            session.state = "closed"
        session.changed = True

    # --- grants and holds ----------------------------------------------------------------
    def _hold(self, session: _Session, rating_group: int, unit: str, want: int) -> Granted:
        uow, books, at, line = self.uow, self.books, self.now, session.line
        grant = _Grant(None, session, rating_group, unit, 0, None, False, "held", None,
                       new=True)
        self.new_grants.append(grant)
        session.held.append(grant)
        timeout_at = self.hold_timeout
        left = want
        drawable = eligible(uow, books, line.id, unit, session.country, at)
        for b in drawable:
            if left == 0:
                break
            take = min(books.available[b.account_id], left)
            if take <= 0:
                continue
            if b.valid_from is None:  # a first-use plan starts with the session that uses it
                b.valid_from, b.expires_at = at, at + timedelta(days=b.validity_days)
                books.starts[b.id] = (b.valid_from, b.expires_at)
            consumed = self._operator(kinds.CONSUMED, unit, line.id)
            pending = self._pend(session, grant, f":bucket:{b.id}", b.account_id, consumed,
                                 unit, take, "usage_hold", timeout_at)
            self._add_hold(_Hold(None, grant, pending, b.id, take, None, None))
            left -= take
        rate = self._rate(session.country, line.currency, unit) if left else None
        if rate is not None:
            per_unit, per = rate
            wallet = self._wallet(line)
            available = books.available.setdefault(wallet, 0)  # a wallet opened now is empty
            cost = catalog.oob_charge(per_unit, per, left)
            covered = left if cost <= available else available * per // per_unit
            if covered > 0:
                mu = ledger.money_unit(line.currency)
                revenue = self._operator(kinds.REVENUE_USAGE, mu, line.id)
                pending = self._pend(session, grant, ":money", wallet, revenue, mu,
                                     cost if covered == left
                                     else catalog.oob_charge(per_unit, per, covered),
                                     "usage_oob_hold", timeout_at)
                self._add_hold(_Hold(None, grant, pending, None, covered, per_unit, per))
                left -= covered
        granted = want - left
        if granted == 0:
            result = "rating_failed" if not drawable and rate is None else "credit_limit_reached"
            grant.state, grant.used, grant.final, grant.closed_at = "closed", 0, True, at
            session.held.remove(grant)
            return Granted(rating_group, unit, result, 0, 0, True)
        grant.granted, grant.final = granted, left > 0
        return Granted(rating_group, unit, "success", granted, _VALIDITY_SECONDS, left > 0)

    def _pend(self, session: _Session, grant: _Grant, name: str, debit: int, credit: int,
              unit: str, amount: int, code: str, timeout_at: datetime) -> _Pending:
        if amount > MAX_TRANSFER:
            raise _Unusual("a transfer past its range")
        pending = _Pending(None, session, debit, credit, unit, amount, code, None, timeout_at,
                           False, grant, name)
        self.moves.append(pending)
        self.books.available[debit] -= amount
        _Totals.add(self.totals.debits_pending, debit, amount)
        _Totals.add(self.totals.credits_pending, credit, amount)
        return pending

    def _add_hold(self, hold: _Hold) -> None:
        hold.grant.holds.append(hold)
        self.new_holds.append(hold)

    def _close(self, session: _Session, grant: _Grant, used: int) -> None:
        """Commit ``used`` units of ``grant`` from its holds in order, release the rest,
        record the use (``sessions._close``)."""
        left = min(used, grant.granted)
        from_buckets = from_money = charged = 0
        for hold in grant.holds:
            if hold.pending.resolved:
                continue  # released by the ledger already: it covers nothing
            # a hold past its timeout can only be released: what it covered goes uncovered
            timeout_at = hold.pending.timeout_at
            expired = timeout_at is not None and self.now >= timeout_at
            take = 0 if expired else min(left, hold.quantity)
            cost = take if hold.bucket_id is not None else (
                catalog.oob_charge(int(hold.rate or 0), int(hold.per or 0), take) if take else 0)
            self._resolve(hold.pending, cost)
            if hold.bucket_id is not None:
                from_buckets += take
            else:
                from_money += take
                charged += cost
            left -= take
        grant.state, grant.used, grant.closed_at = "closed", used, self.now
        session.held.remove(grant)
        if not grant.new:
            self.closed_grants.append(grant)
        if used:
            session.used[grant.unit] += used
            self.uses.append(_Use(session, grant, used, from_buckets, from_money,
                                  charged))

    def _resolve(self, pending: _Pending, amount: int) -> None:
        """Post ``amount`` of ``pending`` (0: void it), as ``ledger.post_pending`` would."""
        if amount > pending.amount:
            raise _Unusual("a post beyond its hold")
        pending.resolved = True
        self.moves.append(_Resolution(None, pending, amount))
        t = self.totals
        _Totals.add(t.debits_pending, pending.debit, -pending.amount)
        _Totals.add(t.credits_pending, pending.credit, -pending.amount)
        if amount:
            _Totals.add(t.debits, pending.debit, amount)
            _Totals.add(t.credits, pending.credit, amount)
        if pending.debit in self.books.available:
            self.books.available[pending.debit] += pending.amount - amount

    # --- locks, ids and rows -------------------------------------------------------------
    def _lock_and_range(self) -> None:
        """Lock the operator accounts the batch moves (id order, after the lines' own), and
        hand the batch to the reference path when a total would pass its range."""
        books, t = self.books, self.totals
        others = sorted(t.accounts() - set(books.totals))
        if others:
            keep_totals(books, read_together(self.uow.conn, [(ACCOUNTS, {"ids": others})])[0])
        for account in t.accounts():
            row = books.totals.get(account)
            if row is None:
                raise _Unusual("an account the batch did not read")
            for name, deltas in (("debits_posted", t.debits), ("credits_posted", t.credits),
                                 ("debits_pending", t.debits_pending),
                                 ("credits_pending", t.credits_pending)):
                if getattr(row, name) + max(deltas.get(account, 0), 0) > MAX_TOTAL:
                    raise _Unusual("an account near its range")

    def _take_ids(self) -> None:
        """Ids for the rows the batch makes, in the order it made them (one round trip; none
        for a table whose largest id the decisions kept read already: only their batches
        have written since, with ids from ``self.ids``)."""
        made = [(table, items) for table, items in (
            (charging_sessions, self.new_sessions), (charging_grants, self.new_grants),
            (transfers, self.moves), (charging_holds, self.new_holds)) if items]
        known = self.kept.ids_read if self.kept is not None else set()
        unread = [(table, items) for table, items in made if table.name not in known]
        taken = dict(zip((table.name for table, _ in unread), read_together(
            self.uow.conn, [next_ids(table, len(items)) for table, items in unread]),
            strict=True))
        self.ids_read = list(taken)
        for table, items in made:
            seq: Sequence[Any] = items
            if self.ids is None:
                new_ids: Sequence[int] = taken_ids(self.uow, taken[table.name], len(seq))
            else:
                read = taken.get(table.name)
                new_ids = self.ids.take(table.name, int(read[0][0]) if read else 0, len(seq))
            for item, new_id in zip(seq, new_ids, strict=True):
                item.id = new_id

    def remember(self, memory: Memory) -> None:
        """Keep what the batch leaves as its rows will be once written: its open sessions
        (a closed one is dropped) with their grants, holds and pending transfers, each
        account's totals moved by the batch's sums."""
        kept, now = self.kept, self.now
        assert kept is not None
        for s in self.sessions.values():
            if s.changed:  # as ``_write`` wrote it
                s.expires_at = now + VALIDITY + MARGIN if s.new \
                    else expiry(now, s.expires_at) or s.expires_at
                s.was, s.new, s.changed = (s.state, s.starved, s.reauth_at), False, False
                for g in s.held:
                    g.new = False
            if s.state == "open":
                kept.sessions[s.ref] = s
            else:
                kept.sessions.pop(s.ref, None)
        books, t = self.books, self.totals
        if books.starts:  # a plan started by one unit is started for its others (a row each)
            for line in {s.line.id for s in self.sessions.values()}:
                for unit in USED:
                    for b in books.buckets.get((line, unit), ()):
                        if b.valid_from is None and b.id in books.starts:
                            b.valid_from, b.expires_at = books.starts[b.id]
        for account in t.accounts():
            row = books.totals[account]
            moved = _Account(
                account, row.debits_posted + t.debits.get(account, 0),
                row.credits_posted + t.credits.get(account, 0),
                row.debits_pending + t.debits_pending.get(account, 0),
                row.credits_pending + t.credits_pending.get(account, 0))
            books.totals[account] = moved
            books.available[account] = (moved.credits_posted - moved.debits_posted
                                        - moved.debits_pending)
        kept.ids_read.update(self.ids_read)
        if len(kept.sessions) > KEEP_AT_MOST or len(kept.lines) > KEEP_AT_MOST:
            memory.forget()

    def _write(self) -> None:
        uow, now = self.uow, self.now
        conn = uow.conn
        with pipelined(conn):
            if self.new_sessions:
                insert_rows(conn, charging_sessions, _SESSION_COLUMNS, [
                    (s.id, s.ref, s.line.id, s.country, s.state, s.last_number, s.starved,
                     s.peer_host, s.peer_realm, s.reauth_at, *s.used.values())
                    for s in self.new_sessions],
                    same={"created_at": now, "updated_at": now,
                          "expires_at": now + VALIDITY + MARGIN})
            shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
            for s in self.sessions.values():
                if s.changed and not s.new:
                    names, values = s.moved(now)
                    shapes.setdefault(names, []).append(
                        (s.id, s.last_number, now, *s.used.values(), *values))
            for names, rows in shapes.items():
                update_rows(conn, charging_sessions, "id", (*_SESSION_UPDATE, *names), rows)
            if self.new_grants:
                insert_rows(conn, charging_grants, _GRANT_COLUMNS, [
                    (g.id, g.session.id, g.rating_group, g.unit, g.granted, g.used, g.final,
                     g.state, g.closed_at) for g in self.new_grants],
                    same={"valid_until": now + VALIDITY, "created_at": now})
            if self.closed_grants:
                update_rows(conn, charging_grants, "id", ("state", "used", "closed_at"), [
                    (g.id, "closed", g.used, now) for g in self.closed_grants])
            if self.moves:
                insert_rows(conn, transfers, _TRANSFER_COLUMNS,
                            [_transfer_row(m) for m in self.moves], same={"created_at": now})
            if self.new_holds:
                insert_rows(conn, charging_holds, _HOLD_COLUMNS, [
                    (h.id, h.grant.id, h.pending.id, h.bucket_id, h.quantity, h.rate, h.per)
                    for h in self.new_holds])
            if self.uses:
                insert_rows(conn, usage_records, _USE_COLUMNS, [
                    _use_row(u, now) for u in self.uses], same={"created_at": now})
            insert_rows(conn, charging_requests, _REQUEST_COLUMNS, [
                (s.id, number, digest, text) for s, number, digest, text in self.requests],
                same={"created_at": now}, raw=("answer",))
            if self.books.starts:
                update_rows(conn, buckets, "id", ("valid_from", "expires_at"), [
                    (b, start, end) for b, (start, end) in sorted(self.books.starts.items())])
            t = self.totals
            ledger.add_to_totals(uow, t.debits, t.credits, debits_pending=t.debits_pending,
                                 credits_pending=t.credits_pending)


def _transfer_row(move: _Pending | _Resolution) -> tuple[Any, ...]:
    if isinstance(move, _Pending):
        assert move.grant is not None and move.grant.id is not None  # a new one's
        return (move.id, grant_key(move.grant.id) + move.name, move.debit, move.credit,
                move.unit, move.amount, "pending", None, move.timeout_at, move.code,
                f"charging:{move.session.id}")
    p = move.pending
    ref = p.ref if p.ref is not None else f"charging:{p.session.id}"
    if move.amount:
        return (move.id, f"charging:post:{p.id}", p.debit, p.credit, p.unit, move.amount,
                "post_pending", p.id, None, p.code, ref)
    return (move.id, f"charging:void:{p.id}", p.debit, p.credit, p.unit, p.amount,
            "void_pending", p.id, None, p.code, ref)


def _use_row(u: _Use, at: datetime) -> tuple[Any, ...]:
    s, g, line = u.session, u.grant, u.session.line
    assert g.id is not None
    return (grant_key(g.id),
            record_hash(line.id, g.unit, u.used, s.country, at), line.id, g.unit, u.used,
            s.country, at, u.from_buckets, u.from_money, u.charged,
            line.currency if u.charged else None, u.used - u.from_buckets - u.from_money)


def _ident(subscriber: str) -> str:
    return subscriber.strip().lstrip("+")


__all__ = ["CHARGES", "Charge"]
