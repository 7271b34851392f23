"""SIM/eSIM lines: creation and CSV import, binding to a customer, lifecycle, lookups.

Lifecycle: provisioned -> active -> grace -> suspended -> terminated, and frozen from any state
but terminated (the state before freezing is remembered and restored when lifted).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.engine import Row

from topup.audit.service import record as audit
from topup.db.uow import UnitOfWork
from topup.errors import InvalidInput
from topup.money import offered_currency
from topup.subscribers import limits, throttle
from topup.subscribers.errors import (
    BindFailed,
    IllegalTransition,
    LineAlreadyBound,
    LineNotFound,
    LineNotUsable,
)
from topup.subscribers.identity import (
    check_card_secret,
    keyed_hash,
    looks_like_iccid,
    msisdn_digits,
    normalise_iccid,
)
from topup.subscribers.tables import line_events, lines, users

TRANSITIONS: dict[str, frozenset[str]] = {
    "provisioned": frozenset({"active", "terminated", "frozen"}),
    "active": frozenset({"grace", "terminated", "frozen"}),
    "grace": frozenset({"active", "suspended", "terminated", "frozen"}),
    "suspended": frozenset({"active", "terminated", "frozen"}),
    "frozen": frozenset(),  # left only through unfreeze()
    "terminated": frozenset(),
}


@dataclass(frozen=True)
class Line:
    """One SIM or eSIM line as the services see it."""

    id: int
    iccid: str
    msisdn: str | None
    imsi: str | None
    kind: str
    smdp_address: str | None
    matching_id: str | None
    status: str
    customer_id: int | None
    currency: str
    home_country: str | None
    auto_renew: bool
    valid_until: datetime | None

    @classmethod
    def of(cls, row: Row) -> Line:
        return cls(**{k: getattr(row, k) for k in cls.__dataclass_fields__})

    @property
    def activation_code(self) -> str | None:
        """The SGP.22 activation code ``LPA:1$<SM-DP+>$<matching id>`` for an eSIM."""
        if self.kind != "esim" or not self.smdp_address or not self.matching_id:
            return None
        return f"LPA:1${self.smdp_address}${self.matching_id}"


@dataclass(frozen=True)
class LineSpec:
    """What the operator knows of a line before it is sold (one CSV row)."""

    iccid: str
    secret: str
    currency: str
    msisdn: str | None = None
    imsi: str | None = None
    kind: str = "sim"
    smdp_address: str | None = None
    matching_id: str | None = None
    home_country: str | None = None


def _values(uow: UnitOfWork, spec: LineSpec) -> dict[str, object]:
    if spec.kind not in ("sim", "esim"):
        raise InvalidInput("kind is sim or esim", field="kind")
    if spec.kind == "esim" and not (spec.smdp_address and spec.matching_id):
        raise InvalidInput("an eSIM needs an SM-DP+ address and a matching id", field="kind")
    if not spec.secret or len(spec.secret.strip()) < 4:
        raise InvalidInput("the card secret has at least 4 characters", field="secret")
    imsi = (spec.imsi or "").strip() or None
    if imsi and (not imsi.isdigit() or not 6 <= len(imsi) <= 15):
        raise InvalidInput("an IMSI has up to 15 digits", field="imsi")
    return {
        "iccid": normalise_iccid(spec.iccid),
        "msisdn": msisdn_digits(spec.msisdn) if spec.msisdn else None,
        "imsi": imsi, "kind": spec.kind,
        "smdp_address": spec.smdp_address or None, "matching_id": spec.matching_id or None,
        "secret_hash": keyed_hash(uow.settings.secret_key, "line-secret", spec.secret.strip()),
        "status": "provisioned",
        "currency": offered_currency(spec.currency, uow.settings.currencies),
        "home_country": (spec.home_country or "").upper() or None, "auto_renew": False,
        "created_at": uow.now, "status_changed_at": uow.now,
    }


def create_line(uow: UnitOfWork, spec: LineSpec) -> Line:
    """Add one line in state ``provisioned``; raises InvalidInput on a bad identifier."""
    values = _values(uow, spec)
    cond = lines.c.iccid == values["iccid"]
    if values["msisdn"]:
        cond = cond | (lines.c.msisdn == values["msisdn"])
    clash = uow.conn.execute(select(lines.c.iccid).where(cond)).first()
    if clash:
        raise InvalidInput(f"line {clash.iccid} already exists", field="iccid")
    new_id = uow.conn.execute(insert(lines).values(**values).returning(lines.c.id)).scalar_one()
    return get_line(uow, int(new_id))


def import_lines(uow: UnitOfWork, rows: Iterable[dict[str, str]]) -> Iterator[Line]:
    """Create a line per CSV row (columns as LineSpec fields); a bad row names its number.

    Imported card secrets must be strong (``check_card_secret``): they are new lines."""
    for number, row in enumerate(rows, start=2):
        known = LineSpec.__dataclass_fields__
        fields = {k: (v or "").strip() for k, v in row.items() if k in known}
        try:
            check_card_secret(fields.get("secret", ""), uow.settings.card_secret_min_length)
            yield create_line(uow, LineSpec(**fields))
        except (InvalidInput, TypeError) as exc:
            raise InvalidInput(f"row {number}: {exc}", row=number) from exc


def get_line(uow: UnitOfWork, line_id: int, *, owner: int | None = None) -> Line:
    """The line; with ``owner``, only if that customer holds it (else LineNotFound)."""
    query = select(lines).where(lines.c.id == line_id)
    if owner is not None:
        query = query.where(lines.c.customer_id == owner)
    row = uow.conn.execute(query).first()
    if row is None:
        raise LineNotFound()
    return Line.of(row)


def find_line(uow: UnitOfWork, identifier: str) -> Line:
    """The line whose ICCID, MSISDN or IMSI is ``identifier``: the oldest, should it name
    more than one (one line's MSISDN may be another's IMSI), whatever order the rows lie in."""
    ident = identifier.strip().lstrip("+")
    row = uow.conn.execute(select(lines).where(or_(
        lines.c.iccid == ident, lines.c.msisdn == ident, lines.c.imsi == ident))
        .order_by(lines.c.id).limit(1)).first()
    if row is None:
        raise LineNotFound()
    return Line.of(row)


def lines_of(uow: UnitOfWork, customer_id: int) -> list[Line]:
    """A customer's lines, oldest first."""
    rows = uow.conn.execute(
        select(lines).where(lines.c.customer_id == customer_id).order_by(lines.c.id))
    return [Line.of(r) for r in rows]


