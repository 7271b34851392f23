"""Online charging: a gateway reserves units before a traveller uses them.

A session is the gateway's (a Diameter Session-Id, or the ref the REST API hands out); each of
its requests carries a number and, per rating group, the units used since the last grant and
the units wanted next (``Ask``). ``charge`` answers one request:

- **initial**: the session opens on a line, in the country serving it; each rating group gets
  a grant;
- **update**: each rating group's open grant is closed at what was used (committed), and a
  new grant is made;
- **terminate**: what was used is committed, everything held is released, the session closes;
- **event**: a one-shot charge (an SMS, say): each rating group's requested units are debited
  whole, at once, or not at all (``credit_limit_reached``), and the session is closed.

A grant holds units the way usage draws them (``service.drawing_order``: the line's buckets
— and its group's, up to its cap — whose zone covers the country, soonest expiry first, then
first-use buckets, which start now), then money from the line's wallet at the out-of-bundle
rate, each as a pending ledger transfer (``charging_holds``). What is granted is the smaller
of what was asked (or the unit's default quota) and what the balance allows; a grant smaller
than asked is ``final``: the gateway lets the traveller use it and then asks again, to be
refused with ``credit_limit_reached``. Closing a grant posts what was used from its holds in
their order, partially, and releases the rest; the use is recorded as a usage record, as the
network's after-the-fact reports are. A request number answered once is answered the same
way again and moves nothing; the same number with other contents is refused. A session the
gateway stops talking to is released by ``release_silent`` once its last grant's validity
and a margin have passed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from json.encoder import encode_basestring_ascii as _text
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import aliased

from topup.catalog import service as catalog
from topup.charging.buckets import line_buckets
from topup.charging.digest import request_digest
from topup.charging.errors import (
    ChargingRequestConflict,
    ChargingSessionClosed,
    ChargingSessionNotFound,
    InvalidChargingRequest,
)
from topup.charging.groups import note_use, share_of, shared_left
from topup.charging.service import UNITS, check_record, record_hash
from topup.charging.service import _eligible as eligible_buckets
from topup.charging.tables import (
    HELD,
    buckets,
    charging_grants,
    charging_holds,
    charging_requests,
    charging_sessions,
    usage_records,
)
from topup.db.uow import UnitOfWork
from topup.ledger import accounts as kinds
from topup.ledger import service as ledger
from topup.ledger.tables import transfers
from topup.subscribers.lines import Line, ensure_usable, get_line

KINDS = ("initial", "update", "terminate", "event")
OPENING = ("initial", "event")  # kinds that name a new session
QUOTA = {"data": 10 * 1024 * 1024, "voice": 300, "sms": 1}  # units granted when none are named
VALIDITY = timedelta(minutes=10)  # every grant is valid this long, then asked again
MARGIN = timedelta(minutes=5)  # a session silent past its validity and this is released
HOLD_SLACK = timedelta(hours=1)  # holds outlive their session's release by this much
USED = {"data": "used_data", "voice": "used_voice", "sms": "used_sms"}  # a session's counters
# A session's ``expires_at`` (``VALIDITY`` + ``MARGIN`` after its last request) is moved when
# it would move by this much or more: a session asked every few seconds then changes its row
# but not the index of expiries each time, and is released between ``MARGIN`` less this and
# ``MARGIN`` after its last grant ran out.
EXPIRY_STEP = timedelta(minutes=1)
MAX_QUANTITY = 2**40  # units one request may ask for or report


def expiry(now: datetime, current: datetime | None) -> datetime | None:
    """A session's new ``expires_at`` after a request answered at ``now``; None: keep
    ``current``."""
    due = now + VALIDITY + MARGIN
    return due if current is None or due - current >= EXPIRY_STEP else None


def grant_key(grant_id: int) -> str:
    """What a grant moves is named after it: its holds' transfers are this plus ``:money``
    or ``:bucket:<id>``, the usage record of what it committed is this. Grant ids rise with
    time, so a batch's new names sit together at the end of the unique indexes rather than
    each on a page of its own session's (as ``<session>:<number>:<rating group>`` did)."""
    return f"charging:grant:{grant_id}"


