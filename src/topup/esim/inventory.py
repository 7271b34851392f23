"""The stock of eSIM profiles: import from a vendor's file, reserve, assign, give back.

Each imported profile gets its line at once (``provisioned``, unbound, with a random card
secret nobody knows: it is sold, never bound by hand), so the network can know its IMSI
before the sale. A pool is a profile type in a zone; ``pool_for`` picks the pool that serves
a plan (every country of the plan covered, the narrowest such zone first).

Reserving takes the pool's next available profile under a row lock that other buyers skip
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer at a time), so concurrent
buyers never get the same profile; a profile given back goes to the end of the queue.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update

from topup.catalog.service import Plan
from topup.catalog.zones import countries_of
from topup.db.uow import UnitOfWork
from topup.errors import InvalidInput
from topup.esim.errors import BadProfileRow, NotSoldAsEsim, OutOfStock, ProfileNotFound
from topup.esim.sealing import seal, unseal
from topup.esim.tables import esim_profile_events as events
from topup.esim.tables import esim_profiles as profiles
from topup.subscribers.identity import normalise_iccid
from topup.subscribers.lines import LineSpec, create_line
from topup.subscribers.tables import lines

COLUMNS = ("iccid", "smdp_address", "matching_id", "confirmation_code", "profile_type",
           "zone", "imsi", "msisdn")
"""A vendor file's columns (a header row names them; only the first three are required when
``profile_type`` and ``zone`` are given to the import)."""
_ALLOWED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True)
class Profile:
    """A profile as the store and the console see it (never its confirmation code)."""

    id: int
    iccid: str
    line_id: int
    profile_type: str
    zone_code: str
    smdp_address: str
    matching_id: str
    confirmation: bool  # a confirmation code is needed to download it
    state: str
    order_id: int | None
    reserved_until: datetime | None
    assigned_at: datetime | None
    installed_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Profile:
        names = set(cls.__dataclass_fields__) - {"confirmation"}
        return cls(confirmation=row.confirmation_sealed is not None,
                   **{k: getattr(row, k) for k in names})

    @property
    def activation_code(self) -> str:
        """SGP.22 §4.1: ``LPA:1$<SM-DP+>$<matching id>``, with ``$$1`` when a confirmation
        code is needed (no SM-DP+ OID)."""
        tail = "$$1" if self.confirmation else ""
        return f"LPA:1${self.smdp_address}${self.matching_id}{tail}"


@dataclass(frozen=True)
class Pool:
    profile_type: str
    zone_code: str
    available: int
    countries: frozenset[str]
    on_demand: bool = False  # the SM-DP+ fills it at the sale (esim/ondemand.py)


class Supplier(Protocol):
    """Where profiles of on-demand pools come from (``esim.ondemand.OnDemand``)."""

    pools: tuple[tuple[str, str], ...]

    def order_one(self, uow: UnitOfWork, profile_type: str, zone: str) -> Profile: ...

    def undo(self, iccid: str) -> None: ...


# --- import --------------------------------------------------------------------------------

def _field(row: dict[str, str], name: str) -> str:
    return (row.get(name) or "").strip()


def _checked(row: dict[str, str], profile_type: str | None, zone: str | None
             ) -> dict[str, str]:
    out = {name: _field(row, name) for name in COLUMNS}
    out["profile_type"] = out["profile_type"] or (profile_type or "")
    out["zone"] = (out["zone"] or (zone or "")).upper()
    for name in ("iccid", "smdp_address", "matching_id", "profile_type", "zone"):
        if not out[name]:
            raise BadProfileRow(f"{name} is missing", field=name)
    if not set(out["matching_id"]) <= _ALLOWED or "$" in out["smdp_address"]:
        raise BadProfileRow("a matching id has letters, digits and '-' only, and neither "
                            "field may hold '$'", field="matching_id")
    if "." not in out["smdp_address"] or " " in out["smdp_address"]:
        raise BadProfileRow("the SM-DP+ address is a host name", field="smdp_address")
    return out


def import_profiles(uow: UnitOfWork, rows: Iterable[dict[str, str]], *,
                    profile_type: str | None = None, zone: str | None = None,
                    currency: str | None = None) -> Iterator[Profile]:
    """Add a profile (and its line) per row; a bad row raises BadProfileRow naming its
    number, and the caller's unit of work keeps nothing of the file."""
    from topup.catalog.zones import zone_kind  # the zone must exist

    for number, row in enumerate(rows, start=2):  # row 1 is the header
        try:
            values = _checked(row, profile_type, zone)
            zone_kind(uow, values["zone"])
            line = create_line(uow, LineSpec(
                iccid=values["iccid"], secret=secrets.token_urlsafe(24),
                currency=currency or uow.settings.default_currency, kind="esim",
                imsi=values["imsi"] or None, msisdn=values["msisdn"] or None,
                smdp_address=values["smdp_address"], matching_id=values["matching_id"]))
        except InvalidInput as exc:
            raise BadProfileRow(f"row {number}: {exc.detail}", row=number) from exc
        code = values["confirmation_code"]
        new_id = uow.conn.execute(insert(profiles).values(
            iccid=line.iccid, line_id=line.id, profile_type=values["profile_type"],
            zone_code=values["zone"], smdp_address=values["smdp_address"],
            matching_id=values["matching_id"],
            confirmation_sealed=seal(uow.settings.secret_key, line.iccid, code) if code else None,
            state="available", created_at=uow.now, updated_at=uow.now,
        ).returning(profiles.c.id)).scalar_one()
        yield get_profile(uow, int(new_id))