def search_lines(uow: UnitOfWork, q: str, limit: int = 50) -> list[Line]:
    """Lines whose ICCID or MSISDN contains ``q``, or whose customer's e-mail does (staff
    search; a ``+`` and spaces in a number are ignored, e-mail case too)."""
    text = q.strip()
    digits = text.lstrip("+").replace(" ", "")
    cond = or_(lines.c.iccid.like(f"%{digits}%"), lines.c.msisdn.like(f"%{digits}%"))
    if "@" in text or not digits.isdigit():
        owners = select(users.c.id).where(func.lower(users.c.email).like(f"%{text.lower()}%"))
        cond = or_(cond, lines.c.customer_id.in_(owners))
    rows = uow.conn.execute(select(lines).where(cond).order_by(lines.c.id).limit(limit))
    return [Line.of(r) for r in rows]


def newest_lines(uow: UnitOfWork, limit: int = 20) -> list[Line]:
    """The lines added last, newest first."""
    rows = uow.conn.execute(select(lines).order_by(lines.c.id.desc()).limit(limit))
    return [Line.of(r) for r in rows]


def count_by_status(uow: UnitOfWork) -> dict[str, int]:
    """How many lines are in each status (statuses with none are absent)."""
    rows = uow.conn.execute(select(lines.c.status, func.count()).group_by(lines.c.status))
    return {str(status): int(n) for status, n in rows}


def _bind_target(uow: UnitOfWork, identifier: str) -> tuple[Line | None, str | None]:
    """The line ``identifier`` names, and the throttle target: the line id when it exists,
    else the identifier's canonical form, so a waiting target says nothing about existence."""
    try:
        ident = (normalise_iccid(identifier) if looks_like_iccid(identifier)
                 else msisdn_digits(identifier))
    except InvalidInput:
        return None, None
    try:
        line = find_line(uow, ident)
    except LineNotFound:
        return None, f"ident:{ident}"
    return line, f"line:{line.id}"


def bind(uow: UnitOfWork, customer_id: int, identifier: str, secret: str,
         ip: str | None = None) -> Line | None:
    """Bind a line to a customer by ICCID or MSISDN plus the card secret.

    Returns None after counting a failure against the account, the target line (across all
    accounts) and the address (the caller commits, then raises BindFailed); raises
    AccountLocked, untested, while any of them backs off, and LineAlreadyBound for another's
    line.
    """
    line, target = _bind_target(uow, identifier)
    keys = limits.bind_keys(uow.settings, customer_id, target, ip)
    limits.ensure_open(uow, keys)
    row = uow.conn.execute(select(lines.c.secret_hash).where(lines.c.id == line.id)).first() \
        if line else None
    given = keyed_hash(uow.settings.secret_key, "line-secret", secret.strip())
    if line is None or row is None or row.secret_hash != given:
        limits.fail(uow, keys)
        return None
    throttle.clear(uow, keys[0][0])  # the account's own typos; the line's count stays
    if line.customer_id == customer_id:
        return line
    if line.customer_id is not None:
        raise LineAlreadyBound()
    uow.conn.execute(update(lines).where(lines.c.id == line.id).values(
        customer_id=customer_id, bound_at=uow.now))
    return get_line(uow, line.id)


