"""API bearer tokens checked recently, so a request does not read the database to know its
caller (``TOPUP_AUTH_CACHE_SECONDS``, default 5 s; 0 turns it off).

The bound: a token revoked, a login disabled or changed by *another* server process keeps
working here for at most that long. In this process the change takes effect at once: the
functions that revoke or disable call ``forget``. A cached token never outlives its own
expiry, judged by the database's clock at each request. Only ``api`` tokens are cached; the
portal's web sessions always read the database (their idle limit moves on every request).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from topup.subscribers.auth import User

MAX_ENTRIES = 50_000  # a full cache is emptied and refills: memory stays bounded


class TokenCache:
    """token hash -> (checked until, token expiry, user), process-wide, thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, datetime, User]] = {}
        # When a token (its hash) or a user (its id) was last forgotten: ``forget`` runs before
        # the revocation commits, so a request reading the database meanwhile still finds the
        # token live; it must not put it back. Such tokens are read from the database for one
        # cache period instead.
        self._forgotten: dict[str | int, float] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str, now: datetime) -> User | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        until, expires_at, user = entry
        if time.monotonic() >= until or now >= expires_at:
            with self._lock:
                self._entries.pop(token_hash, None)
            return None
        return user

    def put(self, token_hash: str, user: User, expires_at: datetime, seconds: float) -> None:
        if seconds <= 0:
            return
        now = time.monotonic()
        with self._lock:
            for mark in (token_hash, user.id):
                if now - self._forgotten.get(mark, now - seconds) < seconds:
                    return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[token_hash] = (now + seconds, expires_at, user)

    def forget(self, *, token_hash: str | None = None, user_id: int | None = None) -> None:
        """Drop one token, or every token of one user."""
        now = time.monotonic()
        with self._lock:
            if len(self._forgotten) >= MAX_ENTRIES:
                self._forgotten.clear()
            if token_hash is not None:
                self._entries.pop(token_hash, None)
                self._forgotten[token_hash] = now
            if user_id is not None:
                self._forgotten[user_id] = now
                for key in [k for k, v in self._entries.items() if v[2].id == user_id]:
                    del self._entries[key]


TOKENS = TokenCache()
