"""A traveller whose payment is left pending, for the support tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.factories import Api, SandboxShop, sandbox_shop
from topup.db.uow import Database
from topup.subscribers import auth
from topup.subscribers import lines as line_svc


@dataclass
class Traveller:
    """The shop, the traveller's login and an order waiting for its payment."""

    shop: SandboxShop
    user: auth.User
    order: dict[str, Any]

    @property
    def api(self) -> Api:
        return self.shop.api


def pending_payment(db: Database) -> Traveller:
    """A traveller with a bound line and a 50.00 CNY top-up left unpaid at the sandbox."""
    shop = sandbox_shop(db, msisdn="+85261230000", country="HK")
    order = shop.api.post("/api/v1/orders", shop.me, key=uuid.uuid4().hex, json={
        "line_id": shop.line_id, "kind": "topup", "method": "sandbox", "amount": 50_00,
        "currency": "CNY", "confirm_duplicate": True})
    assert order.status_code == 201, order.text
    with db.unit(readonly=True) as uow:
        holder = line_svc.get_line(uow, shop.line_id).customer_id
        assert holder is not None
        user = auth.get_user(uow, holder)
    return Traveller(shop, user, order.json())
