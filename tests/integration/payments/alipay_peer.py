"""A local Alipay for tests: ``gateway.do`` on 127.0.0.1 speaking Alipay's wire format.

It checks the RSA2 signature of every request with the *app's* public key (as Alipay does),
answers ``{"<method>_response": {...}, "sign": "..."}`` signed with its own "Alipay" key, and
writes asynchronous notifications as Alipay sends them: a UTF-8 form signed over the sorted
``k=v&…`` without ``sign`` and ``sign_type``. Keys are generated per test session with
``cryptography`` (independently of the SDK, which uses pycryptodome), never committed.

Implemented methods: ``alipay.trade.precreate``, ``alipay.trade.query``,
``alipay.trade.refund``, ``alipay.trade.fastpay.refund.query``, and the browser-side
``alipay.trade.page.pay`` / ``alipay.trade.wap.pay`` (a cashier page).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

APP_ID = "2021000000000001"
SELLER_ID = "2088101106499364"
BEIJING = timezone(timedelta(hours=8))
FORM_HEADERS = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


def new_key() -> rsa.RSAPrivateKey:
    """A fresh RSA2 (2048-bit) key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey, fmt: str = "pkcs1") -> str:
    """PEM text of a private key, PKCS#1 (as Alipay's tool gives) or PKCS#8."""
    form = serialization.PrivateFormat.TraditionalOpenSSL if fmt == "pkcs1" else \
        serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, form,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def bare_base64(pem: str) -> str:
    """The one-line base64 form that Alipay's console shows (no PEM armour)."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def rsa2_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    sig = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(sig).decode()


def rsa2_verify(key: rsa.RSAPublicKey, message: str, sign: str) -> bool:
    try:
        key.verify(base64.b64decode(sign), message.encode(), padding.PKCS1v15(),
                   hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def content_to_sign(fields: Mapping[str, str], *skip: str) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k not in skip)


def beijing_time(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Trade:
    """One trade as the peer's Alipay keeps it."""

    out_trade_no: str
    total_amount: str
    subject: str
    notify_url: str
    status: str = "CREATED"  # not yet seen by a payer: query answers ACQ.TRADE_NOT_EXIST
    trade_no: str = field(default_factory=lambda: "2026" + uuid.uuid4().hex[:24])
    refunds: dict[str, str] = field(default_factory=dict)

    @property
    def qr_code(self) -> str:
        return f"https://qr.alipay.com/bax{self.trade_no[-12:]}"

    @property
    def refunded(self) -> Decimal:
        return sum((Decimal(v) for v in self.refunds.values()), Decimal(0))


@dataclass
class Keys:
    """The app's key pair (ours) and Alipay's key pair (the peer's)."""

    app: rsa.RSAPrivateKey
    alipay: rsa.RSAPrivateKey


