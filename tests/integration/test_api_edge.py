"""The API's edge: out-of-range and malformed input answers 4xx problem+json (never a 500),
bodies are limited while they stream, an internal error leaves the connection usable, and the
OpenAPI document says so."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import Api, make_user, sandbox_shop
from topup.channels.api.app import create_app
from topup.db.uow import Database

PROBLEM = "application/problem+json"
HUGE = 2**64  # 18446744073709551616: past every integer column


def problem_of(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = resp.json()
    if code:
        assert body["code"] == code, body
    return body


# --- hole 5: out-of-range and malformed input ---------------------------------------------

def test_a_huge_id_is_refused_before_any_query(api: Api) -> None:
    problem_of(api.client.get(f"/api/v1/plans/{HUGE}"), 422, "validation_failed")
    problem_of(api.client.get("/api/v1/plans/0"), 422, "validation_failed")


def test_huge_ids_in_path_query_and_body_are_refused(catalogue: Database) -> None:
    shop = sandbox_shop(catalogue)
    c, me, staff = shop.api.client, shop.me, shop.staff
    for path in (f"/api/v1/lines/{HUGE}", f"/api/v1/orders/{HUGE}/receipt",
                 f"/api/v1/lines/{shop.line_id}/transactions?before={HUGE}",
                 f"/api/v1/lines/{shop.line_id}/orders?before=-1"):
        problem_of(c.get(path, headers=me), 422, "validation_failed")
    for path in (f"/api/v1/admin/voucher-batches?before={HUGE}", f"/api/v1/admin/agents/{HUGE}",
                 f"/api/v1/admin/agents?parent_id={HUGE}"):
        problem_of(c.get(path, headers=staff), 422, "validation_failed")
    order = {"line_id": HUGE, "kind": "topup", "method": "sandbox", "amount": 5000}
    problem_of(shop.api.post("/api/v1/orders", me, key="k-huge", json=order), 422)
    problem_of(c.post("/api/v1/orders/quote", headers=me, json={**order, "line_id": 1,
                                                                 "plan_id": HUGE}), 422)


def test_an_fx_rate_past_what_is_stored_is_refused(api: Api) -> None:
    staff = api.login(str(make_user(api.db, "admin").email))
    for rate in ("1e308", "1e-300", "1e999999999", "99999999999999999999"):
        problem_of(api.client.put("/api/v1/admin/fx-rates", headers=staff, json={
            "base": "USD", "quote": "CNY", "rate": rate}), 422, "invalid_catalog_entry")
    assert api.client.put("/api/v1/admin/fx-rates", headers=staff, json={
        "base": "USD", "quote": "CNY", "rate": "7.1234"}).status_code == 204


def test_a_time_outside_the_utc_calendar_is_refused(api: Api) -> None:
    staff = api.login(str(make_user(api.db, "admin").email))
    for when in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        problem_of(api.client.post("/api/v1/usage", headers=staff, json={
            "record_id": "r1", "line": "+85261234567", "unit": "data", "quantity": 1,
            "country": "HK", "occurred_at": when}), 422, "validation_failed")
        problem_of(api.client.post("/api/v1/admin/voucher-batches", headers=staff, json={
            "count": 1, "expires_at": when, "face_amount": 5000}), 422, "validation_failed")


def test_a_lone_surrogate_or_nul_in_text_is_refused(api: Api) -> None:
    for email in ("\ud800@x.co", "a\u0000b@x.co"):
        body = json.dumps({"email": email, "password": "correct-horse-battery"})
        problem_of(api.client.post("/api/v1/auth/register", content=body,
                                   headers={"content-type": "application/json"}),
                   400, "invalid_characters")
    problem_of(api.client.post("/api/v1/auth/token", content=b"username=a%00b&password=x",
                               headers={"content-type": "application/x-www-form-urlencoded"}),
               400, "invalid_characters")
    problem_of(api.client.get("/api/v1/plans?q=%00"), 400, "invalid_characters")
    problem_of(api.client.get("/api/v1/vouchers/%00"), 400, "invalid_characters")


def test_a_signed_sandbox_event_without_data_is_refused(catalogue: Database) -> None:
    shop = sandbox_shop(catalogue)
    for event in ({"id": "evt_1", "type": "payment.succeeded"},
                  {"id": "evt_2", "type": "payment.succeeded", "data": {"ref": "x"}},
                  {"id": "evt_3", "type": "payment.succeeded",
                   "data": {"ref": "x", "amount": "many", "currency": "CNY"}},
                  ["not", "an", "object"]):
        body = json.dumps(event).encode()
        problem_of(shop.api.client.post("/api/v1/webhooks/sandbox", content=body,
                                        headers=shop.sandbox.sign(body)),
                   400, "invalid_notification")


# --- hole 6: request size and shape ---------------------------------------------------------

def _asgi_post(app: FastAPI, path: str, chunks: Iterator[bytes],
               headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, Any]]:
    """POST through the ASGI interface itself, so the test sees how much body was pulled."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


def test_a_large_chunked_body_is_refused_without_reading_it_all(db: Database) -> None:
    app = create_app(db)
    pulled = 0

    def two_megabytes() -> Iterator[bytes]:
        nonlocal pulled
        for _ in range(32):  # 32 x 64 KiB
            pulled += 1
            yield b" " * 65536

    status, body = _asgi_post(app, "/api/v1/auth/register", two_megabytes(),
                              [(b"content-type", b"application/json")])
    assert (status, body["code"]) == (413, "request_too_large")
    assert pulled == db.settings.max_body_bytes // 65536 + 1  # stopped right past the limit


