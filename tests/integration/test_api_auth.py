"""Registration, login, lockout, tokens, and password reset over the API."""

from __future__ import annotations

from tests.factories import Api
from topup.clock import FrozenClock
from topup.notifications.service import queued_for


def register(api: Api, **body: str) -> dict:
    r = api.client.post("/api/v1/auth/register", json={"password": "long-enough-pw", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_register_with_phone_and_login_by_phone(api: Api) -> None:
    user = register(api, phone="+66 81 234 5678", language="zh-CN")
    assert user["phone"] == "+66812345678" and user["role"] == "customer"
    headers = api.login("+66812345678", "long-enough-pw")
    assert api.client.get("/api/v1/auth/me", headers=headers).json()["id"] == user["id"]


def test_register_refuses_duplicates_and_bad_input(api: Api) -> None:
    register(api, email="a@example.com")
    r = api.client.post("/api/v1/auth/register",
                        json={"email": "A@example.com", "password": "long-enough-pw"})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "login_taken"
    r = api.client.post("/api/v1/auth/register",
                        json={"phone": "12345", "password": "long-enough-pw"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_msisdn"
    r = api.client.post("/api/v1/auth/register", json={"password": "long-enough-pw"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    r = api.client.post("/api/v1/auth/register", json={"email": "b@example.com", "password": "x"})
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"


def test_password_is_stored_as_argon2id(api: Api) -> None:
    register(api, email="hash@example.com")
    with api.db.unit() as uow:
        from topup.subscribers.auth import find_by_login

        row = find_by_login(uow, "hash@example.com")
    assert row is not None and row.password_hash.startswith("$argon2id$")


def test_lockout_after_repeated_failures_even_with_right_password(
        api: Api, clock: FrozenClock) -> None:
    register(api, email="lock@example.com")
    for _ in range(5):
        r = api.client.post("/api/v1/auth/token",
                            data={"username": "lock@example.com", "password": "wrong-password"})
        assert r.status_code == 401 and r.json()["code"] == "bad_credentials"
    r = api.client.post("/api/v1/auth/token",
                        data={"username": "lock@example.com", "password": "long-enough-pw"})
    assert r.status_code == 429 and r.json()["code"] == "account_locked"
    assert int(r.headers["Retry-After"]) > 0
    clock.advance(minutes=16)
    assert api.login("lock@example.com", "long-enough-pw")


def test_unknown_login_answers_like_a_wrong_password(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token",
                        data={"username": "nobody@example.com", "password": "whatever-pw"})
    assert r.status_code == 401 and r.json()["code"] == "bad_credentials"


def test_token_required_and_logout_revokes(api: Api) -> None:
    assert api.client.get("/api/v1/lines").status_code == 401
    register(api, email="out@example.com")
    headers = api.login("out@example.com", "long-enough-pw")
    assert api.client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert api.client.get("/api/v1/lines", headers=headers).status_code == 401


def test_password_reset_by_code_through_the_outbox(api: Api, clock: FrozenClock) -> None:
    register(api, email="reset@example.com", phone="+8613800138001")
    old = api.login("reset@example.com", "long-enough-pw")
    assert api.client.post("/api/v1/auth/password-reset",
                           json={"login": "+8613800138001"}).status_code == 202
    with api.db.unit() as uow:
        (msg,) = queued_for(uow, "+8613800138001")
    assert msg["channel"] == "sms" and msg["template"] == "password_reset"
    code = msg["params"]["code"]
    wrong = "00000000" if code != "00000000" else "11111111"
    r = api.client.post("/api/v1/auth/password-reset/confirm", json={
        "login": "+8613800138001", "code": wrong, "new_password": "brand-new-pass"})
    assert r.status_code == 422 and r.json()["code"] == "reset_code_invalid"
    r = api.client.post("/api/v1/auth/password-reset/confirm", json={
        "login": "+8613800138001", "code": code, "new_password": "brand-new-pass"})
    assert r.status_code == 204
    assert api.client.get("/api/v1/auth/me", headers=old).status_code == 401
    assert api.login("reset@example.com", "brand-new-pass")
    r = api.client.post("/api/v1/auth/password-reset/confirm", json={
        "login": "+8613800138001", "code": code, "new_password": "another-pass"})
    assert r.status_code == 422, "a code works once"


def test_reset_code_expires_and_is_spent_by_five_wrong_tries(api: Api, clock: FrozenClock) -> None:
    register(api, email="spent@example.com")
    api.client.post("/api/v1/auth/password-reset", json={"login": "spent@example.com"})
    with api.db.unit() as uow:
        code = queued_for(uow, "spent@example.com")[-1]["params"]["code"]
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(5):
        api.client.post("/api/v1/auth/password-reset/confirm", json={
            "login": "spent@example.com", "code": wrong, "new_password": "brand-new-pass"})
    r = api.client.post("/api/v1/auth/password-reset/confirm", json={
        "login": "spent@example.com", "code": code, "new_password": "brand-new-pass"})
    assert r.status_code == 422
    api.client.post("/api/v1/auth/password-reset", json={"login": "spent@example.com"})
    with api.db.unit() as uow:
        code = queued_for(uow, "spent@example.com")[-1]["params"]["code"]
    clock.advance(minutes=11)
    r = api.client.post("/api/v1/auth/password-reset/confirm", json={
        "login": "spent@example.com", "code": code, "new_password": "brand-new-pass"})
    assert r.status_code == 422, "codes expire after 10 minutes"


def test_reset_for_unknown_login_sends_nothing_and_says_the_same(api: Api) -> None:
    r = api.client.post("/api/v1/auth/password-reset", json={"login": "ghost@example.com"})
    assert r.status_code == 202
    with api.db.unit() as uow:
        assert queued_for(uow, "ghost@example.com") == []


def test_problem_titles_follow_accept_language(api: Api) -> None:
    r = api.client.get("/api/v1/lines", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert r.status_code == 401 and r.json()["title"] == "请先登录"