@dataclass(frozen=True)
class Ask:
    """One rating group of a request: units ``used`` since its last grant (update and
    terminate) and units ``requested`` next (None: the unit's default quota; 0: none)."""

    rating_group: int
    unit: str
    used: int = 0
    requested: int | None = None


@dataclass(frozen=True)
class Granted:
    """The answer for one rating group. ``result`` is ``success``, ``credit_limit_reached``
    (nothing left to hold) or ``rating_failed`` (no bucket and no rate for it here)."""

    rating_group: int
    unit: str
    result: str
    granted: int
    validity_seconds: int
    final: bool


@dataclass(frozen=True)
class Answer:
    """The answer to one request: ``result`` is ``success`` unless every rating group asked
    for failed, then that failure."""

    ref: str
    number: int
    result: str
    grants: tuple[Granted, ...]

    def as_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "number": self.number, "result": self.result,
                "grants": [{"rating_group": g.rating_group, "unit": g.unit, "result": g.result,
                            "granted": g.granted, "validity_seconds": g.validity_seconds,
                            "final": g.final} for g in self.grants]}  # ``asdict``, sooner

    def as_text(self) -> str:
        """``json.dumps(self.as_json())``, the text an ``insert()`` stores, written straight
        for the usual types (the writer stores one per request)."""
        if type(self.ref) is str and type(self.number) is int and type(self.result) is str:
            grants = []
            for g in self.grants:
                if type(g.rating_group) is not int or type(g.unit) is not str \
                        or type(g.result) is not str or type(g.granted) is not int \
                        or type(g.validity_seconds) is not int or type(g.final) is not bool:
                    break
                grants.append(
                    f'{{"rating_group": {g.rating_group}, "unit": {_text(g.unit)}, '
                    f'"result": {_text(g.result)}, "granted": {g.granted}, '
                    f'"validity_seconds": {g.validity_seconds}, '
                    f'"final": {"true" if g.final else "false"}}}')
            else:
                return (f'{{"ref": {_text(self.ref)}, "number": {self.number}, '
                        f'"result": {_text(self.result)}, "grants": [{", ".join(grants)}]}}')
        return json.dumps(self.as_json())

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> Answer:
        return cls(data["ref"], int(data["number"]), data["result"],
                   tuple(Granted(**g) for g in data["grants"]))


def charge(uow: UnitOfWork, ref: str, number: int, kind: str, asks: list[Ask], *,
           line: Line | None = None, country: str | None = None,
           peer: tuple[str, str] | None = None) -> Answer:
    """Answer request ``number`` of session ``ref`` (see the module's docstring). ``line``
    and ``country`` are needed to open the session (``initial``) and ignored after;
    ``peer``, a Diameter gateway's (Origin-Host, Origin-Realm), is kept to re-authorize
    the session (``to_reauthorize``)."""
    _check(ref, number, kind, asks)
    digest = _digest(kind, asks, line.id if line else None, country)
    session = _locked(uow, ref)
    stored = None
    if session is not None:
        row = uow.conn.execute(select(charging_requests).where(
            charging_requests.c.session_id == session.id,
            charging_requests.c.number == number)).first()
        stored = (row.request_hash, row.answer) if row is not None else None
    replay = admit(ref, number, kind, digest,
                   (session.state, session.last_number) if session is not None else None,
                   stored)
    if replay is not None:
        return replay
    if session is None:
        opened, where = opening(kind, line, country, asks)
        session = _open(uow, ref, number, opened, where, peer)
    line_row = uow.conn.execute(select(charging_sessions.c.line_id).where(
        charging_sessions.c.id == session.id)).scalar_one()
    served = line if line is not None and line.id == line_row else _line(uow, int(line_row))
    grants = [_answer_ask(uow, session, served, number, kind, ask) for ask in asks]
    if kind == "terminate":
        for open_grant in _held(uow, session.id):
            _close(uow, session, served, open_grant, 0)
    answer = Answer(ref, number, _overall(grants), tuple(grants))
    _finish(uow, session, number, kind, digest, answer)
    return answer