class AlipayPeer:
    """The fake Alipay: call ``start()``/``stop()``, then drive payers with ``scan``/``pay``."""

    def __init__(self, keys: Keys, app_id: str = APP_ID) -> None:
        self.keys = keys
        self.app_id = app_id
        self.trades: dict[str, Trade] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refuse: tuple[str, str] | None = None  # (sub_code, sub_msg) for the next call
        self.answer_key: rsa.RSAPrivateKey | None = None  # sign answers with another key
        self.broken = False  # answer HTTP 500
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def gateway(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/gateway.do"

    def start(self) -> AlipayPeer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.peer = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- the payer's side -------------------------------------------------------------
    def scan(self, ref: str) -> Trade:
        """The payer opened the trade in the Alipay app: it now exists, waiting for payment."""
        trade = self.trades[ref]
        trade.status = "WAIT_BUYER_PAY"
        return trade

    def pay(self, ref: str) -> tuple[bytes, dict[str, str]]:
        """The payer pays; returns the notification Alipay would POST."""
        self.scan(ref).status = "TRADE_SUCCESS"
        return self.notification(ref)

    def notification(self, ref: str, trade_status: str | None = None, *,
                     at: datetime | None = None, key: rsa.RSAPrivateKey | None = None,
                     **extra: str) -> tuple[bytes, dict[str, str]]:
        """A notify form body and headers, signed by Alipay (or ``key``)."""
        trade = self.trades[ref]
        status = trade_status or trade.status
        fields = {
            "gmt_create": beijing_time(), "charset": "utf-8", "notify_time": beijing_time(at),
            "subject": trade.subject, "buyer_id": "2088102122524333", "version": "1.0",
            "notify_id": uuid.uuid4().hex, "notify_type": "trade_status_sync",
            "out_trade_no": ref, "total_amount": trade.total_amount, "trade_status": status,
            "trade_no": trade.trade_no, "auth_app_id": self.app_id, "app_id": self.app_id,
            "seller_id": SELLER_ID, "point_amount": "0.00",
        }
        if status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            fields |= {"gmt_payment": beijing_time(), "receipt_amount": trade.total_amount,
                       "buyer_pay_amount": trade.total_amount,
                       "fund_bill_list": json.dumps([{"amount": trade.total_amount,
                                                      "fundChannel": "ALIPAYACCOUNT"}])}
        fields |= extra
        sign = rsa2_sign(key or self.keys.alipay, content_to_sign(fields, "sign", "sign_type"))
        body = urlencode([*fields.items(), ("sign_type", "RSA2"), ("sign", sign)])
        return body.encode(), dict(FORM_HEADERS)

    # --- gateway.do -------------------------------------------------------------------
    def handle(self, params: dict[str, str]) -> tuple[int, str, str]:
        """(status, content type, body) for one gateway request."""
        if self.broken:
            return 500, "text/plain", "internal error"
        app_key = self.keys.app.public_key()
        if params.get("app_id") != self.app_id or not rsa2_verify(
                app_key, content_to_sign(params, "sign"), params.get("sign", "")):
            return 200, "application/json", json.dumps({"error_response": {
                "code": "40002", "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}})
        method = params.get("method", "")
        biz = json.loads(params.get("biz_content") or "{}")
        with self._lock:
            self.calls.append((method, biz))
            if method in ("alipay.trade.page.pay", "alipay.trade.wap.pay"):
                trade = self._trade(biz, params)
                return 200, "text/html; charset=utf-8", (
                    f"<html><body>支付宝 收银台 {trade.subject} ¥{trade.total_amount}"
                    "</body></html>")
            answer = self._answer(method, biz, params)
        return 200, "application/json;charset=utf-8", self._signed(method, answer)

    def _signed(self, method: str, answer: dict[str, Any]) -> str:
        inner = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        sign = rsa2_sign(self.answer_key or self.keys.alipay, inner)
        name = method.replace(".", "_") + "_response"
        return f'{{"{name}":{inner},"sign":"{sign}"}}'

    def _answer(self, method: str, biz: dict[str, Any], params: dict[str, str]
                ) -> dict[str, Any]:
        if self.refuse is not None:
            (sub_code, sub_msg), self.refuse = self.refuse, None
            return _failed(sub_code, sub_msg)
        handlers = {"alipay.trade.precreate": self._precreate,
                    "alipay.trade.query": self._query,
                    "alipay.trade.refund": self._refund,
                    "alipay.trade.fastpay.refund.query": self._refund_query}
        handler = handlers.get(method)
        if handler is None:
            return {"code": "40004", "msg": "Business Failed",
                    "sub_code": "isv.invalid-method", "sub_msg": method}
        return handler(biz, params)

    def _trade(self, biz: dict[str, Any], params: dict[str, str]) -> Trade:
        ref = str(biz["out_trade_no"])
        if ref not in self.trades:
            self.trades[ref] = Trade(ref, str(biz["total_amount"]), str(biz["subject"]),
                                     params.get("notify_url", ""))
        return self.trades[ref]

    def _precreate(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        known = self.trades.get(str(biz["out_trade_no"]))
        if known is not None and known.total_amount != str(biz["total_amount"]):
            return _failed("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
        if known is not None and known.status == "TRADE_SUCCESS":
            return _failed("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        trade = self._trade(biz, params)
        return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no,
                "qr_code": trade.qr_code}

    def _query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self.trades.get(str(biz.get("out_trade_no")))
        if trade is None or trade.status == "CREATED":
            return _failed("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no, "buyer_logon_id": "159****5620",
                "trade_status": trade.status, "total_amount": trade.total_amount,
                "buyer_pay_amount": "0.00" if trade.status == "WAIT_BUYER_PAY"
                else trade.total_amount}

    def _refund(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self.trades.get(str(biz.get("out_trade_no")))
        if trade is None or trade.status not in ("TRADE_SUCCESS", "TRADE_CLOSED"):
            return _failed("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        changed = "N"
        if request_no not in trade.refunds:
            wanted = Decimal(str(biz["refund_amount"]))
            if trade.refunded + wanted > Decimal(trade.total_amount):
                return _failed("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            trade.refunds[request_no] = f"{wanted:.2f}"
            changed = "Y"
            if trade.refunded == Decimal(trade.total_amount):
                trade.status = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no, "fund_change": changed,
                "refund_fee": f"{trade.refunded:.2f}", "buyer_logon_id": "159****5620"}

    def _refund_query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self.trades.get(str(biz.get("out_trade_no")))
        request_no = str(biz.get("out_request_no"))
        if trade is None or request_no not in trade.refunds:
            return {"code": "10000", "msg": "Success", "out_request_no": request_no}
        return {"code": "10000", "msg": "Success", "out_request_no": request_no,
                "out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no,
                "total_amount": trade.total_amount, "refund_status": "REFUND_SUCCESS",
                "refund_amount": trade.refunds[request_no]}


def _failed(sub_code: str, sub_msg: str) -> dict[str, Any]:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code,
            "sub_msg": sub_msg}


class _Handler(BaseHTTPRequestHandler):
    """Routes GET/POST ``/gateway.do`` (query string or form body) to the peer."""

    def _serve(self, params: dict[str, str]) -> None:
        if urlsplit(self.path).path != "/gateway.do":
            self.send_error(404)
            return
        status, ctype, text = self.server.peer.handle(params)  # type: ignore[attr-defined]
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(size).decode() if size else ""
        query = urlsplit(self.path).query
        self._serve(dict(parse_qsl(query + "&" + form, keep_blank_values=True)))

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on behaviour, not on access logs."""
