"""A traveller for the auto top-up tests: a Chinese line with a phone number, bound over the
API, a card saved with Stripe (localstripe on 127.0.0.1, the saved-methods tests' peer), and
the network's usage drawing the wallet down at the out-of-bundle rate (CN: CN¥0.30 a MiB)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from tests.factories import make_line
from tests.integration.payments.test_saved_methods import Shop
from topup.charging.service import record_usage
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.notifications.service import queued_for
from topup.orders import autotopup_runs
from topup.orders.autotopup import AutoTopup, find_auto_topup
from topup.orders.model import Order, OrderRequest
from topup.orders.renewals import Payers
from topup.orders.service import create_order, line_orders
from topup.payments.interfaces import PaymentRequest, PaymentStatus
from topup.payments.providers.stripe.saved import StripeSavedMethods
from topup.subscribers import lines as line_svc

MIB = 1024**2
CENTS_PER_MIB = 30
_numbers = itertools.count(8613800000000)  # +86 138…: mobile numbers in China


class Watching:
    """The real Stripe saver, with a look at the moment a charge starts (``during``): the
    test acts there while the top-up order is in flight, then the charge goes on as usual."""

    def __init__(self, real: StripeSavedMethods) -> None:
        self.real, self.name = real, real.name
        self.during: Callable[[], None] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def charge_saved(self, request: PaymentRequest, customer_ref: str, method_ref: str,
                     intent_ref: str | None = None) -> PaymentStatus:
        if self.during is not None:
            self.during()
        return self.real.charge_saved(request, customer_ref, method_ref, intent_ref)


class Traveller(Shop):
    """``Shop`` (test_saved_methods) with a phone number on each line it binds."""

    def bind(self, headers: dict[str, str]) -> int:
        line = make_line(self.db, secret="2718", msisdn=str(next(_numbers)))
        r = self.api.client.post("/api/v1/lines/bind", headers=headers,
                                 json={"identifier": line.iccid, "secret": "2718"})
        assert r.status_code == 200, r.text
        return line.id

    @property
    def watched(self) -> Watching:
        found = getattr(self, "_watched", None)
        if found is None:
            found = self._watched = Watching(self.saver)
        return found

    @property
    def payers(self) -> Payers:
        return Payers({"stripe": self.provider}, {"stripe": self.watched})

    def run(self) -> int:
        """One run of the worker's auto top-up job."""
        return autotopup_runs.run(self.db, self.payers)

    def set_rule(self, method_id: int, threshold: int = 10_00, amount: int = 50_00,
                 headers: dict[str, str] | None = None, line_id: int | None = None,
                 **more: Any) -> Any:
        return self.api.client.put(
            f"/api/v1/lines/{line_id or self.line_id}/auto-topup", headers=headers or self.me,
            json={"threshold": threshold, "amount": amount, "payment_method_id": method_id,
                  **more})

    def credit(self, amount: int) -> None:
        """Cash at the desk."""
        with self.db.unit() as uow:
            create_order(uow, None, line_svc.get_line(uow, self.line_id), OrderRequest(
                kind="topup", method="manual", channel="admin", amount=amount,
                reason="cash desk", confirm_duplicate=True))

    def use_money(self, cents: int) -> None:
        """The network reports data that costs ``cents`` out of bundle."""
        assert cents % CENTS_PER_MIB == 0
        self._n = getattr(self, "_n", 0) + 1
        with self.db.unit() as uow:
            line = line_svc.get_line(uow, self.line_id)
            record_usage(uow, f"use-{self.line_id}-{self._n}", line, "data",
                         cents // CENTS_PER_MIB * MIB, "CN", uow.now)

    def wallet(self) -> int:
        with self.db.unit(readonly=True) as uow:
            found = ledger.wallets(uow, self.line_id).get("CNY")
            return found.available if found else 0

    def auto_orders(self) -> list[Order]:
        with self.db.unit(readonly=True) as uow:
            return [o for o in reversed(line_orders(uow, self.line_id, limit=100))
                    if o.channel == "autotopup"]

    def rule(self) -> AutoTopup:
        with self.db.unit(readonly=True) as uow:
            found = find_auto_topup(uow, self.line_id)
        assert found is not None
        return found

    def told(self, *prefixes: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(channel, template, params) of the auto top-up notices queued for the traveller."""
        with self.db.unit(readonly=True) as uow:
            line = line_svc.get_line(uow, self.line_id)
            found = queued_for(uow, f"+{line.msisdn}") + queued_for(uow, str(self.user.email))
        return [(m["channel"], m["template"], m["params"]) for m in sorted(
            found, key=lambda m: m["id"]) if m["template"].startswith(prefixes or ("auto_",))]


def traveller(db: Database, peer: Any) -> Traveller:
    from tests.integration.payments.test_saved_methods import WEBHOOK_SECRET

    peer.reset(WEBHOOK_SECRET)
    return Traveller(db, peer)