def release_silent(uow: UnitOfWork, limit: int = 500) -> int:
    """Release the sessions nobody has asked about since their last grant's validity and
    ``MARGIN`` ran out: every hold voided, nothing committed. Returns how many."""
    refs = uow.conn.execute(select(charging_sessions.c.ref).where(
        charging_sessions.c.state == "open", charging_sessions.c.expires_at <= uow.now)
        .order_by(charging_sessions.c.id).limit(limit)).scalars().all()
    for ref in refs:
        session = _locked(uow, ref)
        if session is None or session.state != "open" or session.expires_at > uow.now:
            continue  # answered meanwhile
        for grant in _held(uow, session.id):
            for hold in _holds(uow, grant.id):
                if hold.resolution is not None:
                    continue
                ledger.void_pending(uow, f"charging:void:{hold.transfer_id}", hold.transfer_id)
            uow.conn.execute(update(charging_grants).where(charging_grants.c.id == grant.id)
                             .values(state="closed", used=0, closed_at=uow.now))
        uow.conn.execute(update(charging_sessions).where(charging_sessions.c.id == session.id)
                         .values(state="expired", updated_at=uow.now))
    return len(refs)


@dataclass(frozen=True)
class Reauthorize:
    """A session to ask its gateway to re-authorize (a Diameter RAR)."""

    session_id: int
    ref: str
    peer_host: str
    peer_realm: str


def to_reauthorize(uow: UnitOfWork, limit: int = 100) -> list[Reauthorize]:
    """Open Diameter sessions left short by their last answer (a final quota, or none) whose
    line has something to grant again (money in its wallet, units in a plan of its own or of
    its group), and that were not asked since: after a top-up, the gateway is told to ask
    again at once."""
    rows = uow.conn.execute(select(charging_sessions).where(
        charging_sessions.c.state == "open", charging_sessions.c.starved.is_(True),
        charging_sessions.c.peer_host.is_not(None), charging_sessions.c.reauth_at.is_(None))
        .order_by(charging_sessions.c.id).limit(limit)).all()
    out = []
    for r in rows:
        money = any(b.available > 0 for b in ledger.wallets(uow, int(r.line_id)).values())
        units = any(u["remaining"] > 0 for b in line_buckets(uow, int(r.line_id))
                    for u in b.units.values()) or shared_left(uow, int(r.line_id))
        if money or units:
            out.append(Reauthorize(int(r.id), str(r.ref), str(r.peer_host), str(r.peer_realm)))
    return out


def reauthorized(uow: UnitOfWork, session_id: int) -> None:
    """Note that the gateway of ``session_id`` was asked to re-authorize it."""
    uow.conn.execute(update(charging_sessions).where(charging_sessions.c.id == session_id)
                     .values(reauth_at=uow.now))


@dataclass(frozen=True)
class LiveSession:
    """An open session of a line as staff see it: units held now and used so far, per unit."""

    ref: str
    country: str
    created_at: datetime
    updated_at: datetime
    held: dict[str, int]
    used: dict[str, int]