def read_vendor_file(text: str) -> list[dict[str, str]]:
    """The rows of a vendor's CSV (a header row; column names as ``COLUMNS``, any case)."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "iccid" not in [f.strip().lower() for f in reader.fieldnames]:
        raise BadProfileRow("the file needs a header row with at least iccid, smdp_address "
                            "and matching_id")
    return [{(k or "").strip().lower(): v or "" for k, v in row.items()} for row in reader]


# --- reading -------------------------------------------------------------------------------

def _first(uow: UnitOfWork, cond: Any) -> Profile | None:
    row = uow.conn.execute(select(profiles).where(cond)).first()
    return Profile.of(row) if row else None


def get_profile(uow: UnitOfWork, profile_id: int) -> Profile:
    found = _first(uow, profiles.c.id == profile_id)
    if found is None:
        raise ProfileNotFound(f"no eSIM profile {profile_id}")
    return found


def profile_by_iccid(uow: UnitOfWork, iccid: str) -> Profile:
    try:
        key = normalise_iccid(iccid)
    except InvalidInput as exc:
        raise ProfileNotFound(f"no eSIM profile {iccid!r}") from exc
    found = _first(uow, profiles.c.iccid == key)
    if found is None:
        raise ProfileNotFound(f"no eSIM profile {key}")
    return found


def profile_of_order(uow: UnitOfWork, order_id: int) -> Profile | None:
    """The profile an order reserved or bought, if it is a store order."""
    return _first(uow, profiles.c.order_id == order_id)


def confirmation_code(uow: UnitOfWork, profile: Profile) -> str | None:
    """The profile's confirmation code, opened (only to be sent to its buyer)."""
    sealed = uow.conn.execute(select(profiles.c.confirmation_sealed).where(
        profiles.c.id == profile.id)).scalar_one()
    return unseal(uow.settings.secret_key, profile.iccid, sealed) if sealed else None


def pools(uow: UnitOfWork, on_demand: Iterable[tuple[str, str]] = ()) -> list[Pool]:
    """Every pool with the profiles available in it and the countries its zone covers,
    and the ``on_demand`` pools (type, zone) the SM-DP+ fills, stocked or not."""
    rows = uow.conn.execute(
        select(profiles.c.profile_type, profiles.c.zone_code,
               func.count().filter(profiles.c.state == "available").label("available"))
        .group_by(profiles.c.profile_type, profiles.c.zone_code)
        .order_by(profiles.c.profile_type, profiles.c.zone_code)).all()
    found = {(r.profile_type, r.zone_code): int(r.available or 0) for r in rows}
    filled = set(on_demand)
    for key in filled:
        found.setdefault(key, 0)
    covered = countries_of(uow, sorted({zone for _, zone in found}))
    return [Pool(ptype, zone, n, frozenset(covered.get(zone, ())), (ptype, zone) in filled)
            for (ptype, zone), n in sorted(found.items())]


def _fits(plan: Plan, known: list[Pool]) -> list[Pool]:
    """The pools that serve ``plan`` (their zone covers every country of it), the narrowest
    zone first, then the fullest."""
    return sorted((p for p in known if set(plan.countries) <= p.countries),
                  key=lambda p: (len(p.countries), -p.available))


def pool_for(plan: Plan, known: list[Pool], *, in_stock: bool = True) -> Pool | None:
    """The pool that serves ``plan`` first (with a profile to sell, when ``in_stock``)."""
    return next((p for p in _fits(plan, known)
                 if p.available > 0 or p.on_demand or not in_stock), None)


