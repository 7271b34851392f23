"""The requests bench/topups.py sends, as hand-built HTTP/1.1 bytes for bench/_loadgen.py.

Request ``n`` is a pure function of ``n``: its idempotency key or record id is ``bench-<run>-<n>``
(fresh for each request, the same when the request is resent), so a request whose answer was
lost can be resent later to learn, exactly, whether it moved value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from _loadgen import Response

AMOUNT = 1000
CURRENCY = "CNY"
CREDIT_BODY = json.dumps({"amount": AMOUNT, "currency": CURRENCY, "reason": "bench",
                          "confirm_duplicate": True}, separators=(",", ":")).encode()


def request(method: str, path: str, host: str, token: str | None, extra: str = "",
            body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + extra + "\r\n").encode() + body


def _status(resp: Response) -> str:
    return str(resp.status)


@dataclass(frozen=True)
class Get:
    """A cheap GET (the calibration: what the client drives when the server does little)."""

    host: str
    path: str

    def request(self, n: int) -> bytes:
        return request("GET", self.path, self.host, None)

    def judge(self, n: int, resp: Response) -> tuple[str, int]:
        return ("ok", 0) if resp.status == 200 else (_status(resp), 0)

    def settle(self, resp: Response) -> int | None:
        return 0


@dataclass(frozen=True)
class Credit:
    """A manual credit of AMOUNT to line ``lines[n % len]`` under a fresh Idempotency-Key."""

    host: str
    token: str
    lines: tuple[int, ...]
    run: str

    def request(self, n: int) -> bytes:
        path = f"/api/v1/admin/lines/{self.lines[n % len(self.lines)]}/credit"
        return request("POST", path, self.host, self.token,
                       f"Idempotency-Key: bench-{self.run}-{n}\r\n", CREDIT_BODY)

    def judge(self, n: int, resp: Response) -> tuple[str, int]:
        if resp.status != 201:
            return _status(resp), 0
        if resp.headers.get("idempotent-replayed") == "true":
            return "201 replayed for a fresh key", 0
        return "ok", AMOUNT

    def settle(self, resp: Response) -> int | None:
        """Resent after a lost answer: a 201 (first run now, or the stored one) credited."""
        return AMOUNT if resp.status == 201 else None


@dataclass(frozen=True)
class Replay:
    """Credits resent under keys that already succeeded: must be marked replayed, move nothing."""

    credit: Credit
    used: tuple[int, ...]

    def request(self, n: int) -> bytes:
        return self.credit.request(self.used[n % len(self.used)])

    def judge(self, n: int, resp: Response) -> tuple[str, int]:
        if resp.status != 201:
            return f"replay {resp.status}", 0
        if resp.headers.get("idempotent-replayed") != "true":
            return "replay 201 without Idempotent-Replayed: true", 0
        return "ok", 0

    def settle(self, resp: Response) -> int | None:
        return 0


@dataclass(frozen=True)
class Usage:
    """One SMS reported by the network for line ``iccids[n % len]``, a fresh record id each;
    the lines hold the money credited before, drawn at the out-of-bundle rate."""

    host: str
    token: str
    iccids: tuple[str, ...]
    run: str
    occurred_at: str
    country: str = "TH"

    def request(self, n: int) -> bytes:
        body = json.dumps({"record_id": f"bench-{self.run}-u{n}",
                           "line": self.iccids[n % len(self.iccids)], "unit": "sms",
                           "quantity": 1, "country": self.country,
                           "occurred_at": self.occurred_at}, separators=(",", ":")).encode()
        return request("POST", "/api/v1/usage", self.host, self.token, body=body)

    def judge(self, n: int, resp: Response) -> tuple[str, int]:
        # 200 would mean "this record id was reported before": never so for fresh ids
        if resp.status != 201:
            return _status(resp), 0
        charged = int(json.loads(resp.body)["money_charged"])
        return ("ok", charged) if charged > 0 else ("201 but nothing charged", 0)

    def settle(self, resp: Response) -> int | None:
        """Resent after a lost answer: 201 (rated now) or 200 (rated the first time)."""
        if resp.status in (200, 201):
            return int(json.loads(resp.body)["money_charged"])
        return None
