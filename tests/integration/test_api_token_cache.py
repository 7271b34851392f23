"""API tokens answered from memory for TOPUP_AUTH_CACHE_SECONDS: a logout, a disabled login or
a profile change in this process takes effect at once; a change made by another process (here:
straight in the database) within the bound, and not later."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from tests.factories import Api, make_user
from topup.db.uow import Database
from topup.subscribers import auth, token_cache
from topup.subscribers.tables import auth_tokens, users


class Monotonic:
    """The cache's own clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> Iterator[Monotonic]:
    """The cache on a clock of its own, and empty: the cache is process-wide, and user ids
    of other tests' databases are the same numbers."""
    clock = Monotonic()
    monkeypatch.setattr(token_cache, "time", SimpleNamespace(monotonic=clock))
    monkeypatch.setattr(token_cache.TOKENS, "_entries", {})
    monkeypatch.setattr(token_cache.TOKENS, "_forgotten", {})
    yield clock


@pytest.fixture
def traveller(api: Api) -> tuple[auth.User, dict[str, str]]:
    user, headers = api.as_new()
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 200  # now cached
    return user, headers


def me(api: Api, headers: dict[str, str]) -> int:
    return int(api.client.get("/api/v1/auth/me", headers=headers).status_code)


def test_a_logged_out_token_is_refused_at_once(
        api: Api, monotonic: Monotonic, traveller: tuple[auth.User, dict[str, str]]) -> None:
    _, headers = traveller
    assert api.client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert me(api, headers) == 401


def test_a_disabled_login_is_refused_at_once(
        api: Api, db: Database, monotonic: Monotonic,
        traveller: tuple[auth.User, dict[str, str]]) -> None:
    user, headers = traveller
    admin = make_user(db, "admin")
    with db.unit() as uow:
        auth.set_disabled(uow, user.id, True, actor_id=admin.id, reason="stolen phone")
    assert me(api, headers) == 401
    with db.unit() as uow:
        auth.set_disabled(uow, user.id, False, actor_id=admin.id, reason="found it")
    assert me(api, headers) == 200


def test_a_profile_change_is_seen_at_once(
        api: Api, monotonic: Monotonic, traveller: tuple[auth.User, dict[str, str]]) -> None:
    _, headers = traveller
    r = api.client.patch("/api/v1/auth/me", headers=headers, json={"language": "zh-CN"})
    assert r.status_code == 200
    assert api.client.get("/api/v1/auth/me", headers=headers).json()["language"] == "zh-CN"


def test_a_token_revoked_by_another_process_works_here_until_the_bound_passes(
        api: Api, db: Database, monotonic: Monotonic,
        traveller: tuple[auth.User, dict[str, str]]) -> None:
    _, headers = traveller
    with db.unit() as uow:
        uow.conn.execute(update(auth_tokens).values(revoked_at=uow.now))
    bound = db.settings.auth_cache_seconds
    monotonic.now += bound - 0.01
    assert me(api, headers) == 200, "answered from the cache within the bound"
    monotonic.now += 0.01
    assert me(api, headers) == 401


def test_a_login_disabled_by_another_process_works_here_until_the_bound_passes(
        api: Api, db: Database, monotonic: Monotonic,
        traveller: tuple[auth.User, dict[str, str]]) -> None:
    user, headers = traveller
    with db.unit() as uow:
        uow.conn.execute(update(users).where(users.c.id == user.id).values(disabled=True))
    assert me(api, headers) == 200
    monotonic.now += db.settings.auth_cache_seconds
    assert me(api, headers) == 401


def test_without_the_cache_a_change_by_another_process_is_seen_at_once(
        api: Api, db: Database, monotonic: Monotonic) -> None:
    db.settings = replace(db.settings, auth_cache_seconds=0)
    _, headers = api.as_new()
    assert me(api, headers) == 200
    with db.unit() as uow:
        uow.conn.execute(update(auth_tokens).values(revoked_at=uow.now))
    assert me(api, headers) == 401


def test_a_cached_token_never_outlives_its_own_expiry(
        api: Api, db: Database, clock: object, monotonic: Monotonic,
        traveller: tuple[auth.User, dict[str, str]]) -> None:
    _, headers = traveller
    clock.advance(seconds=db.settings.token_ttl_seconds)  # type: ignore[attr-defined]
    assert me(api, headers) == 401, "expired, though checked a moment ago"


def test_a_request_in_flight_during_a_logout_does_not_bring_the_token_back(
        api: Api, db: Database, monotonic: Monotonic,
        traveller: tuple[auth.User, dict[str, str]]) -> None:
    _, headers = traveller
    token = headers["Authorization"].removeprefix("Bearer ")
    with db.unit() as uow:
        auth.revoke_token(uow, token)
        with db.unit(readonly=True) as racing:  # a request with the same token, meanwhile,
            auth.user_for_token(racing, token)  # still sees it live: not committed yet
    assert me(api, headers) == 401


def test_after_a_change_in_this_process_tokens_are_cached_again_once_the_bound_passed(
        api: Api, db: Database, monotonic: Monotonic,
        traveller: tuple[auth.User, dict[str, str]]) -> None:
    _, headers = traveller
    assert api.client.patch("/api/v1/auth/me", headers=headers,
                            json={"language": "zh-CN"}).status_code == 200
    monotonic.now += db.settings.auth_cache_seconds
    assert me(api, headers) == 200  # read from the database, and cached again
    with db.unit() as uow:
        uow.conn.execute(update(auth_tokens).values(revoked_at=uow.now))
    assert me(api, headers) == 200, "the cache answers again, within its bound"