def test_a_declared_length_past_the_limit_is_refused_before_reading(db: Database) -> None:
    app = create_app(db)
    pulled = 0

    def nothing() -> Iterator[bytes]:
        nonlocal pulled
        pulled += 1
        yield b"{}"

    status, body = _asgi_post(app, "/api/v1/auth/register", nothing(), [
        (b"content-type", b"application/json"), (b"content-length", b"314572800")])
    assert (status, body["code"], pulled) == (413, "request_too_large", 0)


def test_the_statement_upload_has_its_own_larger_limit(api: Api) -> None:
    staff = api.login(str(make_user(api.db, "admin").email))
    big = b"x" * (api.db.settings.max_body_bytes + 1)
    r = api.client.post("/api/v1/admin/bank/statements?format=csv", headers=staff, content=big)
    assert r.status_code != 413  # past the API limit, within the upload limit: the route decides
    problem_of(api.client.post("/api/v1/auth/register", content=big,
                               headers={"content-type": "application/json"}),
               413, "request_too_large")


def test_oversized_headers_are_refused(api: Api) -> None:
    pad = "a" * api.db.settings.max_header_bytes
    problem_of(api.client.get("/healthz", headers={"X-Pad": pad}), 431, "headers_too_large")
    assert api.client.get("/healthz", headers={"X-Pad": pad[:8000]}).status_code == 200


def test_deep_or_wide_json_is_refused(api: Api) -> None:
    depth = api.db.settings.max_json_depth
    for body in ("[" * (depth + 1) + "]" * (depth + 1), '{"a":' * 100_000 + "1" + "}" * 100_000,
                 json.dumps({"email": list(range(20_000))})):
        problem_of(api.client.post("/api/v1/auth/register", content=body,
                                   headers={"content-type": "application/json"}),
                   400, "request_too_complex")
    fine = "[" * depth + "]" * depth  # at the limit: the route judges it (not a register body)
    problem_of(api.client.post("/api/v1/auth/register", content=fine,
                               headers={"content-type": "application/json"}),
               422, "validation_failed")


# --- after an internal error the connection still serves ------------------------------------

def _crashing_app(db: Database) -> FastAPI:
    app = create_app(db)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/overflow", include_in_schema=False)
    def overflow() -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    return app


def test_an_internal_error_is_answered_not_re_raised(db: Database) -> None:
    client = TestClient(_crashing_app(db), raise_server_exceptions=True)
    problem_of(client.get("/boom"), 500, "internal_error")
    assert client.get("/healthz").status_code == 200


def test_a_value_past_the_database_range_is_the_callers_error(db: Database) -> None:
    client = TestClient(_crashing_app(db), raise_server_exceptions=True)
    body = problem_of(client.get("/overflow"), 422, "value_out_of_range")
    assert "SQLite" not in body["detail"]  # the lower layer's words stay in the log


def test_the_keep_alive_connection_survives_an_internal_error(db: Database) -> None:
    config = uvicorn.Config(_crashing_app(db), host="127.0.0.1", port=0, log_level="critical",
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            first = _exchange(conn, "/boom")
            second = _exchange(conn, "/healthz")  # the same connection
        assert first.startswith(b"HTTP/1.1 500") and b"internal_error" in first
        assert second.startswith(b"HTTP/1.1 200"), second
    finally:
        server.should_exit = True
        thread.join(10)


def _exchange(conn: socket.socket, path: str) -> bytes:
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += _recv(conn)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += _recv(conn)
    return head + b"\r\n\r\n" + body


def _recv(conn: socket.socket) -> bytes:
    chunk = conn.recv(65536)
    if not chunk:
        raise ConnectionError("the server closed the connection")
    return chunk


# --- hole 8: the document tells the truth about errors --------------------------------------

@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    resp = api.client.get("/openapi.json")
    assert resp.status_code == 200
    found: dict[str, Any] = resp.json()
    return found


def test_the_document_has_no_fastapi_validation_errors(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert "HTTPValidationError" not in text and "#/components/schemas/ValidationError" not in text
    assert set(document["components"]["schemas"]["Problem"]["required"]) == {
        "type", "title", "status", "code", "instance"}


def test_every_operation_documents_its_problems(document: dict[str, Any]) -> None:
    authed = 0
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            for status, answer in responses.items():
                if status.startswith(("4", "5")):
                    assert list(answer["content"]) == [PROBLEM], (method, path, status)
                elif status != "204":  # a replay's 200 has the body of the first answer
                    assert answer.get("content"), (method, path, status)
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in responses, (method, path)
            if "security" in op:
                authed += 1
                assert {"401", "403"} <= set(responses), (method, path)
    assert authed > 50
    assert "401" in document["paths"]["/api/v1/terminal/me"]["get"]["responses"]
    assert "401" in document["paths"]["/api/v1/ussd"]["post"]["responses"]
    assert "401" not in document["paths"]["/api/v1/plans"]["get"]["responses"]


def test_pages_are_documented_with_their_own_content_types(document: dict[str, Any]) -> None:
    ok = document["paths"]["/api/v1/orders/{order_id}/receipt.html"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/html"]
    assert list(document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == [
        "text/plain"]
    assert not any(p.startswith(("/admin", "/pos", "/portal")) for p in document["paths"])

