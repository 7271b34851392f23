"""A local Stripe for the tests: ``localstripe`` served in-process on 127.0.0.1.

``StripePeer`` runs localstripe's aiohttp app and a small webhook catcher in one event loop on a
background thread, both bound to loopback on ports the OS picks. localstripe signs and POSTs
its webhook events (``Stripe-Signature: t=…,v1=…``) to the catcher, which keeps the exact bytes
and headers so that a test can hand them to topup's webhook endpoint as Stripe would.

The peer also plays the payer's browser (``pay``): it creates a card PaymentMethod and confirms
the PaymentIntent directly with "Stripe", as Stripe.js does from the Payment Element — so card
numbers go only to the peer, never through topup. (Stripe.js authenticates with the publishable
key and the client secret; localstripe accepts only a secret key on these routes.)

localstripe predates the API version the ``stripe`` SDK pins (2026-10-28.endive), so two
things are adapted while the peer runs: ``allowed_payment_method_types`` (which replaced
``payment_method_types`` on create) is read as the old name, and ``description`` (not modelled
by localstripe) is accepted and dropped. Its pickle dump to ``/tmp`` is switched off, and the
1 s pause before it sends each webhook is cut to 50 ms to keep the suite quick.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from aiohttp import web

with warnings.catch_warnings():
    # localstripe registers plain-function handlers, which aiohttp deprecates at import.
    warnings.simplefilter("ignore", DeprecationWarning)
    from localstripe import resources as ls_resources
    from localstripe import server as ls_server
    from localstripe import webhooks as ls_webhooks

SECRET_KEY = "sk_test_topup_local_peer"
PUBLISHABLE_KEY = "pk_test_topup_local_peer"
START_TIMEOUT = 10.0
WEBHOOK_DELAY = 0.05


@dataclass(frozen=True)
class Delivery:
    """One webhook POST exactly as the peer sent it."""

    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    def forward_headers(self) -> dict[str, str]:
        """The headers a proxy would pass on (hop-by-hop ones dropped)."""
        drop = {"host", "content-length", "connection", "accept-encoding"}
        return {k: v for k, v in self.headers.items() if k.lower() not in drop}


def sign(body: bytes, secret: str, at: int | None = None) -> dict[str, str]:
    """Headers for ``body`` signed as Stripe signs: HMAC-SHA256 over ``f"{t}.{body}"``."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256)
    return {"Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": f"t={t},v1={mac.hexdigest()}"}


def event_body(kind: str, intent: dict[str, Any], *, created: int | None = None) -> bytes:
    """An event of ``kind`` about ``intent``, shaped as Stripe's (and localstripe's) are."""
    return json.dumps({
        "id": f"evt_{secrets.token_hex(8)}", "object": "event", "api_version": "2017-08-15",
        "created": int(time.time()) if created is None else created,
        "data": {"object": intent}, "livemode": False, "type": kind,
    }, indent=2, sort_keys=True).encode()


class _QuickAsyncio:
    """What localstripe's webhook sender uses of asyncio, with a shorter pause."""

    ensure_future = staticmethod(asyncio.ensure_future)

    @staticmethod
    async def sleep(_seconds: float) -> None:
        await asyncio.sleep(WEBHOOK_DELAY)


def _patch_localstripe() -> dict[str, Any]:
    saved = {"dump": ls_resources.Store.dump_to_disk,
             "create": ls_resources.PaymentIntent.__dict__["_api_create"],
             "asyncio": ls_webhooks.asyncio}
    original = saved["create"].__func__

    def create(cls: Any, **data: Any) -> Any:
        if "allowed_payment_method_types" in data:
            data["payment_method_types"] = data.pop("allowed_payment_method_types")
        data.pop("description", None)
        return original(cls, **data)

    ls_resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    ls_resources.PaymentIntent._api_create = classmethod(create)  # type: ignore[assignment]
    ls_webhooks.asyncio = _QuickAsyncio
    return saved