def live_sessions(uow: UnitOfWork, line_id: int) -> list[LiveSession]:
    """The line's open sessions, newest first."""
    rows = uow.conn.execute(select(charging_sessions).where(
        charging_sessions.c.line_id == line_id, charging_sessions.c.state == "open")
        .order_by(charging_sessions.c.id.desc())).all()
    grants = uow.conn.execute(select(charging_grants).where(
        charging_grants.c.session_id.in_([r.id for r in rows]), HELD)).all() if rows else []
    out = []
    for r in rows:
        held: dict[str, int] = {}
        for g in grants:
            if g.session_id == r.id:
                held[g.unit] = held.get(g.unit, 0) + int(g.granted)
        used = {unit: int(n) for unit, name in USED.items() if (n := getattr(r, name))}
        out.append(LiveSession(str(r.ref), str(r.country), r.created_at, r.updated_at, held,
                               used))
    return out


def held_now(uow: UnitOfWork, line_id: int) -> dict[str, int]:
    """Units held by the line's open sessions, per unit (what a traveller's remaining
    balance already leaves out)."""
    out: dict[str, int] = {}
    for session in live_sessions(uow, line_id):
        for unit, held in session.held.items():
            out[unit] = out.get(unit, 0) + held
    return out


def ask_of(rating_group: int, requested: Any, used: Sequence[Any], fields: Mapping[str, str],
           *, wanted: bool = True, where: str | None = None) -> Ask:
    """The ``Ask`` of one rating group as a gateway sends it: its units come as objects with
    an attribute per kind of unit (``fields``: attribute name → unit), ``requested`` (None:
    nothing more wanted; no attribute set: the unit's default quota) and ``used`` (summed).
    A rating group counts one kind of unit, data when it names none. ``wanted=False`` (a
    release, a termination) asks for nothing more."""
    units = {unit for c in [requested, *used] if c is not None
             for name, unit in fields.items() if getattr(c, name, None) is not None}
    if len(units) > 1:
        raise InvalidChargingRequest("a rating group counts one kind of unit", field=where)
    unit = units.pop() if units else "data"
    name = next(n for n, u in fields.items() if u == unit)
    spent = sum(int(getattr(c, name, None) or 0) for c in used)
    asked: int | None = 0
    if requested is not None and wanted:
        value = getattr(requested, name, None)
        asked = int(value) if value is not None else None
    return Ask(int(rating_group or 0), unit, used=spent, requested=asked)


# --- one request ------------------------------------------------------------------------

def _check(ref: str, number: int, kind: str, asks: list[Ask]) -> None:
    if kind not in KINDS:
        raise InvalidChargingRequest(f"kind is one of {', '.join(KINDS)}", field="kind")
    if not ref or len(ref) > 200:
        raise InvalidChargingRequest("a session ref has 1 to 200 characters", field="ref")
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 2**31:
        raise InvalidChargingRequest("a request number is 0 to 2^31-1", field="number")
    if not asks and kind != "terminate":
        raise InvalidChargingRequest("a request asks for at least one rating group",
                                     field="asks")
    seen: set[int] = set()
    for ask in asks:
        if ask.unit not in UNITS:
            raise InvalidChargingRequest(f"unit is one of {', '.join(UNITS)}", field="unit")
        if ask.rating_group in seen or not 0 <= ask.rating_group < 2**32:
            raise InvalidChargingRequest("rating groups are distinct, 0 to 2^32-1",
                                         field="rating_group")
        seen.add(ask.rating_group)
        for name, value in (("used", ask.used), ("requested", ask.requested)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 0 <= value <= MAX_QUANTITY):
                raise InvalidChargingRequest(f"{name} is 0 to {MAX_QUANTITY} units",
                                             field=name)