def stock(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Profiles per pool and state (the console's and ``topup esim stock``'s table)."""
    rows = uow.conn.execute(
        select(profiles.c.profile_type, profiles.c.zone_code, profiles.c.state,
               func.count().label("n"))
        .group_by(profiles.c.profile_type, profiles.c.zone_code, profiles.c.state)
        .order_by(profiles.c.profile_type, profiles.c.zone_code, profiles.c.state))
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        entry = table.setdefault((r.profile_type, r.zone_code), {
            "profile_type": r.profile_type, "zone": r.zone_code,
            **{s: 0 for s in ("available", "reserved", "assigned", "installed", "failed",
                              "deleted")}})
        entry[r.state] = int(r.n)
    return list(table.values())


# --- moves ---------------------------------------------------------------------------------

def note(uow: UnitOfWork, profile_id: int, source: str, status: str, *,
         point: int | None = None, reported_at: str | None = None,
         detail: str | None = None) -> None:
    uow.conn.execute(insert(events).values(
        profile_id=profile_id, at=uow.now, source=source, point=point, status=status,
        reported_at=reported_at, detail=(detail or None) and detail[:500]))


def reserve(uow: UnitOfWork, plan: Plan, until: datetime,
            supplier: Supplier | None = None) -> tuple[Profile, bool]:
    """Take the next available profile of a pool serving ``plan`` until ``until`` (``attach``
    then names the order), ordering one from ``supplier`` for an empty on-demand pool; the
    profile, and whether it was ordered for this sale. OutOfStock when none is left,
    NotSoldAsEsim when no pool serves the plan at all."""
    known = pools(uow, supplier.pools if supplier else ())
    fits = _fits(plan, known)
    if not fits:
        raise NotSoldAsEsim(f"plan {plan.code} is not sold as a new eSIM", plan=plan.code)
    for pool in fits:  # the first pool first; another when it runs dry under our feet
        picked = _next_available(uow, pool)
        ordered = False
        if picked is None and pool.on_demand and supplier is not None:
            picked, ordered = supplier.order_one(uow, pool.profile_type, pool.zone_code).id, True
        if picked is None:
            continue
        taken = uow.conn.execute(update(profiles).where(
            profiles.c.id == picked, profiles.c.state == "available").values(
            state="reserved", reserved_until=until, updated_at=uow.now))
        if taken.rowcount == 1:
            return get_profile(uow, picked), ordered
    raise OutOfStock(f"no eSIM left for plan {plan.code}", plan=plan.code)


def _next_available(uow: UnitOfWork, pool: Pool) -> int | None:
    """The pool's next profile to sell, locked; others buying at once skip it."""
    query = (select(profiles.c.id).where(
        profiles.c.profile_type == pool.profile_type, profiles.c.zone_code == pool.zone_code,
        profiles.c.state == "available")
        .order_by(profiles.c.released_at.is_not(None), profiles.c.released_at, profiles.c.id)
        .limit(1))
    if uow.conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    picked = uow.conn.execute(query).scalar()
    return None if picked is None else int(picked)


def attach(uow: UnitOfWork, profile: Profile, order_id: int, customer_id: int) -> Profile:
    """The reservation belongs to ``order_id``; the profile's line to its buyer meanwhile
    (so the order is theirs and only they see it)."""
    uow.conn.execute(update(profiles).where(profiles.c.id == profile.id).values(
        order_id=order_id, updated_at=uow.now))
    uow.conn.execute(update(lines).where(lines.c.id == profile.line_id).values(
        customer_id=customer_id))
    note(uow, profile.id, "store", "reserved", detail=f"order {order_id}")
    return get_profile(uow, profile.id)


def assign(uow: UnitOfWork, profile: Profile) -> Profile:
    """Its order is paid: the profile is the buyer's for good, its line bound to them."""
    uow.conn.execute(update(profiles).where(profiles.c.id == profile.id).values(
        state="assigned", reserved_until=None, assigned_at=uow.now, updated_at=uow.now))
    uow.conn.execute(update(lines).where(lines.c.id == profile.line_id).values(
        bound_at=uow.now))
    note(uow, profile.id, "store", "assigned", detail=f"order {profile.order_id}")
    return get_profile(uow, profile.id)


def give_back(uow: UnitOfWork, profile: Profile, why: str) -> Profile:
    """A reservation ends unpaid: the profile is available again, its line nobody's."""
    uow.conn.execute(update(profiles).where(profiles.c.id == profile.id,
                                            profiles.c.state == "reserved").values(
        state="available", reserved_until=None, order_id=None, released_at=uow.now,
        updated_at=uow.now))
    uow.conn.execute(update(lines).where(lines.c.id == profile.line_id).values(
        customer_id=None, bound_at=None))
    note(uow, profile.id, "store", "released", detail=why)
    return get_profile(uow, profile.id)


def reservations_past(uow: UnitOfWork, at: datetime, limit: int) -> list[Profile]:
    """Reserved profiles whose reservation ended before ``at``."""
    rows = uow.conn.execute(select(profiles).where(
        profiles.c.state == "reserved", profiles.c.reserved_until <= at)
        .order_by(profiles.c.reserved_until).limit(limit))
    return [Profile.of(r) for r in rows]
