"""Know-your-customer at the counter: the buyer's ID where a country's rules ask for it.

``TOPUP_KYC_COUNTRIES`` lists the countries (ISO alpha-2) whose rules apply. A sale needs the
buyer's ID when the line's home country or the agent's country is listed: the line's issuing
country regulates who holds the number, the agent's country regulates sales made there, and
asking when either applies satisfies both.

The number is never stored: only a mask (``****`` and the last four characters) and a keyed
hash, HMAC-SHA256 under a key derived from the server secret, so the same document can be
found again ("which sales used this passport?") but not read back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from topup.agents.agents import Agent
from topup.agents.errors import InvalidKyc, KycRequired
from topup.agents.tables import ID_TYPES, agent_kyc_records
from topup.db.uow import UnitOfWork
from topup.subscribers.lines import Line

_NUMBER = re.compile(r"^[A-Z0-9]{5,40}$")


@dataclass(frozen=True)
class KycInput:
    """What the seller typed from the buyer's document."""

    id_type: str
    id_number: str


@dataclass(frozen=True)
class KycEntry:
    """A checked document, ready to record: no number, only its mask and keyed hash."""

    country: str
    id_type: str
    id_masked: str
    id_hash: str


@dataclass(frozen=True)
class KycRecord:
    """A stored KYC record as staff may see it."""

    id: int
    sale_id: int
    agent_id: int
    line_id: int | None
    country: str
    id_type: str
    id_masked: str
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> KycRecord:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


def required_by(uow: UnitOfWork, agent: Agent, line: Line) -> str | None:
    """The country whose rule asks for the buyer's ID on this sale, or None."""
    listed = {c.upper() for c in uow.settings.kyc_countries}
    for country in (line.home_country, agent.country):
        if country and country.upper() in listed:
            return country.upper()
    return None


def normalise_number(raw: str) -> str:
    """Upper-case letters and digits, without spaces, dots or hyphens; InvalidKyc otherwise."""
    number = re.sub(r"[\s.\-/]", "", raw or "").upper()
    if not _NUMBER.match(number):
        raise InvalidKyc("an ID number has 5 to 40 letters and digits", field="id_number")
    return number


def mask(number: str) -> str:
    """``****`` and the last four characters: enough to tell documents apart at the counter."""
    return "****" + number[-4:]


def _key(secret_key: str) -> bytes:
    # A key of its own, derived from the server secret, so this hash shares nothing with
    # the other keyed hashes (card secrets, reset codes).
    return hmac.new(secret_key.encode(), b"topup/agents/kyc-id-number/v1",
                    hashlib.sha256).digest()


def id_hash(secret_key: str, id_type: str, number: str) -> str:
    """The keyed hash of a normalised document number (hex)."""
    msg = f"{id_type}\x00{number}".encode()
    return hmac.new(_key(secret_key), msg, hashlib.sha256).hexdigest()


def check(uow: UnitOfWork, agent: Agent, line: Line, given: KycInput | None
          ) -> KycEntry | None:
    """Validate the buyer's ID before anything moves.

    Returns the entry to record, or None where no rule applies (an ID given anyway is not
    kept: personal data is stored only where a rule asks for it); raises KycRequired when a
    rule applies and nothing was given, InvalidKyc for a bad document.
    """
    country = required_by(uow, agent, line)
    if country is None:
        return None
    if given is None or not (given.id_type or given.id_number):
        raise KycRequired(f"sales to this line need the buyer's ID ({country} rules)",
                          country=country, id_types=list(ID_TYPES))
    if given.id_type not in ID_TYPES:
        raise InvalidKyc(f"id_type is one of {', '.join(ID_TYPES)}", field="id_type")
    number = normalise_number(given.id_number)
    return KycEntry(country, given.id_type, mask(number),
                    id_hash(uow.settings.secret_key, given.id_type, number))


def record(uow: UnitOfWork, sale_id: int, agent: Agent, line: Line, entry: KycEntry) -> None:
    """Keep the checked document with its sale."""
    uow.conn.execute(insert(agent_kyc_records).values(
        sale_id=sale_id, agent_id=agent.id, line_id=line.id, country=entry.country,
        id_type=entry.id_type, id_masked=entry.id_masked, id_hash=entry.id_hash,
        created_at=uow.now))


def records(uow: UnitOfWork, agent_id: int, *, limit: int = 100) -> list[KycRecord]:
    """An agent's KYC records, newest first."""
    rows = uow.conn.execute(select(agent_kyc_records).where(
        agent_kyc_records.c.agent_id == agent_id).order_by(
        agent_kyc_records.c.id.desc()).limit(limit))
    return [KycRecord.of(r) for r in rows]


def record_of_sale(uow: UnitOfWork, sale_id: int) -> KycRecord | None:
    """The masked document recorded with one sale, or None (no rule asked for it)."""
    row = uow.conn.execute(select(agent_kyc_records).where(
        agent_kyc_records.c.sale_id == sale_id)).first()
    return KycRecord.of(row) if row is not None else None


def find_document(uow: UnitOfWork, id_type: str, id_number: str) -> list[KycRecord]:
    """Every record of one document (compliance look-up by the number, never stored)."""
    digest = id_hash(uow.settings.secret_key, id_type, normalise_number(id_number))
    rows = uow.conn.execute(select(agent_kyc_records).where(
        agent_kyc_records.c.id_hash == digest).order_by(agent_kyc_records.c.id))
    return [KycRecord.of(r) for r in rows]