def admit(ref: str, number: int, kind: str, digest: str, found: tuple[str, int] | None,
          stored: tuple[str, Any] | None) -> Answer | None:
    """The checks a request meets against its session as found (state and last number
    answered; None: no such session) and what is stored under its number (request digest
    and answer: stored JSON, or the ``Answer`` of a request earlier in the same batch): a
    retransmission's answer, None to go on, or the refusal raised."""
    if found is None:
        if kind not in OPENING:
            raise ChargingSessionNotFound(f"no charging session {ref!r}")
        return None
    if stored is not None:
        if stored[0] != digest:
            raise ChargingRequestConflict(
                f"request {number} of session {ref!r} was sent with other contents")
        return stored[1] if isinstance(stored[1], Answer) else Answer.of_json(stored[1])
    state, last = found
    if kind in OPENING:
        raise ChargingRequestConflict(f"session {ref!r} exists already")
    if state != "open":
        raise ChargingSessionClosed(f"session {ref!r} is {state}")
    if number <= last:
        raise ChargingRequestConflict(f"request {number} of session {ref!r} comes after {last}")
    return None


def opening(kind: str, line: Line | None, country: str | None, asks: list[Ask]
            ) -> tuple[Line, str]:
    """The line and country (checked, in capitals) a request opening a session names."""
    if line is None or country is None:
        raise InvalidChargingRequest(f"an {kind} request names its line and country")
    ensure_usable(line)
    return line, check_record(asks[0].unit, 1, country)


def _digest(kind: str, asks: list[Ask], line_id: int | None, country: str | None) -> str:
    # each ask as ``asdict`` gives it (sorted by key): the stored digests stay comparable
    return request_digest(kind, line_id, country, asks)


def _locked(uow: UnitOfWork, ref: str) -> Any:
    query = select(charging_sessions).where(charging_sessions.c.ref == ref)
    if uow.dialect == "postgresql":
        query = query.with_for_update()
    return uow.conn.execute(query).first()


def _open(uow: UnitOfWork, ref: str, number: int, line: Line, country: str,
          peer: tuple[str, str] | None) -> Any:
    uow.conn.execute(insert(charging_sessions).values(
        ref=ref, line_id=line.id, country=country, state="open", last_number=number,
        created_at=uow.now, updated_at=uow.now, expires_at=uow.now + VALIDITY + MARGIN,
        starved=False, peer_host=peer[0] if peer else None,
        peer_realm=peer[1] if peer else None))
    return _locked(uow, ref)


def _line(uow: UnitOfWork, line_id: int) -> Line:
    return get_line(uow, line_id)


def _answer_ask(uow: UnitOfWork, session: Any, line: Line, number: int, kind: str,
                ask: Ask) -> Granted:
    """Close the rating group's open grant at what was used; then, unless the session ends
    or nothing is wanted, hold the next grant."""
    for open_grant in _held(uow, session.id, ask.rating_group):
        _close(uow, session, line, open_grant, ask.used)
    if kind == "terminate" or ask.requested == 0:
        return Granted(ask.rating_group, ask.unit, "success", 0, 0, False)
    want = ask.requested if ask.requested is not None else QUOTA[ask.unit]
    granted = _hold(uow, session, line, ask.rating_group, ask.unit, want)
    if kind != "event":
        return granted
    # an event is debited whole, at once, or not at all
    whole = granted.granted == want
    for held in _held(uow, session.id, ask.rating_group):
        _close(uow, session, line, held, want if whole else 0)
    if whole:
        return Granted(ask.rating_group, ask.unit, "success", want, 0, False)
    result = "credit_limit_reached" if granted.result == "success" else granted.result
    return Granted(ask.rating_group, ask.unit, result, 0, 0, True)


def _overall(grants: list[Granted]) -> str:
    failed = {g.result for g in grants if g.result != "success"}
    if grants and len(failed) == 1 and all(g.result != "success" for g in grants):
        return failed.pop()
    return "success"


def _finish(uow: UnitOfWork, session: Any, number: int, kind: str, digest: str,
            answer: Answer) -> None:
    uow.conn.execute(insert(charging_requests).values(
        session_id=session.id, number=number, request_hash=digest, answer=answer.as_json(),
        created_at=uow.now))
    starved = any(g.final or g.result == "credit_limit_reached" for g in answer.grants)
    values: dict[str, Any] = {"last_number": number, "updated_at": uow.now, "starved": starved}
    if (expires_at := expiry(uow.now, session.expires_at)) is not None:
        values["expires_at"] = expires_at
    if not starved:
        values["reauth_at"] = None
    if kind in ("terminate", "event"):
        values["state"] = "closed"
    uow.conn.execute(update(charging_sessions).where(charging_sessions.c.id == session.id)
                     .values(**values))


