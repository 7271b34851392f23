"""A traveller's world for the offline channels: a Thai SIM paid in CNY with a phone number,
bound to an account, an anonymous SIM, scratch cards, and the operator's gateway secrets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.factories import Api, make_line, make_user
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.notifications.service import queued_for
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.subscribers import auth
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import Line
from topup.vouchers.service import BatchSpec, Card, activate_batch, create_batch, generate

MSISDN = "+66812345678"
ANON_MSISDN = "+66812345679"
USSD_TOKEN = "ussd-gateway-shared-secret"
SMS_TOKEN = "sms-gateway-shared-secret"


@dataclass
class World:
    """Who and what the channel tests need."""

    db: Database
    api: Api
    line: Line  # bound to ``user``; MSISDN
    anon: Line  # nobody's; ANON_MSISDN
    user: auth.User
    admin: auth.User

    def credit(self, amount: int, line: Line | None = None) -> None:
        """Cash at the desk: a manual credit to the wallet."""
        target = line or self.line
        with self.db.unit() as uow:
            create_order(uow, self.admin.id, line_svc.get_line(uow, target.id), OrderRequest(
                kind="topup", method="manual", channel="admin", amount=amount,
                reason="cash desk", confirm_duplicate=True))

    def wallet(self, line: Line | None = None) -> int:
        with self.db.unit(readonly=True) as uow:
            found = ledger.wallets(uow, (line or self.line).id).get("CNY")
            return found.posted if found else 0

    def outbox(self, recipient: str = MSISDN) -> list[dict[str, Any]]:
        with self.db.unit(readonly=True) as uow:
            return queued_for(uow, recipient)

    def refreshed(self, line: Line | None = None) -> Line:
        with self.db.unit(readonly=True) as uow:
            return line_svc.get_line(uow, (line or self.line).id)


@pytest.fixture
def world(catalogue: Database) -> World:
    db = catalogue
    db.settings = replace(db.settings, ussd_gateway_token=USSD_TOKEN, sms_gateway_token=SMS_TOKEN)
    user = make_user(db)
    admin = make_user(db, "admin")
    line = make_line(db, secret="4321", country="TH", currency="CNY", msisdn=MSISDN)
    anon = make_line(db, secret="9876", country="TH", currency="CNY", msisdn=ANON_MSISDN)
    with db.unit() as uow:
        bound = line_svc.bind(uow, user.id, line.iccid, "4321")
    assert bound is not None
    return World(db, Api(db), bound, anon, user, admin)


class KeepCards:
    """A printer sink that keeps the cards in memory (the test is the print shop)."""

    def __init__(self) -> None:
        self.cards: list[Card] = []

    def write(self, cards: Sequence[Card]) -> None:
        self.cards.extend(cards)

    def close(self) -> list[Path]:
        return []


def voucher_pins(world: World, count: int = 1, *, face: int = 50_00,
                 plan_id: int | None = None) -> list[str]:
    """``count`` sold scratch cards of ``face`` CNY (or of a plan); their PINs."""
    db = world.db
    with db.unit() as uow:
        batch = create_batch(uow, BatchSpec(
            count=count, currency="CNY", face_amount=None if plan_id else face,
            plan_id=plan_id, expires_at=uow.now + timedelta(days=365),
            distributor="7-Eleven Silom"), world.admin.id)
    sink = KeepCards()
    generate(db, batch.id, [sink], actor_id=world.admin.id)
    with db.unit() as uow:
        activate_batch(uow, batch.id, world.admin.id)
    return [card.pin for card in sink.cards]
