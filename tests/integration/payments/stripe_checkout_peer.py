"""A local Stripe for the Checkout tests, on 127.0.0.1: the API parts topup's ``stripe`` and
``stripe_checkout`` code uses, Stripe's hosted payment page, and signed webhooks.

localstripe (what ``stripe_peer`` serves) has no Checkout Sessions and ignores idempotency
keys, so this stand-in speaks those parts of Stripe's wire format itself (``stripe_world``,
``stripe_sessions``): form-encoded requests as the SDK sends them, ``expand[]``, Stripe's
objects and error bodies (``{"error": {"type", "code", "message", "param"}}`` with 400, 402,
404, 401), a ``Request-Id`` on every answer, and idempotency as Stripe keeps it — a POST
retried with the same ``Idempotency-Key`` and parameters replays the first answer (with
``Idempotent-Replayed: true``), different parameters are an ``idempotency_error``, and a
request refused before it ran is not remembered.

A browser (or a test playing one with ``pay``) types a test card on the page at the
Session's ``url``; a paid Session sends it to ``success_url``. Every event is signed for each
registered endpoint as Stripe signs it (``Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of
"<t>.<body>">``), kept in ``deliveries``, and POSTed to the endpoint's URL when it has one.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from aiohttp import ClientSession, ClientTimeout, web

from tests.integration.payments import stripe_hosted_page as page
from tests.integration.payments import stripe_sessions as sessions
from tests.integration.payments.stripe_world import StripeError, World, decode_form, invalid

SECRET_KEY = "sk_test_topup_checkout_peer"
START_TIMEOUT = 10.0
Handler = Callable[[World, str, dict[str, Any], str | None], dict[str, Any]]


@dataclass
class Delivery:
    """One signed webhook delivery: to whom, the exact bytes, and the answer it got."""

    url: str | None
    headers: dict[str, str]
    body: bytes
    status: int | None = None

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


def sign(body: bytes, secret: str, at: int | None = None) -> str:
    """The ``Stripe-Signature`` value for ``body``: Stripe's ``t=…,v1=…`` scheme."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/v1/customers", lambda w, _i, p, _k: w.create_customer(p)),
    ("GET", "/v1/customers/{id}", lambda w, i, _p, _k: w.get("customer", i)),
    ("POST", "/v1/checkout/sessions", lambda w, _i, p, _k: sessions.create_session(w, p)),
    ("GET", "/v1/checkout/sessions/{id}", lambda w, i, _p, _k: w.get("checkout.session", i)),
    ("POST", "/v1/checkout/sessions/{id}/expire",
     lambda w, i, _p, _k: w.expire(w.get("checkout.session", i, "session"))),
    ("POST", "/v1/payment_intents", lambda w, _i, p, k: w.create_intent(p, k)),
    ("GET", "/v1/payment_intents/{id}", lambda w, i, _p, _k: w.get("payment_intent", i)),
    ("POST", "/v1/payment_intents/{id}", lambda w, i, p, _k: w.update_intent(i, p)),
    ("POST", "/v1/payment_intents/{id}/confirm", lambda w, i, p, k: w.confirm_intent(i, p, k)),
    ("GET", "/v1/payment_methods/{id}", lambda w, i, _p, _k: w.get("payment_method", i)),
    ("POST", "/v1/payment_methods/{id}/attach",
     lambda w, i, p, _k: w.attach(i, str(p.get("customer") or ""))),
    ("POST", "/v1/payment_methods/{id}/detach", lambda w, i, _p, _k: w.detach(i)),
    ("POST", "/v1/refunds", lambda w, _i, p, k: w.create_refund(p, k)),
]