# --- grants and holds -------------------------------------------------------------------

def _held(uow: UnitOfWork, session_id: int, rating_group: int | None = None) -> list[Any]:
    cond = [charging_grants.c.session_id == session_id, HELD]
    if rating_group is not None:
        cond.append(charging_grants.c.rating_group == rating_group)
    return list(uow.conn.execute(select(charging_grants).where(*cond)
                                 .order_by(charging_grants.c.id)))


def _holds(uow: UnitOfWork, grant_id: int) -> list[Any]:
    """The grant's holds in order, each with its pending transfer's ``timeout_at`` and
    whether the ledger has resolved it already (``resolution``: its expiry sweep voids a
    hold whose session went silent for longer than the hold's timeout)."""
    return list(uow.conn.execute(_HOLDS, {"grant": grant_id}))


_resolution = aliased(transfers)
_HOLDS = (
    select(charging_holds, transfers.c.timeout_at, _resolution.c.id.label("resolution"),
           buckets.c.group_id.label("shared_by"))
    .join(transfers, transfers.c.id == charging_holds.c.transfer_id)
    .outerjoin(_resolution, _resolution.c.pending_id == transfers.c.id)
    .outerjoin(buckets, buckets.c.id == charging_holds.c.bucket_id)
    .where(charging_holds.c.grant_id == bindparam("grant")).order_by(charging_holds.c.id))


def _hold(uow: UnitOfWork, session: Any, line: Line, rating_group: int, unit: str,
          want: int) -> Granted:
    """Hold up to ``want`` units: buckets in drawing order, then money."""
    at = uow.now
    grant_id = int(uow.conn.execute(insert(charging_grants).values(
        session_id=session.id, rating_group=rating_group, unit=unit, granted=0, final=False,
        state="held", valid_until=at + VALIDITY, created_at=at,
    ).returning(charging_grants.c.id)).scalar_one())
    timeout = VALIDITY + MARGIN + HOLD_SLACK
    tag = grant_key(grant_id)
    left = want
    share = share_of(uow, line.id)
    drawable = eligible_buckets(uow, line.id, unit, session.country, at, share)
    for b in drawable:
        if left == 0:
            break
        take = min(ledger.balance(uow, b.account_id).available, left)
        if share is not None:
            take = share.allows(b, unit, take)
        if take <= 0:
            continue
        if b.valid_from is None:  # a first-use plan starts with the session that uses it
            uow.conn.execute(update(buckets).where(buckets.c.id == b.id).values(
                valid_from=at, expires_at=at + timedelta(days=b.validity_days)))
        held = ledger.transfer(
            uow, f"{tag}:bucket:{b.id}", b.account_id,
            ledger.operator_account(uow, kinds.CONSUMED, unit, line_id=line.id), take,
            code="usage_hold", ref=f"charging:{session.id}", pending=True, timeout=timeout)
        uow.conn.execute(insert(charging_holds).values(
            grant_id=grant_id, transfer_id=held.id, bucket_id=b.id, quantity=take))
        if share is not None:
            share.spend(b, unit, take)
        left -= take
    rate = catalog.oob_rate(uow, session.country, line.currency, unit) if left else None
    if rate is not None:
        per_unit, per = rate
        wallet = ledger.wallet(uow, line.id, line.currency)
        available = ledger.balance(uow, wallet).available
        covered = left if catalog.oob_charge(per_unit, per, left) <= available \
            else available * per // per_unit
        if covered > 0:
            held = ledger.transfer(
                uow, f"{tag}:money", wallet,
                ledger.operator_account(uow, kinds.REVENUE_USAGE,
                                        ledger.money_unit(line.currency), line_id=line.id),
                catalog.oob_charge(per_unit, per, covered), code="usage_oob_hold",
                ref=f"charging:{session.id}", pending=True, timeout=timeout)
            uow.conn.execute(insert(charging_holds).values(
                grant_id=grant_id, transfer_id=held.id, quantity=covered, rate=per_unit,
                per=per))
            left -= covered
    granted = want - left
    if granted == 0:
        # nothing to draw from at all (no plan covering the country, no rate) is a rating
        # failure; plans or a rate with nothing left is the credit limit
        result = "rating_failed" if not drawable and rate is None else "credit_limit_reached"
        uow.conn.execute(update(charging_grants).where(charging_grants.c.id == grant_id)
                         .values(state="closed", used=0, final=True, closed_at=at))
        return Granted(rating_group, unit, result, 0, 0, True)
    uow.conn.execute(update(charging_grants).where(charging_grants.c.id == grant_id).values(
        granted=granted, final=left > 0))
    return Granted(rating_group, unit, "success", granted, int(VALIDITY.total_seconds()),
                   left > 0)