class StripePeer:
    """localstripe plus a webhook catcher on loopback, started and stopped by the test."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="localstripe")
        self._runners: list[web.AppRunner] = []
        self._seen: list[Delivery] = []
        self._arrived = threading.Condition()
        self._saved: dict[str, Any] = {}
        self.url = self.hook_url = ""

    def start(self) -> StripePeer:
        self._saved = _patch_localstripe()
        self._thread.start()
        self.url = self._run(self._serve(ls_server.app))
        catcher = web.Application()
        catcher.router.add_post("/hook", self._catch)
        self.hook_url = self._run(self._serve(catcher)) + "/hook"
        self.http = httpx.Client(base_url=self.url, timeout=10,
                                 headers={"Authorization": f"Bearer {SECRET_KEY}"})
        return self

    def stop(self) -> None:
        """Close the servers and the loop, and undo the patches (those whatever happens: a
        later peer in the same process must be able to serve localstripe's app again)."""
        try:
            self.http.close()
            for runner in self._runners:
                self._run(runner.cleanup())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(START_TIMEOUT)
            if not self._thread.is_alive():
                self._loop.close()
            # localstripe serves one global app, which remembers the loop of the last peer
            # that served it; a later peer (its own loop) could not serve it without this.
            ls_server.app._loop = None
            ls_resources.Store.dump_to_disk = self._saved["dump"]  # type: ignore[method-assign]
            ls_resources.PaymentIntent._api_create = self._saved["create"]
            ls_webhooks.asyncio = self._saved["asyncio"]

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(START_TIMEOUT)

    async def _serve(self, app: web.Application) -> str:
        # a request still open at ``stop`` (a webhook on its way) gets a second, not a minute
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runners.append(runner)
        host, port = runner.addresses[-1][:2]
        return f"http://{host}:{port}"

    async def _catch(self, request: web.Request) -> web.Response:
        delivery = Delivery(dict(request.headers), await request.read())
        with self._arrived:
            self._seen.append(delivery)
            self._arrived.notify_all()
        return web.Response(text="caught")

    def reset(self, webhook_secret: str) -> None:
        """Forget every object and delivery; send webhooks signed with ``webhook_secret``."""
        self.http.delete("/_config/data").raise_for_status()
        self.http.post("/_config/webhooks/topup", data={
            "url": self.hook_url, "secret": webhook_secret}).raise_for_status()
        with self._arrived:
            self._seen.clear()

    def delivery(self, kind: str, intent_id: str, timeout: float = 10.0) -> Delivery:
        """The webhook of ``kind`` about ``intent_id``, once localstripe has sent it."""
        def found() -> Delivery | None:
            return next((d for d in self._seen if d.event["type"] == kind
                         and d.event["data"]["object"]["id"] == intent_id), None)
        with self._arrived:
            self._arrived.wait_for(lambda: found() is not None, timeout)
            hit = found()
        assert hit is not None, f"no {kind} webhook for {intent_id} within {timeout} s"
        return hit

    def pay(self, intent_id: str, number: str = "4242424242424242", cvc: str = "719"
            ) -> httpx.Response:
        """Do what the payer's browser does with Stripe.js: card in, intent confirmed."""
        method = self.http.post("/v1/payment_methods", data={
            "type": "card", "card[number]": number, "card[exp_month]": "12",
            "card[exp_year]": "2030", "card[cvc]": cvc})
        method.raise_for_status()
        self.http.post(f"/v1/payment_intents/{intent_id}",
                       data={"payment_method": method.json()["id"]}).raise_for_status()
        return self.http.post(f"/v1/payment_intents/{intent_id}/confirm")

    def intent(self, intent_id: str) -> dict[str, Any]:
        """The PaymentIntent as localstripe serialises it."""
        found = self.http.get(f"/v1/payment_intents/{intent_id}")
        found.raise_for_status()
        return dict(found.json())
