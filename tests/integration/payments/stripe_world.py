"""The state of a local Stripe for the tests: customers, cards, PaymentIntents, charges,
Checkout Sessions, refunds and events, shaped as Stripe's API returns them (test mode).

It holds only what topup's Stripe code uses: ``stripe_checkout_peer`` serves it over HTTP
with Stripe's wire format (form-encoded requests, JSON objects, error bodies, idempotency).
Test cards (Stripe's own): 4242 4242 4242 4242 and 5555 5555 5555 4444 pay;
4000 0000 0000 0002 is declined; 4000 0000 0000 0341 can be attached but every charge of it
is declined; 4000 0027 6000 3184 wants authentication every time: the payer passes it on the
hosted page, and off-session it is declined with ``authentication_required``. Any other
number is refused as a live card, as Stripe's test mode does.
"""

from __future__ import annotations

import copy
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

API_VERSION = "2026-10-28.endive"
CARDS = {"4242424242424242": ("visa", None), "5555555555554444": ("mastercard", None),
         "4000000000000002": ("visa", "generic_decline"),
         "4000000000000341": ("visa", "charge_decline"),
         "4000002760003184": ("visa", "authenticate")}
LOCALES = frozenset({"auto", "en", "en-GB", "fr", "de", "ja", "ko", "th", "vi", "zh", "zh-HK",
                     "zh-TW"})
SESSION_PARAMS = frozenset({
    "mode", "line_items", "success_url", "cancel_url", "client_reference_id", "metadata",
    "customer", "customer_email", "payment_intent_data", "locale", "expires_at", "expand",
    "allowed_payment_method_types"})
INTENT_DATA = frozenset({"description", "metadata", "setup_future_usage"})


class StripeError(Exception):
    """An API error: the HTTP status and Stripe's ``{"error": {...}}`` body. ``saved``: the
    endpoint had begun executing, so an idempotent retry replays it (Stripe's rule)."""

    def __init__(self, status: int, error: dict[str, Any], *, saved: bool = False) -> None:
        super().__init__(error.get("message"))
        self.status, self.error, self.saved = status, error, saved

    @property
    def body(self) -> dict[str, Any]:
        return {"error": self.error}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    error = {"type": "invalid_request_error", "message": message, "param": param}
    return StripeError(400, error | ({"code": code} if code else {}))


def missing(kind: str, ident: str, param: str) -> StripeError:
    return StripeError(404, {"type": "invalid_request_error", "code": "resource_missing",
                             "message": f"No such {kind}: '{ident}'", "param": param})