def bind_refused() -> BindFailed:
    """The one error for every failed bind: it does not say which part was wrong."""
    return BindFailed()


def _set_status(uow: UnitOfWork, line: Line, to: str, actor: int | None, reason: str | None,
                **extra: object) -> Line:
    uow.conn.execute(update(lines).where(lines.c.id == line.id).values(
        status=to, status_changed_at=uow.now, **extra))
    uow.conn.execute(insert(line_events).values(
        line_id=line.id, at=uow.now, from_status=line.status, to_status=to, actor_id=actor,
        reason=reason))
    return replace(line, status=to)


def transition(uow: UnitOfWork, line_id: int, to: str, *, actor: int | None = None,
               reason: str | None = None) -> Line:
    """Move a line to ``to`` if its lifecycle allows; raises IllegalTransition otherwise."""
    line = get_line(uow, line_id)
    if to == "frozen":
        return freeze(uow, line_id, actor=actor, reason=reason or "")
    if to not in TRANSITIONS[line.status]:
        raise IllegalTransition(f"{line.status} -> {to} is not allowed", line_status=line.status)
    return _set_status(uow, line, to, actor, reason)


def freeze(uow: UnitOfWork, line_id: int, *, actor: int | None, reason: str) -> Line:
    """Block top-ups and usage until lifted; a reason is required and audited."""
    line = get_line(uow, line_id)
    if "frozen" not in TRANSITIONS[line.status]:
        raise IllegalTransition(f"a {line.status} line cannot be frozen", line_status=line.status)
    if not reason.strip():
        raise InvalidInput("a reason is required to freeze a line", field="reason")
    audit(uow, actor, "line.freeze", f"line:{line_id}", reason=reason)
    return _set_status(uow, line, "frozen", actor, reason, status_before_freeze=line.status)


def unfreeze(uow: UnitOfWork, line_id: int, *, actor: int | None, reason: str) -> Line:
    """Lift a freeze, restoring the state the line had before it."""
    if not reason.strip():
        raise InvalidInput("a reason is required to unfreeze a line", field="reason")
    line = get_line(uow, line_id)
    if line.status != "frozen":
        raise IllegalTransition("the line is not frozen", line_status=line.status)
    before = uow.conn.execute(
        select(lines.c.status_before_freeze).where(lines.c.id == line_id)).scalar_one()
    audit(uow, actor, "line.unfreeze", f"line:{line_id}", reason=reason)
    return _set_status(uow, line, before, actor, reason, status_before_freeze=None)


def ensure_usable(line: Line) -> None:
    """Raise LineNotUsable for a frozen or terminated line."""
    if line.status in ("frozen", "terminated"):
        raise LineNotUsable(f"the line is {line.status}", line_status=line.status)


def activate_on_value(uow: UnitOfWork, line: Line, valid_until: datetime | None) -> Line:
    """Value arrived: a provisioned, grace or suspended line becomes active; validity grows."""
    if valid_until and (line.valid_until is None or valid_until > line.valid_until):
        uow.conn.execute(update(lines).where(lines.c.id == line.id).values(valid_until=valid_until))
        line = replace(line, valid_until=valid_until)
    if line.status in ("provisioned", "grace", "suspended"):
        line = _set_status(uow, line, "active", None, "value received")
    return line


def set_auto_renew(uow: UnitOfWork, line_id: int, on: bool) -> Line:
    """Switch auto-renew for a line (``orders.renewals`` renews its ending plans)."""
    uow.conn.execute(update(lines).where(lines.c.id == line_id).values(auto_renew=on))
    return get_line(uow, line_id)


def line_history(uow: UnitOfWork, line_id: int, limit: int = 100) -> list[dict[str, object]]:
    """The line's status changes, oldest first: when, from, to, by whom and why."""
    rows = uow.conn.execute(select(line_events).where(line_events.c.line_id == line_id)
                            .order_by(line_events.c.id.desc()).limit(limit)).all()
    return [{"at": r.at, "from_status": r.from_status, "to_status": r.to_status,
             "actor_id": r.actor_id, "reason": r.reason} for r in reversed(rows)]


def auto_renew_lines(on: bool = True) -> Select[Any]:
    """Ids of lines that may still buy and want their plans renewed (``on``) or not."""
    return select(lines.c.id).where(lines.c.auto_renew.is_(on),
                                    lines.c.status.in_(("active", "grace", "suspended")))