def _close(uow: UnitOfWork, session: Any, line: Line, grant: Any, used: int) -> None:
    """Commit ``used`` units of ``grant`` from its holds in order (partial posts), release
    the rest, and record the use; use beyond the grant is recorded as uncovered."""
    left = min(used, int(grant.granted))
    from_buckets = from_money = charged = 0
    for hold in _holds(uow, grant.id):
        if hold.resolution is not None:
            continue  # released by the ledger already: it covers nothing
        # a hold past its timeout can only be released: what it covered goes uncovered
        expired = hold.timeout_at is not None and uow.now >= hold.timeout_at
        take = 0 if expired else min(left, int(hold.quantity))
        cost = take if hold.bucket_id is not None else (
            catalog.oob_charge(int(hold.rate), int(hold.per), take) if take else 0)
        if cost:
            ledger.post_pending(uow, f"charging:post:{hold.transfer_id}", hold.transfer_id,
                                cost)
        else:
            ledger.void_pending(uow, f"charging:void:{hold.transfer_id}", hold.transfer_id)
        if hold.bucket_id is not None:
            from_buckets += take
        else:
            from_money += take
            charged += cost
        if hold.shared_by is not None:  # a group's bucket: counted for the line that used it
            note_use(uow, int(hold.bucket_id), line.id, grant.unit, take)
        left -= take
    uow.conn.execute(update(charging_grants).where(charging_grants.c.id == grant.id).values(
        state="closed", used=used, closed_at=uow.now))
    if used:
        counter = charging_sessions.c[USED[grant.unit]]
        uow.conn.execute(update(charging_sessions).where(charging_sessions.c.id == session.id)
                         .values({counter: counter + used}))
        _record_use(uow, session, line, grant, used, from_buckets, from_money, charged)


def _record_use(uow: UnitOfWork, session: Any, line: Line, grant: Any, used: int,
                from_buckets: int, from_money: int, charged: int) -> None:
    at: datetime = uow.now
    uow.conn.execute(insert(usage_records).values(
        record_id=grant_key(grant.id),
        request_hash=record_hash(line.id, grant.unit, used, session.country, at),
        line_id=line.id, unit=grant.unit, quantity=used, country=session.country,
        occurred_at=at, from_buckets=from_buckets, from_money=from_money,
        money_charged=charged, currency=line.currency if charged else None,
        uncovered=used - from_buckets - from_money, created_at=at))


__all__ = [
    "Answer",
    "Ask",
    "Granted",
    "LiveSession",
    "Reauthorize",
    "ask_of",
    "charge",
    "held_now",
    "live_sessions",
    "reauthorized",
    "release_silent",
    "to_reauthorize",
]