def card_error(code: str, message: str, decline: str | None = None, **extra: Any
               ) -> StripeError:
    error = {"type": "card_error", "code": code, "message": message, **extra}
    return StripeError(402, error | ({"decline_code": decline} if decline else {}),
                       saved=True)


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``a[b][0][c]=v`` pairs (as Stripe's SDKs encode them) as nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    done = {k: _lists(v) for k, v in node.items()}
    if done and all(k.isdigit() for k in done):
        return [done[k] for k in sorted(done, key=int)]
    return done


def integer(value: Any, param: str) -> int:
    if not str(value).lstrip("-").isdigit():
        raise invalid(f"Invalid integer: {value}", param)
    return int(value)


class World:
    """Every object of this Stripe account, by id; ``on_event`` hears each new event."""

    def __init__(self, page_base: str, clock: Callable[[], float] = time.time) -> None:
        self.page_base = page_base
        self.clock = clock
        self.objects: dict[str, dict[str, Any]] = {}
        self.private: dict[str, dict[str, Any]] = {}  # what Stripe keeps but does not show
        self.events: list[dict[str, Any]] = []
        self.on_event: Callable[[dict[str, Any]], None] = lambda _event: None

    def now(self) -> int:
        return int(self.clock())

    def new(self, prefix: str, kind: str, **fields: Any) -> dict[str, Any]:
        ident = f"{prefix}_{secrets.token_hex(12)}"
        obj = {"id": ident, "object": kind, "created": self.now(), "livemode": False, **fields}
        self.objects[ident] = obj
        return obj

    def get(self, kind: str, ident: str, param: str = "id") -> dict[str, Any]:
        obj = self.objects.get(ident)
        if obj is None or obj["object"] != kind:
            raise missing(kind, ident, param)
        if kind == "checkout.session":
            self._lapse(obj)
        return obj

    def export(self, obj: dict[str, Any], expand: Iterable[str] = ()) -> dict[str, Any]:
        """A copy of ``obj`` with the dotted ``expand`` paths replaced by their objects."""
        out = copy.deepcopy(obj)
        for path in expand:
            self._expand(out, path.split("."))
        return out

    def _expand(self, node: dict[str, Any], path: list[str]) -> None:
        value = node.get(path[0])
        if isinstance(value, str) and value in self.objects:
            node[path[0]] = value = copy.deepcopy(self.objects[value])
        if len(path) > 1 and isinstance(value, dict):
            self._expand(value, path[1:])

    def emit(self, kind: str, obj: dict[str, Any], idem: str | None = None) -> None:
        event = self.new("evt", "event", api_version=API_VERSION, type=kind,
                          data={"object": copy.deepcopy(obj)}, pending_webhooks=1,
                          request={"id": None, "idempotency_key": idem})
        self.events.append(event)
        self.on_event(event)

    # --- customers and cards ------------------------------------------------------------

    def create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.new("cus", "customer", email=params.get("email"), name=None,
                         metadata=dict(params.get("metadata") or {}),
                         invoice_settings={"default_payment_method": None})

    def card(self, number: str, month: str, year: str, cvc: str) -> dict[str, Any]:
        """A PaymentMethod for the card the payer typed, or the error Stripe shows."""
        digits = re.sub(r"\D", "", number)
        if not _luhn(digits):
            raise card_error("incorrect_number", "Your card number is incorrect.")
        if digits not in CARDS:
            raise card_error("card_declined", "Your card was declined. Your request was in "
                             "test mode, but used a non test card.", "live_mode_test_card")
        exp_m, exp_y = int(month or 0), 2000 + int(year or 0) % 100
        if not 1 <= exp_m <= 12 or (exp_y, exp_m) < time.gmtime(self.now())[:2]:
            raise card_error("invalid_expiry_year", "Your card's expiration date is invalid.")
        if not re.fullmatch(r"\d{3,4}", cvc or ""):
            raise card_error("incorrect_cvc", "Your card's security code is incorrect.")
        brand = CARDS[digits][0]
        card = {"brand": brand, "last4": digits[-4:], "exp_month": exp_m, "exp_year": exp_y,
                "funding": "credit", "country": "US", "display_brand": brand,
                "fingerprint": hashlib.sha256(digits.encode()).hexdigest()[:16]}
        method = self.new("pm", "payment_method", type="card", card=card, customer=None,
                           metadata={}, allow_redisplay="unspecified",
                           billing_details={"address": None, "email": None, "name": None,
                                            "phone": None})
        self.private[method["id"]] = {"outcome": CARDS[digits][1]}
        return method

    def attach(self, method_id: str, customer: str) -> dict[str, Any]:
        method = self.get("payment_method", method_id)
        self.get("customer", customer, "customer")
        if method["customer"] not in (None, customer):
            raise invalid("The payment method you provided has already been attached to a "
                          "customer.", "payment_method")
        method["customer"] = customer
        return method

    def detach(self, method_id: str) -> dict[str, Any]:
        method = self.get("payment_method", method_id)
        if method["customer"] is None:
            raise invalid(f"The payment method {method_id} is not attached to a customer so "
                          "detachment is impossible.", "payment_method")
        method["customer"] = None
        return method

    # --- PaymentIntents and charges -----------------------------------------------------

    def create_intent(self, params: dict[str, Any], idem: str | None = None
                      ) -> dict[str, Any]:
        amount = integer(params.get("amount"), "amount")
        if amount < 50:
            raise invalid("Amount must be at least 50 cents", "amount", "amount_too_small")
        intent = self.new(
            "pi", "payment_intent", amount=amount, amount_received=0,
            currency=str(params.get("currency") or "").lower(), status="requires_payment_method",
            customer=params.get("customer"), payment_method=None, latest_charge=None,
            setup_future_usage=params.get("setup_future_usage"),
            description=params.get("description"), metadata=dict(params.get("metadata") or {}),
            capture_method="automatic", confirmation_method="automatic",
            payment_method_types=["card"], last_payment_error=None, next_action=None,
            canceled_at=None, cancellation_reason=None)
        intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(8)}"
        if params.get("payment_method"):
            self.update_intent(intent["id"], {"payment_method": params["payment_method"]})
        if str(params.get("confirm")) == "true":
            return self.confirm_intent(intent["id"], params, idem)
        return intent

    def update_intent(self, ident: str, params: dict[str, Any]) -> dict[str, Any]:
        intent = self.get("payment_intent", ident)
        if intent["status"] == "succeeded":
            raise invalid("This PaymentIntent's status is succeeded; it cannot be updated.",
                          code="payment_intent_unexpected_state")
        if params.get("customer"):
            intent["customer"] = self.get("customer", params["customer"], "customer")["id"]
        if params.get("payment_method"):
            intent["payment_method"] = self.get("payment_method", params["payment_method"],
                                                "payment_method")["id"]
            intent["status"] = "requires_confirmation"
        return intent

    def confirm_intent(self, ident: str, params: dict[str, Any], idem: str | None = None
                       ) -> dict[str, Any]:
        """Charge the intent's card; a decline is a 402 naming the intent, as Stripe's is."""
        intent = self.get("payment_intent", ident)
        if intent["status"] not in ("requires_confirmation", "requires_payment_method"):
            raise invalid(f"This PaymentIntent's status is {intent['status']}; it cannot be "
                          "confirmed.", code="payment_intent_unexpected_state")
        if not intent["payment_method"]:
            raise invalid("You cannot confirm this PaymentIntent because it's missing a "
                          "payment method.", "payment_method")
        method = self.objects[intent["payment_method"]]
        owner = method["customer"]
        if owner is not None and owner != intent["customer"]:
            raise invalid("The provided PaymentMethod is attached to another Customer than "
                          "the PaymentIntent's.", "payment_method")
        if owner is None and self.private[method["id"]].get("used"):
            raise invalid("This PaymentMethod was previously used without being attached to a "
                          "Customer or was detached from a Customer, and may not be used "
                          "again.", "payment_method")
        if str(params.get("off_session")) == "true" and owner is None:
            raise invalid("An off-session payment needs a PaymentMethod attached to the "
                          "PaymentIntent's Customer.", "off_session")
        return self._charge(intent, method, idem, str(params.get("off_session")) == "true")

    def _charge(self, intent: dict[str, Any], method: dict[str, Any], idem: str | None,
                off_session: bool = False) -> dict[str, Any]:
        outcome = self.private[method["id"]]["outcome"]
        ok = outcome is None or (outcome == "authenticate" and not off_session)
        code = "authentication_required" if outcome == "authenticate" else "card_declined"
        why = "authentication_required" if outcome == "authenticate" else "generic_decline"
        charge = self.new(
            "ch", "charge", amount=intent["amount"], amount_captured=intent["amount"] if ok
            else 0, amount_refunded=0, currency=intent["currency"],
            status="succeeded" if ok else "failed", paid=ok, captured=ok, refunded=False,
            payment_intent=intent["id"], payment_method=method["id"],
            customer=intent["customer"], failure_code=None if ok else code,
            failure_message=None if ok else "Your card was declined.",
            payment_method_details={"type": "card", "card": dict(method["card"])})
        intent["latest_charge"] = charge["id"]
        if not ok:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "type": "card_error", "code": code, "decline_code": why,
                "message": "Your card was declined.", "payment_method": copy.deepcopy(method)}
            self.emit("payment_intent.payment_failed", intent, idem)
            raise card_error(code, "Your card was declined.", why, charge=charge["id"],
                             payment_intent=copy.deepcopy(intent))
        intent.update(status="succeeded", amount_received=intent["amount"],
                      last_payment_error=None)
        if intent["setup_future_usage"] and intent["customer"] and not method["customer"]:
            method["customer"] = intent["customer"]  # Stripe keeps the card on success
        self.private[method["id"]]["used"] = True
        self.emit("payment_intent.succeeded", intent, idem)
        return intent

    def create_refund(self, params: dict[str, Any], idem: str | None = None) -> dict[str, Any]:
        intent = self.get("payment_intent", str(params.get("payment_intent") or ""),
                          "payment_intent")
        if intent["status"] != "succeeded":
            raise invalid("This PaymentIntent does not have a successful charge to refund.",
                          "payment_intent", "charge_not_refundable")
        charge = self.objects[intent["latest_charge"]]
        amount = integer(params.get("amount", charge["amount"] - charge["amount_refunded"]),
                      "amount")
        if amount <= 0 or charge["amount_refunded"] + amount > charge["amount"]:
            raise invalid(f"Refund amount ({amount}) is greater than unrefunded amount on "
                          "charge", "amount", "amount_too_large")
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        return self.new("re", "refund", amount=amount, currency=charge["currency"],
                         status="succeeded", payment_intent=intent["id"], charge=charge["id"],
                         reason=params.get("reason"), metadata={})

    # --- Checkout Sessions: see stripe_checkout_sessions ---------------------------------

    def _lapse(self, session: dict[str, Any]) -> None:
        """An open Session past its ``expires_at`` expires when next looked at."""
        if session["status"] == "open" and self.now() >= session["expires_at"]:
            self.expire(session)

    def expire(self, session: dict[str, Any]) -> dict[str, Any]:
        if session["status"] != "open":
            raise invalid('Only Checkout Sessions with a status in ["open"] can be expired.',
                          code="checkout_session_unexpected_state")
        session.update(status="expired", url=None)
        self.emit("checkout.session.expired", session)
        return session


def _luhn(digits: str) -> bool:
    if not 12 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0
