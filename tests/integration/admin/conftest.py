"""Fixtures for the console: a signed-in browser per staff role."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.integration.portal.conftest import PASSWORD, Browser, shop  # noqa: F401 (a fixture)
from topup.db.uow import Database
from topup.subscribers import auth

StaffBrowser = Callable[..., Browser]


def sign_in_as(db: Database, role: str, lang: str = "en",
               providers: dict[str, object] | None = None) -> Browser:
    """A browser signed in as a new login with ``role``."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    with db.unit() as uow:
        auth.register(uow, email=email, phone=None, password=PASSWORD, role=role, language=lang)
    browser = Browser(db, providers, lang)  # type: ignore[arg-type]
    r = browser.submit("/login", "/login", {"login": email, "password": PASSWORD},
                       follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    browser.email = email  # type: ignore[attr-defined]
    return browser


@pytest.fixture
def staff(db: Database) -> StaffBrowser:
    """``staff("support")``: a browser signed in as a new support login."""

    def make(role: str = "admin", lang: str = "en",
             providers: dict[str, object] | None = None) -> Browser:
        return sign_in_as(db, role, lang, providers)

    return make