class StripeCheckoutPeer:
    """The stand-in, started and stopped by a test; ``reset`` forgets everything."""

    def __init__(self, secret_key: str = SECRET_KEY, webhook_delay: float = 0.05) -> None:
        self.secret_key = secret_key
        self.webhook_delay = webhook_delay
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="stripe-checkout-peer")
        self._arrived = threading.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.world = World("")
        self.endpoints: list[tuple[str | None, str]] = []
        self.deliveries: list[Delivery] = []
        self._remembered: dict[tuple[str, str], tuple[str, Any, int, bytes]] = {}
        self._sending: set[asyncio.Future[None]] = set()

    # --- running ------------------------------------------------------------------------

    def start(self) -> StripeCheckoutPeer:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(
            START_TIMEOUT)
        self.http = httpx.Client(base_url=self.url, timeout=10,
                                 headers={"Authorization": f"Bearer {self.secret_key}"})
        self.reset()
        return self

    def stop(self) -> None:
        self.http.close()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(
                START_TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(START_TIMEOUT)
        self._loop.close()

    async def _serve(self) -> str:
        app = web.Application()
        for method, path, handler in ROUTES:
            app.router.add_route(method, path, self._api(handler))
        app.router.add_get("/c/pay/{id}", self._show)
        app.router.add_post("/c/pay/{id}", self._submit)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[-1][:2]
        return f"http://{host}:{port}"

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop (where the world lives) and wait for it."""
        async def run() -> Any:
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(START_TIMEOUT)

    def reset(self) -> None:
        """No objects, no endpoints, no deliveries, no remembered keys."""
        def fresh() -> None:
            self.world = World(self.url)
            self.world.on_event = self._signed
            self.endpoints.clear()
            self._remembered.clear()
        self._call(fresh)
        with self._arrived:
            self.deliveries.clear()

    def add_endpoint(self, url: str | None, secret: str) -> None:
        """Sign every event for ``secret`` and POST it to ``url`` (None: only keep it)."""
        self._call(lambda: self.endpoints.append((url, secret)))

    # --- webhooks -----------------------------------------------------------------------

    def _signed(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, indent=2).encode()
        for url, secret in self.endpoints:
            made = Delivery(url, {"Content-Type": "application/json; charset=utf-8",
                                  "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                                  "Stripe-Signature": sign(body, secret)}, body)
            with self._arrived:
                self.deliveries.append(made)
                self._arrived.notify_all()
            if url is not None:  # kept until sent: the loop holds tasks only weakly
                task = asyncio.ensure_future(self._post(made))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)

    async def _post(self, delivery: Delivery) -> None:
        await asyncio.sleep(self.webhook_delay)  # Stripe sends after answering the request
        assert delivery.url is not None
        async with (ClientSession(timeout=ClientTimeout(total=30)) as client,
                    client.post(delivery.url, data=delivery.body,
                                headers=delivery.headers) as answer):
            status = answer.status
        with self._arrived:
            delivery.status = status
            self._arrived.notify_all()

    def delivery(self, kind: str, object_id: str, *, answered: bool = False,
                 timeout: float = 10.0) -> Delivery:
        """The first delivery of event ``kind`` about ``object_id`` (once answered)."""
        def found() -> Delivery | None:
            return next((d for d in self.deliveries if d.event["type"] == kind
                         and d.event["data"]["object"]["id"] == object_id
                         and (not answered or d.status is not None)), None)
        with self._arrived:
            self._arrived.wait_for(lambda: found() is not None, timeout)
            hit = found()
        assert hit is not None, f"no {kind} event for {object_id} within {timeout} s"
        return hit

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The events delivered so far (of ``kind``), oldest first."""
        with self._arrived:
            return [d.event for d in self.deliveries if kind in (None, d.event["type"])]

    # --- the API ------------------------------------------------------------------------

    def _api(self, handler: Handler) -> Callable[[web.Request], Any]:
        async def serve(request: web.Request) -> web.Response:
            if request.headers.get("Authorization", "") != f"Bearer {self.secret_key}":
                return _json(401, {"error": {"type": "invalid_request_error",
                                             "message": "Invalid API Key provided."}})
            pairs = (await request.post()).items() if request.method == "POST" else \
                request.query.items()
            params = decode_form((str(k), str(v)) for k, v in pairs)
            key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
            if key is not None:
                slot, seen = (self.secret_key, key), (request.path, params)
                first = self._remembered.get(slot)
                if first is not None:
                    return _replay(first, seen, key)
            status, body, keep = _run(self.world, handler, request, params, key)
            if key is not None and keep:
                self._remembered[slot] = (request.path, params, status, body)
            return _answer(status, body)
        return serve

    # --- the hosted page ----------------------------------------------------------------

    def _session(self, request: web.Request) -> dict[str, Any]:
        try:
            return self.world.get("checkout.session", request.match_info["id"])
        except StripeError as exc:
            raise web.HTTPNotFound() from exc

    def _page_of(self, session: dict[str, Any], lang: str, error: str | None = None
                 ) -> web.Response:
        if session["status"] != "open":
            return web.Response(text=page.message_page(lang, "gone"), content_type="text/html")
        kept = self.world.private[session["id"]]
        keeps = kept["intent"].get("setup_future_usage") == "off_session"
        product = kept["items"][0]["price_data"]["product_data"]["name"]
        return web.Response(text=page.pay_page(session, lang, keeps, error, product),
                            content_type="text/html")

    async def _show(self, request: web.Request) -> web.Response:
        session = self._session(request)
        return self._page_of(session, page.language(
            session, request.headers.get("Accept-Language", "")))

    async def _submit(self, request: web.Request) -> web.Response:
        session = self._session(request)
        lang = page.language(session, request.headers.get("Accept-Language", ""))
        form = await request.post()
        month, _, year = str(form.get("expiry", "")).partition("/")
        card = {"number": str(form.get("number", "")), "month": month.strip(),
                "year": year.strip(), "cvc": str(form.get("cvc", "")),
                "name": str(form.get("name", ""))}
        try:
            sessions.pay(self.world, session["id"], card)
        except StripeError as exc:
            if exc.error.get("type") != "card_error":
                return self._page_of(session, lang)
            return self._page_of(session, lang, page.card_message(
                lang, exc.error.get("code"), str(exc.error.get("message"))))
        target = sessions.success_url(session)
        if target is None:
            return web.Response(text=page.message_page(lang, "paid"), content_type="text/html")
        raise web.HTTPSeeOther(target)

    # --- for tests playing the browser -------------------------------------------------

    def pay(self, session_url: str, number: str = "4242424242424242", expiry: str = "12 / 34",
            cvc: str = "123", name: str = "Li Lei") -> httpx.Response:
        """Submit a card on the hosted page; the answer (a 303 to success_url when paid)."""
        return httpx.post(session_url, timeout=10, follow_redirects=False, data={
            "number": number, "expiry": expiry, "cvc": cvc, "name": name})

    def get(self, path: str, *expand: str) -> dict[str, Any]:
        """An object through the API (``/v1/…``), with ``expand`` paths."""
        found = self.http.get(path, params={f"expand[{i}]": e for i, e in enumerate(expand)})
        found.raise_for_status()
        return dict(found.json())


def _run(world: World, handler: Handler, request: web.Request, params: dict[str, Any],
         key: str | None) -> tuple[int, bytes, bool]:
    """The handler's answer; whether an idempotent retry should replay it."""
    expand = params.pop("expand", [])
    try:
        made = handler(world, request.match_info.get("id", ""), params, key)
        if not isinstance(expand, list):
            raise invalid("Invalid array", "expand")
        return 200, _dump(world.export(made, expand)), True
    except StripeError as exc:
        return exc.status, _dump(exc.body), exc.saved


def _replay(first: tuple[str, Any, int, bytes], seen: tuple[str, Any], key: str
            ) -> web.Response:
    if (first[0], first[1]) != seen:
        return _json(400, {"error": {
            "type": "idempotency_error", "message": "Keys for idempotent requests can only be "
            "used with the same parameters they were first used with. Try using a key other "
            f"than '{key}' if you meant to execute a different request."}})
    return _answer(first[2], first[3], {"Idempotent-Replayed": "true"})


def _dump(body: Any) -> bytes:
    return json.dumps(body, indent=2).encode()


def _answer(status: int, body: bytes, extra: dict[str, str] | None = None) -> web.Response:
    headers = {"Request-Id": f"req_{secrets.token_hex(7)}", "Stripe-Version": "2026-10-28.endive",
               **(extra or {})}
    return web.Response(status=status, body=body, content_type="application/json",
                        headers=headers)


def _json(status: int, body: Any) -> web.Response:
    return _answer(status, _dump(body))
